import type { TagRecord } from "../model";
import {
  checkExemptionTag,
  hashTagValue,
  latestExpiry,
  type TagJudgement,
  tagSeverity,
} from "./tag-exemptions";
import type { Policy, SlackApprover } from "./types";

/** The `approver` a Slack approval is recorded with: the entry of `slack.approvers` that matched. */
export const slackApproverRef = (entry: SlackApprover): string => `slack:${entry.id}`;

/**
 * The `slack.approvers` entry a Slack member counts as: their own member id first, else the
 * first listed user group they belong to (`groups`: the user groups the caller looked up).
 * Undefined: not an approver.
 *
 * @example
 * slackApproverFor(policy, "U0ALICE0", [])        // { id: "U0ALICE0", name: "alice" }
 * slackApproverFor(policy, "U0BOB000", ["S0SEC"]) // { id: "S0SEC", name: "security on-call" }
 */
export function slackApproverFor(
  policy: Policy,
  userId: string,
  groups: readonly string[],
): SlackApprover | undefined {
  const approvers = policy.slack?.approvers ?? [];
  return (
    approvers.find((a) => a.id === userId) ??
    approvers.find((a) => a.id.startsWith("S") && groups.includes(a.id))
  );
}

/** The user group ids of `slack.approvers`: the ones whose members must be looked up. */
export function slackApproverGroups(policy: Policy): string[] {
  return (policy.slack?.approvers ?? []).filter((a) => a.id.startsWith("S")).map((a) => a.id);
}

/**
 * Whether a recorded Slack approval still counts under `policy`: the entry it was granted
 * through is still in `slack.approvers`. Removing a member or group from the list ends every
 * exemption they granted at the next judgement, as removing an ARN pattern from
 * `tagExemptions.approvers` does.
 */
export function isSlackApproval(record: TagRecord, policy: Policy): boolean {
  return (
    record.via === "slack" &&
    (policy.slack?.approvers ?? []).some((a) => slackApproverRef(a) === record.approver)
  );
}

/** The longest exemption a modal may offer: `tagExemptions.maxDays`. */
export function maxExemptionDays(policy: Policy): number {
  return policy.tagExemptions.maxDays;
}

/** Longest reason that fits in an EC2 tag value (256 characters) with the rest of the value. */
const TAG_VALUE_MAX = 256;

/**
 * The exemption tag value a Slack approval sets: `reason=…;expires=…;rules=…`, the expiry `days`
 * after `now` (UTC), capped by `tagExemptions.maxDays`. `;` in the reason (the value's
 * separator) becomes `,` and the reason is cut to fit EC2's 256-character tag value.
 *
 * @example
 * slackExemptionValue(policy, { reason: "demo", days: 7, rules: ["internet-exposure"] }, new Date("2026-12-06T10:00:00Z"))
 * // { value: "reason=demo;expires=2026-12-13;rules=internet-exposure", expires: "2026-12-13", days: 7 }
 */
export function slackExemptionValue(
  policy: Policy,
  request: { readonly reason: string; readonly days: number; readonly rules: readonly string[] },
  now: Date,
): { readonly value: string; readonly expires: string; readonly days: number } {
  const days = Math.max(1, Math.min(Math.floor(request.days), maxExemptionDays(policy)));
  const expires = latestExpiry(now, days);
  const tail = `;expires=${expires};rules=${request.rules.join(",")}`;
  const room = TAG_VALUE_MAX - "reason=".length - tail.length;
  const reason = request.reason.replace(/;/g, ",").replace(/\s+/g, " ").trim().slice(0, room);
  return { value: `reason=${reason}${tail}`, expires, days };
}

/**
 * Judges an exemption granted from Slack, as `judgeTagging` judges a tagging: the same validity
 * checks (rules exist and are `tagExemptable`, expiry within `maxDays`), but the approver is the
 * Slack member, matched against `slack.approvers`. The record holds the tag value's hash, so a
 * later change of the tag by anyone else is not honoured.
 */
export function judgeSlackApproval(
  change: { readonly groupId: string; readonly key: string; readonly value: string },
  approval: {
    readonly interactionId: string;
    readonly at: string;
    readonly userId: string;
    readonly approver: SlackApprover | undefined;
  },
  policy: Policy,
): TagJudgement {
  const where = `tag ${change.key} on ${change.groupId}`;
  const who = approval.approver
    ? `${approval.approver.name} (Slack ${approval.userId})`
    : `Slack member ${approval.userId}`;
  const tag = checkExemptionTag(change.value, policy, new Date(Date.parse(approval.at)));
  const rules = tag.valid ? tag.rules : [];
  const record: TagRecord = {
    groupId: change.groupId,
    key: change.key,
    action: "set",
    valueHash: hashTagValue(change.value),
    by: who,
    approver: approval.approver ? slackApproverRef(approval.approver) : null,
    problem: tag.valid ? null : tag.problem,
    rules,
    expires: tag.valid ? tag.expires : null,
    reason: tag.valid ? tag.reason : null,
    at: approval.at,
    eventId: `slack:${approval.interactionId}`,
    via: "slack",
  };
  const severity = tagSeverity(rules, policy);
  if (!approval.approver) {
    return {
      record,
      status: "not-approved",
      severity,
      summary: `${where} requested in Slack by ${who}, who is not an approver (slack.approvers): not granted`,
    };
  }
  if (!tag.valid) {
    return {
      record,
      status: "invalid",
      severity,
      summary: `${where} requested in Slack by ${who} is not a valid exemption (${tag.problem}): not granted`,
    };
  }
  return {
    record,
    status: "granted",
    severity,
    summary: `${where} set for approver ${who} from Slack: waives ${tag.rules.join(", ")} until ${tag.expires}`,
  };
}
