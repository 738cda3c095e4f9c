import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

export const ROOT = join(dirname(fileURLToPath(import.meta.url)), "..", "..");
export const BENCH_OUT = join(ROOT, "bench", "out");
/** Node 22 from the npm `node` package: the runtime the Lambda bundles are measured on. */
export const NODE = join(ROOT, "node_modules", ".bin", "node");

/** True when `file` (an `import.meta.url`) is the script being run. */
export function isMain(url: string): boolean {
  return process.argv[1] !== undefined && fileURLToPath(url) === process.argv[1];
}
