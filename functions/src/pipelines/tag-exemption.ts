import { recordTagging, type TagOutcome } from "@guardrail/aws";
import {
  type ExemptionNotice,
  exemptionAuditItem,
  exemptionPublication,
  exemptionTagKeys,
  expiredUnreported,
  isOwnPrincipal,
  type MessageSeverity,
  readTagging,
  tagSeverity,
} from "@guardrail/core";
import type { RemediationDeps } from "../deps";

import { type FlowResult, reportInvalid } from "./decide";

/** What one tagging event came to, per group and key. */
export interface TagFlowResult extends FlowResult {
  readonly tags?: readonly TagOutcome[];
}

/**
 * The tagging events (CreateTags, DeleteTags, CreateSecurityGroup with TagSpecifications,
 * TagResources, UntagResources): each exemption tag they set or remove on a security group is
 * judged (approver? valid?), recorded with a hash of its value, and announced at the severity
 * of what it waives. Nothing is revoked here: the rules a tag no longer waives are revoked on
 * their own events and by the sweep.
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
  // One at a time: two keys of one group share nothing, but each record's write is ordered.
  for (const change of read.tags) tags.push(await recordTagging(change, event, hubDeps));
  return { status: "decided", eventId: event.eventId, tags };
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
