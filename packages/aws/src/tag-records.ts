import {
  type EventMeta,
  type ExemptionNotice,
  exemptionAuditItem,
  exemptionPublication,
  exemptionTagKeys,
  groupTagRecords,
  hashTagValue,
  judgeTagging,
  type MessageSeverity,
  type Policy,
  type TagChange,
  type TagJudgement,
  type TagRecord,
  viewEvent,
} from "@guardrail/core";
import type { AuditStore } from "./audit";
import type { Notifier } from "./sns";

type Log = (message: string, extra: Record<string, unknown>) => void;

/** What recording and announcing a tagging needs (the CLI's adoption builds it by hand). */
export interface TaggingDeps {
  readonly audit: AuditStore;
  readonly notifier: Notifier;
  readonly clock: () => Date;
  readonly logger: { readonly info: Log; readonly warn: Log };
  readonly config: { readonly policy: Policy; readonly version: string };
}

/** What recording one tag change came to. */
export interface TagOutcome {
  readonly groupId: string;
  readonly key: string;
  readonly status: TagJudgement["status"];
  /** The rules the value names (read leniently when it is invalid). */
  readonly rules: readonly string[];
  /** `stale`: a later tagging was recorded already; `duplicate`: a redelivery. */
  readonly recorded: "written" | "stale" | "duplicate";
  readonly published: boolean;
}

const SILENT: TaggingDeps["logger"] = { info: () => undefined, warn: () => undefined };

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
): Promise<TagOutcome> {
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
    event: via === "event" ? viewEvent(event) : null,
    decidedAt: deps.clock().toISOString(),
    guardrailVersion: deps.config.version,
  };
  const item = exemptionAuditItem(notice);
  const outcome = (published: boolean): TagOutcome => ({
    ...pick(change),
    status: judged.status,
    rules: judged.record.rules,
    recorded,
    published,
  });
  if (recorded === "duplicate" && !(await deps.audit.putExemptionNotice(item))) {
    return outcome(false);
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
  return outcome(true);
}

const pick = (c: TagChange) => ({ groupId: c.groupId, key: c.key });

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
  const deps: TaggingDeps = { ...given, logger: given.logger ?? SILENT };
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

/**
 * The recorded taggings of the groups that carry an exemption tag: a tag is honoured only
 * against its record. Read only when such a tag exists (one consistent Query per group), so a
 * group without one costs nothing more. The functions and `guardrail scan` judge tags with it.
 */
export function recordsOf(
  groupTags: Readonly<Record<string, Readonly<Record<string, string>>>>,
  ctx: {
    readonly event?: Pick<EventMeta, "account" | "region">;
    readonly account?: string;
    readonly region?: string;
  },
  deps: {
    readonly audit: Pick<AuditStore, "tagRecords">;
    readonly config: { readonly policy: Policy };
  },
): Promise<Record<string, Record<string, TagRecord | null>> | undefined> {
  return groupTagRecords(groupTags, deps.config.policy, ctx, {
    tagRecords: async (account, region, id) =>
      (await deps.audit.tagRecords(account, region, id))[id] ?? {},
  });
}
