import {
  type Evaluation,
  type EventMeta,
  evaluate,
  type GroupTags,
  groupsDecidingRevoke,
  type JudgeLookups,
  needsGroupTags,
  type PolicyEvaluationContext,
  type RuleChange,
  UNRESOLVED_PREFIX_LIST_RULE,
} from "@guardrail/core";
import type { RemediationDeps } from "../deps";

/** The account's tags and OUs (organisation mode), as `AccountDirectory.context` reads them. */
type AccountContext = Pick<PolicyEvaluationContext, "accountTags" | "organizationalUnits">;

/**
 * Look-ups that do not depend on the pipeline's own (rule read-back, prefix-list entries), so
 * they are started before them and run in parallel: the critical path to the revoke stays one
 * round trip.
 */
export interface Prefetched {
  /** The account's context from AWS Organizations; `{}` when the policy needs none. */
  readonly account: Promise<AccountContext>;
  /** Tags of the groups the event's own content already shows a finding on, by group id. */
  readonly tags: ReadonlyMap<string, Promise<Record<string, string>>>;
}

/**
 * Starts the look-ups `decide` would otherwise make after the pipeline's own. The account's
 * context is read whenever the policy needs it (it is cached). Group tags are read early only
 * when they would be read anyway: the event's content, judged without the look-ups, has a
 * finding that a tag could waive (a prefix-list peer, unresolved until its entries are read,
 * does not count), and no account context is pending that could still put the rule out of
 * scope or exempt it. The one case where the early read is wasted: a rule read back
 * (ModifySecurityGroupRules, a late event) that was made compliant since the event.
 */
export function prefetch(
  event: EventMeta,
  changes: readonly RuleChange[],
  deps: RemediationDeps,
  { tags: withTags = true }: { readonly tags?: boolean } = {},
): Prefetched {
  const account: Promise<AccountContext> = deps.directory
    ? deps.directory.context(event.account)
    : Promise.resolve({});
  const tags = new Map<string, Promise<Record<string, string>>>();
  const policy = deps.config.policy;
  if (!withTags || deps.directory || !needsGroupTags(policy)) return { account, tags };
  let preliminary: Evaluation;
  try {
    preliminary = evaluate(changes, policy, {
      now: deps.clock(),
      event,
      unknownDirection: "evaluate-both",
    });
  } catch {
    // Whatever cannot be judged yet is judged after the look-ups, tags then read there.
    return { account, tags };
  }
  const counted = {
    ...preliminary,
    findings: preliminary.findings.filter((f) => f.rule !== UNRESOLVED_PREFIX_LIST_RULE),
  };
  for (const id of groupsDecidingRevoke(counted, policy)) {
    const read = deps.ec2.tagsOf(id);
    // A failure surfaces where the tags are used; unused, it must not be an unhandled rejection.
    read.catch(() => {});
    tags.set(id, read);
  }
  return { account, tags };
}

/** The recorded taggings of one group, by key, from the audit table. */
function tagRecordsOf(deps: RemediationDeps): JudgeLookups["tagRecords"] {
  return async (account, region, groupId) =>
    (await deps.audit.tagRecords(account, region, groupId))[groupId] ?? {};
}

/** `judge`'s look-ups for one event: tags group by group, those already being read reused. */
export function eventLookups(
  deps: RemediationDeps,
  early: Prefetched["tags"] = new Map(),
): JudgeLookups {
  return {
    async groupTags(ids) {
      const tags = await Promise.all(
        ids.map(async (id) => [id, await (early.get(id) ?? deps.ec2.tagsOf(id))] as const),
      );
      return Object.fromEntries(tags) as GroupTags;
    },
    tagRecords: tagRecordsOf(deps),
  };
}

/** `judge`'s look-ups for current state (the sweep, `scan`): tags in batches. */
export function stateLookups(deps: RemediationDeps): JudgeLookups {
  return { groupTags: (ids) => deps.ec2.tagsByGroup(ids), tagRecords: tagRecordsOf(deps) };
}
