import { createHash } from "node:crypto";
import type { Actor, EventMeta, TagRecord } from "../model";
import { principalMatches } from "./arn";
import type { Policy, Severity } from "./types";
import { expiryInstant, isCalendarDate, RULE_ID } from "./values";

/** A parsed `guardrail-exempt` tag value. */
export type TagExemption =
  | {
      readonly valid: true;
      readonly reason: string;
      readonly expires: string;
      /** Rule ids the exemption covers (at least one). */
      readonly rules: readonly string[];
    }
  | { readonly valid: false; readonly problem: string };

const TAG_KEYS = new Set(["reason", "expires", "rules"]);

/**
 * Parses an exemption tag value: `key=value` pairs separated by `;`. `reason`, `expires`
 * (`YYYY-MM-DD`, inclusive, UTC) and `rules` (a comma-separated list of rule ids) are required:
 * a tag that names no rule would waive everything, so it waives nothing. Unknown or repeated
 * keys make the tag invalid, so a typo never grants an exemption. `checkExemptionTag` adds the
 * policy's limits (maxDays, tagExemptable).
 *
 * @example
 * parseExemptionTag("reason=python app demo;expires=2026-12-31;rules=internet-exposure")
 * // { valid: true, reason: "python app demo", expires: "2026-12-31", rules: ["internet-exposure"] }
 */
export function parseExemptionTag(value: string): TagExemption {
  const fields = new Map<string, string>();
  for (const part of value.split(";")) {
    if (part.trim() === "") continue;
    const eq = part.indexOf("=");
    if (eq < 0) return { valid: false, problem: `"${part.trim()}" is not key=value` };
    const key = part.slice(0, eq).trim().toLowerCase();
    if (!TAG_KEYS.has(key)) return { valid: false, problem: `unknown key "${key}"` };
    if (fields.has(key)) return { valid: false, problem: `"${key}" is given twice` };
    fields.set(key, part.slice(eq + 1).trim());
  }
  const reason = fields.get("reason");
  const expires = fields.get("expires");
  if (!reason) return { valid: false, problem: "reason is missing" };
  if (expires === undefined) return { valid: false, problem: "expires is missing" };
  if (!isCalendarDate(expires))
    return { valid: false, problem: `expires "${expires}" is not YYYY-MM-DD` };
  const rulesText = fields.get("rules");
  if (rulesText === undefined) {
    return { valid: false, problem: "rules is missing" };
  }
  const rules = rulesText
    .split(",")
    .map((r) => r.trim())
    .filter((r) => r !== "");
  const bad = rules.find((r) => !RULE_ID.test(r));
  if (rules.length === 0 || bad !== undefined) {
    return {
      valid: false,
      problem: `rules "${rulesText}" is not a comma-separated list of rule ids`,
    };
  }
  return { valid: true, reason, expires, rules };
}

/**
 * The hash the audit trail keeps of an exemption tag's value: the record proves which value an
 * approver set without copying it around.
 *
 * @example
 * hashTagValue("reason=demo;expires=2026-12-31;rules=internet-exposure") // "sha256:…"
 */
export function hashTagValue(value: string): string {
  return `sha256:${createHash("sha256").update(value, "utf8").digest("hex")}`;
}

const DAY_MS = 86_400_000;

/** The last day (`YYYY-MM-DD`) an exemption tag set at `setAt` may run to. */
export function latestExpiry(setAt: Date, maxDays: number): string {
  const day = Date.UTC(setAt.getUTCFullYear(), setAt.getUTCMonth(), setAt.getUTCDate());
  return new Date(day + maxDays * DAY_MS).toISOString().slice(0, 10);
}

/**
 * Reads an exemption tag value as an approval would grant it at `setAt`: `rules=` present, every
 * rule in the policy and `tagExemptable`, the expiry at most `tagExemptions.maxDays` after the
 * day it was set. Anything else is an invalid tag, with the reason.
 *
 * @example
 * checkExemptionTag("reason=x;expires=2036-01-01;rules=internet-exposure", policy, new Date("2026-01-01"))
 * // { valid: false, problem: "expires 2036-01-01 is more than 30 days after 2026-01-01 (tagExemptions.maxDays); latest 2026-01-31" }
 */
export function checkExemptionTag(value: string, policy: Policy, setAt: Date): TagExemption {
  const tag = parseExemptionTag(value);
  if (!tag.valid) return tag;
  const latest = latestExpiry(setAt, policy.tagExemptions.maxDays);
  if (tag.expires > latest) {
    const day = setAt.toISOString().slice(0, 10);
    return {
      valid: false,
      problem: `expires ${tag.expires} is more than ${policy.tagExemptions.maxDays} days after ${day} (tagExemptions.maxDays); latest ${latest}`,
    };
  }
  for (const id of tag.rules) {
    const rule = policy.rules.find((r) => r.id === id);
    if (!rule) return { valid: false, problem: `the policy has no rule "${id}"` };
    if (!rule.tagExemptable) {
      return {
        valid: false,
        problem: `rule "${id}" cannot be waived by a tag (tagExemptable is false): it needs an exemption in the policy file`,
      };
    }
  }
  return tag;
}

const SEVERITY_ORDER: readonly Severity[] = ["critical", "high", "medium", "low"];

/**
 * The severity of what an exemption tag waives (or tries to): the most severe of the rules it
 * names, or of every rule when it names none or cannot be read, since that is what its author
 * asked for. Null only for a policy without rules.
 */
export function tagSeverity(ruleIds: readonly string[], policy: Policy): Severity | null {
  const named = policy.rules.filter((r) => ruleIds.includes(r.id));
  const rules = named.length > 0 ? named : policy.rules;
  for (const s of SEVERITY_ORDER) if (rules.some((r) => r.severity === s)) return s;
  return null;
}

/** Rule ids a tag value names, read leniently (for the severity of an invalid tag). */
function namedRules(value: string): string[] {
  const m = /(?:^|;)\s*rules\s*=([^;]*)/i.exec(value);
  if (!m) return [];
  return (m[1] ?? "")
    .split(",")
    .map((r) => r.trim())
    .filter((r) => r !== "");
}

/** One set or removal of an exemption tag key on a security group, read from an event. */
export interface TagChange {
  readonly groupId: string;
  readonly key: string;
  /** The value set; null when the tag was removed. */
  readonly value: string | null;
}

/** What the guardrail makes of one tagging: the record to keep and how to announce it. */
export interface TagJudgement {
  readonly record: TagRecord;
  /**
   * `granted`: an approver set a valid tag. `removed`: the tag was removed. `not-approved`:
   * someone who is not an approver set it. `invalid`: an approver set a tag that cannot be
   * honoured (no `rules=`, too long, a rule no tag may waive).
   */
  readonly status: "granted" | "removed" | "not-approved" | "invalid";
  readonly severity: Severity | null;
  /** One line a human reads. */
  readonly summary: string;
}

/** The ARN that stands for an actor in tag records: the role behind a session, else its own. */
export function actorArn(actor: Actor): string | null {
  return actor.sessionIssuerArn ?? actor.arn;
}

/**
 * Judges one tagging of an exemption key: who did it, whether they may approve, whether the
 * value is a valid exemption at the time it was set. `previous` is the record it replaces, for
 * the severity of a removal.
 *
 * @example
 * judgeTagging({ groupId: "sg-1", key: "guardrail-exempt", value: "reason=x;expires=2026-01-02;rules=internet-exposure" }, event, policy)
 * // { status: "not-approved", severity: "high", record: { approver: null, … }, … }
 */
export function judgeTagging(
  change: TagChange,
  event: Pick<EventMeta, "eventId" | "eventTime" | "actor">,
  policy: Policy,
  { via = "event", previous = null }: { via?: TagRecord["via"]; previous?: TagRecord | null } = {},
): TagJudgement {
  const approver = principalMatches(event.actor, policy.tagExemptions.approvers) ?? null;
  const by = actorArn(event.actor);
  const where = `tag ${change.key} on ${change.groupId}`;
  const who = by ?? "an unknown principal";
  const base = {
    groupId: change.groupId,
    key: change.key,
    by,
    approver,
    at: event.eventTime,
    eventId: event.eventId,
    via,
  };
  if (change.value === null) {
    const rules = previous?.rules ?? [];
    return {
      record: {
        ...base,
        action: "removed",
        valueHash: null,
        problem: null,
        rules: [],
        expires: null,
        reason: null,
      },
      status: "removed",
      severity: tagSeverity(rules, policy),
      summary: `${where} removed by ${who}`,
    };
  }
  const setAt = new Date(Date.parse(event.eventTime));
  const tag = Number.isNaN(setAt.getTime())
    ? ({ valid: false, problem: `the event time ${event.eventTime} is unreadable` } as const)
    : checkExemptionTag(change.value, policy, setAt);
  const rules = tag.valid ? tag.rules : namedRules(change.value);
  const record: TagRecord = {
    ...base,
    action: "set",
    valueHash: hashTagValue(change.value),
    problem: tag.valid ? null : tag.problem,
    rules,
    expires: tag.valid ? tag.expires : null,
    reason: tag.valid ? tag.reason : null,
  };
  const severity = tagSeverity(rules, policy);
  if (approver === null) {
    return {
      record,
      status: "not-approved",
      severity,
      summary: `${where} set by ${who}, who is not an approver (tagExemptions.approvers): not honoured`,
    };
  }
  if (!tag.valid) {
    return {
      record,
      status: "invalid",
      severity,
      summary: `${where} set by ${who} is not a valid exemption (${tag.problem}): not honoured`,
    };
  }
  return {
    record,
    status: "granted",
    severity,
    summary: `${where} set by approver ${who}: waives ${tag.rules.join(", ")} until ${tag.expires}`,
  };
}

/**
 * The tag keys that carry exemptions in this policy (the global `tagKey` and the rules' own).
 * Setting one is announced even when no rule is tagExemptable: it is someone asking for one.
 *
 * @example
 * exemptionTagKeys(defaultPolicy()) // ["guardrail-exempt"]
 */
export function exemptionTagKeys(policy: Policy): string[] {
  const keys = new Set<string>();
  if (policy.exemptions.tagKey !== null) keys.add(policy.exemptions.tagKey);
  for (const r of policy.rules) if (r.exemptions.tagKey !== null) keys.add(r.exemptions.tagKey);
  return [...keys];
}

/**
 * True when a recorded grant has run out at `now` (its expiry day is over, UTC) and the sweep
 * has not reported it yet: the sweep announces each expired tag once.
 *
 * @example
 * expiredUnreported(record, new Date("2026-07-02T00:00:00Z")) // true for expires 2026-07-01
 */
export function expiredUnreported(record: TagRecord, now: Date): boolean {
  return (
    record.action === "set" &&
    record.approver !== null &&
    record.problem === null &&
    record.expires !== null &&
    record.expiryReported !== true &&
    now.getTime() >= expiryInstant(record.expires)
  );
}
