import {
  fromSecurityGroupRule,
  normalise,
  type PrefixListChange,
  type SecurityGroupRuleChange,
} from "@guardrail/core";
import type { Context } from "aws-lambda";
import { forTarget, type RemediationDeps } from "../deps";
import { withObservability } from "../middleware";
import { decide, earlyExit, type FlowResult } from "./decide";

/**
 * The rules that reference the list, read as current state.
 *
 * EC2 has no filter for "rules whose peer is prefix list X". Describing every rule of the
 * account would cost one call per 1,000 rules on the critical path; instead
 * GetManagedPrefixListAssociations names the groups that reference the list, and
 * DescribeSecurityGroupRules (filter group-id) reads only those groups' rules, which are then
 * kept if they name the list.
 */
async function referencingRules(
  prefixListId: string,
  deps: RemediationDeps,
): Promise<SecurityGroupRuleChange[]> {
  const groups = await deps.ec2.prefixListGroups(prefixListId);
  if (groups.length === 0) return [];
  const changes: SecurityGroupRuleChange[] = [];
  for await (const page of deps.ec2.securityGroupRules(groups)) {
    for (const rule of page) {
      if (rule.PrefixListId !== prefixListId) continue;
      const read = fromSecurityGroupRule(rule);
      if (read.status === "ok") changes.push(read.change);
      else if (read.status === "invalid") {
        deps.logger.error("unreadable security-group rule skipped", {
          ruleId: rule.SecurityGroupRuleId,
          error: read.error.message,
        });
      }
    }
  }
  return changes;
}

/**
 * prefix-list-change: ModifyManagedPrefixList. When entries were added, the rules that
 * reference the list are evaluated with the list's new entries, and offending RULES are
 * revoked; the list itself is never touched (other teams may own it).
 */
export async function prefixListChange(
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
  const change = result.changes.find((c): c is PrefixListChange => c.kind === "prefix-list");
  if (!change || change.added.length === 0) {
    deps.logger.info("prefix list only lost entries: nothing can be more open", {
      eventId: event.eventId,
    });
    return { status: "compliant", eventId: event.eventId };
  }
  const id = change.prefixListId;
  const [rules, current] = await Promise.all([
    referencingRules(id, deps),
    deps.ec2.prefixListEntries(id),
  ]);
  if (rules.length === 0) {
    deps.logger.info("no security-group rule references the prefix list", { prefixListId: id });
    return { status: "compliant", eventId: event.eventId };
  }
  // The modification is asynchronous (state modify-in-progress): the entries read back may still
  // be the previous version. The added CIDRs are known from the event, so they always count.
  const removed = new Set(change.removed.map((c) => c.cidr));
  const entries = [
    ...new Set([...current.filter((c) => !removed.has(c)), ...change.added.map((c) => c.cidr)]),
  ];
  return decide(
    {
      event,
      changes: rules,
      ctx: { prefixLists: { [id]: entries } },
      resource: { type: "prefix-list", id },
      // The editor of the list did not make the rules: their principal exemptions do not
      // extend to them (the rules' own authors' do, from the audit trail).
      withoutActor: true,
    },
    deps,
  );
}

/** The prefix-list-change Lambda handler, built from its dependencies. */
export function createPrefixListChangeHandler(deps: RemediationDeps) {
  return withObservability(
    (event: unknown, _context: Context) => prefixListChange(event, deps),
    deps,
  );
}
