import { execFile } from "node:child_process";
import {
  copyFile,
  mkdir,
  mkdtemp,
  readdir,
  readFile,
  rm,
  symlink,
  writeFile,
} from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { promisify } from "node:util";
import { DEFAULT_POLICY_YAML, policyId } from "@guardrail/core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { VERSION } from "../src/version";
import { NODE, REPO_ROOT } from "./bin";

const run = promisify(execFile);
const CLI_DIR = join(REPO_ROOT, "packages", "cli");
const FIXTURE = join(
  REPO_ROOT,
  "test/fixtures/cloudtrail/AuthorizeSecurityGroupIngress/detail_assumedrole-console_cidrIp_2025.json",
);

let work: string;
let env: NodeJS.ProcessEnv;
let tarball: string;
let guardrail: string;

/**
 * What a user does with the tarball: `npm pack` in packages/cli (its prepack step builds the
 * bundle), then, in an empty folder outside the repository, `npm install` of that file with the
 * network off, and `guardrail` from there. The first `node` on PATH is the repository's pinned
 * Node 22 (the `node` npm package); the folder has nothing of the repository in reach.
 */
beforeAll(async () => {
  work = await mkdtemp(join(tmpdir(), "guardrail-packed-"));
  const bin = join(work, "bin");
  await mkdir(bin);
  await symlink(NODE, join(bin, "node"));
  env = {
    // The pinned Node first; npm wherever the user's PATH has it.
    PATH: `${bin}:${process.env.PATH ?? "/usr/local/bin:/usr/bin:/bin"}`,
    HOME: work,
    npm_config_cache: process.env.npm_config_cache ?? join(process.env.HOME ?? work, ".npm"),
    npm_config_update_notifier: "false",
    NO_COLOR: "1",
  };
  const packed = await run("npm", ["pack", "--json", "--pack-destination", work], {
    cwd: CLI_DIR,
    env: { ...env, PATH: `${join(REPO_ROOT, "node_modules", ".bin")}:${env.PATH}` },
    maxBuffer: 64 * 1024 * 1024,
  });
  const [info] = JSON.parse(packed.stdout.slice(packed.stdout.indexOf("["))) as {
    filename: string;
    files: { path: string }[];
  }[];
  tarball = join(work, info!.filename);
  const app = join(work, "app");
  await mkdir(app);
  await writeFile(join(app, "package.json"), '{ "name": "app", "private": true }\n');
  await run("npm", ["install", "--offline", "--no-audit", "--no-fund", tarball], {
    cwd: app,
    env,
  });
  guardrail = join(app, "node_modules", ".bin", "guardrail");
}, 300_000);

afterAll(async () => {
  if (work) await rm(work, { recursive: true, force: true });
});

const cli = (args: string[]) =>
  run(guardrail, args, { cwd: join(work, "app"), env, maxBuffer: 64 * 1024 * 1024 }).then(
    (r) => ({ code: 0, ...r }),
    (e: { code: number; stdout: string; stderr: string }) => e,
  );

describe("the packed CLI, installed from its tarball outside the repository", () => {
  it("has a scoped name, a bin, Node >= 22, and no runtime dependency", async () => {
    const manifest = JSON.parse(
      await readFile(
        join(work, "app", "node_modules", "@aws-network-guardrail", "cli", "package.json"),
        "utf8",
      ),
    );
    expect(manifest).toMatchObject({
      name: "@aws-network-guardrail/cli",
      version: VERSION,
      bin: { guardrail: "./bin/guardrail.mjs" },
      engines: { node: ">=22" },
    });
    expect(manifest.dependencies ?? {}).toEqual({});
    // Nothing but the CLI itself was installed: the bundle carries everything.
    expect(await readdir(join(work, "app", "node_modules"))).toEqual([
      ".bin",
      ".package-lock.json",
      "@aws-network-guardrail",
    ]);
  });

  it("guardrail --version", async () => {
    const { code, stdout, stderr } = await cli(["--version"]);
    expect({ code, stdout, stderr }).toEqual({ code: 0, stdout: `${VERSION}\n`, stderr: "" });
  });

  it("guardrail validate: the default policy, and a file", async () => {
    const dflt = await cli(["validate"]);
    expect(dflt.code).toBe(0);
    expect(dflt.stdout).toMatch(
      /^built-in default: valid, \d+ rules \(policy id [0-9a-f]{12}\)\n {2}blocked-sources /,
    );
    const file = join(work, "app", "bad.policy.yaml");
    await writeFile(file, "version: 1\nrules: []\nbogus: true\n");
    const bad = await cli(["validate", file]);
    expect(bad.code).toBe(2);
    expect(bad.stderr).toMatch(/: invalid, \d+ errors?\n/);
  });

  it("guardrail replay, in process and on worker threads", async () => {
    const trail = join(work, "app", "trail");
    await mkdir(trail);
    for (let n = 0; n < 3; n++) await copyFile(FIXTURE, join(trail, `${n}.json`));
    for (const jobs of ["0", "2"]) {
      const { code, stdout, stderr } = await cli(["replay", "-j", jobs, "--format", "json", trail]);
      expect({ code, stderr }).toEqual({ code: 0, stderr: "" });
      const lines = stdout
        .trim()
        .split("\n")
        .map((l) => JSON.parse(l));
      expect(lines.map((l) => [l.outcome, l.source])).toEqual(
        [0, 1, 2].map((n) => ["violation", `${join(trail, `${n}.json`)}#0`]),
      );
    }
  });

  it("keeps Node's compile cache unless it is turned off, with the same output", async () => {
    const trail = join(work, "app", "trail-cache");
    await mkdir(trail);
    for (let n = 0; n < 3; n++) await copyFile(FIXTURE, join(trail, `${n}.json`));
    // Node's default directory is under the OS temporary directory (TMPDIR).
    const replayIn = async (tmp: string, extra: NodeJS.ProcessEnv = {}) => {
      await mkdir(tmp, { recursive: true });
      const r = await run(guardrail, ["replay", "-j", "0", "--format", "json", trail], {
        cwd: join(work, "app"),
        env: { ...env, TMPDIR: tmp, ...extra },
      });
      const entries = await readdir(join(tmp, "node-compile-cache"), { recursive: true }).catch(
        () => [],
      );
      return { stdout: r.stdout, cached: entries.length };
    };
    const first = await replayIn(join(work, "tmp-cache"));
    const again = await replayIn(join(work, "tmp-cache"));
    const off = await replayIn(join(work, "tmp-off"), { NODE_DISABLE_COMPILE_CACHE: "1" });
    // The commands' chunks, compiled after the cache was turned on, are kept.
    expect(first.cached).toBeGreaterThan(0);
    expect(again.cached).toBe(first.cached);
    expect(off.cached).toBe(0);
    expect(new Set([first.stdout, again.stdout, off.stdout]).size).toBe(1);
  });

  it("starts each replay worker from one file, without the YAML parser or the schema validator", async () => {
    const worker = await readFile(
      join(
        work,
        "app",
        "node_modules",
        "@aws-network-guardrail",
        "cli",
        "dist",
        "replay-worker.mjs",
      ),
      "utf8",
    );
    // Only Node's own modules: no chunk shared with the CLI comes along.
    const imports = [...worker.matchAll(/^import .* from "([^"]+)";$/gm)].map((m) => m[1]);
    expect(imports.length).toBeGreaterThan(0);
    expect(imports.filter((i) => !i?.startsWith("node:"))).toEqual([]);
    // esbuild names each bundled file in a comment: the evaluation is there, YAML and the schema not.
    const bundled = [...worker.matchAll(/^\/\/ (\S+)$/gm)].map((m) => m[1]);
    expect(bundled).toContain("../core/src/policy/evaluate.ts");
    expect(
      bundled.filter((f) => /node_modules\/(yaml|valibot)\/|policy\/schema\.ts/.test(f!)),
    ).toEqual([]);
  });

  it("replays with the built-in default compiled at build, without the YAML parser or the schema", async () => {
    const dist = join(work, "app", "node_modules", "@aws-network-guardrail", "cli", "dist");
    const text = (file: string) => readFile(join(dist, file), "utf8");
    // What `guardrail replay` loads: the entry, the replay chunk it imports, and every chunk those
    // import statically (a chunk reached only by `import()` loads when that call runs).
    const entry = await text("guardrail.mjs");
    const replayMain = entry.match(/import\("\.\/(replay-main-[^"]+)"\)/)?.[1];
    expect(replayMain).toBeDefined();
    const loaded = new Set<string>();
    const visit = async (file: string) => {
      if (loaded.has(file)) return;
      loaded.add(file);
      const code = await text(file);
      for (const m of code.matchAll(/^(?:import|export)\b[^;]*?from\s*"\.\/([^"]+)";/gm)) {
        await visit(m[1]!);
      }
      for (const m of code.matchAll(/^import\s*"\.\/([^"]+)";/gm)) await visit(m[1]!);
    };
    await visit("guardrail.mjs");
    await visit(replayMain!);
    const bundledIn = async (files: Iterable<string>) => {
      const inputs: string[] = [];
      for (const f of files) {
        inputs.push(...[...(await text(f)).matchAll(/^\/\/ (\S+)$/gm)].map((m) => m[1]!));
      }
      return inputs;
    };
    const parser = /node_modules\/(yaml|valibot|@valibot\/[^/]+)\/|policy\/(schema|load)\.ts$/;
    const onReplay = await bundledIn(loaded);
    expect(onReplay).toContain("../core/src/policy/compiled.ts");
    expect(onReplay.filter((f) => parser.test(f))).toEqual([]);
    // The parser is in the package still, for a policy file, in a chunk loaded on demand.
    const everything = await bundledIn((await readdir(dist)).filter((f) => f.endsWith(".mjs")));
    expect(everything.filter((f) => /node_modules\/yaml\//.test(f)).length).toBeGreaterThan(0);

    // The compiled default judges as the default's YAML does when given as a file: the same bytes,
    // the same policy id, the same output.
    const trail = join(work, "app", "trail-default");
    await mkdir(trail);
    await copyFile(FIXTURE, join(trail, "0.json"));
    const copy = join(work, "app", "default.policy.yaml");
    await writeFile(copy, DEFAULT_POLICY_YAML);
    const compiled = await cli(["replay", "-j", "0", "--format", "json", trail]);
    const parsed = await cli(["replay", "-j", "0", "--format", "json", "--policy", copy, trail]);
    expect(compiled).toMatchObject({ code: 0, stderr: "" });
    expect(compiled.stdout).toContain(`"policyId":"${policyId(DEFAULT_POLICY_YAML)}"`);
    expect(parsed).toEqual(compiled);

    // A corrupt artefact fails the command loudly instead of judging with something else.
    const artefact = join(dist, "default-policy.compiled.json");
    const good = await text("default-policy.compiled.json");
    await writeFile(artefact, good.replace('\\"mode\\":\\"enforce\\"', '\\"mode\\":\\"monitor\\"'));
    try {
      const corrupt = await cli(["replay", "-j", "0", "--format", "json", trail]);
      expect(corrupt.code).toBe(3);
      expect(corrupt.stdout).toBe("");
      expect(corrupt.stderr).toContain("error [POLICY_ARTEFACT_INVALID]: ");
      expect(corrupt.stderr).toContain("the artefact is corrupt");
    } finally {
      await writeFile(artefact, good);
    }
  });

  it("guardrail sandbox demo: the whole stack runs from the bundle", async () => {
    const { code, stdout } = await cli(["sandbox", "demo"]);
    expect(stdout).toMatch(/All \d+ scenarios got their expected verdict/);
    expect(code).toBe(0);
  }, 120_000);
});
