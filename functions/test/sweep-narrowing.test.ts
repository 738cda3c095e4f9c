import "./setup";
import {
  AuthorizeSecurityGroupIngressCommand,
  DescribeNetworkAclsCommand,
  DescribeSecurityGroupRulesCommand,
  DescribeSecurityGroupsCommand,
  RevokeSecurityGroupIngressCommand,
  type SecurityGroupRule,
} from "@aws-sdk/client-ec2";
import { describe, expect, it } from "vitest";
import { type SweepDeps, sweep } from "../src/pipelines/sweep";
import { NARROWING, scheduledEvent, testDeps } from "./helpers";
import { acceptRemediation, ec2, mockAwsPerTest } from "./support/aws-mocks";

const GROUP = "sg-q";
const RULE = "sgr-wide";

const scheduled = scheduledEvent();

/** tcp 0-1023 from 52.0.0.0/8 and `n - 1` compliant ingress IPv4 rules, in one group. */
function groupRules(n: number): SecurityGroupRule[] {
  return Array.from({ length: n }, (_, i) => ({
    GroupId: GROUP,
    SecurityGroupRuleId: i === 0 ? RULE : `sgr-ok-${i}`,
    IsEgress: false,
    IpProtocol: "tcp",
    FromPort: i === 0 ? 0 : 2000 + i,
    ToPort: i === 0 ? 1023 : 2000 + i,
    CidrIpv4: i === 0 ? "52.0.0.0/8" : "10.0.0.0/8",
  }));
}

function deps(): SweepDeps {
  return {
    ...testDeps({ fn: "sweep", policyYaml: NARROWING }),
    identity: async () => {
      throw new Error("the scheduled event names the account");
    },
  };
}

mockAwsPerTest(() => {
  acceptRemediation();
  ec2.on(DescribeSecurityGroupRulesCommand).resolves({ SecurityGroupRules: groupRules(3) });
  ec2.on(DescribeNetworkAclsCommand).resolves({ NetworkAcls: [] });
  ec2
    .on(DescribeSecurityGroupsCommand)
    .resolves({ SecurityGroups: [{ GroupId: GROUP, Tags: [] }] });
  ec2.on(AuthorizeSecurityGroupIngressCommand).resolves({ Return: true });
});

describe("sweep: narrowing against the group's rule quota", () => {
  it("narrows a mixed rule when the group has room: the remainder first, then the revoke", async () => {
    const result = await sweep(scheduled, deps());
    expect(ec2).toHaveReceivedCommandTimes(AuthorizeSecurityGroupIngressCommand, 2);
    expect(ec2).toHaveReceivedCommandExactlyOnceWith(RevokeSecurityGroupIngressCommand, {
      GroupId: GROUP,
      SecurityGroupRuleIds: [RULE],
    });
    expect(result.counts.revoked).toBeGreaterThanOrEqual(1);
  });

  it("counts the rules it read: with 59 ingress IPv4 rules, the remainder of 2 has no room, so it notifies", async () => {
    ec2.on(DescribeSecurityGroupRulesCommand).resolves({ SecurityGroupRules: groupRules(59) });
    const result = await sweep(scheduled, deps());
    expect(ec2).not.toHaveReceivedCommand(AuthorizeSecurityGroupIngressCommand);
    expect(ec2).not.toHaveReceivedCommand(RevokeSecurityGroupIngressCommand);
    expect(result.counts.revoked).toBe(0);
    expect(result.counts["notify-only"]).toBeGreaterThanOrEqual(1);
  });
});
