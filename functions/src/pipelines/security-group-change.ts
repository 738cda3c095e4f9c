import {
  type Action,
  type ActionOutcome,
  type Direction,
  normalise,
  type PolicyEvaluationContext,
  type RuleChange,
  type SecurityGroupRuleChange,
} from "@guardrail/core";
import type { Context } from "aws-lambda";
import { forTarget, type RemediationDeps } from "../deps";
import { withObservability } from "../middleware";
import { decide, earlyExit, type FlowResult, previousFromState } from "./decide";

function sgChanges(changes: readonly RuleChange[]): SecurityGroupRuleChange[] {
  return changes.filter((c): c is SecurityGroupRuleChange => c.kind === "security-group-rule");
}

/**
 * The look-ups the policy needs before it can judge the change, and nothing else:
 * - ModifySecurityGroupRules names no direction: DescribeSecurityGroupRules for those ids.
 *   A failed look-up throws (EventBridge retries); a rule EC2 says does not exist is gone.
 * - Rules whose peer is a prefix list: GetManagedPrefixListEntries, each list once.
 */
async function lookups(changes: readonly SecurityGroupRuleChange[], deps: RemediationDeps) {
  const undirected = [
    ...new Set(
      changes
        .filter((c) => c.direction === "unknown" && c.ruleId !== null)
        .map((c) => c.ruleId as string),
    ),
  ];
  const lists = [
    ...new Set(
      changes.flatMap((c) => (c.peer.kind === "prefix-list" ? [c.peer.prefixListId] : [])),
    ),
  ];
  const [directions, entries] = await Promise.all([
    undirected.length > 0 ? deps.ec2.ruleDirections(undirected) : undefined,
    Promise.all(lists.map(async (id) => [id, await deps.ec2.prefixListEntries(id)] as const)),
  ]);
  const ctx: Partial<PolicyEvaluationContext> = {
    ...(directions ? { ruleDirections: directions.directions as Record<string, Direction> } : {}),
    // Rules EC2 no longer knows are judged both ways; nothing will be revoked for them.
    ...(directions && directions.missing.length > 0
      ? { unknownDirection: "evaluate-both" as const }
      : {}),
    ...(entries.length > 0 ? { prefixLists: Object.fromEntries(entries) } : {}),
  };
  return { ctx, missing: new Set(directions?.missing ?? []) };
}

/**
 * security-group-change: AuthorizeSecurityGroupIngress/Egress and ModifySecurityGroupRules.
 * parse → (look up) → evaluate → plan → revoke → record → notify.
 */
export async function securityGroupChange(
  raw: unknown,
  hubDeps: RemediationDeps,
): Promise<FlowResult> {
  const result = normalise(raw);
  const exit = earlyExit(raw, result, hubDeps);
  if (exit) return exit;
  if (result.status !== "handled") throw new Error("unreachable");
  const { event } = result;
  // Look-ups and revokes happen where the change was made (the member role in organisation mode).
  const deps = await forTarget(hubDeps, event);
  const changes = sgChanges(result.changes);
  const { ctx, missing } = await lookups(changes, deps);
  const modify = event.eventName === "ModifySecurityGroupRules";
  return decide(
    {
      event,
      changes,
      ctx,
      settled: (action: Action): ActionOutcome | undefined =>
        action.type === "revoke-security-group-rules" &&
        action.direction === null &&
        action.ruleIds.every((id) => missing.has(id))
          ? { action, status: "already-gone", confirmedAt: deps.clock().toISOString() }
          : undefined,
      ...(modify
        ? {
            previousFor: async (cs: readonly RuleChange[]) => {
              const groups = [
                ...new Set(
                  sgChanges(cs)
                    .map((c) => c.groupId)
                    .filter((g): g is string => g !== null),
                ),
              ];
              const byGroup = await Promise.all(
                groups.map((g) => previousFromState(deps, event, g)),
              );
              return (c: RuleChange) => {
                const i =
                  c.kind === "security-group-rule" && c.groupId !== null
                    ? groups.indexOf(c.groupId)
                    : -1;
                return i >= 0 ? byGroup[i]?.(c) : undefined;
              };
            },
          }
        : {}),
    },
    deps,
  );
}

/** The security-group-change Lambda handler, built from its dependencies. */
export function createSecurityGroupChangeHandler(deps: RemediationDeps) {
  return withObservability(
    (event: unknown, _context: Context) => securityGroupChange(event, deps),
    deps,
  );
}
