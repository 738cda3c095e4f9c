import { type AuditAnswer, queryAudit } from "@guardrail/aws";
import type { AuditItem } from "@guardrail/core/runtime";
import { type Command, Option } from "commander";
import { type AwsFlags, awsError } from "../aws";
import { type CliIo, type CommandContext, notice, write } from "../context";
import { EXIT, UsageError } from "../errors";
import { checkAccounts, checkRegions, single } from "../flags";
import { withOutput } from "../output";
import { parseTime } from "../replay/filters";
import { csvCell } from "../replay/formats/csv";
import { shortActor } from "../replay/formats/html";
import { fmt, plural, textTable } from "../replay/formats/table";
import { openAuditTable } from "../table-name";
import { verifyCommand } from "./audit-verify";

export interface AuditOptions extends AwsFlags {
  since: string;
  until?: string;
  account?: string;
  resource?: string;
  format: "table" | "json" | "csv";
  table?: string;
  limit: string;
  output?: string;
  verify?: boolean;
  bucket?: string;
}

export function registerAudit(program: Command, ctx: CommandContext): void {
  program
    .command("audit")
    .summary("read the audit trail: what the guardrail decided and did")
    .description(
      "List the guardrail's decisions from its DynamoDB audit table, newest first: every " +
        "violation, revocation (and its result), notification-only finding and exemption. The " +
        "table is named by --table, else by the deployed stage's outputs (.sst/outputs.json), " +
        "else by GUARDRAIL_TABLE_NAME. --endpoint-url points at another DynamoDB (such as the " +
        "sandbox's).",
    )
    .option(
      "--since <time>",
      "from TIME (2025-03-01, 2025-03-01T12:00Z, or back: 30m, 12h, 7d)",
      "7d",
    )
    .option("--until <time>", "before TIME (same forms; default: now)")
    .option("--account <id>", "only this account (uses the by-account index)")
    .option("--resource <id>", "only this security group or network ACL (by-resource index)")
    .addOption(
      new Option("-f, --format <format>", "output format")
        .choices(["table", "json", "csv"])
        .default("table"),
    )
    .option("-o, --output <file>", "write the output to FILE instead of stdout")
    .option("--table <name>", "audit table name (default: from .sst/outputs.json)")
    .option("--limit <n>", "most decisions to list", "1000")
    .option(
      "--verify",
      "walk the hash chain of every account and Region (or --account's) and report any deleted, altered or reordered record (exit 1)",
    )
    .option(
      "--bucket <name>",
      "with --verify: check the Object Lock copy in this S3 bucket instead",
    )
    .option("--region <region>", "AWS Region of the table (default: AWS_REGION, then your profile)")
    .option("--endpoint-url <url>", "DynamoDB endpoint (default: AWS's)")
    .option("--profile <name>", "AWS profile (default: AWS_PROFILE)")
    .addHelpText(
      "after",
      `
Output:
  table  one line per decision, most severe first, then newest: time, account, Region,
         resource, severity, what was opened, rules, what was done (revoked, notified, or
         exempt with the exemption's reason and expiry), actor
  json   one audit item per line (JSON Lines), as stored
  csv    one row per decision

Exit codes:
  0  listed (even when nothing matched)
  2  invalid usage, or no table name to be found
  3  the table cannot be read, or no credentials or Region

Examples:
  guardrail audit
  guardrail audit --since 30d --account 111122223333
  guardrail audit --resource sg-0123456789abcdef0 --since 2025-01-01 --format json
  guardrail audit --since 24h --format csv > last-day.csv
  guardrail audit --table guardrail-audit --endpoint-url http://127.0.0.1:8000 --region us-east-1
  guardrail audit --verify
  guardrail audit --verify --bucket network-guardrail-prod-evidencebucket-abc123
`,
    )
    .action(async (opts: AuditOptions) => {
      ctx.exit(await auditCommand(opts, ctx.io));
    });
}

async function auditCommand(opts: AuditOptions, io: CliIo): Promise<number> {
  if (opts.verify) return verifyCommand(opts, io);
  if (opts.bucket) throw new UsageError("--bucket is for --verify");
  const now = new Date();
  const since = parseTime("--since", opts.since, now);
  const until =
    opts.until === undefined ? now.getTime() + 1 : parseTime("--until", opts.until, now);
  if (since >= until) throw new UsageError("--since must be before --until");
  const limit = Number(opts.limit);
  if (!Number.isInteger(limit) || limit < 1) {
    throw new UsageError(`--limit must be a whole number above 0, not "${opts.limit}"`);
  }
  const account = single("--account", opts.account, "the by-account index reads one account");
  if (account !== undefined) checkAccounts("--account", [account]);
  const region = single("--region", opts.region, "the audit table lives in one Region");
  if (region !== undefined) await checkRegions("--region", [region]);
  const { table, client } = await openAuditTable(opts, io);
  try {
    const answer = await queryAudit(client.documents, table.name, {
      since,
      until,
      limit,
      ...(account ? { account } : {}),
      ...(opts.resource ? { resource: opts.resource } : {}),
    }).catch((error: unknown) => {
      throw awsError(`querying audit table ${table.name}`, error);
    });
    const text =
      opts.format === "json"
        ? answer.items.map((item) => `${JSON.stringify(plain(item))}\n`).join("")
        : opts.format === "csv"
          ? renderCsv(answer.items)
          : renderAuditTable(answer, table.name, since, until);
    await withOutput(io, opts.output, (out) => write(out, text));
    if (answer.truncated) {
      notice(
        io,
        `warning: more than ${fmt(limit)} decisions match; raise --limit to see them all\n`,
      );
    }
    return EXIT.ok;
  } finally {
    client.destroy();
  }
}

/** The item without its storage keys. */
function plain(item: AuditItem) {
  const { pk: _pk, sk: _sk, gsi1pk: _a, gsi1sk: _b, gsi2pk: _c, gsi2sk: _d, ...rest } = item;
  return rest;
}

const timeOf = (i: AuditItem) => i.eventTime ?? i.decidedAt;
const rulesOf = (i: AuditItem) => [...new Set(i.findings.map((f) => f.rule))].join(", ");
const actorOf = (i: AuditItem) =>
  i.source === "sweep" ? "(sweep)" : shortActor(i.actor?.arn ?? i.actor?.invokedBy ?? null);

const SEVERITY_ORDER = ["critical", "high", "medium", "low", "info"];
const rank = (severity: string) => {
  const i = SEVERITY_ORDER.indexOf(severity);
  return i < 0 ? SEVERITY_ORDER.length : i;
};

/** What the change opened: each finding's rule change, once (`ingress tcp 22 from 0.0.0.0/0`). */
const openedOf = (i: AuditItem) => [...new Set(i.findings.map((f) => f.change.text))].join("; ");

/** `until 2026-03-31`, or nothing for an exemption without an end. */
const untilText = (expires: string | undefined) =>
  expires ? `, until ${expires.slice(0, 10)}` : "";

/**
 * What the guardrail did: the result, and for an exempt decision whose exemption it was, with the
 * reason and expiry (an exemption is a security event: it is shown as such).
 */
function doneOf(i: AuditItem): string {
  const waived = i.findings.find((f) => f.exemption !== undefined)?.exemption;
  switch (i.result) {
    case "exempt":
      return waived
        ? `exempt (${waived.kind}: ${waived.reason}${untilText(waived.expires)})`
        : "exempt";
    case "notify-only":
      return "notified only";
    case "failed":
      return `revocation FAILED${i.error ? `: ${i.error.code}` : ""}`;
    default:
      return i.result;
  }
}

/** Most severe first; within a severity, newest first (the order the table was read in). */
export function bySeverity(items: readonly AuditItem[]): AuditItem[] {
  return items
    .map((item, n) => ({ item, n }))
    .sort((x, y) => rank(x.item.severity) - rank(y.item.severity) || x.n - y.n)
    .map((x) => x.item);
}

export function renderAuditTable(
  a: AuditAnswer,
  table: string,
  since: number,
  until: number,
): string {
  const head = `${plural(a.items.length, "decision")} in ${table} from ${new Date(since).toISOString().slice(0, 16)}Z to ${new Date(until).toISOString().slice(0, 16)}Z${a.via === "scan" ? "" : ` (${a.via} index)`}.`;
  if (a.items.length === 0) return `${head}\n`;
  const rows = bySeverity(a.items).map((i) => [
    timeOf(i).replace("T", " ").slice(0, 19),
    i.account,
    i.region,
    i.resourceId,
    i.severity,
    openedOf(i),
    rulesOf(i),
    doneOf(i),
    actorOf(i),
  ]);
  const byResult = new Map<string, number>();
  for (const i of a.items) byResult.set(i.result, (byResult.get(i.result) ?? 0) + 1);
  const totals = [...byResult.entries()]
    .sort((x, y) => y[1] - x[1])
    .map(([r, n]) => `${r} ${fmt(n)}`)
    .join(", ");
  return `${head}\n\n${textTable(
    ["time (UTC)", "account", "region", "resource", "severity", "opened", "rules", "done", "actor"],
    rows,
  )}\n\n${totals}\n`;
}

const CSV_COLUMNS = [
  "time",
  "id",
  "source",
  "account",
  "region",
  "resourceType",
  "resourceId",
  "outcome",
  "result",
  "severity",
  "rules",
  "actions",
  "actor",
  "eventName",
  "eventId",
  "exposureSeconds",
  "error",
  "policyId",
] as const;

function renderCsv(items: readonly AuditItem[]): string {
  const rows = items.map((i) =>
    [
      timeOf(i),
      i.id,
      i.source,
      i.account,
      i.region,
      i.resourceType,
      i.resourceId,
      i.outcome,
      i.result,
      i.severity,
      rulesOf(i),
      i.findings
        .filter((f) => f.action)
        .map((f) => `${f.result}: ${f.change.text}`)
        .join("; "),
      i.actor?.arn ?? i.actor?.invokedBy ?? "",
      i.eventName ?? "",
      i.eventId ?? "",
      i.exposureSeconds ?? "",
      i.error ? `${i.error.code}: ${i.error.message}` : "",
      // Items recorded before decisions carried a policy id have none.
      (i.policyId as string | undefined) ?? "",
    ]
      .map(csvCell)
      .join(","),
  );
  return `${CSV_COLUMNS.join(",")}\n${rows.map((r) => `${r}\n`).join("")}`;
}
