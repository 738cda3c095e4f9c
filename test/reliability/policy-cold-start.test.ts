import { execFile } from "node:child_process";
import { createHash } from "node:crypto";
import { mkdirSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { promisify } from "node:util";
import {
  BUNDLED_POLICY_FILE,
  compilePolicy,
  DEFAULT_POLICY_YAML,
  loadPolicy,
} from "@guardrail/core";
import { build, type Metafile } from "esbuild";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { lambdaBuildOptions } from "../../functions/build/esbuild.mjs";
import { BASE_ENV } from "../../functions/test/helpers";
import { initOutputs } from "./support/init-graph";

const ROOT = join(dirname(fileURLToPath(import.meta.url)), "..", "..");
const NODE = join(ROOT, "node_modules", ".bin", "node");
const CACHE = join(ROOT, "node_modules", ".cache");
mkdirSync(CACHE, { recursive: true });
const dir = mkdtempSync(join(CACHE, "guardrail-cold-start-"));
const run = promisify(execFile);

let bundle: string;

beforeAll(async () => {
  // The handler as the deploy bundles it.
  const outdir = join(dir, "bundle");
  await build({
    ...lambdaBuildOptions({
      entry: join(ROOT, "functions/src/handlers/security-group-change.ts"),
      outdir,
    }),
    absWorkingDir: ROOT,
  });
  bundle = join(outdir, "security-group-change.mjs");
}, 60_000);

afterAll(() => rmSync(dir, { recursive: true, force: true }));

/** Modules that read policy source text: the deploy and the CLI run them, no function's init. */
const POLICY_SOURCE_READERS =
  /node_modules\/(yaml|valibot|@valibot)\/|packages\/core\/src\/policy\/(load|schema|fields|kind-options|json-schema)\.ts$/;

/** The inputs of every output file an entry loads through static imports: its init. */
function initInputs(metafile: Metafile, entry: string): string[] {
  const seen = initOutputs(metafile, entry);
  return [...seen].flatMap((o) => Object.keys(metafile.outputs[o]?.inputs ?? {}));
}

describe("the handler bundles' cold path", () => {
  it("holds neither the YAML parser nor the policy schema, in any handler, even lazily", async () => {
    const handlers = readdirSync(join(ROOT, "functions/src/handlers")).map(
      (f) => `functions/src/handlers/${f}`,
    );
    const { metafile } = await build({
      ...lambdaBuildOptions({ entry: join(ROOT, handlers[0] as string), outdir: join(dir, "all") }),
      entryPoints: handlers.map((h) => join(ROOT, h)),
      absWorkingDir: ROOT,
      metafile: true,
      write: false,
    });
    for (const handler of handlers) {
      const init = initInputs(metafile, handler);
      // The walk sees the init: the handler's own module and core's evaluation are on it.
      expect(init, handler).toContain(handler);
      expect(
        init.filter((i) => POLICY_SOURCE_READERS.test(i)),
        handler,
      ).toEqual([]);
    }
    expect(initInputs(metafile, "functions/src/handlers/security-group-change.ts")).toEqual(
      expect.arrayContaining([
        "packages/core/src/policy/evaluate.ts",
        "packages/core/src/policy/compiled.ts",
      ]),
    );
    const anywhere = Object.values(metafile.outputs).flatMap((o) => Object.keys(o.inputs));
    expect(anywhere.filter((i) => POLICY_SOURCE_READERS.test(i))).toEqual([]);
  }, 120_000);
});

/** What the deploy writes into the bundle (stacks/policy-file.ts). */
function compiled(text: string): string {
  return compilePolicy(text, loadPolicy(text));
}

const sha256 = (text: string) => createHash("sha256").update(text).digest("hex");

/**
 * A cold start: a fresh Node 22 process importing the bundle, as the Lambda runtime does, with
 * `file` (a name ending in `.compiled.json` for a compiled policy) as GUARDRAIL_POLICY_FILE and
 * `shipped` as the source hash the stack passes.
 */
async function coldStart(file: { name: string; text: string } | null, shipped?: string) {
  const env: Record<string, string> = {
    PATH: process.env.PATH ?? "",
    AWS_REGION: "eu-west-1",
    AWS_ACCESS_KEY_ID: "AKIDCOLD",
    AWS_SECRET_ACCESS_KEY: "cold",
    POWERTOOLS_METRICS_DISABLED: "true",
    ...(BASE_ENV as Record<string, string>),
    ...(shipped ? { GUARDRAIL_POLICY_SHA256: shipped } : {}),
  };
  if (file !== null) {
    const path = join(dir, `${Math.random().toString(36).slice(2)}-${file.name}`);
    writeFileSync(path, file.text);
    env.GUARDRAIL_POLICY_FILE = path;
  } else {
    env.GUARDRAIL_POLICY_FILE = join(dir, "no-such-policy.compiled.json");
  }
  try {
    const out = await run(
      NODE,
      ["--input-type=module", "-e", `await import(${JSON.stringify(bundle)});`],
      { env, encoding: "utf8" },
    );
    return { code: 0, stderr: out.stderr, file: env.GUARDRAIL_POLICY_FILE };
  } catch (error) {
    const e = error as { code: number; stderr: string };
    return { code: e.code, stderr: e.stderr, file: env.GUARDRAIL_POLICY_FILE };
  }
}

// A policy that fails validation now fails the deploy (test/infra/stack-modules.test.ts): the
// bundle only ever reads the compiled policy, and refuses one that is not the deployed one.
describe("the compiled policy at cold start", () => {
  const artefact = compiled(DEFAULT_POLICY_YAML);
  const shipped = sha256(DEFAULT_POLICY_YAML);

  it("lets the compiled policy the stack shipped through (the control)", async () => {
    const { code, stderr } = await coldStart(
      { name: BUNDLED_POLICY_FILE, text: artefact },
      shipped,
    );
    expect(stderr).toBe("");
    expect(code).toBe(0);
  });

  it("stops the cold start on a corrupt artefact, naming the file", async () => {
    const file = JSON.parse(artefact);
    file.payload = file.payload.replace("10.0.0.0/8", "10.0.0.0/9");
    const {
      code,
      stderr,
      file: path,
    } = await coldStart({ name: BUNDLED_POLICY_FILE, text: JSON.stringify(file) }, shipped);
    expect(code).not.toBe(0);
    expect(stderr).toContain("PolicyArtefactError");
    expect(stderr).toContain(path);
    expect(stderr).toContain("the payload does not match its sha256");
  });

  it("stops the cold start on the artefact of another policy than the stack shipped", async () => {
    const other = DEFAULT_POLICY_YAML.replace("- 10.0.0.0/8 # RFC 1918", "- 10.0.0.0/9");
    const { code, stderr } = await coldStart(
      { name: BUNDLED_POLICY_FILE, text: compiled(other) },
      shipped,
    );
    expect(code).not.toBe(0);
    expect(stderr).toContain("PolicyArtefactError");
    expect(stderr).toContain(`but the stack shipped ${shipped}`);
  });

  it("stops the cold start on a truncated artefact", async () => {
    const { code, stderr } = await coldStart(
      { name: BUNDLED_POLICY_FILE, text: artefact.slice(0, 200) },
      shipped,
    );
    expect(code).not.toBe(0);
    expect(stderr).toContain("PolicyArtefactError");
    expect(stderr).toContain("the compiled policy is not JSON");
  });

  it("refuses policy source text instead of parsing YAML at cold start", async () => {
    const { code, stderr, file } = await coldStart({
      name: "policy.yaml",
      text: DEFAULT_POLICY_YAML,
    });
    expect(code).not.toBe(0);
    expect(stderr).toContain("PolicyArtefactError");
    expect(stderr).toContain(`${file}: this function loads only a policy compiled at deploy`);
  });

  it("stops the cold start when the configured file does not exist", async () => {
    const { code, stderr, file } = await coldStart(null);
    expect(code).not.toBe(0);
    expect(stderr).toContain("ConfigurationError");
    expect(stderr).toContain(file);
  });
});
