import { createPostureStore } from "@guardrail/aws";
import {
  buildPostureReport,
  POSTURE_EXPIRING_DAYS,
  type PostureReport,
  postureDigestText,
  weekAgoDate,
} from "@guardrail/core/runtime";
import { type Command, Option } from "commander";
import type { AwsFlags } from "../aws";
import { type CliIo, type CommandContext, write } from "../context";
import { EXIT } from "../errors";
import { checkAccounts } from "../flags";
import { withOutput } from "../output";
import { fmt, textTable } from "../replay/formats/table";
import { readAuditTable } from "../table-name";

export interface PostureOptions extends AwsFlags {
  format: "table" | "json" | "html";
  table?: string;
  account?: string[];
  output?: string;
}

export function registerPosture(program: Command, ctx: CommandContext): void {
  program
    .command("posture")
    .summary("what is exposed now, and since when")
    .description(
      "Read what the last sweep of each account and Region left open from the audit table: " +
        "open findings with their age (notify-only rules waiting for a person, revokes that " +
        `failed), exemptions ending in the next ${POSTURE_EXPIRING_DAYS} days, and the totals ` +
        "against a week ago. The weekly digest sends the same numbers. The table is found as " +
        "`guardrail audit` finds it.",
    )
    .addOption(
      new Option("-f, --format <format>", "output format")
        .choices(["table", "json", "html"])
        .default("table"),
    )
    .option("--account <id...>", "only these accounts")
    .option("-o, --output <file>", "write the output to FILE instead of stdout")
    .option("--table <name>", "audit table name (default: from .sst/outputs.json)")
    .option("--region <region>", "AWS Region of the table (default: AWS_REGION, then your profile)")
    .option("--endpoint-url <url>", "DynamoDB endpoint (default: AWS's)")
    .option("--profile <name>", "AWS profile (default: AWS_PROFILE)")
    .addHelpText(
      "after",
      `
Exit codes:
  0  printed (even when nothing is open)
  2  invalid usage, or no table name to be found
  3  the table cannot be read, or no credentials or Region

Examples:
  guardrail posture
  guardrail posture --account 111122223333 --format json
  guardrail posture --format html -o posture.html
`,
    )
    .action(async (opts: PostureOptions) => {
      ctx.exit(await postureCommand(opts, ctx.io));
    });
}

async function postureCommand(opts: PostureOptions, io: CliIo): Promise<number> {
  if (opts.account) checkAccounts("--account", opts.account);
  const now = new Date();
  const report = await readAuditTable(opts, io, async (name, doc) => {
    const store = createPostureStore(name, async () => doc);
    const wanted = (a: { account: string }) => !opts.account || opts.account.includes(a.account);
    const [snapshots, days] = await Promise.all([store.all(), store.days(weekAgoDate(now))]);
    return buildPostureReport(snapshots.filter(wanted), days.filter(wanted), now);
  });
  const text =
    opts.format === "json"
      ? `${JSON.stringify(report, null, 2)}\n`
      : opts.format === "html"
        ? renderPostureHtml(report)
        : renderPostureTable(report);
  await withOutput(io, opts.output, (out) => write(out, text));
  return EXIT.ok;
}

/** The columns of the by-account, Region and rule rows, in the table and on the page. */
const ROW_COLUMNS = [
  "account",
  "region",
  "rule",
  "open",
  "notify-only",
  "failed",
  "oldest (days)",
  "exemptions ending",
];

function rowCells(r: PostureReport["rows"][number], num: (n: number) => string): string[] {
  return [
    r.account,
    r.region,
    r.rule,
    num(r.open),
    num(r.notifyOnly),
    num(r.failed),
    r.oldestDays === null ? "-" : num(r.oldestDays),
    num(r.expiringExemptions),
  ];
}

/** The digest's text, then one row per account, Region and rule. */
export function renderPostureTable(report: PostureReport): string {
  const lines = [postureDigestText(report, 20), ""];
  if (report.rows.length > 0) {
    lines.push(
      textTable(
        ROW_COLUMNS,
        report.rows.map((r) => rowCells(r, fmt)),
      ),
    );
  }
  if (report.sweeps.length === 0) lines.push("No sweep has recorded a posture yet.");
  else {
    lines.push(
      "",
      `Last swept: ${report.sweeps.map((s) => `${s.account} ${s.region} ${s.sweptAt}`).join("; ")}`,
    );
  }
  return `${lines.join("\n")}\n`;
}

const esc = (s: string) =>
  s.replace(/&/g, "&amp;").replace(/</g, "&lt;").replace(/>/g, "&gt;").replace(/"/g, "&quot;");

/** A self-contained page: totals, rows, open findings, expiring exemptions. */
export function renderPostureHtml(report: PostureReport): string {
  const t = report.totals;
  const w = report.weekAgo;
  const table = (head: string[], rows: string[][]) =>
    `<table><thead><tr>${head.map((h) => `<th>${esc(h)}</th>`).join("")}</tr></thead><tbody>${rows
      .map((r) => `<tr>${r.map((c) => `<td>${esc(c)}</td>`).join("")}</tr>`)
      .join("")}</tbody></table>`;
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>Network guardrail posture ${esc(report.generatedAt.slice(0, 10))}</title>
<style>body{font:14px system-ui,sans-serif;margin:2em}table{border-collapse:collapse;margin:1em 0}td,th{border:1px solid #ccc;padding:4px 8px;text-align:left}th{background:#f4f4f4}</style></head>
<body><h1>Network guardrail posture</h1><p>Generated ${esc(report.generatedAt)}</p>
${table(
  ["", "now", "a week ago"],
  [
    ["open findings", String(t.open), w ? String(w.open) : "-"],
    ["waiting for a person (notify-only)", String(t.notifyOnly), w ? String(w.notifyOnly) : "-"],
    ["revokes that failed", String(t.failed), w ? String(w.failed) : "-"],
    ["exemptions in force", String(t.exemptions), w ? String(w.exemptions) : "-"],
    [`exemptions ending in ${POSTURE_EXPIRING_DAYS} days`, String(t.expiringExemptions), "-"],
  ],
)}
<h2>By account, Region and rule</h2>
${table(
  ROW_COLUMNS,
  report.rows.map((r) => rowCells(r, String)),
)}
<h2>Open findings</h2>
${table(
  ["account", "region", "resource", "rule", "status", "severity", "open (days)", "since", "rule"],
  report.findings.map((f) => [
    f.account,
    f.region,
    f.resourceId,
    f.text,
    f.status,
    f.severity,
    String(f.ageDays),
    f.firstSeen,
    f.rule,
  ]),
)}
<h2>Exemptions ending soon</h2>
${table(
  ["account", "region", "resource", "rule", "exempted", "kind", "reason", "ends"],
  report.expiring.map((x) => [
    x.account,
    x.region,
    x.resourceId,
    x.text,
    x.rule,
    x.kind,
    x.reason,
    x.expires ?? "",
  ]),
)}
</body></html>
`;
}
