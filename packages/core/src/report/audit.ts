import type { RuleChange } from "../model";
import { AUDIT_KEY_PREFIX, AUDIT_TABLE } from "../registry";
import {
  type ActorView,
  type Decision,
  type DecisionResult,
  type ErrorView,
  type FindingView,
  type MessageSeverity,
  RESULT_RANK,
} from "./decision";
import type { FlapView } from "./flap";
import type { ChangeView, ResourceRef } from "./view";

/**
 * One audit item: one per decision that found something (violation, notify-only, exempt, failed,
 * invalid). The item is also the idempotency record: it is written once per decision id with a
 * conditional put, and only the writer that wins publishes the SNS message.
 */
export interface AuditItem {
  /** `DECISION#<id>`. */
  readonly pk: string;
  /** `DECISION`. */
  readonly sk: string;
  /** `ACCOUNT#<account>`: query by account and time. */
  readonly gsi1pk: string;
  /** `<ISO time>#<id>`. */
  readonly gsi1sk: string;
  /** `RESOURCE#<resource id>`: query by resource and time. */
  readonly gsi2pk: string;
  readonly gsi2sk: string;
  readonly type: "decision";
  readonly id: string;
  readonly source: Decision["source"];
  readonly eventId: string | null;
  readonly eventName: string | null;
  readonly eventTime: string | null;
  readonly account: string;
  readonly region: string;
  readonly actor: ActorView | null;
  readonly resourceType: ResourceRef["type"];
  readonly resourceId: string;
  readonly outcome: Decision["outcome"];
  readonly result: DecisionResult;
  /** `RESULT_RANK[result]`, for the conditional write that lets a better result replace a worse one. */
  readonly resultRank: number;
  readonly severity: MessageSeverity;
  /** Each finding: the rule change, the policy rule and mode, the action and its result. */
  readonly findings: readonly FindingView[];
  readonly exposureSeconds: number | null;
  readonly error: ErrorView | null;
  /** The flap guard's state when the decision escalated a revoke loop or was folded into one. */
  readonly flap?: FlapView;
  readonly decidedAt: string;
  readonly guardrailVersion: string;
  /** `policyId` of the policy that decided: which version of the policy file made this call. */
  readonly policyId: string;
  /** Epoch seconds after which DynamoDB TTL may delete the item. */
  readonly expiresAt: number;
}

/** Default audit retention: 400 days, more than a year of look-back for a yearly review. */
export const AUDIT_RETENTION_DAYS = 400;

/** The primary key of a decision's audit item. */
export function auditKey(id: string): { pk: string; sk: string } {
  return { pk: `${AUDIT_KEY_PREFIX.decision}${id}`, sk: "DECISION" };
}

/** Partition key of the by-account index (`gsi1pk`). */
export function accountIndexKey(account: string): string {
  return `ACCOUNT#${account}`;
}

/** Partition key of the by-resource index (`gsi2pk`). */
export function resourceIndexKey(resourceId: string): string {
  return `RESOURCE#${resourceId}`;
}

/** Sort key of both indexes: time first so `BETWEEN` selects a time window. */
export function timeIndexKey(time: string, id: string): string {
  const parsed = Date.parse(time);
  return `${Number.isNaN(parsed) ? time : new Date(parsed).toISOString()}#${id}`;
}

/**
 * The audit item of a decision. No secrets: the actor is ARN, type, IP and user agent only.
 *
 * @example
 * const item = auditItem(decision);
 * item.gsi1pk // "ACCOUNT#123456789012"
 */
export function auditItem(d: Decision, retentionDays = AUDIT_RETENTION_DAYS): AuditItem {
  const time = d.event?.time ?? d.decidedAt;
  const key = auditKey(d.id);
  return {
    [AUDIT_TABLE.partitionKey]: key.pk,
    [AUDIT_TABLE.sortKey]: key.sk,
    [AUDIT_TABLE.byAccount.partitionKey]: accountIndexKey(d.account),
    [AUDIT_TABLE.byAccount.sortKey]: timeIndexKey(time, d.id),
    [AUDIT_TABLE.byResource.partitionKey]: resourceIndexKey(d.resource.id),
    [AUDIT_TABLE.byResource.sortKey]: timeIndexKey(time, d.id),
    type: "decision",
    id: d.id,
    source: d.source,
    eventId: d.event?.id ?? null,
    eventName: d.event?.name ?? null,
    eventTime: d.event?.time ?? null,
    account: d.account,
    region: d.region,
    actor: d.event?.actor ?? null,
    resourceType: d.resource.type,
    resourceId: d.resource.id,
    outcome: d.outcome,
    result: d.result,
    resultRank: RESULT_RANK[d.result],
    severity: d.severity,
    findings: d.findings,
    exposureSeconds: d.exposureSeconds,
    error: d.error ?? null,
    ...(d.flap ? { flap: d.flap } : {}),
    decidedAt: d.decidedAt,
    guardrailVersion: d.guardrailVersion,
    policyId: d.policyId,
    [AUDIT_TABLE.ttlAttribute]: Math.floor(Date.parse(d.decidedAt) / 1000) + retentionDays * 86_400,
  } as AuditItem;
}

/**
 * Where the sweep keeps the last state of a resource's rules: one item per security group or
 * network ACL, under one partition per account and region.
 */
export function stateKey(
  account: string,
  region: string,
  resourceId: string,
): { pk: string; sk: string } {
  return { pk: `${AUDIT_KEY_PREFIX.state}${account}#${region}`, sk: `RESOURCE#${resourceId}` };
}

/**
 * Where the flap guard counts the re-openings of one rule (`flapRuleKey`) in its current window:
 * one item per rule, in the audit table, beside the decisions it counts.
 */
export function flapCounterKey(ruleKey: string): { pk: string; sk: string } {
  return { pk: `${AUDIT_KEY_PREFIX.flap}${ruleKey}`, sk: "FLAP" };
}

/**
 * The key of one rule inside a resource's state item: `rule#sgr-…` for security-group rules,
 * `ingress#100`/`egress#100` for NACL entries. Null when the change has no stable identity
 * (a security-group rule without id, a prefix-list change).
 *
 * @example
 * ruleStateKey(naclEntryChange) // "ingress#100"
 */
export function ruleStateKey(change: RuleChange): string | null {
  switch (change.kind) {
    case "security-group-rule":
      return change.ruleId ? `rule#${change.ruleId}` : null;
    case "network-acl-entry":
      return `${change.egress ? "egress" : "ingress"}#${change.ruleNumber}`;
    case "prefix-list":
    case "network-acl":
      return null;
  }
}

/**
 * Canonical text of a resource's rules (keys sorted), for a content hash that tells the sweep
 * whether the stored state needs rewriting.
 */
export function canonicalRules(rules: Readonly<Record<string, ChangeView>>): string {
  return JSON.stringify(
    Object.keys(rules)
      .sort()
      .map((k) => [k, sortKeys(rules[k])]),
  );
}

function sortKeys(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(sortKeys);
  if (value !== null && typeof value === "object") {
    return Object.fromEntries(
      Object.keys(value)
        .sort()
        .map((k) => [k, sortKeys((value as Record<string, unknown>)[k])]),
    );
  }
  return value;
}

/** The decision an audit item records (the item is a lossless projection of it). */
export function decisionOfItem(i: Record<string, unknown>): Decision {
  const eventId = typeof i.eventId === "string" ? i.eventId : null;
  return {
    id: i.id as string,
    source: i.source as Decision["source"],
    event:
      eventId === null
        ? null
        : {
            id: eventId,
            name: i.eventName as string,
            time: i.eventTime as string,
            actor: (i.actor ?? null) as ActorView | null,
          },
    account: i.account as string,
    region: i.region as string,
    resource: { type: i.resourceType, id: i.resourceId } as ResourceRef,
    outcome: i.outcome as Decision["outcome"],
    result: i.result as DecisionResult,
    severity: i.severity as Decision["severity"],
    findings: (i.findings ?? []) as Decision["findings"],
    exposureSeconds: (i.exposureSeconds ?? null) as number | null,
    ...(i.error ? { error: i.error as NonNullable<Decision["error"]> } : {}),
    ...(i.flap ? { flap: i.flap as NonNullable<Decision["flap"]> } : {}),
    decidedAt: i.decidedAt as string,
    guardrailVersion: i.guardrailVersion as string,
    // Items written before decisions carried a policy id have none to show.
    policyId: typeof i.policyId === "string" ? i.policyId : "unknown",
  };
}
