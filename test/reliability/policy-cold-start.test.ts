import { execFile } from "node:child_process";
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { promisify } from "node:util";
import { DEFAULT_POLICY_YAML } from "@guardrail/core";
import { build } from "esbuild";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { lambdaBuildOptions } from "../../functions/build/esbuild.mjs";
import { BASE_ENV } from "../../functions/test/helpers";

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

/** A cold start: a fresh Node 22 process importing the bundle, as the Lambda runtime does. */
async function coldStart(policyYaml: string | null) {
  const env: Record<string, string> = {
    PATH: process.env.PATH ?? "",
    AWS_REGION: "eu-west-1",
    AWS_ACCESS_KEY_ID: "AKIDCOLD",
    AWS_SECRET_ACCESS_KEY: "cold",
    POWERTOOLS_METRICS_DISABLED: "true",
    ...(BASE_ENV as Record<string, string>),
  };
  if (policyYaml !== null) {
    const file = join(dir, `policy-${Math.random().toString(36).slice(2)}.yaml`);
    writeFileSync(file, policyYaml);
    env.GUARDRAIL_POLICY_FILE = file;
  } else {
    env.GUARDRAIL_POLICY_FILE = join(dir, "no-such-policy.yaml");
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

describe("a policy file that fails validation", () => {
  it("lets a valid policy file through (the control)", async () => {
    const { code, stderr } = await coldStart(DEFAULT_POLICY_YAML);
    expect(stderr).toBe("");
    expect(code).toBe(0);
  });

  it("stops the cold start, naming the file and the field", async () => {
    const bad = DEFAULT_POLICY_YAML.replace("- 10.0.0.0/8 # RFC 1918", "- 10.0.0.0/33");
    const { code, stderr, file } = await coldStart(bad);
    expect(code).not.toBe(0);
    expect(stderr).toContain("PolicyValidationError");
    expect(stderr).toContain(file);
    expect(stderr).toContain("networks.trusted[0]");
    expect(stderr).toContain("10.0.0.0/33");
  });

  it("stops the cold start on a rule of an unknown kind", async () => {
    const bad = DEFAULT_POLICY_YAML.replace(
      "kind: security-group-ports",
      "kind: security-group-portz",
    );
    const { code, stderr } = await coldStart(bad);
    expect(code).not.toBe(0);
    expect(stderr).toContain("PolicyValidationError");
    expect(stderr).toContain("security-group-portz");
  });

  it("stops the cold start on YAML that does not parse", async () => {
    const { code, stderr } = await coldStart("version: 1\nrules: [\n  - id: x\n");
    expect(code).not.toBe(0);
    expect(stderr).toMatch(/PolicyValidationError|ConfigurationError/);
  });

  it("stops the cold start when the configured file does not exist", async () => {
    const { code, stderr, file } = await coldStart(null);
    expect(code).not.toBe(0);
    expect(stderr).toContain("ConfigurationError");
    expect(stderr).toContain(file);
  });
});
