/**
 * Before/after: the time-to-revoke, cold-start and sweep-scale benchmarks of an earlier revision
 * and of this working tree (or of a later revision, `--after`), taking turns (before, after, before, after, …) in one run, so that
 * load from elsewhere on the machine hits both alike. Each revision measures its own code with
 * its own benchmark scripts: a named revision is checked out into a temporary git worktree with
 * its own `npm ci`.
 *
 * Prints a table (figure, before, after, ratio, within 1.10?) of the medians over the rounds and
 * writes it into the "Before and after" section of docs/benchmarks.md (replacing that section
 * only) and bench/out/compare-revisions.json.
 *
 *   npx tsx bench/compare-revisions.ts                      # before = 8a87658, 2 rounds
 *   npx tsx bench/compare-revisions.ts --before HEAD~3 --rounds 3 --only cold-start
 *   npx tsx bench/compare-revisions.ts --events 300 --no-write   # printed only
 *   npx tsx bench/compare-revisions.ts --before HEAD~1 --after HEAD --only cold-start
 *   npx tsx bench/compare-revisions.ts --resume   # keeps the figures of runs that finished
 */
import { execFileSync, spawn } from "node:child_process";
import { existsSync, mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { loadavg, tmpdir } from "node:os";
import { join } from "node:path";
import { describeMachine } from "./lib/machine";
import { BENCH_OUT, isMain, NODE, ROOT } from "./lib/paths";
import type { BenchResult } from "./lib/result";
import { median } from "./lib/stats";
import { markdownTable, textTable } from "./lib/table";

/** main before issue 12's restructuring. */
const DEFAULT_BEFORE = "8a87658";
const WORSE_LIMIT = 1.1;
const HEADING = "## Before and after";

/** The benchmark of each section, by the module and function both revisions export. */
const BENCHMARKS = {
  "time-to-revoke": { module: "time-to-revoke", fn: "timeToRevoke" },
  "cold-start": { module: "cold-start", fn: "coldStart" },
  "sweep-scale": { module: "sweep-scale", fn: "sweepScale" },
} as const;
type Benchmark = keyof typeof BENCHMARKS;

/**
 * Written into each revision's (ignored) bench/out/: runs one benchmark of that revision and
 * writes its figures as JSON, so that the earlier revision needs nothing it did not have.
 */
const RUNNER = `import { writeFileSync } from "node:fs";
const [, , module, fn, out, events] = process.argv;
const bench = await import(\`../\${module}.ts\`);
const options = events ? { events: Number(events) } : {};
const section = await bench[fn](options);
writeFileSync(out, JSON.stringify(section.results));
`;

interface Revision {
  readonly label: "before" | "after";
  readonly root: string;
  readonly commit: string;
}

function arg(name: string): string | undefined {
  const i = process.argv.indexOf(name);
  return i >= 0 ? process.argv[i + 1] : undefined;
}

function git(args: readonly string[], cwd = ROOT): string {
  return execFileSync("git", args, { cwd, encoding: "utf8" }).trim();
}

function run(command: string, args: readonly string[], cwd: string): Promise<void> {
  return new Promise((resolve, reject) => {
    const child = spawn(command, args, { cwd, stdio: ["ignore", "inherit", "inherit"] });
    child.on("error", reject);
    child.on("close", (code) =>
      code === 0 ? resolve() : reject(new Error(`${command} ${args.join(" ")} exited ${code}`)),
    );
  });
}

/** A revision in a temporary worktree with its own dependencies; reused when present. */
async function prepare(rev: string, label: Revision["label"]): Promise<Revision> {
  const commit = git(["rev-parse", "--short", rev]);
  const root = join(tmpdir(), `guardrail-bench-${commit}`);
  if (!existsSync(join(root, "package.json"))) {
    git(["worktree", "add", "--detach", "--force", root, commit]);
  }
  if (!existsSync(join(root, "node_modules", ".package-lock.json"))) {
    await run("npm", ["ci", "--prefer-offline", "--no-audit", "--no-fund"], root);
  }
  return { label, root, commit };
}

async function measure(
  revision: Revision,
  benchmark: Benchmark,
  round: number,
  events: number | undefined,
): Promise<BenchResult[]> {
  const outDir = join(revision.root, "bench", "out");
  mkdirSync(outDir, { recursive: true });
  const runner = join(outDir, "compare-runner.ts");
  writeFileSync(runner, RUNNER);
  const out = join(outDir, `compare-${benchmark}-${round}.json`);
  if (process.argv.includes("--resume") && existsSync(out)) {
    console.error(`  ${benchmark}, ${revision.label} (${revision.commit}), round ${round}: kept`);
    return JSON.parse(readFileSync(out, "utf8")) as BenchResult[];
  }
  const { module, fn } = BENCHMARKS[benchmark];
  const tsx = join(revision.root, "node_modules", "tsx", "dist", "cli.mjs");
  const started = performance.now();
  const args = [tsx, runner, module, fn, out];
  if (benchmark === "time-to-revoke" && events !== undefined) args.push(String(events));
  await run(NODE, args, revision.root);
  console.error(
    `  ${benchmark}, ${revision.label} (${revision.commit}), round ${round}: ` +
      `${((performance.now() - started) / 1000).toFixed(0)} s, load ${loadavg()[0]?.toFixed(1)}`,
  );
  return JSON.parse(readFileSync(out, "utf8")) as BenchResult[];
}

/** Figures where more is better (throughput); counts of work (scanned, removed) are neither. */
function direction(r: BenchResult): "higher" | "lower" | "neither" {
  if (/remediated|scanned|removed/.test(r.name)) return "neither";
  return /\/s$/.test(r.unit) ? "higher" : "lower";
}

export interface Comparison {
  readonly section: Benchmark;
  readonly name: string;
  readonly unit: string;
  readonly before: number;
  readonly after: number;
  /** How much worse after is than before (>1 worse), whichever way the figure points; after /
   * before for a count of work, which is not judged. */
  readonly ratio: number;
  /** Null for a count of work (a change of behaviour, not of speed, moves it). */
  readonly within: boolean | null;
}

export function compare(
  section: Benchmark,
  before: readonly BenchResult[][],
  after: readonly BenchResult[][],
): Comparison[] {
  const med = (runs: readonly BenchResult[][], name: string) =>
    median(runs.flatMap((rs) => rs.filter((r) => r.name === name).map((r) => r.value)));
  const names = (after[0] ?? []).filter((r) => (before[0] ?? []).some((b) => b.name === r.name));
  return names.map((r) => {
    const b = med(before, r.name);
    const a = med(after, r.name);
    const way = direction(r);
    const worse = way === "higher" ? b / a : a / b;
    const ratio = b === a ? 1 : Number.isFinite(worse) ? worse : Number.POSITIVE_INFINITY;
    return {
      section,
      name: r.name,
      unit: r.unit,
      before: b,
      after: a,
      ratio,
      within: way === "neither" ? null : ratio <= WORSE_LIMIT,
    };
  });
}

const num = (v: number) =>
  (Math.abs(v) >= 100 ? Math.round(v) : Math.round(v * 100) / 100).toLocaleString("en-US");

function table(rows: readonly Comparison[]) {
  return {
    header: ["figure", "before", "after", "ratio", `≤ ${WORSE_LIMIT.toFixed(2)}?`],
    rows: rows.map((c) => [
      `${c.name} (${c.unit})`,
      num(c.before),
      num(c.after),
      c.ratio.toFixed(3),
      c.within === null ? "-" : c.within ? "yes" : "**no**",
    ]),
  };
}

/** Replaces (or appends) the "Before and after" section of docs/benchmarks.md. */
function writeSection(markdown: string): void {
  const file = join(ROOT, "docs", "benchmarks.md");
  const doc = readFileSync(file, "utf8");
  const start = doc.indexOf(`${HEADING}\n`);
  let next = start < 0 ? -1 : doc.indexOf("\n## ", start + HEADING.length);
  if (next >= 0) next += 1;
  const updated =
    start < 0
      ? `${doc.trimEnd()}\n\n${markdown}`
      : `${doc.slice(0, start)}${markdown}${next < 0 ? "" : `\n${doc.slice(next)}`}`;
  writeFileSync(file, `${updated.trimEnd()}\n`);
}

async function main(): Promise<void> {
  const rounds = Number(arg("--rounds") ?? 2);
  const events = arg("--events") === undefined ? 300 : Number(arg("--events"));
  const only = arg("--only")?.split(",");
  const benchmarks = (Object.keys(BENCHMARKS) as Benchmark[]).filter(
    (b) => only === undefined || only.includes(b),
  );
  const machine = describeMachine();
  const before = await prepare(arg("--before") ?? DEFAULT_BEFORE, "before");
  const afterRev = arg("--after");
  const after: Revision =
    afterRev === undefined
      ? { label: "after", root: ROOT, commit: machine.commit }
      : await prepare(afterRev, "after");
  const started = performance.now();
  const rows: Comparison[] = [];
  for (const benchmark of benchmarks) {
    const runs: Record<Revision["label"], BenchResult[][]> = { before: [], after: [] };
    for (let round = 1; round <= rounds; round++) {
      for (const revision of round % 2 === 1 ? [before, after] : [after, before]) {
        runs[revision.label].push(await measure(revision, benchmark, round, events));
      }
    }
    rows.push(...compare(benchmark, runs.before, runs.after));
  }
  const minutes = (performance.now() - started) / 60000;
  console.log(`\n${textTable(table(rows))}`);
  const worse = rows.filter((r) => r.within === false);
  console.log(
    `\n${rows.length} figures, ${worse.length} worse by more than ${Math.round((WORSE_LIMIT - 1) * 100)}%, ` +
      `in ${minutes.toFixed(1)} min.`,
  );
  mkdirSync(BENCH_OUT, { recursive: true });
  writeFileSync(
    join(BENCH_OUT, "compare-revisions.json"),
    `${JSON.stringify({ before: before.commit, after: after.commit, rows }, null, 2)}\n`,
  );
  if (process.argv.includes("--no-write")) return;
  const flags = [
    `--before ${before.commit}`,
    ...(afterRev === undefined ? [] : [`--after ${after.commit}`]),
    `--rounds ${rounds}`,
    `--events ${events}`,
    ...(only ? [`--only ${only.join(",")}`] : []),
    ...(process.argv.includes("--resume") ? ["--resume"] : []),
  ].join(" ");
  writeSection(
    [
      HEADING,
      "",
      `\`npx tsx bench/compare-revisions.ts ${flags}\` · ${machine.date} · ` +
        `${minutes.toFixed(0)} min · load average ${machine.loadAverage.join(", ")} at start`,
      "",
      `The time-to-revoke (${events} events a round), cold-start and sweep-scale benchmarks of ` +
        `${before.commit} (before) and ${after.commit} (after), each revision with its own ` +
        `benchmark scripts and dependencies, taking turns (${rounds} rounds, the order ` +
        "swapped each round) so that load from elsewhere on the shared machine hits both " +
        "alike. Each value is the median over the rounds; the ratio is how much worse after " +
        "is than before (after / before for a time or a size, before / after for a rate), " +
        `and a figure passes at ${WORSE_LIMIT.toFixed(2)} or below; a count of work (rules ` +
        "scanned or removed) is shown, not judged: a change of behaviour moves it.",
      "",
      markdownTable(table(rows)),
      "",
    ].join("\n"),
  );
  console.log("Wrote the before/after section of docs/benchmarks.md.");
}

if (isMain(import.meta.url)) await main();
