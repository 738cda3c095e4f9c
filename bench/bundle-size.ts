/**
 * Bundles every Lambda handler with esbuild (as the deploy does: ESM, Node 22, minified) and
 * prints a size table, plus the cold-start cost of loading each bundle in a fresh Node process.
 *
 *   npx tsx bench/bundle-size.ts
 *
 * The "eager" column bundles the same handler with the SNS and DynamoDB clients loaded at
 * module scope, to measure what lazy-loading them (they are not on the path to the revoke)
 * saves at cold start.
 */
import { execFileSync } from "node:child_process";
import { mkdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { gzipSync } from "node:zlib";
import { GUARDRAIL_FUNCTIONS, type GuardrailFunction } from "@guardrail/core";
import { build } from "esbuild";

const root = join(dirname(fileURLToPath(import.meta.url)), "..");
const out = join(root, "bench", "out", "bundles");

/** What the functions need at cold start; dummy values, no network is touched by module init. */
const ENV = {
  GUARDRAIL_TABLE_NAME: "guardrail-audit",
  GUARDRAIL_TOPIC_ARN: "arn:aws:sns:eu-west-1:123456789012:guardrail-alerts",
  GUARDRAIL_STAGE: "bench",
  GUARDRAIL_VERSION: "bench",
  GUARDRAIL_SLACK_WEBHOOK_URL: "https://hooks.example.test/services/T/B/x",
  AWS_REGION: "eu-west-1",
  AWS_ACCESS_KEY_ID: "AKIDBENCH",
  AWS_SECRET_ACCESS_KEY: "bench",
  POWERTOOLS_LOG_LEVEL: "SILENT",
  POWERTOOLS_METRICS_DISABLED: "true",
};

async function bundle(entry: string, outfile: string): Promise<number> {
  await build({
    entryPoints: [entry],
    outfile,
    bundle: true,
    minify: true,
    format: "esm",
    platform: "node",
    target: "node22",
    mainFields: ["module", "main"],
    // Some dependencies still call require(); give the ESM bundle one.
    banner: {
      js: "import{createRequire as __cr}from'node:module';const require=__cr(import.meta.url);",
    },
    logLevel: "error",
    legalComments: "none",
  });
  return readFileSync(outfile).length;
}

/** Median wall time of `import(bundle)` in a fresh Node 22 process (module init included). */
function coldImportMs(file: string, runs = 7): number {
  const script = `const t=performance.now();await import(${JSON.stringify(file)});process.stdout.write(String(performance.now()-t));`;
  const times: number[] = [];
  for (let i = 0; i < runs; i++) {
    const ms = execFileSync("npx", ["--no-install", "node", "--input-type=module", "-e", script], {
      cwd: root,
      env: { ...process.env, ...ENV },
      encoding: "utf8",
    });
    times.push(Number(ms));
  }
  times.sort((a, b) => a - b);
  return times[Math.floor(times.length / 2)] as number;
}

const kb = (n: number) => `${(n / 1024).toFixed(0)} KB`;

export interface BundleRow {
  readonly fn: GuardrailFunction;
  readonly bytes: number;
  readonly gzip: number;
  readonly coldMs: number;
  readonly eagerColdMs: number | null;
}

export async function measure(): Promise<BundleRow[]> {
  rmSync(out, { recursive: true, force: true });
  mkdirSync(out, { recursive: true });
  const rows: BundleRow[] = [];
  for (const fn of GUARDRAIL_FUNCTIONS) {
    const entry = join(root, "functions", "src", "handlers", `${fn}.ts`);
    const file = join(out, `${fn}.mjs`);
    const bytes = await bundle(entry, file);
    const gzip = gzipSync(readFileSync(file)).length;
    let eagerColdMs: number | null = null;
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
      const eagerFile = join(out, `${fn}.eager.mjs`);
      await bundle(eagerEntry, eagerFile);
      eagerColdMs = coldImportMs(eagerFile);
    }
    rows.push({ fn, bytes, gzip, coldMs: coldImportMs(file), eagerColdMs });
  }
  return rows;
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) {
  const rows = await measure();
  const header = [
    "function",
    "bundle",
    "gzip",
    "cold import (lazy SNS/DynamoDB)",
    "cold import (eager)",
  ];
  const lines = rows.map((r) => [
    r.fn,
    kb(r.bytes),
    kb(r.gzip),
    `${r.coldMs.toFixed(0)} ms`,
    r.eagerColdMs === null ? "n/a" : `${r.eagerColdMs.toFixed(0)} ms`,
  ]);
  const widths = header.map((h, i) => Math.max(h.length, ...lines.map((l) => (l[i] ?? "").length)));
  const fmt = (cells: string[]) => cells.map((c, i) => c.padEnd(widths[i] ?? 0)).join("  ");
  console.log(fmt(header));
  console.log(widths.map((w) => "-".repeat(w)).join("  "));
  for (const l of lines) console.log(fmt(l));
  console.log(
    `\nbundles in ${out} (Node ${execFileSync("npx", ["--no-install", "node", "--version"], { encoding: "utf8" }).trim()})`,
  );
}
