import type { Actor, EventMeta, Exemption, RuleChange } from "../model";
import { expiryInstant, isCalendarDate, RULE_ID } from "./fields";
import type { ExemptionEntry, ExemptionSet } from "./types";

const compiled = new Map<string, RegExp>();

/**
 * Matches an ARN against a pattern where `*` is any run of characters (`/` and `:` included,
 * as in IAM policies) and `?` is one character. Case-sensitive, like ARNs.
 *
 * @example
 * arnMatches("arn:aws:iam::*:role/break-glass*", "arn:aws:iam::111122223333:role/break-glass-ops") // true
 */
export function arnMatches(pattern: string, arn: string): boolean {
  let re = compiled.get(pattern);
  if (!re) {
    const body = pattern
      .split("")
      .map((c) => (c === "*" ? ".*" : c === "?" ? "." : c.replace(/[.+^${}()|[\]\\]/g, "\\$&")))
      .join("");
    re = new RegExp(`^${body}$`, "s");
    compiled.set(pattern, re);
  }
  return re.test(arn);
}

/** True when the actor's ARN or its session issuer (the role behind a session) matches a pattern. */
export function principalMatches(actor: Actor, patterns: readonly string[]): string | undefined {
  const arns = [actor.arn, actor.sessionIssuerArn].filter((a): a is string => a !== null);
  for (const p of patterns) if (arns.some((a) => arnMatches(p, a))) return p;
  return undefined;
}

/** A parsed `guardrail-exempt` tag value. */
export type TagExemption =
  | {
      readonly valid: true;
      readonly reason: string;
      readonly expires: string;
      /** Rule ids the exemption covers; null means every rule. */
      readonly rules: readonly string[] | null;
    }
  | { readonly valid: false; readonly problem: string };

const TAG_KEYS = new Set(["reason", "expires", "rules"]);

/**
 * Parses an exemption tag value: `key=value` pairs separated by `;`. `reason` and `expires`
 * (`YYYY-MM-DD`, inclusive, UTC) are required; `rules` is an optional comma-separated list of
 * rule ids. Unknown or repeated keys make the tag invalid, so a typo never grants an exemption.
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
  if (rulesText === undefined) return { valid: true, reason, expires, rules: null };
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

export interface ExemptionInput {
  readonly ruleId: string;
  readonly change: RuleChange;
  readonly event: EventMeta | undefined;
  readonly account: string | undefined;
  readonly region: string | undefined;
  readonly groupTags: Readonly<Record<string, Readonly<Record<string, string>>>> | undefined;
  readonly now: Date;
}

export interface ExemptionResult {
  readonly exemption?: Exemption;
  /** Exemptions that matched but no longer apply, said on the finding. */
  readonly notes: readonly string[];
}

function live(entry: ExemptionEntry, now: Date): boolean {
  return entry.expires === undefined || now.getTime() < expiryInstant(entry.expires);
}

function withExpiry(
  kind: Exemption["kind"],
  reason: string,
  expires: string | undefined,
): Exemption {
  return expires === undefined ? { kind, reason } : { kind, reason, expires };
}

/**
 * Looks for an exemption waiving a finding, in the given sets (global first, then the rule's).
 * Expired and unparsable exemptions never apply; they are returned as notes.
 */
export function findExemption(
  sets: readonly ExemptionSet[],
  input: ExemptionInput,
): ExemptionResult {
  const notes: string[] = [];
  const groupId = input.change.kind === "security-group-rule" ? input.change.groupId : null;
  const account = input.event?.account ?? input.account;
  const region = input.event?.region ?? input.region;
  const actor = input.event?.actor;
  const checks: {
    kind: Exemption["kind"];
    entries: (s: ExemptionSet) => readonly ExemptionEntry[];
    test: (value: string) => boolean;
    describe: (value: string) => string;
  }[] = [
    {
      kind: "principal",
      entries: (s) => s.principals,
      test: (p) => actor !== undefined && principalMatches(actor, [p]) !== undefined,
      describe: (p) => `principal matches ${p}`,
    },
    {
      kind: "account",
      entries: (s) => s.accounts,
      test: (a) => a === account,
      describe: (a) => `account ${a} is exempt`,
    },
    {
      kind: "region",
      entries: (s) => s.regions,
      test: (r) => r === region,
      describe: (r) => `region ${r} is exempt`,
    },
    {
      kind: "group",
      entries: (s) => s.groups,
      test: (g) => g === groupId,
      describe: (g) => `security group ${g} is exempt`,
    },
  ];
  for (const set of sets) {
    for (const check of checks) {
      for (const entry of check.entries(set)) {
        if (!check.test(entry.value)) continue;
        const reason = entry.reason ?? check.describe(entry.value);
        if (live(entry, input.now)) {
          return { exemption: withExpiry(check.kind, reason, entry.expires), notes };
        }
        notes.push(`${check.kind} exemption "${reason}" expired ${entry.expires}, not applied`);
      }
    }
    if (set.tagKey === null || groupId === null) continue;
    const value = input.groupTags?.[groupId]?.[set.tagKey];
    if (value === undefined) continue;
    const tag = parseExemptionTag(value);
    const where = `tag ${set.tagKey} on ${groupId}`;
    if (!tag.valid) {
      notes.push(`${where} is not a valid exemption (${tag.problem}), not applied`);
      continue;
    }
    if (tag.rules !== null && !tag.rules.includes(input.ruleId)) continue;
    if (input.now.getTime() >= expiryInstant(tag.expires)) {
      notes.push(`${where} expired ${tag.expires}, not applied`);
      continue;
    }
    return { exemption: { kind: "tag", reason: tag.reason, expires: tag.expires }, notes };
  }
  return { notes };
}
