/**
 * The floor for `guardrail replay`: on one thread, read, gunzip and `JSON.parse` every log file
 * of the benchmark archive, and nothing else. Replay cannot do less work than this per record, so
 * its throughput is judged against this number (see bench/replay-throughput.ts).
 *
 *   npx tsx bench/replay-floor.ts [DIR]
 *
 * Without DIR it reads (and first writes, if missing) the ~1,000,000-record archive under
 * bench/out/archive.
 */
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { gunzipSync } from "node:zlib";
import { listInputFiles } from "../packages/cli/src/input";
import { BENCH_ARCHIVE, ensureArchive } from "../packages/cli/test/support/archive";

export interface FloorResult {
  readonly files: number;
  readonly records: number;
  readonly seconds: number;
  readonly recordsPerSecond: number;
}

/** Gunzips and parses `files` on this thread, counting records. */
export function runFloor(files: readonly string[]): FloorResult {
  const start = performance.now();
  let records = 0;
  for (const file of files) {
    let buf = readFileSync(file);
    if (file.endsWith(".gz")) buf = gunzipSync(buf);
    const doc = JSON.parse(buf.toString("utf8")) as { Records?: unknown[] };
    records += Array.isArray(doc.Records) ? doc.Records.length : 1;
  }
  const seconds = (performance.now() - start) / 1000;
  return { files: files.length, records, seconds, recordsPerSecond: records / seconds };
}

export const BENCH_DIR = join(fileURLToPath(new URL(".", import.meta.url)), "out", "archive");

/** The benchmark archive's event log files, in the order replay reads them. */
export async function benchFiles(dir?: string): Promise<string[]> {
  const root = dir ?? (await ensureArchive({ ...BENCH_ARCHIVE, dir: BENCH_DIR })).root;
  return (await listInputFiles([root])).map((f) => f.path);
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) {
  const files = await benchFiles(process.argv[2]);
  const r = runFloor(files);
  console.log(
    `floor: ${r.records} records in ${r.files} files, ${r.seconds.toFixed(2)} s, ${Math.round(r.recordsPerSecond)} records/s`,
  );
}
