import type { GroupRuleCounts } from "@guardrail/core";
import type { RemediationDeps } from "../deps";

type Counts = { ingress: { 4: number; 6: number }; egress: { 4: number; 6: number } };

/**
 * The rules of each group as the quota counts them ("Inbound or outbound rules per security
 * group", counted separately for IPv4 and IPv6), read with DescribeSecurityGroupRules (filter
 * group-id): a CIDR rule counts toward its IP version, a rule whose peer is a group or a prefix
 * list toward both (`countGroupRules` counts the sweep's rules the same way). Read only for the
 * groups a plan narrows: the narrowing planner refuses a remainder the quota would not take.
 *
 * @throws LookupFailedError when EC2 cannot be read (Lambda retries the event).
 */
export async function groupRuleCounts(
  groupIds: readonly string[],
  deps: Pick<RemediationDeps, "ec2">,
): Promise<Record<string, GroupRuleCounts>> {
  const out: Record<string, Counts> = {};
  for (const id of groupIds) out[id] = { ingress: { 4: 0, 6: 0 }, egress: { 4: 0, 6: 0 } };
  for await (const page of deps.ec2.securityGroupRules(groupIds)) {
    for (const rule of page) {
      const side = out[rule.GroupId ?? ""]?.[rule.IsEgress ? "egress" : "ingress"];
      if (side === undefined) continue;
      if (rule.CidrIpv4 !== undefined) side[4] += 1;
      else if (rule.CidrIpv6 !== undefined) side[6] += 1;
      else {
        side[4] += 1;
        side[6] += 1;
      }
    }
  }
  return out;
}
