import type { RuleDirections } from "@guardrail/aws/ec2";
import { LookupFailedError } from "@guardrail/aws/errors";
import {
  type Direction,
  type EventMeta,
  eventNameOf,
  fromSecurityGroupRule,
  isTaggingEvent,
  type PolicyEvaluationContext,
  type RuleChange,
  type SecurityGroupRuleChange,
  viewChange,
} from "@guardrail/core";
import type { RemediationDeps } from "../deps";
import { loadLater } from "../load-later";
import { flowHandler } from "../middleware";
import { begin, decide, type FlowResult } from "./decide";
import { prefetch } from "./lookups";

function sgChanges(changes: readonly RuleChange[]): SecurityGroupRuleChange[] {
  return changes.filter((c): c is SecurityGroupRuleChange => c.kind === "security-group-rule");
}

/**
 * An event this much older than the clock has its rules read back from EC2 before anything is
 * revoked: by then a later ModifySecurityGroupRules may have changed them (see "Races" in
 * docs/remediation-flow.md). A fresh event is acted on at once.
 */
export const VERIFY_AFTER_SECONDS = 60;

function isLate(event: EventMeta, now: Date): boolean {
  const at = Date.parse(event.eventTime);
  return !Number.isNaN(at) && now.getTime() - at > VERIFY_AFTER_SECONDS * 1000;
}

/**
 * The rules to read back by id before the revoke: ModifySecurityGroupRules always (the event
 * names no direction, and only EC2 knows what the rule is now), any other event when it is late.
 */
function idsToDescribe(changes: readonly SecurityGroupRuleChange[], late: boolean): string[] {
  return [
    ...new Set(
      changes
        .filter((c) => c.ruleId !== null && (c.direction === "unknown" || late))
        .map((c) => c.ruleId as string),
    ),
  ];
}

function listsOf(changes: readonly SecurityGroupRuleChange[]): string[] {
  return [
    ...new Set(
      changes.flatMap((c) => (c.peer.kind === "prefix-list" ? [c.peer.prefixListId] : [])),
    ),
  ];
}

/**
 * What is there now for a change whose rule was read back: the described rule (content and
 * direction), which is what a revoke by id would remove. A rule EC2 no longer knows keeps the
 * event's content (it is reported as already gone, never revoked).
 *
 * @throws LookupFailedError when EC2 described the rule in a form that cannot be read.
 */
function currentOf(
  change: SecurityGroupRuleChange,
  described: RuleDirections,
  asked: ReadonlySet<string>,
): SecurityGroupRuleChange {
  const id = change.ruleId;
  if (id === null || !asked.has(id) || described.missing.includes(id)) return change;
  const rule = described.rules[id];
  if (rule === undefined) return change;
  const read = fromSecurityGroupRule(rule);
  if (read.status !== "ok") {
    const why = read.status === "invalid" ? read.error.message : read.reason;
    throw new LookupFailedError(`DescribeSecurityGroupRules returned ${id} unreadable: ${why}`);
  }
  return read.change;
}

/**
 * The look-ups the policy needs before it can judge the change, and nothing else:
 * - DescribeSecurityGroupRules for the rules `idsToDescribe` names; the change is then judged
 *   as described. A failed look-up throws (Lambda retries); a rule EC2 says does not exist
 *   is gone.
 * - Rules whose peer is a prefix list: GetManagedPrefixListEntries, each list once (in parallel
 *   with the describe; a list only the described rule names is read afterwards).
 */
async function lookups(
  changes: readonly SecurityGroupRuleChange[],
  event: EventMeta,
  deps: RemediationDeps,
) {
  const ids = idsToDescribe(changes, isLate(event, deps.clock()));
  const entriesOf = (lists: readonly string[]) =>
    Promise.all(lists.map(async (id) => [id, await deps.ec2.prefixListEntries(id)] as const));
  const [described, early] = await Promise.all([
    ids.length > 0 ? deps.ec2.ruleDirections(ids) : undefined,
    entriesOf(listsOf(changes)),
  ]);
  const asked = new Set(ids);
  const current = described ? changes.map((c) => currentOf(c, described, asked)) : [...changes];
  const read = new Set(early.map(([id]) => id));
  const entries = [...early, ...(await entriesOf(listsOf(current).filter((id) => !read.has(id))))];
  current.forEach((c, i) => {
    const before = changes[i];
    if (before && c !== before && viewChange(c).text !== viewChange(before).text) {
      deps.logger.info("rule changed since the event; judged as it is now", {
        ruleId: c.ruleId,
        event: viewChange(before).text,
        now: viewChange(c).text,
      });
    }
  });
  const ctx: Partial<PolicyEvaluationContext> = {
    ...(described ? { ruleDirections: described.directions as Record<string, Direction> } : {}),
    // Rules EC2 no longer knows are judged both ways; nothing will be revoked for them.
    ...(described && described.missing.length > 0
      ? { unknownDirection: "evaluate-both" as const }
      : {}),
    ...(entries.length > 0 ? { prefixLists: Object.fromEntries(entries) } : {}),
  };
  return { changes: current, ctx, missing: new Set(described?.missing ?? []) };
}

/**
 * security-group-change: AuthorizeSecurityGroupIngress/Egress and ModifySecurityGroupRules, and
 * the tagging calls that set or remove exemption tags (see `tagExemptionChange`).
 * parse → (look up) → evaluate → plan → revoke → record → notify. A Modify, or a late event, is
 * judged on the rule as EC2 describes it now, since that is what a revoke by id removes.
 */
export async function securityGroupChange(
  raw: unknown,
  hubDeps: RemediationDeps,
): Promise<FlowResult> {
  // Tagging calls (an exemption granted or withdrawn) come through the same rule.
  if (isTaggingEvent(eventNameOf(raw))) {
    return (await loadLater()).tagExemptionChange(raw, hubDeps);
  }
  const begun = await begin(raw, hubDeps);
  if (begun.exit) return begun.exit;
  const { event, deps } = begun;
  const fromEvent = sgChanges(begun.changes);
  // The account's context and the group's tags do not wait for the rule read-back.
  const prefetched = prefetch(event, fromEvent, deps);
  const { changes, ctx, missing } = await lookups(fromEvent, event, deps);
  return decide(
    {
      event,
      changes,
      ctx,
      prefetched,
      // A rule EC2 said does not exist is not revoked: it is already gone.
      gone: missing,
      ...(event.eventName === "ModifySecurityGroupRules"
        ? { previous: "from-state" as const }
        : {}),
    },
    deps,
  );
}

/** The security-group-change Lambda handler, built from its dependencies. */
export function createSecurityGroupChangeHandler(deps: RemediationDeps) {
  return flowHandler(securityGroupChange, deps);
}
