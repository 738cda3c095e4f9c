import type { PrefixListAssociation } from "@guardrail/aws";
import {
  classifyCidr,
  type Finding,
  fromSecurityGroupRule,
  type PrefixListChange,
  parseCidr,
  type SecurityGroupRuleChange,
} from "@guardrail/core";
import type { RemediationDeps } from "../deps";
import { flowHandler } from "../middleware";
import { changeFlow, decide } from "./decide";

/**
 * The rules that reference the list, read as current state.
 *
 * EC2 has no filter for "rules whose peer is prefix list X". Describing every rule of the
 * account would cost one call per 1,000 rules on the critical path; instead
 * GetManagedPrefixListAssociations names the groups that reference the list, and
 * DescribeSecurityGroupRules (filter group-id) reads only those groups' rules (`groups`: this
 * account's), which are then kept if they name the list.
 */
async function referencingRules(
  prefixListId: string,
  groups: readonly string[],
  deps: RemediationDeps,
): Promise<SecurityGroupRuleChange[]> {
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

/** Rule id of the notify-only finding about groups in other accounts that reference a list. */
export const SHARED_PREFIX_LIST_RULE = "shared-prefix-list";

/**
 * The notify-only finding for a list shared through RAM: groups in other accounts reference it,
 * and their rules cannot be read from this account. Given only when the entries the change
 * brings in could open something (public or blocked addresses); a change to private ranges
 * exposes nothing to report.
 */
function sharedListFinding(
  change: PrefixListChange,
  brought: readonly string[],
  foreign: readonly PrefixListAssociation[],
  account: string,
  deps: RemediationDeps,
): Finding | null {
  if (foreign.length === 0) return null;
  const policy = deps.config.policy;
  const open = brought.filter((text) => {
    try {
      const c = classifyCidr(parseCidr(text), policy).classes;
      return c.has("public") || c.has("blocked");
    } catch {
      return true;
    }
  });
  const accounts = [...new Set(foreign.map((a) => a.owner ?? "unknown"))].sort();
  deps.logger.warn("prefix list referenced from other accounts; their rules are not checked", {
    prefixListId: change.prefixListId,
    groups: foreign.map((a) => a.groupId),
    accounts,
  });
  if (open.length === 0) return null;
  return {
    rule: SHARED_PREFIX_LIST_RULE,
    mode: "notify",
    severity: "high",
    reason:
      `prefix list ${change.prefixListId} now holds ${open.join(", ")} and is referenced by ` +
      `${foreign.length} security group(s) in other account(s) (${accounts.join(", ")}), shared ` +
      `through RAM; their rules cannot be read from ${account} and were not checked; notify only`,
    change,
  };
}

/**
 * prefix-list-change: ModifyManagedPrefixList and RestoreManagedPrefixListVersion. When entries
 * were added, or an old version restored, the rules that reference the list are evaluated with
 * the entries the list now holds, and offending RULES are revoked; the list itself is never
 * touched (other teams may own it). The rules are judged without the list's editor (see
 * `DecideInput.withoutActor`).
 */
export const prefixListChange = changeFlow(
  (c): c is PrefixListChange => c.kind === "prefix-list",
  async ({ event, deps, change }) => {
    const restored = change?.restoredVersion;
    if (!change || (change.added.length === 0 && restored === undefined)) {
      deps.logger.info("prefix list only lost entries: nothing can be more open", {
        eventId: event.eventId,
      });
      return { status: "compliant", eventId: event.eventId };
    }
    const id = change.prefixListId;
    // Both the modification and the restore are asynchronous (state modify-in-progress): the
    // current version read back may still be the previous one. A restore puts back the entries
    // of `restoredVersion`, so those are read; for a modification the event's added CIDRs always
    // count.
    const [associations, current] = await Promise.all([
      deps.ec2.prefixListAssociations(id),
      deps.ec2.prefixListEntries(id, restored),
    ]);
    const own = associations.filter((a) => a.owner === null || a.owner === event.account);
    const foreign = associations.filter((a) => a.owner !== null && a.owner !== event.account);
    const removed = new Set(change.removed.map((c) => c.cidr));
    const entries = [
      ...new Set([...current.filter((c) => !removed.has(c)), ...change.added.map((c) => c.cidr)]),
    ];
    const brought = restored !== undefined ? entries : change.added.map((c) => c.cidr);
    const shared = sharedListFinding(change, brought, foreign, event.account, deps);
    const rules = await referencingRules(
      id,
      own.map((a) => a.groupId),
      deps,
    );
    if (rules.length === 0 && shared === null) {
      deps.logger.info("no security-group rule of this account references the prefix list", {
        prefixListId: id,
      });
      return { status: "compliant", eventId: event.eventId };
    }
    return decide(
      {
        event,
        changes: rules,
        ctx: { prefixLists: { [id]: entries } },
        resource: { type: "prefix-list", id },
        // The editor of the list did not make the rules: their principal exemptions do not
        // extend to them (the rules' own authors' do, from the audit trail).
        withoutActor: true,
        ...(shared ? { extraFindings: [shared] } : {}),
      },
      deps,
    );
  },
);

/** The prefix-list-change Lambda handler, built from its dependencies. */
export function createPrefixListChangeHandler(deps: RemediationDeps) {
  return flowHandler(prefixListChange, deps);
}
