/**
 * Throughput of `guardrail replay` on a CloudTrail S3 export of ~1,000,000 records (4 accounts,
 * 2 regions, 10 days, 5% security-group / network-ACL calls among S3, STS, KMS, EC2 and Logs
 * traffic) and on its first day (~100,000 records), against the floor on two threads: worker
 * threads that only read, gunzip and `JSON.parse` the same files (bench/replay-floor.ts).
 *
 * Each replay runs the packaged CLI (dist/, built first: what `npm pack` ships, no TypeScript to
 * transpile) in a child process, startup included, its output going to a file under bench/out.
 * The floor runs in a child process too, bundled into plain JavaScript as the CLI is (no
 * TypeScript loader), and both are timed the same way: from spawning the process to its exit,
 * Node's start-up, listing the files and starting the worker threads included. The machine is shared, so the runs are interleaved: each round times, per
 * archive size, the floor, the table, the floor again and the JSON output, and each replay is
 * judged by its ratio to the floor run just before it. Peak memory is the largest resident set
 * of the process and its children, sampled from /proc. Target: the median ratio ≤ 1.0 for both
 * sizes and both formats.
 *
 *   npx tsx bench/replay-throughput.ts [--out bench/out/replay-throughput.json] [--runs N]
 *
 * Prints a table on stderr and the JSON result list `{name, value, unit, target, met}` on stdout.
 */
import { spawn } from "node:child_process";
import { readdirSync, readFileSync } from "node:fs";
import { mkdir, stat, writeFile } from "node:fs/promises";
import { availableParallelism } from "node:os";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { build } from "esbuild";
import { BENCH_DIR, benchFiles, type FloorResult } from "./replay-floor";

const ROOT = join(dirname(fileURLToPath(import.meta.url)), "..");
const NODE = join(ROOT, "node_modules", ".bin", "node");
const CLI = join(ROOT, "packages", "cli", "dist", "guardrail.mjs");
const OUT_DIR = join(ROOT, "bench", "out");
/** bench/replay-floor.ts bundled (see `buildFloor`). */
const FLOOR = join(OUT_DIR, "replay-floor.mjs");

/**
 * Bundles the floor into one plain-JavaScript file, as the CLI's build does (packages/cli/scripts/
 * build.mjs): both then start the way a packaged program starts, without a TypeScript loader.
 */
async function buildFloor(): Promise<void> {
  await build({
    entryPoints: [join(ROOT, "bench", "replay-floor.ts")],
    outfile: FLOOR,
    bundle: true,
    format: "esm",
    platform: "node",
    target: "node22",
    define: { __BENCH_DIR__: JSON.stringify(BENCH_DIR) },
    banner: {
      js: "import { createRequire as __floorRequire } from 'node:module'; const require = __floorRequire(import.meta.url);",
    },
    logLevel: "warning",
  });
}

export interface BenchResult {
  readonly name: string;
  readonly value: number;
  readonly unit: string;
  readonly target: number | null;
  readonly met: boolean | null;
}

function arg(name: string): string | undefined {
  const i = process.argv.indexOf(name);
  return i >= 0 ? process.argv[i + 1] : undefined;
}

/** Resident set of `pid` and its descendants, in bytes (0 once it has exited). */
function treeRss(pid: number): number {
  let total = 0;
  try {
    const status = readFileSync(`/proc/${pid}/status`, "utf8");
    total += Number(/VmRSS:\s+(\d+) kB/.exec(status)?.[1] ?? 0) * 1024;
    for (const tid of readdirSync(`/proc/${pid}/task`)) {
      const children = readFileSync(`/proc/${pid}/task/${tid}/children`, "utf8").trim();
      for (const c of children === "" ? [] : children.split(" ")) total += treeRss(Number(c));
    }
  } catch {
    // Gone between two reads.
  }
  return total;
}

interface Run {
  readonly seconds: number;
  readonly peakRss: number;
  readonly stdout: string;
}

/** Runs a child to its end: wall time, peak resident set of its tree (sampled every 10 ms). */
function runChild(args: readonly string[], env: NodeJS.ProcessEnv = process.env): Promise<Run> {
  return new Promise((resolve, reject) => {
    const start = performance.now();
    const child = spawn(NODE, args, { cwd: ROOT, env, stdio: ["ignore", "pipe", "pipe"] });
    let peak = 0;
    const sample = setInterval(() => {
      if (child.pid !== undefined) peak = Math.max(peak, treeRss(child.pid));
    }, 10);
    let out = "";
    let err = "";
    child.stdout.on("data", (b: Buffer) => {
      out += b.toString();
    });
    child.stderr.on("data", (b: Buffer) => {
      err += b.toString();
    });
    child.on("error", reject);
    child.on("close", (code) => {
      clearInterval(sample);
      const seconds = (performance.now() - start) / 1000;
      if (code !== 0) reject(new Error(`${args.join(" ")} exited ${code}: ${err}`));
      else resolve({ seconds, peakRss: peak, stdout: out });
    });
  });
}

async function floor(paths: readonly string[]): Promise<FloorResult & { peakRss: number }> {
  // With a compile cache as the CLI has (packages/cli/src/compile-cache.ts), for the same start.
  const run = await runChild([FLOOR, "--threads", "2", "--json", ...paths], {
    ...process.env,
    NODE_COMPILE_CACHE: join(OUT_DIR, "floor-compile-cache"),
  });
  // The process's wall time, as for replay (the floor's own figure leaves out Node's start-up).
  return { ...(JSON.parse(run.stdout) as FloorResult), seconds: run.seconds, peakRss: run.peakRss };
}

const median = (xs: readonly number[]) => {
  const s = [...xs].sort((a, b) => a - b);
  const m = Math.floor(s.length / 2);
  return s.length % 2 ? s[m]! : (s[m - 1]! + s[m]!) / 2;
};
const r3 = (x: number) => Number(x.toFixed(3));
const mb = (bytes: number) => Math.round(bytes / 1e6);

async function main() {
  const runs = Number(arg("--runs") ?? 3);
  await benchFiles();
  const root = join(BENCH_DIR, "AWSLogs");
  // The first day of every account and Region: a tenth of the archive.
  const firstDay = (await benchFiles([root]))
    .map((f) => dirname(f))
    .filter((d, i, all) => all.indexOf(d) === i && d.endsWith(join("2025", "03", "01")));
  const sizes = [
    { name: "100k", paths: firstDay },
    { name: "1M", paths: [root] },
  ];
  await mkdir(OUT_DIR, { recursive: true });
  await runChild([join(ROOT, "packages", "cli", "scripts", "build.mjs")]);
  await buildFloor();

  const formats = ["table", "json"] as const;
  type Key = `${(typeof sizes)[number]["name"]} ${(typeof formats)[number]}`;
  const samples = new Map<Key, { replay: Run; floor: FloorResult & { peakRss: number } }[]>();
  const records = new Map<string, number>();
  for (let round = 0; round < runs; round++) {
    for (const size of sizes) {
      for (const format of formats) {
        const f = await floor(size.paths);
        records.set(size.name, f.records);
        const out = join(OUT_DIR, `replay.${size.name}.${format}.out`);
        const replay = await runChild([
          CLI,
          "replay",
          "--format",
          format,
          "--output",
          out,
          ...size.paths,
        ]);
        const key: Key = `${size.name} ${format}`;
        samples.set(key, [...(samples.get(key) ?? []), { replay, floor: f }]);
        process.stderr.write(
          `  (round ${round + 1}) ${key} in ${replay.seconds.toFixed(2)} s, the floor before it in ${f.seconds.toFixed(2)} s\n`,
        );
      }
    }
  }

  const results: BenchResult[] = [];
  const notes: string[] = [];
  for (const size of sizes) {
    const n = records.get(size.name) ?? 0;
    const floors = formats.flatMap((fmt) =>
      samples.get(`${size.name} ${fmt}`)!.map((s) => s.floor),
    );
    const floorSecs = median(floors.map((f) => f.seconds));
    results.push(
      {
        name: `replay ${size.name}: records`,
        value: n,
        unit: "records",
        target: null,
        met: null,
      },
      {
        name: `replay ${size.name}: floor (gunzip + JSON.parse, 2 threads)`,
        value: Math.round(n / floorSecs),
        unit: "records/s",
        target: null,
        met: null,
      },
      {
        name: `replay ${size.name}: floor peak memory`,
        value: mb(Math.max(...floors.map((f) => f.peakRss))),
        unit: "MB",
        target: null,
        met: null,
      },
    );
    for (const format of formats) {
      const key: Key = `${size.name} ${format}`;
      const s = samples.get(key)!;
      const ratios = s.map((x) => x.replay.seconds / x.floor.seconds);
      const ratio = median(ratios);
      const secs = median(s.map((x) => x.replay.seconds));
      const size_ = (await stat(join(OUT_DIR, `replay.${size.name}.${format}.out`))).size;
      results.push(
        {
          name: `replay ${key}`,
          value: Math.round(n / secs),
          unit: "records/s",
          target: null,
          met: null,
        },
        {
          name: `replay ${key}: time / 2-thread floor time (median)`,
          value: r3(ratio),
          unit: "x",
          target: 1,
          met: ratio <= 1,
        },
        {
          name: `replay ${key}: peak memory`,
          value: mb(Math.max(...s.map((x) => x.replay.peakRss))),
          unit: "MB",
          target: null,
          met: null,
        },
      );
      notes.push(
        `${key}: ${secs.toFixed(2)} s median, ratio to the floor before it ${r3(Math.min(...ratios))}-${r3(Math.max(...ratios))} over ${s.length} runs (median ${r3(ratio)}); floor ${floorSecs.toFixed(2)} s median; peak RSS ${mb(Math.max(...s.map((x) => x.replay.peakRss)))} MB (floor ${mb(Math.max(...s.map((x) => x.floor.peakRss)))} MB); ${(size_ / 1e6).toFixed(1)} MB written`,
      );
    }
  }

  const w = Math.max(...results.map((r) => r.name.length));
  const lines = [
    `replay throughput: ${availableParallelism()} cores, ${runs} interleaved rounds`,
    ...notes.map((n) => `  ${n}`),
    `${"name".padEnd(w)}  ${"value".padStart(12)}  unit       target       met`,
    ...results.map(
      (r) =>
        `${r.name.padEnd(w)}  ${r.value.toLocaleString("en-US").padStart(12)}  ${r.unit.padEnd(9)}  ${String(r.target?.toLocaleString("en-US") ?? "-").padStart(9)}  ${r.met === null ? "-" : r.met ? "yes" : "NO"}`,
    ),
  ];
  process.stderr.write(`${lines.join("\n")}\n`);
  const json = JSON.stringify(results, null, 2);
  const outFile = arg("--out") ?? join(OUT_DIR, "replay-throughput.json");
  await writeFile(outFile, `${json}\n`);
  process.stdout.write(`${json}\n`);
}

await main();
