import { recordTagging, type TagOutcome } from "@guardrail/aws/tag-records";
import {
  type EventMeta,
  type ExemptionNotice,
  evaluate,
  exemptionAuditItem,
  exemptionPublication,
  exemptionTagKeys,
  expiredUnreported,
  fromSecurityGroupRule,
  isOwnPrincipal,
  type MessageSeverity,
  type RuleChange,
  readTagging,
  tagSeverity,
} from "@guardrail/core";
import type { RemediationDeps } from "../deps";
import { forTarget } from "../for-target";

import { decide, type FlowResult, reportInvalid } from "./decide";

/** What one tagging event came to, per group and key. */
export interface TagFlowResult extends FlowResult {
  readonly tags?: readonly TagOutcome[];
  /**
   * The group's current rules judged again because this tagging was not an approval and a rule
   * it names may already exist (its event judged first, the tag then unverified).
   */
  readonly rejudged?: FlowResult;
}

/**
 * The tagging events (CreateTags, DeleteTags, CreateSecurityGroup with TagSpecifications,
 * TagResources, UntagResources): each exemption tag they set or remove on a security group is
 * judged (approver? valid?), recorded with a hash of its value, and announced at the severity
 * of what it waives. A tagging that is not an approval also judges again the group's rules it
 * names (`rejudgeRefused`); a grant or removal revokes nothing here.
 */
export async function tagExemptionChange(
  raw: unknown,
  hubDeps: RemediationDeps,
): Promise<TagFlowResult> {
  const keys = exemptionTagKeys(hubDeps.config.policy);
  const read = readTagging(raw, keys);
  if (read.status === "invalid") return reportInvalid(raw, read, hubDeps);
  if (read.status === "ignored") {
    hubDeps.logger.info("event ignored", { detail: read.detail, eventId: read.event.eventId });
    return { status: "ignored", eventId: read.event.eventId, reason: "no-exemption-tag" };
  }
  const { event } = read;
  if (isOwnPrincipal(event.actor, hubDeps.config.policy)) {
    return { status: "ignored", eventId: event.eventId, reason: "own-principal" };
  }
  for (const note of read.notes) {
    hubDeps.logger.info("tag not recorded", { detail: note, eventId: event.eventId });
  }
  const tags = [];
  const refused: { groupId: string; rules: readonly string[] }[] = [];
  // One at a time: two keys of one group share nothing, but each record's write is ordered.
  for (const change of read.tags) {
    const done = await recordTagging(change, event, hubDeps);
    tags.push(done);
    if (
      done.recorded === "written" &&
      (done.status === "not-approved" || done.status === "invalid")
    )
      refused.push({ groupId: change.groupId, rules: done.rules });
  }
  const rejudged = refused.length > 0 ? await rejudgeRefused(refused, event, hubDeps) : null;
  return { status: "decided", eventId: event.eventId, tags, ...(rejudged ? { rejudged } : {}) };
}

/**
 * A rule event judged before this tagging's event had its tag "unverified" (no record yet) and
 * was only notified. Now that the record says the tag is not an approval, the group's current
 * rules with an enforce finding of a rule the tag names are judged again, as the event path
 * would (tags and records read afresh), so the tag never keeps what the policy revokes.
 *
 * The record is written (above) before the rules are read here, and the event path reads
 * records with ConsistentRead: either this read sees the rule, or the rule's own event sees the
 * record. Rules without such a finding are not touched or re-announced.
 */
async function rejudgeRefused(
  refused: readonly { groupId: string; rules: readonly string[] }[],
  event: EventMeta,
  hubDeps: RemediationDeps,
): Promise<FlowResult | null> {
  const deps = await forTarget(hubDeps, event);
  const policy = deps.config.policy;
  const changes: RuleChange[] = [];
  for await (const page of deps.ec2.securityGroupRules(refused.map((r) => r.groupId))) {
    for (const rule of page) {
      const read = fromSecurityGroupRule(rule);
      if (read.status === "ok") changes.push(read.change);
    }
  }
  const ctx = { now: deps.clock(), account: event.account, region: event.region };
  const shielded = changes.filter((c) => {
    const named = refused.find((r) => c.kind === "security-group-rule" && r.groupId === c.groupId);
    return (
      named !== undefined &&
      evaluate([c], policy, ctx).findings.some(
        (f) => f.mode === "enforce" && named.rules.includes(f.rule),
      )
    );
  });
  if (shielded.length === 0) return null;
  deps.logger.warn("rules named by an unapproved exemption tag judged again", {
    eventId: event.eventId,
    rules: shielded.map((c) => (c.kind === "security-group-rule" ? c.ruleId : null)),
  });
  // The rules were made by whoever made them, not by the tagger: principal exemptions come from
  // the audit trail, as for the sweep.
  return decide({ event, changes: shielded, withoutActor: true }, deps);
}

/**
 * The sweep's part: every approved exemption tag of the account and Region whose expiry has
 * passed is announced once (the record is marked, conditionally, before the message goes out,
 * so two sweeps never both announce it). The finding it waived is revoked by the same sweep.
 */
export async function reportExpiredTags(
  account: string,
  region: string,
  deps: RemediationDeps,
): Promise<number> {
  const now = deps.clock();
  const records = Object.values(await deps.audit.tagRecords(account, region)).flatMap((byKey) =>
    Object.values(byKey),
  );
  let reported = 0;
  for (const record of records.filter((r) => expiredUnreported(r, now))) {
    if (!(await deps.audit.markTagExpiryReported(account, region, record))) continue;
    const notice: ExemptionNotice = {
      id: `expired:${record.eventId}:${record.groupId}:${record.key}`,
      status: "expired",
      account,
      region,
      groupId: record.groupId,
      key: record.key,
      severity: (tagSeverity(record.rules, deps.config.policy) ?? "info") as MessageSeverity,
      summary: `tag ${record.key} on ${record.groupId} (set by ${record.by ?? "an unknown principal"}, waiving ${record.rules.join(", ")}) expired ${record.expires}: no longer honoured; remove it or have an approver set a new one`,
      record,
      event: null,
      decidedAt: now.toISOString(),
      guardrailVersion: deps.config.version,
    };
    await deps.notifier.publish(exemptionPublication(notice));
    await deps.audit.putExemptionNotice(exemptionAuditItem(notice));
    reported++;
  }
  return reported;
}
