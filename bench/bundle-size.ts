/**
 * Bundles every Lambda handler with esbuild (as the deploy does: functions/build/esbuild.mjs,
 * ESM, Node 22, minified, split, SDK schema keys rewritten) and prints a size table, plus the
 * cold-start cost of loading each bundle in a fresh Node process.
 *
 *   npx tsx bench/bundle-size.ts
 *
 * The "eager" column bundles the same handler with the SNS and DynamoDB clients loaded at
 * module scope, to measure what lazy-loading them (they are not on the path to the revoke)
 * saves at cold start. bench/cold-start.ts reports these rows with the other cold-start options.
 */
import { execFileSync } from "node:child_process";
import { mkdirSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { gzipSync } from "node:zlib";
import { BUNDLED_POLICY_FILE, GUARDRAIL_FUNCTIONS, type GuardrailFunction } from "@guardrail/core";
import { build } from "esbuild";
import { lambdaBuildOptions } from "../functions/build/esbuild.mjs";
import { staticGraph, writeCompiledPolicy } from "./lib/bundle";
import { INIT_ENV } from "./lib/cold";

const root = join(dirname(fileURLToPath(import.meta.url)), "..");
const out = join(root, "bench", "out", "bundles", "by-function");
/** Node 22 from the npm `node` package. */
const NODE = join(root, "node_modules", ".bin", "node");

/**
 * Bundles `entry` into `outdir` as the deploy does; returns the entry module and the files
 * loaded at cold start (the entry and the chunks it imports statically).
 */
async function bundle(entry: string, outdir: string): Promise<{ file: string; init: string[] }> {
  await build({ ...lambdaBuildOptions({ entry, outdir }), absWorkingDir: root });
  // The deploy copies the compiled policy beside the bundle; the functions load it at init.
  writeCompiledPolicy(join(outdir, BUNDLED_POLICY_FILE));
  const file = join(outdir, `${entry.replace(/^.*\//, "").replace(/\.ts$/, "")}.mjs`);
  return { file, init: staticGraph(file) };
}

/**
 * Median wall time of `import(bundle)` in a fresh Node 22 process (module init included), for
 * each file. The files take turns, so that load from elsewhere on the machine hits them alike.
 */
export function coldImportMs(files: readonly string[], runs = 9): number[] {
  const times = files.map(() => [] as number[]);
  for (let i = 0; i < runs; i++) {
    files.forEach((file, f) => {
      const script = `const t=performance.now();await import(${JSON.stringify(file)});process.stdout.write(String(performance.now()-t));`;
      const ms = execFileSync(NODE, ["--input-type=module", "-e", script], {
        cwd: root,
        env: { ...process.env, ...INIT_ENV },
        encoding: "utf8",
      });
      times[f]?.push(Number(ms));
    });
  }
  return times.map((t) => t.sort((a, b) => a - b)[Math.floor(t.length / 2)] as number);
}

const kb = (n: number) => `${(n / 1024).toFixed(0)} KB`;

export interface BundleRow {
  readonly fn: GuardrailFunction;
  /** Bytes loaded at cold start (entry and static chunks) and their gzip size. */
  readonly bytes: number;
  readonly gzip: number;
  /** Every file of the bundle, chunks loaded on first use included. */
  readonly totalBytes: number;
  readonly coldMs: number;
  readonly eagerColdMs: number | null;
}

export async function measure(): Promise<BundleRow[]> {
  rmSync(out, { recursive: true, force: true });
  mkdirSync(out, { recursive: true });
  const rows: BundleRow[] = [];
  for (const fn of GUARDRAIL_FUNCTIONS) {
    const entry = join(root, "functions", "src", "handlers", `${fn}.ts`);
    const dir = join(out, fn);
    const { file, init } = await bundle(entry, dir);
    const bytes = init.reduce((sum, f) => sum + statSync(f).size, 0);
    const gzip = init.reduce((sum, f) => sum + gzipSync(readFileSync(f)).length, 0);
    const totalBytes = readdirSync(dir)
      .filter((f) => f !== BUNDLED_POLICY_FILE)
      .reduce((sum, f) => sum + statSync(join(dir, f)).size, 0);
    let eagerFile: string | undefined;
    if (fn !== "slack-notifier") {
      const eagerEntry = join(out, `${fn}.eager.ts`);
      writeFileSync(
        eagerEntry,
        [
          `import { SNSClient } from "@aws-sdk/client-sns";`,
          `import { DynamoDBClient } from "@aws-sdk/client-dynamodb";`,
          `import { DynamoDBDocumentClient } from "@aws-sdk/lib-dynamodb";`,
          `export { handler } from ${JSON.stringify(entry)};`,
          `export const clients = [new SNSClient({}), DynamoDBDocumentClient.from(new DynamoDBClient({}))];`,
        ].join("\n"),
      );
      eagerFile = (await bundle(eagerEntry, join(out, `${fn}.eager`))).file;
    }
    const [coldMs, eagerColdMs] = coldImportMs(eagerFile ? [file, eagerFile] : [file]);
    rows.push({
      fn,
      bytes,
      gzip,
      totalBytes,
      coldMs: coldMs as number,
      eagerColdMs: eagerColdMs ?? null,
    });
  }
  return rows;
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) {
  const rows = await measure();
  const header = [
    "function",
    "loaded at init",
    "gzip",
    "all files",
    "cold import (lazy SNS/DynamoDB)",
    "cold import (eager)",
  ];
  const lines = rows.map((r) => [
    r.fn,
    kb(r.bytes),
    kb(r.gzip),
    kb(r.totalBytes),
    `${r.coldMs.toFixed(0)} ms`,
    r.eagerColdMs === null ? "n/a" : `${r.eagerColdMs.toFixed(0)} ms`,
  ]);
  const widths = header.map((h, i) => Math.max(h.length, ...lines.map((l) => (l[i] ?? "").length)));
  const fmt = (cells: string[]) => cells.map((c, i) => c.padEnd(widths[i] ?? 0)).join("  ");
  console.log(fmt(header));
  console.log(widths.map((w) => "-".repeat(w)).join("  "));
  for (const l of lines) console.log(fmt(l));
  console.log(
    `\nbundles in ${out} (Node ${execFileSync(NODE, ["--version"], { encoding: "utf8" }).trim()})`,
  );
}
