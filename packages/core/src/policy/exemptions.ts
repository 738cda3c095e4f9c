import type { Actor, EventMeta, Exemption, RuleChange } from "../model";
import { expiryInstant, isCalendarDate, RULE_ID } from "./fields";
import { describeTags, effectiveOuTags, matchScope, type ScopeSubject, tagsMatch } from "./scope";
import type { ExemptionEntry, ExemptionSet, Scope, TagExemptionEntry } from "./types";

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
  /**
   * The account, region, account tags and OUs for scoped entries and the OU and tag lists.
   * Without it, account and region come from `event` (else `account`/`region`) and tags and OUs
   * are unknown.
   */
  readonly subject?: ScopeSubject;
  readonly groupTags: Readonly<Record<string, Readonly<Record<string, string>>>> | undefined;
  readonly now: Date;
}

export interface ExemptionResult {
  readonly exemption?: Exemption;
  /** Exemptions that matched but no longer apply, said on the finding. */
  readonly notes: readonly string[];
}

interface Detailed {
  readonly reason?: string;
  readonly expires?: string;
  readonly scope?: Scope;
}

function live(entry: Detailed, now: Date): boolean {
  return entry.expires === undefined || now.getTime() < expiryInstant(entry.expires);
}

function withExpiry(
  kind: Exemption["kind"],
  reason: string,
  expires: string | undefined,
): Exemption {
  return expires === undefined ? { kind, reason } : { kind, reason, expires };
}

/** `true`/`false`, or what was not known to decide (then the entry does not apply). */
type EntryMatch = boolean | { readonly unknown: string };

interface Check<E extends Detailed> {
  readonly kind: Exemption["kind"];
  readonly entries: (s: ExemptionSet) => readonly E[];
  readonly test: (entry: E) => EntryMatch;
  readonly describe: (entry: E) => string;
}

const check = <E extends Detailed>(c: Check<E>) => c as unknown as Check<Detailed>;

/**
 * Looks for an exemption waiving a finding, in the given sets (global first, then the rule's).
 * Expired and unparsable exemptions never apply; they are returned as notes. So do entries
 * whose match or scope depends on something the caller did not supply (account tags, OUs):
 * an exemption is never granted on a guess.
 */
export function findExemption(
  sets: readonly ExemptionSet[],
  input: ExemptionInput,
): ExemptionResult {
  const notes: string[] = [];
  const groupId = input.change.kind === "security-group-rule" ? input.change.groupId : null;
  const subject: ScopeSubject = input.subject ?? {
    account: input.event?.account ?? input.account,
    region: input.event?.region ?? input.region,
    accountTags: undefined,
    organizationalUnits: undefined,
  };
  const { account, region } = subject;
  const actor = input.event?.actor;
  const ouTags = effectiveOuTags(subject.organizationalUnits);
  const checks: Check<Detailed>[] = [
    check<ExemptionEntry>({
      kind: "principal",
      entries: (s) => s.principals,
      test: (e) => actor !== undefined && principalMatches(actor, [e.value]) !== undefined,
      describe: (e) => `principal matches ${e.value}`,
    }),
    check<ExemptionEntry>({
      kind: "account",
      entries: (s) => s.accounts,
      test: (e) => e.value === account,
      describe: (e) => `account ${e.value} is exempt`,
    }),
    check<ExemptionEntry>({
      kind: "region",
      entries: (s) => s.regions,
      test: (e) => e.value === region,
      describe: (e) => `region ${e.value} is exempt`,
    }),
    check<ExemptionEntry>({
      kind: "organizational-unit",
      entries: (s) => s.organizationalUnits ?? [],
      test: (e) =>
        subject.organizationalUnits === undefined
          ? { unknown: "the account's OUs" }
          : subject.organizationalUnits.some((u) => u.id === e.value),
      describe: (e) => `accounts in OU ${e.value} are exempt`,
    }),
    check<TagExemptionEntry>({
      kind: "account-tag",
      entries: (s) => s.accountTags ?? [],
      test: (e) =>
        subject.accountTags === undefined
          ? { unknown: "the account's tags" }
          : tagsMatch(e.tags, subject.accountTags),
      describe: (e) => `accounts tagged ${describeTags(e.tags)} are exempt`,
    }),
    check<TagExemptionEntry>({
      kind: "ou-tag",
      entries: (s) => s.ouTags ?? [],
      test: (e) => (ouTags === undefined ? { unknown: "the OU tags" } : tagsMatch(e.tags, ouTags)),
      describe: (e) => `accounts in OUs tagged ${describeTags(e.tags)} are exempt`,
    }),
    check<ExemptionEntry>({
      kind: "group",
      entries: (s) => s.groups,
      test: (e) => e.value === groupId,
      describe: (e) => `security group ${e.value} is exempt`,
    }),
  ];
  for (const set of sets) {
    for (const c of checks) {
      for (const entry of c.entries(set)) {
        const matched = c.test(entry);
        if (matched === false) continue;
        const reason = entry.reason ?? c.describe(entry);
        if (matched !== true) {
          notes.push(`${c.kind} exemption "${reason}" not applied: ${matched.unknown} not known`);
          continue;
        }
        if (entry.scope !== undefined) {
          const scope = matchScope(entry.scope, subject);
          if (scope.status === "out") continue;
          if (scope.status === "unknown") {
            notes.push(
              `${c.kind} exemption "${reason}" not applied: its scope needs ${scope.missing.join(", ")}, not known`,
            );
            continue;
          }
        }
        if (live(entry, input.now)) {
          return { exemption: withExpiry(c.kind, reason, entry.expires), notes };
        }
        notes.push(`${c.kind} exemption "${reason}" expired ${entry.expires}, not applied`);
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
