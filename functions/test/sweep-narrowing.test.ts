import "./setup";
import {
  AuthorizeSecurityGroupIngressCommand,
  DescribeNetworkAclsCommand,
  DescribeSecurityGroupRulesCommand,
  DescribeSecurityGroupsCommand,
  EC2Client,
  RevokeSecurityGroupIngressCommand,
  type SecurityGroupRule,
} from "@aws-sdk/client-ec2";
import { PublishCommand, SNSClient } from "@aws-sdk/client-sns";
import {
  BatchWriteCommand,
  DynamoDBDocumentClient,
  GetCommand,
  PutCommand,
  QueryCommand,
  UpdateCommand,
} from "@aws-sdk/lib-dynamodb";
import { DEFAULT_POLICY_YAML } from "@guardrail/core";
import { mockClient } from "aws-sdk-client-mock";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { type SweepDeps, sweep } from "../src/pipelines/sweep";
import { testDeps } from "./helpers";

const ec2 = mockClient(EC2Client);
const sns = mockClient(SNSClient);
const ddb = mockClient(DynamoDBDocumentClient);

const GROUP = "sg-q";
const RULE = "sgr-wide";

/** The shipped policy with admin-ports and internet-exposure narrowing. */
const NARROWING = DEFAULT_POLICY_YAML.replace(
  "  - id: admin-ports\n",
  "  - id: admin-ports\n    remediation:\n      narrow: true\n",
).replace(
  "  - id: internet-exposure\n",
  "  - id: internet-exposure\n    remediation:\n      narrow: true\n",
);

const scheduled = {
  version: "0",
  id: "run-1",
  "detail-type": "Scheduled Event",
  source: "aws.events",
  account: "123456789012",
  time: "2025-01-01T00:00:00Z",
  region: "eu-west-1",
  resources: [],
  detail: {},
};

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

beforeEach(() => {
  for (const m of [ec2, sns, ddb]) m.reset();
  ec2.on(DescribeSecurityGroupRulesCommand).resolves({ SecurityGroupRules: groupRules(3) });
  ec2.on(DescribeNetworkAclsCommand).resolves({ NetworkAcls: [] });
  ec2
    .on(DescribeSecurityGroupsCommand)
    .resolves({ SecurityGroups: [{ GroupId: GROUP, Tags: [] }] });
  ec2.on(AuthorizeSecurityGroupIngressCommand).resolves({ Return: true });
  ec2.on(RevokeSecurityGroupIngressCommand).resolves({ Return: true });
  ddb.on(QueryCommand).resolves({ Items: [] });
  ddb.on(BatchWriteCommand).resolves({});
  ddb.on(PutCommand).resolves({});
  ddb.on(GetCommand).resolves({});
  ddb.on(UpdateCommand).resolves({});
  sns.on(PublishCommand).resolves({ MessageId: "m" });
});

afterEach(() => {
  for (const m of [ec2, sns, ddb]) m.reset();
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
