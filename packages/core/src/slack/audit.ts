import { AUDIT_KEY_PREFIX, AUDIT_TABLE } from "../registry";
import { AUDIT_RETENTION_DAYS } from "../report/audit";
import type { FindingRef, SlackActionKind } from "./interaction";
import type { SignatureRejection } from "./signature";

/** Why the endpoint refused a request: the signature's verdict, a replay, or the user. */
export type InteractionRefusal = SignatureRejection | "replayed" | "unreadable" | "not-approver";

/**
 * The audit record of one step of one interaction: a refused request (with why, and nothing of
 * its body), an accepted press, and what the worker made of it.
 */
export interface InteractionRecord {
  /** The interaction id (`<user>:<action_ts>`), or the replay key of a refused request. */
  readonly id: string;
  readonly at: string;
  readonly step: "refused" | "accepted" | "done" | "failed";
  readonly refusal?: InteractionRefusal;
  /** The Slack member who pressed (absent when the request was not read). */
  readonly user?: { readonly id: string; readonly name: string | null };
  /** The `slack.approvers` entry the member matched. */
  readonly approver?: { readonly id: string; readonly name: string };
  readonly action?: SlackActionKind | "exempt-submit";
  readonly ref?: FindingRef;
  /** One line a human reads. */
  readonly detail: string;
  /** The caller's address as the endpoint saw it. */
  readonly sourceIp?: string | null;
  readonly guardrailVersion: string;
}

/** The key of a request's replay entry: kept until the request would be stale anyway. */
export function replayEntryKey(replayKey: string): { pk: string; sk: string } {
  return { pk: `${AUDIT_KEY_PREFIX.interaction}NONCE#${replayKey}`, sk: "NONCE" };
}

/**
 * The audit item of one interaction step. No secrets: no token, no signature, no body.
 *
 * @example
 * interactionAuditItem(record).pk // "INTERACTION#U0ALICE00:1765000001.000200"
 */
export function interactionAuditItem(
  r: InteractionRecord,
  retentionDays = AUDIT_RETENTION_DAYS,
): Record<string, unknown> {
  return {
    [AUDIT_TABLE.partitionKey]: `${AUDIT_KEY_PREFIX.interaction}${r.id}`,
    [AUDIT_TABLE.sortKey]: `${r.at}#${r.step}`,
    type: "slack-interaction",
    ...r,
    [AUDIT_TABLE.ttlAttribute]: Math.floor(Date.parse(r.at) / 1000) + retentionDays * 86_400,
  };
}
