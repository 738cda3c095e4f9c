import type { EvaluationContext, EventMeta, Exemption, RuleChange } from "../model";
import { arnMatches, principalMatches } from "./arn";
import { describeTags, effectiveOuTags, matchScope, type ScopeSubject, tagsMatch } from "./scope";
import { isSlackApproval } from "./slack-approvers";
import { checkExemptionTag, hashTagValue } from "./tag-exemptions";
import type { ExemptionEntry, ExemptionSet, Policy, Scope, TagExemptionEntry } from "./types";
import { expiryInstant } from "./values";

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
  /** The recorded taggings of the groups (`EvaluationContext.tagRecords`). */
  readonly tagRecords?: EvaluationContext["tagRecords"];
  /** The policy, for `tagExemptions` and the rules' `tagExemptable`. */
  readonly policy: Policy;
  readonly now: Date;
}

export interface ExemptionResult {
  readonly exemption?: Exemption;
  /** Exemptions that matched but no longer apply, said on the finding. */
  readonly notes: readonly string[];
  /**
   * A tag would waive the finding but has no approval on record (set before the guardrail was
   * deployed, or its event never arrived): the finding is only notified, never revoked on that
   * basis, until an approver adopts or removes the tag.
   */
  readonly unverified?: boolean;
}

interface TagVerdict {
  readonly exemption?: Exemption;
  readonly unverified?: boolean;
  readonly note?: string;
}

/**
 * Whether the exemption tag `key` = `value` on `groupId` waives the finding. Honoured only when
 * the rule is tagExemptable and the last recorded tagging is an approver's valid grant of this
 * very value (same hash), naming the rule, not expired.
 */
function tagVerdict(
  input: ExemptionInput,
  groupId: string,
  key: string,
  value: string,
): TagVerdict {
  const where = `tag ${key} on ${groupId}`;
  const rule = input.policy.rules.find((r) => r.id === input.ruleId);
  if (!rule?.tagExemptable) {
    return namesRule(value, input.ruleId)
      ? { note: `${where} cannot waive ${input.ruleId} (tagExemptable is false), not applied` }
      : {};
  }
  const record = input.tagRecords?.[groupId]?.[key] ?? null;
  if (record?.action === "removed") {
    // Its setting was never seen after the removal was (or the removal was a no-op): nothing
    // on record says an approver set this value.
    return {
      note: `${where} was recorded removed at ${record.at}, and no setting since; not applied`,
    };
  }
  if (record === null) {
    const tag = checkExemptionTag(value, input.policy, input.now);
    if (!tag.valid)
      return { note: `${where} is not a valid exemption (${tag.problem}), not applied` };
    if (!tag.rules.includes(input.ruleId)) return {};
    if (input.now.getTime() >= expiryInstant(tag.expires)) {
      return { note: `${where} expired ${tag.expires}, not applied` };
    }
    return {
      unverified: true,
      note: `unverified exemption: ${where} has no approval on record; an approver must adopt it (guardrail exemptions adopt) or remove it`,
    };
  }
  const by = record.by ?? "an unknown principal";
  if (record.valueHash !== hashTagValue(value)) {
    return {
      note: `${where} is not the value ${record.approver ? "approved" : "set"} by ${by} at ${record.at}, not applied`,
    };
  }
  if (record.approver === null) {
    return { note: `${where} was set by ${by}, who is not an approver, not applied` };
  }
  if (record.problem !== null) {
    return { note: `${where} is not a valid exemption (${record.problem}), not applied` };
  }
  // The record says who approved what, and when; the policy in force now decides whether that
  // still counts. An approver since removed from tagExemptions.approvers, or a maxDays or
  // tagExemptable since lowered, ends the exemption at the next judgement.
  const stillApprover =
    record.via === "slack"
      ? isSlackApproval(record, input.policy)
      : record.by !== null &&
        input.policy.tagExemptions.approvers.some((p) => arnMatches(p, record.by as string));
  if (!stillApprover) {
    return {
      note: `${where} was approved by ${by}, who is no longer an approver (${record.via === "slack" ? "slack.approvers" : "tagExemptions.approvers"}), not applied`,
    };
  }
  const current = checkExemptionTag(value, input.policy, new Date(record.at));
  if (!current.valid) {
    return {
      note: `${where} is no longer a valid exemption under the current policy (${current.problem}), not applied`,
    };
  }
  if (!record.rules.includes(input.ruleId) || record.expires === null) return {};
  if (input.now.getTime() >= expiryInstant(record.expires)) {
    return { note: `${where} expired ${record.expires}, not applied` };
  }
  return {
    exemption: {
      kind: "tag",
      reason: record.reason ?? where,
      expires: record.expires,
      approvedBy: by,
      approvedAt: record.at,
    },
  };
}

/** Whether a tag value names the rule in its `rules=` (read leniently, for a note). */
function namesRule(value: string, ruleId: string): boolean {
  const m = /(?:^|;)\s*rules\s*=([^;]*)/i.exec(value);
  return m !== null && (m[1] ?? "").split(",").some((r) => r.trim() === ruleId);
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
  let unverified = false;
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
    const verdict = tagVerdict(input, groupId, set.tagKey, value);
    if (verdict.note !== undefined) notes.push(verdict.note);
    if (verdict.exemption) return { exemption: verdict.exemption, notes };
    // An unverified tag does not end the search: a later set's policy-file exemption (the
    // rule's own, after the global one) still waives the finding; only if none does is the
    // finding held back as unverified.
    if (verdict.unverified) unverified = true;
  }
  return unverified ? { notes, unverified: true } : { notes };
}
