import { statSync } from "node:fs";
import { Worker } from "node:worker_threads";

/** Set by the packaged build (packages/cli/scripts/build.mjs), where workers run bundled code. */
declare const __GUARDRAIL_BUNDLE__: boolean | undefined;

const BUNDLED = typeof __GUARDRAIL_BUNDLE__ !== "undefined" && __GUARDRAIL_BUNDLE__;

/**
 * The worker's entry: in the repository, a module that registers tsx and loads worker.ts; in the
 * packaged CLI, the bundled dist/replay-worker.mjs next to dist/guardrail.mjs.
 */
export const WORKER_ENTRY = BUNDLED
  ? new URL("./replay-worker.mjs", import.meta.url)
  : new URL("./worker-entry.mjs", import.meta.url);

/** Global flags that may come before the command name. */
const GLOBAL_FLAGS = new Set(["-q", "--quiet", "--no-color"]);

/** True when `argv` runs `guardrail replay` (global flags may come first). */
export function isReplay(argv: readonly string[]): boolean {
  const at = argv.indexOf("replay");
  return at >= 0 && argv.slice(0, at).every((a) => GLOBAL_FLAGS.has(a));
}

const isDirectory = (path: string) => {
  try {
    return statSync(path).isDirectory();
  } catch {
    return false;
  }
};

/** `--jobs 0` (or `-j 0`, `--jobs=0`, `-j0`): replay on the calling thread only. */
const noWorkers = (argv: readonly string[]) =>
  argv.some(
    (a, i) =>
      a === "--jobs=0" || a === "-j0" || ((a === "--jobs" || a === "-j") && argv[i + 1] === "0"),
  );

let started: Worker | null = null;

/**
 * Starts one replay worker thread before the CLI itself loads, when `argv` replays a directory or
 * an S3 prefix (what is large enough to be read on workers): the worker loads its code on another
 * core while this thread loads the CLI and the policy and lists the input, instead of after, and
 * takes its configuration by message (see worker.ts). The pool adopts it
 * ({@link takePrestartedWorker}); unadopted (a usage error, a small input) it never keeps the
 * process alive. Only the packaged CLI does this: in the repository a worker transpiles
 * TypeScript first, which costs more than it saves when the input turns out small.
 */
export function prestartReplayWorker(argv: readonly string[]): void {
  if (!BUNDLED || started !== null || !isReplay(argv) || noWorkers(argv)) return;
  if (argv.includes("--help") || argv.includes("-h")) return;
  if (!argv.some((a) => a.startsWith("s3://") || isDirectory(a))) return;
  started = new Worker(WORKER_ENTRY, { workerData: null });
  started.unref();
}

/** The worker {@link prestartReplayWorker} started, if any, once. */
export function takePrestartedWorker(): Worker | null {
  const w = started;
  started = null;
  return w;
}
