/**
 * The floor for `guardrail replay`: read, gunzip and `JSON.parse` every log file of the benchmark
 * archive, and nothing else, on one thread or on several. Replay without `--all-records` must do
 * less than this per record to beat it (see bench/replay-throughput.ts).
 *
 *   npx tsx bench/replay-floor.ts [--threads N] [--json] [PATH...]
 *
 * Without PATH it reads (and first writes, if missing) the ~1,000,000-record archive under
 * bench/out/archive. With --json it prints `{files, records, seconds, recordsPerSecond}`.
 */
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { Worker } from "node:worker_threads";
import { gunzip, listInputFiles } from "../packages/cli/src/input";

export interface FloorResult {
  readonly files: number;
  readonly records: number;
  readonly seconds: number;
  readonly recordsPerSecond: number;
}

/**
 * Gunzips and parses `files` on this thread, counting records. Gunzip is replay's own (one
 * buffer sized from the gzip trailer), so that the floor is as fast as replay's reading.
 */
export function runFloor(files: readonly string[]): FloorResult {
  const start = performance.now();
  let records = 0;
  for (const file of files) {
    const raw = readFileSync(file);
    const buf = file.endsWith(".gz") ? gunzip(raw) : raw;
    const doc = JSON.parse(buf.toString("utf8")) as { Records?: unknown[] };
    records += Array.isArray(doc.Records) ? doc.Records.length : 1;
  }
  const seconds = (performance.now() - start) / 1000;
  return { files: files.length, records, seconds, recordsPerSecond: records / seconds };
}

/**
 * The floor's work for one file, as plain JavaScript source: worker threads run it without a
 * TypeScript loader, so that starting them costs what starting any worker costs.
 */
const FLOOR_WORKER = `
const { parentPort, workerData } = require("node:worker_threads");
const { readFileSync } = require("node:fs");
const { gunzipSync } = require("node:zlib");
const { files, next } = workerData;
let records = 0;
for (let i = Atomics.add(next, 0, 1); i < files.length; i = Atomics.add(next, 0, 1)) {
  let buf = readFileSync(files[i]);
  // As replay gunzips (packages/cli/src/input.ts, gunzip): one buffer sized from the trailer.
  if (files[i].endsWith(".gz")) {
    const isize = buf.length >= 18 ? buf.readUInt32LE(buf.length - 4) : 0;
    buf = gunzipSync(buf, { chunkSize: Math.min(Math.max(65536, isize + 1), 67108864) });
  }
  const doc = JSON.parse(buf.toString("utf8"));
  records += Array.isArray(doc.Records) ? doc.Records.length : 1;
}
parentPort.postMessage(records);
`;

/**
 * Gunzips and parses `files` on `threads` worker threads, each taking the next file until none is
 * left. The time includes starting the workers.
 */
export async function runFloorThreads(
  files: readonly string[],
  threads: number,
): Promise<FloorResult> {
  const start = performance.now();
  const next = new Int32Array(new SharedArrayBuffer(4));
  const counts = await Promise.all(
    Array.from(
      { length: threads },
      () =>
        new Promise<number>((resolve, reject) => {
          const w = new Worker(FLOOR_WORKER, { eval: true, workerData: { files, next } });
          w.once("message", (n: number) => {
            resolve(n);
            void w.terminate();
          });
          w.once("error", reject);
        }),
    ),
  );
  const records = counts.reduce((a, b) => a + b, 0);
  const seconds = (performance.now() - start) / 1000;
  return { files: files.length, records, seconds, recordsPerSecond: records / seconds };
}

/** Set when bench/replay-throughput.ts bundles this file (it then runs from bench/out). */
declare const __BENCH_DIR__: string | undefined;

export const BENCH_DIR =
  typeof __BENCH_DIR__ === "string"
    ? __BENCH_DIR__
    : join(fileURLToPath(new URL(".", import.meta.url)), "out", "archive");

/** The benchmark archive's event log files (or those under `paths`), in the order replay reads them. */
export async function benchFiles(paths?: readonly string[]): Promise<string[]> {
  if (paths && paths.length > 0) return (await listInputFiles(paths)).map((f) => f.path);
  // Only without paths: the archive's generator stays out of the floor's start-up.
  const { BENCH_ARCHIVE, ensureArchive } = await import("../packages/cli/test/support/archive");
  const roots = [(await ensureArchive({ ...BENCH_ARCHIVE, dir: BENCH_DIR })).root];
  return (await listInputFiles(roots)).map((f) => f.path);
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) {
  const args = process.argv.slice(2);
  const t = args.indexOf("--threads");
  const threads = t >= 0 ? Number(args[t + 1]) : 1;
  const json = args.includes("--json");
  const paths = args.filter((a, i) => !a.startsWith("--") && (t < 0 || i !== t + 1));
  const files = await benchFiles(paths);
  const r = threads > 1 ? await runFloorThreads(files, threads) : runFloor(files);
  if (json) console.log(JSON.stringify(r));
  else {
    console.log(
      `floor (${threads} thread${threads === 1 ? "" : "s"}): ${r.records} records in ${r.files} files, ${r.seconds.toFixed(2)} s, ${Math.round(r.recordsPerSecond)} records/s`,
    );
  }
}
