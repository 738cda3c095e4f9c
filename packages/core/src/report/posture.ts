import type { AccountRegion } from "../model";
import { AUDIT_KEY_PREFIX } from "../registry";
import type { Decision, FindingView } from "./decision";
import type { SnsPublication } from "./message";

/**
 * What is exposed now. Each sweep run keeps, per account and Region, the findings still standing
 * after it acted (notify-only rules waiting for a person, revokes that failed) with the time the
 * sweep first saw each, and the exemptions in force with their end dates. `guardrail posture`
 * and the weekly digest read these snapshots; one summary a day gives the trend.
 */
export const POSTURE_SCHEMA = "guardrail.posture/v1";

/** Exemptions ending within this many days are listed as expiring. */
export const POSTURE_EXPIRING_DAYS = 7;

/** Snapshots keep at most this many findings (a DynamoDB item holds 400 KB). */
export const POSTURE_MAX_FINDINGS = 1000;

/** Days a daily summary is kept (the trend compares with a week ago). */
export const POSTURE_DAY_RETENTION_DAYS = 35;

/** One rule left open after the sweep. */
export interface PostureFinding {
  readonly resourceId: string;
  readonly resourceType: string;
  readonly rule: string;
  readonly severity: FindingView["severity"];
  readonly mode: FindingView["mode"];
  /** `ingress tcp 22 from 0.0.0.0/0`. */
  readonly text: string;
  /** `notify-only`: waiting for a person; `failed`: the guardrail could not revoke it. */
  readonly status: "notify-only" | "failed";
  /** When the sweep first saw it open (ISO). */
  readonly firstSeen: string;
}

/** One waived finding and the exemption that waives it. */
export interface PostureExemption {
  readonly resourceId: string;
  readonly rule: string;
  readonly text: string;
  readonly kind: string;
  readonly reason: string;
  /** ISO date it ends; null when it has no end. */
  readonly expires: string | null;
  readonly approvedBy: string | null;
}

export interface PostureSnapshot extends AccountRegion {
  readonly schema: typeof POSTURE_SCHEMA;
  readonly runId: string;
  readonly sweptAt: string;
  readonly findings: readonly PostureFinding[];
  readonly exemptions: readonly PostureExemption[];
  /** Findings left out past `POSTURE_MAX_FINDINGS` (counted, so the totals stay true). */
  readonly omitted: number;
}

/** The numbers of one account and Region (or of all), as the trend compares them. */
export interface PostureCounts {
  readonly open: number;
  readonly notifyOnly: number;
  readonly failed: number;
  readonly exemptions: number;
}

/** One day's summary of one account and Region. */
export interface PostureDay {
  readonly account: string;
  readonly region: string;
  readonly date: string;
  readonly counts: PostureCounts;
  /** Open findings by policy rule. */
  readonly byRule: Readonly<Record<string, number>>;
}

function findingKey(resourceId: string, rule: string, text: string): string {
  return `${resourceId}\n${rule}\n${text}`;
}

/**
 * The snapshot of one sweep run from the decisions it built (every resource with a finding or a
 * waived one, recorded or not), keeping each finding's first sighting from the previous snapshot.
 *
 * @example
 * const s = postureSnapshot({ account, region, runId, sweptAt, decisions, previous: null });
 * s.findings[0].status // "notify-only"
 */
export function postureSnapshot(input: {
  readonly account: string;
  readonly region: string;
  readonly runId: string;
  readonly sweptAt: Date;
  readonly decisions: readonly Decision[];
  readonly previous: PostureSnapshot | null;
}): PostureSnapshot {
  const sweptAt = input.sweptAt.toISOString();
  const seen = new Map<string, string>();
  for (const f of input.previous?.findings ?? []) {
    seen.set(findingKey(f.resourceId, f.rule, f.text), f.firstSeen);
  }
  const findings: PostureFinding[] = [];
  const exemptions: PostureExemption[] = [];
  const done = new Set<string>();
  for (const d of input.decisions) {
    for (const f of d.findings) {
      const key = findingKey(d.resource.id, f.rule, f.change.text);
      if (f.result === "exempt" && f.exemption) {
        if (done.has(`x${key}`)) continue;
        done.add(`x${key}`);
        exemptions.push({
          resourceId: d.resource.id,
          rule: f.rule,
          text: f.change.text,
          kind: f.exemption.kind,
          reason: f.exemption.reason,
          expires: f.exemption.expires ?? null,
          approvedBy: f.exemption.approvedBy ?? null,
        });
        continue;
      }
      if (f.result !== "notify-only" && f.result !== "failed") continue;
      if (done.has(key)) continue;
      done.add(key);
      findings.push({
        resourceId: d.resource.id,
        resourceType: d.resource.type,
        rule: f.rule,
        severity: f.severity,
        mode: f.mode,
        text: f.change.text,
        status: f.result,
        firstSeen: seen.get(key) ?? sweptAt,
      });
    }
  }
  findings.sort(
    (a, b) =>
      a.firstSeen.localeCompare(b.firstSeen) ||
      a.resourceId.localeCompare(b.resourceId) ||
      a.rule.localeCompare(b.rule) ||
      a.text.localeCompare(b.text),
  );
  exemptions.sort(
    (a, b) =>
      (a.expires ?? "~").localeCompare(b.expires ?? "~") ||
      a.resourceId.localeCompare(b.resourceId) ||
      a.rule.localeCompare(b.rule),
  );
  return {
    schema: POSTURE_SCHEMA,
    account: input.account,
    region: input.region,
    runId: input.runId,
    sweptAt,
    findings: findings.slice(0, POSTURE_MAX_FINDINGS),
    exemptions: exemptions.slice(0, POSTURE_MAX_FINDINGS),
    omitted: Math.max(0, findings.length - POSTURE_MAX_FINDINGS),
  };
}

export function postureCounts(s: PostureSnapshot): PostureCounts {
  const failed = s.findings.filter((f) => f.status === "failed").length;
  return {
    open: s.findings.length + s.omitted,
    notifyOnly: s.findings.length - failed + s.omitted,
    failed,
    exemptions: s.exemptions.length,
  };
}

/** The day's summary of a snapshot. */
export function postureDay(s: PostureSnapshot): PostureDay {
  const byRule: Record<string, number> = {};
  for (const f of s.findings) byRule[f.rule] = (byRule[f.rule] ?? 0) + 1;
  return {
    account: s.account,
    region: s.region,
    date: s.sweptAt.slice(0, 10),
    counts: postureCounts(s),
    byRule,
  };
}

/** The current snapshot's key: one partition for all, so one Query reads every account. */
export function postureKey(account: string, region: string): { pk: string; sk: string } {
  return { pk: AUDIT_KEY_PREFIX.posture, sk: `CURRENT#${account}#${region}` };
}

/** One day's summary key. */
export function postureDayKey(
  account: string,
  region: string,
  date: string,
): { pk: string; sk: string } {
  return { pk: AUDIT_KEY_PREFIX.posture, sk: `DAY#${date}#${account}#${region}` };
}

/** One row of the report: an account, a Region and a policy rule. */
export interface PostureRow {
  readonly account: string;
  readonly region: string;
  readonly rule: string;
  readonly open: number;
  readonly notifyOnly: number;
  readonly failed: number;
  /** Age in days of the oldest open finding; null when none is open. */
  readonly oldestDays: number | null;
  readonly expiringExemptions: number;
}

export interface PostureReport {
  readonly schema: typeof POSTURE_SCHEMA;
  readonly generatedAt: string;
  readonly totals: PostureCounts & { readonly expiringExemptions: number };
  /** The same numbers a week ago (from the daily summaries); null when none was kept. */
  readonly weekAgo: PostureCounts | null;
  readonly rows: readonly PostureRow[];
  readonly findings: readonly (PostureFinding & {
    readonly account: string;
    readonly region: string;
    readonly ageDays: number;
  })[];
  readonly expiring: readonly (PostureExemption & {
    readonly account: string;
    readonly region: string;
    readonly inDays: number;
  })[];
  /** When each account and Region was last swept. */
  readonly sweeps: readonly {
    readonly account: string;
    readonly region: string;
    readonly sweptAt: string;
  }[];
}

const DAY_MS = 86_400_000;

/** Whole days from `from` to `to` (floored; 0 for less than a day). */
function daysBetween(from: string, to: Date): number {
  const t = Date.parse(from);
  return Number.isNaN(t) ? 0 : Math.max(0, Math.floor((to.getTime() - t) / DAY_MS));
}

/** Milliseconds of an exemption's end: a bare date ends at the end of that day (UTC). */
function endOf(expires: string): number {
  return /^\d{4}-\d{2}-\d{2}$/.test(expires)
    ? Date.parse(`${expires}T23:59:59.999Z`)
    : Date.parse(expires);
}

/**
 * The report `guardrail posture` prints and the weekly digest sends: per account, Region and
 * rule, open findings with their age, the notify-only ones waiting for a person, exemptions
 * ending in the next `POSTURE_EXPIRING_DAYS` days, and the totals against a week ago.
 *
 * @example
 * const report = buildPostureReport(snapshots, daysOfLastWeek, new Date());
 * report.totals.open // 3
 */
export function buildPostureReport(
  snapshots: readonly PostureSnapshot[],
  weekAgoDays: readonly PostureDay[],
  now: Date,
): PostureReport {
  const rows = new Map<string, PostureRow>();
  const findings: PostureReport["findings"][number][] = [];
  const expiring: PostureReport["expiring"][number][] = [];
  const horizon = now.getTime() + POSTURE_EXPIRING_DAYS * DAY_MS;
  let omitted = 0;
  for (const s of snapshots) {
    omitted += s.omitted;
    const row = (rule: string): PostureRow => {
      const key = `${s.account}\n${s.region}\n${rule}`;
      return (
        rows.get(key) ?? {
          account: s.account,
          region: s.region,
          rule,
          open: 0,
          notifyOnly: 0,
          failed: 0,
          oldestDays: null,
          expiringExemptions: 0,
        }
      );
    };
    const put = (r: PostureRow) => rows.set(`${r.account}\n${r.region}\n${r.rule}`, r);
    for (const f of s.findings) {
      const ageDays = daysBetween(f.firstSeen, now);
      findings.push({ ...f, account: s.account, region: s.region, ageDays });
      const r = row(f.rule);
      put({
        ...r,
        open: r.open + 1,
        notifyOnly: r.notifyOnly + (f.status === "notify-only" ? 1 : 0),
        failed: r.failed + (f.status === "failed" ? 1 : 0),
        oldestDays: Math.max(r.oldestDays ?? 0, ageDays),
      });
    }
    for (const x of s.exemptions) {
      if (x.expires === null) continue;
      const end = endOf(x.expires);
      if (Number.isNaN(end) || end < now.getTime() || end > horizon) continue;
      expiring.push({
        ...x,
        account: s.account,
        region: s.region,
        inDays: Math.floor((end - now.getTime()) / DAY_MS),
      });
      const r = row(x.rule);
      put({ ...r, expiringExemptions: r.expiringExemptions + 1 });
    }
  }
  findings.sort((a, b) => b.ageDays - a.ageDays || a.resourceId.localeCompare(b.resourceId));
  expiring.sort((a, b) => a.inDays - b.inDays || a.resourceId.localeCompare(b.resourceId));
  const sortedRows = [...rows.values()].sort(
    (a, b) =>
      a.account.localeCompare(b.account) ||
      a.region.localeCompare(b.region) ||
      a.rule.localeCompare(b.rule),
  );
  const failed = findings.filter((f) => f.status === "failed").length;
  return {
    schema: POSTURE_SCHEMA,
    generatedAt: now.toISOString(),
    totals: {
      open: findings.length + omitted,
      notifyOnly: findings.length - failed + omitted,
      failed,
      exemptions: snapshots.reduce((n, s) => n + s.exemptions.length, 0),
      expiringExemptions: expiring.length,
    },
    weekAgo: sumDays(weekAgoDays),
    rows: sortedRows,
    findings,
    expiring,
    sweeps: snapshots
      .map((s) => ({ account: s.account, region: s.region, sweptAt: s.sweptAt }))
      .sort((a, b) => a.account.localeCompare(b.account) || a.region.localeCompare(b.region)),
  };
}

function sumDays(days: readonly PostureDay[]): PostureCounts | null {
  if (days.length === 0) return null;
  return days.reduce<PostureCounts>(
    (t, d) => ({
      open: t.open + d.counts.open,
      notifyOnly: t.notifyOnly + d.counts.notifyOnly,
      failed: t.failed + d.counts.failed,
      exemptions: t.exemptions + d.counts.exemptions,
    }),
    { open: 0, notifyOnly: 0, failed: 0, exemptions: 0 },
  );
}

/** The date (YYYY-MM-DD) a week before `now`, whose summaries the trend compares with. */
export function weekAgoDate(now: Date): string {
  return new Date(now.getTime() - 7 * DAY_MS).toISOString().slice(0, 10);
}

function delta(now: number, before: number | undefined): string {
  if (before === undefined) return "";
  const d = now - before;
  return d === 0 ? " (= last week)" : ` (${d > 0 ? "+" : ""}${d} since last week)`;
}

/**
 * The digest's text: the same numbers as `guardrail posture`, in a few lines a person reads.
 *
 * @example
 * postureDigestText(report).split("\n")[0] // "Network guardrail posture, 2026-12-06"
 */
export function postureDigestText(report: PostureReport, limit = 10): string {
  const t = report.totals;
  const w = report.weekAgo ?? undefined;
  const lines = [
    `Network guardrail posture, ${report.generatedAt.slice(0, 10)}`,
    `Open findings: ${t.open}${delta(t.open, w?.open)}`,
    `  waiting for a person (notify-only): ${t.notifyOnly}${delta(t.notifyOnly, w?.notifyOnly)}`,
    `  revokes that failed: ${t.failed}${delta(t.failed, w?.failed)}`,
    `Exemptions in force: ${t.exemptions}; ending in the next ${POSTURE_EXPIRING_DAYS} days: ${t.expiringExemptions}`,
  ];
  if (report.findings.length > 0) {
    lines.push("", "Oldest open findings:");
    for (const f of report.findings.slice(0, limit)) {
      lines.push(
        `  ${f.account} ${f.region} ${f.resourceId} ${f.text} [${f.rule}, ${f.status}] open ${f.ageDays} d`,
      );
    }
    if (report.findings.length > limit)
      lines.push(`  … and ${report.findings.length - limit} more`);
  }
  if (report.expiring.length > 0) {
    lines.push("", "Exemptions ending soon:");
    for (const x of report.expiring.slice(0, limit)) {
      lines.push(
        `  ${x.account} ${x.region} ${x.resourceId} ${x.text} [${x.rule}] ends ${x.expires} (${x.kind}: ${x.reason})`,
      );
    }
  }
  return lines.join("\n");
}

/** The SNS message of the weekly digest. */
export const POSTURE_DIGEST_SCHEMA = "guardrail.posture-digest/v1";

export interface PostureDigestMessage {
  readonly schema: typeof POSTURE_DIGEST_SCHEMA;
  /** `postureDigestText(report)`. */
  readonly summary: string;
  readonly report: PostureReport;
}

/**
 * The weekly digest as an SNS publication: the report as JSON (for subscribers) and its text
 * (rendered by the Slack notifier). Severity `high` when a revoke failed, `medium` when findings
 * are open, else `info`, so a subscription filter can route it like the other messages.
 *
 * @example
 * postureDigestPublication(report).attributes.source // "digest"
 */
export function postureDigestPublication(report: PostureReport): SnsPublication {
  const t = report.totals;
  const message: PostureDigestMessage = {
    schema: POSTURE_DIGEST_SCHEMA,
    summary: postureDigestText(report),
    report,
  };
  return {
    subject:
      `Network guardrail weekly posture: ${t.open} open, ${t.expiringExemptions} exemptions ending soon`.slice(
        0,
        100,
      ),
    message: JSON.stringify(message),
    attributes: {
      severity: t.failed > 0 ? "high" : t.open > 0 ? "medium" : "info",
      outcome: "posture",
      result: "posture",
      rule: "",
      account: "",
      region: "",
      eventName: "",
      source: "digest",
    },
  };
}
