import { execFile } from "node:child_process";
import { readdir, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { promisify } from "node:util";
import { describe, expect, it } from "vitest";
import { NODE, REPO_ROOT } from "./bin";
import { tempDir } from "./support/temp-dir";

const run = promisify(execFile);
const MODULE = join(REPO_ROOT, "packages", "cli", "src", "compile-cache.ts");

/**
 * A process that turns the cache on as the CLI's entry does, then runs a worker thread that
 * imports a module and ends: what the worker compiled is cached only if it found the directory.
 */
async function withWorker(dir: string, env: NodeJS.ProcessEnv) {
  await writeFile(join(dir, "lib.mjs"), "export const answer = 42;\n");
  await writeFile(
    join(dir, "worker.mjs"),
    'import { parentPort } from "node:worker_threads";\nconst { answer } = await import("./lib.mjs");\nparentPort.postMessage(answer);\n',
  );
  const script = `
    const { enableCompileCache } = await import(${JSON.stringify(MODULE)});
    const { Worker } = await import("node:worker_threads");
    const directory = enableCompileCache();
    // The worker writes its cache when it ends: wait for its exit, not only its answer.
    const answer = await new Promise((resolve, reject) => {
      const w = new Worker(${JSON.stringify(join(dir, "worker.mjs"))}, { execArgv: [] });
      let got;
      w.once("message", (m) => { got = m; });
      w.once("error", reject);
      w.once("exit", () => resolve(got));
    });
    process.stdout.write(JSON.stringify({ directory: directory ?? null, env: process.env.NODE_COMPILE_CACHE ?? null, answer }));
  `;
  const { stdout } = await run(NODE, ["--import", "tsx", "--input-type=module", "-e", script], {
    cwd: REPO_ROOT,
    env: { PATH: process.env.PATH ?? "", HOME: dir, TMPDIR: dir, ...env },
  });
  const cached = await readdir(join(dir, "node-compile-cache"), { recursive: true }).then(
    (entries) => entries.length,
    () => 0,
  );
  const out = JSON.parse(stdout) as {
    directory: string | null;
    env: string | null;
    answer: number;
  };
  return { ...out, cached };
}

describe("enableCompileCache (the CLI's entry)", () => {
  it("turns Node's cache on in the OS temporary directory and hands it to worker threads", async () => {
    const dir = await tempDir("guardrail-compile-cache-");
    const r = await withWorker(dir, {});
    expect(r.directory).toBe(join(dir, "node-compile-cache"));
    expect(r.env).toBe(r.directory);
    // The version directory, and the worker's two modules in it.
    expect(r.answer).toBe(42);
    expect(r.cached).toBeGreaterThanOrEqual(3);
  });

  it("does nothing when NODE_DISABLE_COMPILE_CACHE is set", async () => {
    const dir = await tempDir("guardrail-compile-cache-");
    const r = await withWorker(dir, { NODE_DISABLE_COMPILE_CACHE: "1" });
    expect(r).toMatchObject({ directory: null, env: null, cached: 0 });
  });
});
