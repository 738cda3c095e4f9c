import type { Evaluation, EventMeta, RuleChange, TagRecord } from "./model";
import {
  evaluate,
  groupsNeedingTags,
  needsGroupTags,
  type PolicyEvaluationContext,
} from "./policy/evaluate";
import { groupsDecidingRevoke } from "./policy/revoke-needs";
import { exemptionTagKeys } from "./policy/tag-exemptions";
import type { Policy } from "./policy/types";

/** Tags by group id. */
export type GroupTags = Readonly<Record<string, Readonly<Record<string, string>>>>;

/**
 * The look-ups a judgement may need, injected by the caller: the event flows read tags group
 * by group (some already being read), the sweep and `scan` in batches.
 */
export interface JudgeLookups {
  /** The tags of these security groups, by group id. */
  groupTags(ids: readonly string[]): Promise<GroupTags>;
  /**
   * The recorded taggings of one group, by tag key. Absent where there is no record to read
   * (`scan`): tags are then judged without records.
   */
  tagRecords?(
    account: string,
    region: string,
    groupId: string,
  ): Promise<Readonly<Record<string, TagRecord>>>;
}

/**
 * `only: "deciding"` reads only the tags of the groups whose tags could change what is revoked
 * (`groupsDecidingRevoke`); the event flows read the others after the revoke.
 */
export interface JudgeOptions {
  readonly only?: "all" | "deciding";
}

/** What `judge` came to, and the context it judged with (tags included). */
export interface Judgement {
  readonly evaluation: Evaluation;
  readonly ctx: PolicyEvaluationContext;
}

/**
 * Evaluates; when a finding exists that a group's tag could waive, reads the tags of the groups
 * concerned (and the recorded taggings of those that carry an exemption tag: a tag is honoured
 * only against its record) and evaluates again with them. Nothing is read for a compliant
 * change or a policy without tag exemptions.
 *
 * @example
 * const { evaluation } = await judge(changes, policy, { now, event }, {
 *   groupTags: (ids) => ec2.tagsByGroup(ids),
 *   tagRecords: async (account, region, id) => (await audit.tagRecords(account, region, id))[id] ?? {},
 * });
 */
export async function judge(
  changes: readonly RuleChange[],
  policy: Policy,
  ctx: PolicyEvaluationContext,
  lookups: JudgeLookups,
  { only = "all" }: JudgeOptions = {},
): Promise<Judgement> {
  const first = evaluate(changes, policy, ctx);
  if (first.findings.length === 0 || !needsGroupTags(policy)) return { evaluation: first, ctx };
  const ids =
    only === "deciding" ? groupsDecidingRevoke(first, policy) : groupsNeedingTags(first, policy);
  if (ids.length === 0) return { evaluation: first, ctx };
  const groupTags = await lookups.groupTags(ids);
  const tagRecords = await groupTagRecords(groupTags, policy, ctx, lookups);
  const tagged = { ...ctx, groupTags, ...(tagRecords ? { tagRecords } : {}) };
  return { evaluation: evaluate(changes, policy, tagged), ctx: tagged };
}

/**
 * The recorded taggings of the groups that carry an exemption tag, by group and exemption key
 * (null: no record). Read only when such a tag exists (one look-up per group), so a group
 * without one costs nothing more; undefined where there is nothing to read (no account or
 * Region, no `tagRecords` look-up, no group with an exemption tag).
 *
 * @example
 * await groupTagRecords({ "sg-1": { "guardrail:exempt": "admin-ports" } }, policy, { event }, lookups)
 * // { "sg-1": { "guardrail:exempt": { value: "admin-ports", … } } }
 */
export async function groupTagRecords(
  groupTags: GroupTags,
  policy: Policy,
  ctx: {
    readonly event?: Pick<EventMeta, "account" | "region">;
    readonly account?: string;
    readonly region?: string;
  },
  lookups: Pick<JudgeLookups, "tagRecords">,
): Promise<PolicyEvaluationContext["tagRecords"]> {
  const account = ctx.event?.account ?? ctx.account;
  const region = ctx.event?.region ?? ctx.region;
  const read = lookups.tagRecords?.bind(lookups);
  if (account === undefined || region === undefined || read === undefined) return undefined;
  const keys = exemptionTagKeys(policy);
  const tagged = Object.entries(groupTags)
    .filter(([, t]) => keys.some((k) => t[k] !== undefined))
    .map(([id]) => id);
  if (tagged.length === 0) return undefined;
  const records = await Promise.all(
    tagged.map(async (id) => {
      const found = await read(account, region, id);
      return [id, Object.fromEntries(keys.map((k) => [k, found[k] ?? null]))] as const;
    }),
  );
  return Object.fromEntries(records);
}
