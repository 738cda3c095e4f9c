import type { TagRecord } from "../model";
import type { TagJudgement } from "../policy/tag-exemptions";
import { AUDIT_KEY_PREFIX, AUDIT_TABLE } from "../registry";
import { AUDIT_RETENTION_DAYS, accountIndexKey, resourceIndexKey, timeIndexKey } from "./audit";
import type { EventView, MessageSeverity } from "./decision";
import { type ConsoleLinks, consoleLinks } from "./links";
import type { MessageAttributes, SnsPublication } from "./message";

export const EXEMPTION_MESSAGE_SCHEMA = "guardrail.exemption/v1";

/**
 * One announcement about an exemption tag: set or removed by an event (`granted`, `removed`,
 * `not-approved`, `invalid`), adopted with `guardrail exemptions adopt` (`adopted`), or found
 * expired by the sweep (`expired`).
 */
export interface ExemptionNotice {
  /** `<eventId>:<groupId>:<key>`, or `adopt:…`/`expired:…`: the idempotency key. */
  readonly id: string;
  readonly status: TagJudgement["status"] | "adopted" | "expired";
  readonly account: string;
  readonly region: string;
  readonly groupId: string;
  readonly key: string;
  /** The most severe rule the tag waives (or tries to); `info` when the policy has no rule. */
  readonly severity: MessageSeverity;
  readonly summary: string;
  /** The record the audit trail keeps (the value's hash, never the value). */
  readonly record: TagRecord;
  /** The tagging event, null for adoption and the sweep. */
  readonly event: EventView | null;
  readonly decidedAt: string;
  readonly guardrailVersion: string;
}

export interface ExemptionMessage extends ExemptionNotice {
  readonly schema: typeof EXEMPTION_MESSAGE_SCHEMA;
  readonly links: ConsoleLinks;
}

/** The audit key of a tag's current record: one item per (account, region, group, key). */
export function tagRecordKey(
  account: string,
  region: string,
  groupId: string,
  key: string,
): { pk: string; sk: string } {
  return { pk: `${AUDIT_KEY_PREFIX.tag}${account}#${region}`, sk: `GROUP#${groupId}#KEY#${key}` };
}

/** The audit item of one announcement (history: who set or removed which value, when). */
export function exemptionAuditItem(
  n: ExemptionNotice,
  retentionDays = AUDIT_RETENTION_DAYS,
): Record<string, unknown> {
  const time = n.event?.time ?? n.decidedAt;
  return {
    [AUDIT_TABLE.partitionKey]: `${AUDIT_KEY_PREFIX.exemption}${n.id}`,
    [AUDIT_TABLE.sortKey]: "EXEMPTION",
    [AUDIT_TABLE.byAccount.partitionKey]: accountIndexKey(n.account),
    [AUDIT_TABLE.byAccount.sortKey]: timeIndexKey(time, n.id),
    [AUDIT_TABLE.byResource.partitionKey]: resourceIndexKey(n.groupId),
    [AUDIT_TABLE.byResource.sortKey]: timeIndexKey(time, n.id),
    type: "exemption",
    ...n,
    [AUDIT_TABLE.ttlAttribute]: Math.floor(Date.parse(n.decidedAt) / 1000) + retentionDays * 86_400,
  };
}

const VERB: Record<ExemptionNotice["status"], string> = {
  granted: "Exemption granted",
  removed: "Exemption removed",
  "not-approved": "UNAPPROVED exemption tag",
  invalid: "INVALID exemption tag",
  adopted: "Exemption adopted",
  expired: "Exemption expired",
};

/**
 * The SNS message of an exemption announcement, at the severity of what the tag waives.
 *
 * @example
 * exemptionPublication(notice).attributes.severity // "high" for a tag waiving internet-exposure
 */
export function exemptionPublication(n: ExemptionNotice): SnsPublication {
  const message: ExemptionMessage = {
    schema: EXEMPTION_MESSAGE_SCHEMA,
    ...n,
    links: consoleLinks({ type: "security-group", id: n.groupId }, n.region, n.event?.id),
  };
  const attributes: MessageAttributes = {
    severity: n.severity,
    outcome: "exemption",
    result: n.status,
    rule: n.record.rules[0] ?? "none",
    account: n.account,
    region: n.region,
    eventName: n.event?.name ?? (n.status === "expired" ? "Sweep" : "Adopt"),
    source: n.event ? "event" : n.status === "expired" ? "sweep" : "cli",
  };
  const subject =
    `[guardrail] ${VERB[n.status]}: ${n.key} on ${n.groupId} (${n.account} ${n.region})`
      .replace(/[^\x20-\x7e]/g, "")
      .slice(0, 100);
  return { subject, message: JSON.stringify(message), attributes };
}

/** The headline of an exemption announcement, for Slack. */
export function exemptionHeadline(status: ExemptionNotice["status"]): string {
  return VERB[status];
}
