import { Logger } from "@aws-lambda-powertools/logger";
import {
  type EventMeta,
  type ExemptionNotice,
  evaluate,
  exemptionAuditItem,
  exemptionPublication,
  exemptionTagKeys,
  expiredUnreported,
  fromSecurityGroupRule,
  hashTagValue,
  isOwnPrincipal,
  judgeTagging,
  type MessageSeverity,
  type RuleChange,
  readTagging,
  type TagChange,
  type TagJudgement,
  type TagRecord,
  tagSeverity,
  viewActor,
} from "@guardrail/core";
import { forTarget, type RemediationDeps } from "../deps";

/** What recording and announcing a tagging needs (the CLI's adoption builds it by hand). */
export type TaggingDeps = Pick<RemediationDeps, "audit" | "notifier" | "clock" | "logger"> & {
  readonly config: Pick<RemediationDeps["config"], "policy" | "version">;
};

import { decide, type FlowResult, reportInvalid } from "./decide";

/** What one tagging event came to, per group and key. */
export interface TagFlowResult extends FlowResult {
  readonly tags?: readonly {
    readonly groupId: string;
    readonly key: string;
    readonly status: TagJudgement["status"];
    /** The rules the value names (read leniently when it is invalid). */
    readonly rules: readonly string[];
    /** `stale`: a later tagging was recorded already; `duplicate`: a redelivery. */
    readonly recorded: "written" | "stale" | "duplicate";
    readonly published: boolean;
  }[];
  /**
   * The group's current rules judged again because this tagging was not an approval and a rule
   * it names may already exist (its event judged first, the tag then unverified).
   */
  readonly rejudged?: FlowResult;
}

/**
 * Records one exemption-tag change and announces it, once per (event, group, key). The record
 * is written before the announcement and conditionally (the later tagging wins), so a
 * redelivery or a late event never rolls an approval back; the announcement's audit item is
 * written after the publish, so a crash in between announces twice rather than never.
 */
export async function recordTagging(
  change: TagChange,
  event: Pick<EventMeta, "eventId" | "eventName" | "eventTime" | "account" | "region" | "actor">,
  deps: TaggingDeps,
  via: TagRecord["via"] = "event",
): Promise<NonNullable<TagFlowResult["tags"]>[number]> {
  const policy = deps.config.policy;
  const previous =
    (await deps.audit.tagRecords(event.account, event.region, change.groupId))[change.groupId]?.[
      change.key
    ] ?? null;
  const judged = judgeTagging(change, event, policy, { via, previous });
  const recorded = await deps.audit.putTagRecord(event.account, event.region, judged.record);
  const notice: ExemptionNotice = {
    id: `${event.eventId}:${change.groupId}:${change.key}`,
    status: via === "adopt" && judged.status === "granted" ? "adopted" : judged.status,
    account: event.account,
    region: event.region,
    groupId: change.groupId,
    key: change.key,
    severity: (judged.severity ?? "info") as MessageSeverity,
    summary:
      recorded === "stale"
        ? `${judged.summary} (a later change of the tag is recorded already)`
        : judged.summary,
    record: judged.record,
    event:
      via === "event"
        ? {
            id: event.eventId,
            name: event.eventName,
            time: event.eventTime,
            actor: viewActor(event.actor),
          }
        : null,
    decidedAt: deps.clock().toISOString(),
    guardrailVersion: deps.config.version,
  };
  const item = exemptionAuditItem(notice);
  if (recorded === "duplicate" && !(await deps.audit.putExemptionNotice(item))) {
    return {
      ...pick(change),
      status: judged.status,
      rules: judged.record.rules,
      recorded,
      published: false,
    };
  }
  await deps.notifier.publish(exemptionPublication(notice));
  if (recorded !== "duplicate") await deps.audit.putExemptionNotice(item);
  const log = judged.status === "granted" || judged.status === "removed" ? "info" : "warn";
  deps.logger[log]("exemption tag", {
    eventId: event.eventId,
    groupId: change.groupId,
    key: change.key,
    status: judged.status,
    by: judged.record.by,
    recorded,
  });
  return {
    ...pick(change),
    status: judged.status,
    rules: judged.record.rules,
    recorded,
    published: true,
  };
}

const pick = (c: TagChange) => ({ groupId: c.groupId, key: c.key });

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

/** One group's exemption tag as `adoptExemptionTags` found it. */
export interface Adoption {
  readonly groupId: string;
  readonly key: string;
  /** `adopted`: recorded now; `recorded`: already on record with this value; else why not. */
  readonly status: "adopted" | "recorded" | "not-approver" | "invalid";
  readonly detail: string;
}

/**
 * `guardrail exemptions adopt`: records exemption tags that exist without a record (set before
 * the guardrail was deployed, or whose event never arrived) as approved by `actor`, who must
 * match `tagExemptions.approvers`. A tag whose current value is on record already is left
 * alone; an invalid value (no rules=, too long, a rule no tag may waive) is not adopted.
 */
export async function adoptExemptionTags(
  target: { readonly account: string; readonly region: string },
  actor: EventMeta["actor"],
  groups: Readonly<Record<string, Readonly<Record<string, string>>>>,
  given: Omit<TaggingDeps, "logger"> & { readonly logger?: TaggingDeps["logger"] },
  newId: () => string,
): Promise<Adoption[]> {
  const deps: TaggingDeps = {
    ...given,
    logger: given.logger ?? new Logger({ serviceName: "guardrail-adopt", logLevel: "SILENT" }),
  };
  const policy = deps.config.policy;
  const keys = exemptionTagKeys(policy);
  const records = await deps.audit.tagRecords(target.account, target.region);
  const out: Adoption[] = [];
  for (const [groupId, tags] of Object.entries(groups)) {
    for (const key of keys) {
      const value = tags[key];
      if (value === undefined) continue;
      const current = records[groupId]?.[key];
      if (current?.action === "set" && current.valueHash === hashTagValue(value)) {
        out.push({
          groupId,
          key,
          status: "recorded",
          detail: `on record: set by ${current.by ?? "unknown"} at ${current.at}${current.approver ? "" : " (not an approver)"}`,
        });
        continue;
      }
      const at = deps.clock().toISOString();
      const event = { eventId: `adopt:${newId()}`, eventTime: at, actor };
      const judged = judgeTagging({ groupId, key, value }, event, policy, { via: "adopt" });
      if (judged.status !== "granted") {
        out.push({
          groupId,
          key,
          status: judged.status === "not-approved" ? "not-approver" : "invalid",
          detail: judged.summary,
        });
        continue;
      }
      await recordTagging(
        { groupId, key, value },
        { ...event, eventName: "AdoptExemptionTag", ...target },
        deps,
        "adopt",
      );
      out.push({ groupId, key, status: "adopted", detail: judged.summary });
    }
  }
  return out;
}
