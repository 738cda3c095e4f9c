import type { Action, Direction, Evaluation, Finding, SecurityGroupRuleChange } from "./model";
import { protocolApiName } from "./net/protocol";

type Permission = Extract<
  Action,
  { type: "revoke-security-group-permissions" }
>["permissions"][number];

/** The exact permission of a rule without an id: its protocol, ports or ICMP type/code, one peer. */
function permissionOf(change: SecurityGroupRuleChange): Permission | null {
  let fromPort: number | null = null;
  let toPort: number | null = null;
  if (change.protocol === "tcp" || change.protocol === "udp") {
    if (change.ports === null) return null;
    fromPort = change.ports.from;
    toPort = change.ports.to;
  } else if (change.protocol === "icmp" || change.protocol === "icmpv6") {
    // The revoke API carries ICMP type and code in fromPort/toPort; -1 means any.
    fromPort = change.icmp?.type ?? -1;
    toPort = change.icmp?.code ?? -1;
  }
  const base = { protocol: protocolApiName(change.protocol), fromPort, toPort };
  const peer = change.peer;
  // An IPv4-mapped IPv6 block is evaluated as IPv4 but stored by AWS in Ipv6Ranges under its
  // IPv6 text: name it that way (a `:` in the text tells the EC2 adapter it is IPv6).
  if (peer.kind === "cidr") return { ...base, cidr: (peer.cidr.original ?? peer.cidr).cidr };
  if (peer.kind === "prefix-list") return { ...base, prefixListId: peer.prefixListId };
  return peer.groupId === null ? null : { ...base, groupId: peer.groupId };
}

/**
 * The remediation plan for an evaluation: only `enforce` findings that no exemption waived
 * produce actions, and actions name only the offending rules.
 *
 * - Security-group rules with ids: one `revoke-security-group-rules` per (group, direction)
 *   with every offending rule id (direction null when a ModifySecurityGroupRules replay could
 *   not learn it).
 * - Rules without ids: one `revoke-security-group-permissions` per offending permission, so a
 *   rule that is already gone cannot make the revoke of another one fail.
 * - NACL entries: `delete-network-acl-entry`, except an entry from ReplaceNetworkAclEntry
 *   (`operation: "replace"`), whose delete would also remove the entry it replaced.
 * - Never an action on a prefix list itself, and none for a finding that names no group.
 *
 * @example
 * planActions(evaluate(changes, policy, ctx));
 * // [{ type: "revoke-security-group-rules", groupId: "sg-1", direction: "ingress", ruleIds: ["sgr-1"] }]
 */
export function planActions(evaluation: Evaluation): Action[] {
  const actions: Action[] = [];
  const byGroup = new Map<
    string,
    { groupId: string; direction: Direction | null; ruleIds: string[] }
  >();
  const seen = new Set<string>();
  const once = (key: string) => {
    if (seen.has(key)) return false;
    seen.add(key);
    return true;
  };
  for (const finding of evaluation.findings as readonly Finding[]) {
    if (finding.mode !== "enforce" || finding.exemption) continue;
    const change = finding.change;
    if (change.kind === "network-acl-entry") {
      // Never delete a replaced entry, even for a hand-built enforce finding: the delete would
      // remove the entry it replaced too (evaluate already downgrades these to notify).
      if (change.operation === "replace") continue;
      if (once(`nacl ${change.networkAclId} ${change.egress} ${change.ruleNumber}`)) {
        actions.push({
          type: "delete-network-acl-entry",
          networkAclId: change.networkAclId,
          ruleNumber: change.ruleNumber,
          egress: change.egress,
        });
      }
      continue;
    }
    if (change.kind !== "security-group-rule" || change.groupId === null) continue;
    const direction = change.direction === "unknown" ? null : change.direction;
    if (change.ruleId !== null) {
      const key = `${change.groupId} ${direction}`;
      let action = byGroup.get(key);
      if (!action) {
        action = { groupId: change.groupId, direction, ruleIds: [] };
        byGroup.set(key, action);
        actions.push({ type: "revoke-security-group-rules", ...action, ruleIds: action.ruleIds });
      }
      if (!action.ruleIds.includes(change.ruleId)) action.ruleIds.push(change.ruleId);
      continue;
    }
    const permission = direction === null ? null : permissionOf(change);
    if (permission === null || direction === null) continue;
    if (once(`perm ${change.groupId} ${direction} ${JSON.stringify(permission)}`)) {
      actions.push({
        type: "revoke-security-group-permissions",
        groupId: change.groupId,
        direction,
        permissions: [permission],
      });
    }
  }
  return actions;
}

/** The same action: same type, target and rules (actions are plain data). */
export function sameAction(a: Action, b: Action): boolean {
  return JSON.stringify(a) === JSON.stringify(b);
}
