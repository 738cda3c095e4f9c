import "./setup";
import {
  AuthorizeSecurityGroupIngressCommand,
  DescribeSecurityGroupRulesCommand,
  RevokeSecurityGroupIngressCommand,
  type SecurityGroupRule,
} from "@aws-sdk/client-ec2";
import { PublishCommand } from "@aws-sdk/client-sns";
import { describe, expect, it } from "vitest";
import { securityGroupChange } from "../src/pipelines/security-group-change";
import { awsError, GROUP, NARROWING, RULE, sshFromWorld, testDeps } from "./helpers";
import { acceptRemediation, ec2, mockAwsPerTest, sns } from "./support/aws-mocks";

/**
 * tcp 0-1023 from 52.0.0.0/8 (public and wide, no trusted or office range inside): forbidden
 * but for 80 and 443, which stay open.
 */
function lowPortsFromWorld() {
  const e = sshFromWorld();
  for (const p of e.requestParameters.ipPermissions.items)
    Object.assign(p, {
      fromPort: 0,
      toPort: 1023,
      ipRanges: { items: [{ cidrIp: "52.0.0.0/8" }] },
    });
  for (const r of e.responseElements.securityGroupRuleSet.items)
    Object.assign(r, { fromPort: 0, toPort: 1023, cidrIpv4: "52.0.0.0/8" });
  return e;
}

/** `n` ingress IPv4 rules of the group, the offending one among them. */
function groupRules(n: number): SecurityGroupRule[] {
  return Array.from({ length: n }, (_, i) => ({
    GroupId: GROUP,
    SecurityGroupRuleId: i === 0 ? RULE : `sgr-0b${String(i).padStart(15, "0")}`,
    IsEgress: false,
    IpProtocol: "tcp",
    FromPort: i === 0 ? 0 : 2000 + i,
    ToPort: i === 0 ? 1023 : 2000 + i,
    CidrIpv4: i === 0 ? "52.0.0.0/8" : "10.0.0.0/8",
  }));
}

function published() {
  return sns.commandCalls(PublishCommand).map((c) => JSON.parse(c.args[0].input.Message ?? "{}"));
}

mockAwsPerTest(() => {
  acceptRemediation({ messageId: "msg-1" });
  ec2.on(DescribeSecurityGroupRulesCommand).resolves({ SecurityGroupRules: groupRules(3) });
  ec2.on(AuthorizeSecurityGroupIngressCommand).resolves({ Return: true });
});

describe("security-group-change: narrowing a mixed rule", () => {
  it("authorizes tcp 80 and 443 from the range first, then revokes the rule by id", async () => {
    const result = await securityGroupChange(
      lowPortsFromWorld(),
      testDeps({ policyYaml: NARROWING }),
    );
    expect(result.result).toBe("revoked");
    // The group's rules were counted against its quota before anything was authorized.
    expect(ec2).toHaveReceivedCommandWith(DescribeSecurityGroupRulesCommand, {
      Filters: [{ Name: "group-id", Values: [GROUP] }],
    });
    const authorized = ec2
      .commandCalls(AuthorizeSecurityGroupIngressCommand)
      .map((c) => c.args[0].input.IpPermissions?.[0])
      .map((p) => `${p?.IpProtocol} ${p?.FromPort}-${p?.ToPort} ${p?.IpRanges?.[0]?.CidrIp}`);
    expect(authorized.sort()).toEqual(["tcp 443-443 52.0.0.0/8", "tcp 80-80 52.0.0.0/8"]);
    expect(ec2).toHaveReceivedCommandExactlyOnceWith(RevokeSecurityGroupIngressCommand, {
      GroupId: GROUP,
      SecurityGroupRuleIds: [RULE],
    });
    const order = ec2.calls().map((c) => c.args[0].constructor.name);
    expect(order.lastIndexOf("AuthorizeSecurityGroupIngressCommand")).toBeLessThan(
      order.indexOf("RevokeSecurityGroupIngressCommand"),
    );
    const [message] = published();
    expect(message.findings[0].action).toMatchObject({
      type: "narrow-security-group-rule",
      ruleIds: [RULE],
      remainder: ["tcp 80 from 52.0.0.0/8", "tcp 443 from 52.0.0.0/8"],
      check: expect.stringMatching(/^checked: the 2 rules authorized allow exactly/),
    });
  });

  it("counts a remainder already there (InvalidPermission.Duplicate) as authorized", async () => {
    ec2
      .on(AuthorizeSecurityGroupIngressCommand)
      .rejectsOnce(awsError("InvalidPermission.Duplicate"))
      .resolves({ Return: true });
    const result = await securityGroupChange(
      lowPortsFromWorld(),
      testDeps({ policyYaml: NARROWING }),
    );
    expect(result.result).toBe("revoked");
    expect(ec2).toHaveReceivedCommandTimes(RevokeSecurityGroupIngressCommand, 1);
  });

  it("notifies, authorizing and revoking nothing, when the remainder would exceed the group's quota", async () => {
    // 59 ingress IPv4 rules: two more would make 61 before the revoke, over the quota of 60.
    ec2.on(DescribeSecurityGroupRulesCommand).resolves({ SecurityGroupRules: groupRules(59) });
    const result = await securityGroupChange(
      lowPortsFromWorld(),
      testDeps({ policyYaml: NARROWING }),
    );
    expect(result.result).toBe("notify-only");
    expect(ec2).not.toHaveReceivedCommand(AuthorizeSecurityGroupIngressCommand);
    expect(ec2).not.toHaveReceivedCommand(RevokeSecurityGroupIngressCommand);
    const [message] = published();
    expect(message.findings[0]).toMatchObject({ mode: "notify", result: "notify-only" });
    expect(message.findings[0].reason).toMatch(
      /cannot be narrowed \(2 more rules would make 61 before the revoke, over the group's quota of 60 per direction and IP version\)/,
    );
  });

  it("notifies, revoking nothing, when AWS answers RulesPerSecurityGroupLimitExceeded", async () => {
    ec2
      .on(AuthorizeSecurityGroupIngressCommand)
      .rejects(awsError("RulesPerSecurityGroupLimitExceeded"));
    const result = await securityGroupChange(
      lowPortsFromWorld(),
      testDeps({ policyYaml: NARROWING }),
    );
    // Not a failure to retry: the rule is in place, unchanged, and the finding says why.
    expect(result.result).toBe("notify-only");
    expect(ec2).not.toHaveReceivedCommand(RevokeSecurityGroupIngressCommand);
    const [message] = published();
    expect(message.result).toBe("notify-only");
    expect(message.findings[0]).toMatchObject({
      result: "notify-only",
      error: { code: "RulesPerSecurityGroupLimitExceeded" },
      action: { type: "narrow-security-group-rule" },
    });
    expect(message.findings[0].reason).toMatch(
      /not narrowed: the group's ingress rule quota is reached .*\(RulesPerSecurityGroupLimitExceeded\)/,
    );
  });

  it("reads no rule counts when nothing narrows (the shipped policy revokes whole)", async () => {
    const result = await securityGroupChange(lowPortsFromWorld(), testDeps());
    expect(result.result).toBe("revoked");
    expect(ec2).not.toHaveReceivedCommand(DescribeSecurityGroupRulesCommand);
    expect(ec2).not.toHaveReceivedCommand(AuthorizeSecurityGroupIngressCommand);
  });
});
