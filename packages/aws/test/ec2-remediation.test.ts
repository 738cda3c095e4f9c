import "./setup";
import {
  AuthorizeSecurityGroupIngressCommand,
  CreateNetworkAclEntryCommand,
  EC2Client,
  RevokeSecurityGroupIngressCommand,
} from "@aws-sdk/client-ec2";
import type { Action } from "@guardrail/core";
import { mockClient } from "aws-sdk-client-mock";
import { afterEach, describe, expect, it } from "vitest";
import { createEc2Gateway } from "../src/ec2";
import { awsError } from "./helpers";

const ec2 = mockClient(EC2Client);
const now = () => new Date("2025-01-01T00:00:01Z");
const gateway = () => createEc2Gateway(new EC2Client({ region: "eu-west-1" }), now);

afterEach(() => ec2.reset());

const entry = (ruleNumber: number, ruleAction: "allow" | "deny", cidr: string) => ({
  networkAclId: "acl-1",
  ruleNumber,
  egress: false,
  ruleAction,
  protocol: "tcp" as const,
  ports: { from: 22, to: 22 },
  icmp: null,
  cidr,
});

const insert: Action = {
  type: "insert-network-acl-entries",
  networkAclId: "acl-1",
  egress: false,
  before: 100,
  entries: [entry(98, "allow", "10.0.0.0/8"), entry(99, "deny", "0.0.0.0/0")],
  check: "checked",
};

const narrow: Action = {
  type: "narrow-security-group-rule",
  groupId: "sg-1",
  direction: "ingress",
  ruleId: "sgr-1",
  remainder: [
    { protocol: "tcp", fromPort: 0, toPort: 21, cidr: "0.0.0.0/0" },
    { protocol: "tcp", fromPort: 23, toPort: 1023, cidr: "0.0.0.0/0" },
  ],
  check: "checked",
};

describe("EC2 adapter: inserted NACL entries", () => {
  it("creates the entries in order, allows first, with the wire protocol number", async () => {
    ec2.on(CreateNetworkAclEntryCommand).resolves({});
    const [outcome] = await gateway().execute(insert);
    expect(outcome?.status).toBe("revoked");
    const calls = ec2.commandCalls(CreateNetworkAclEntryCommand).map((c) => c.args[0].input);
    expect(calls).toEqual([
      {
        NetworkAclId: "acl-1",
        RuleNumber: 98,
        Egress: false,
        RuleAction: "allow",
        Protocol: "6",
        CidrBlock: "10.0.0.0/8",
        PortRange: { From: 22, To: 22 },
      },
      expect.objectContaining({ RuleNumber: 99, RuleAction: "deny", CidrBlock: "0.0.0.0/0" }),
    ]);
  });

  it("never creates the deny when an allow ahead of it failed", async () => {
    ec2.on(CreateNetworkAclEntryCommand).rejects(awsError("NetworkAclEntryLimitExceeded"));
    const [outcome] = await gateway().execute(insert);
    expect(outcome).toMatchObject({
      status: "failed",
      error: { code: "NetworkAclEntryLimitExceeded" },
    });
    expect(ec2.commandCalls(CreateNetworkAclEntryCommand)).toHaveLength(1);
  });
});

describe("EC2 adapter: narrowing", () => {
  it("authorizes each permission of the remainder, a duplicate counting as done, then revokes by id", async () => {
    ec2
      .on(AuthorizeSecurityGroupIngressCommand)
      .rejectsOnce(awsError("InvalidPermission.Duplicate"))
      .resolves({ Return: true });
    ec2.on(RevokeSecurityGroupIngressCommand).resolves({ Return: true });
    const [outcome] = await gateway().execute(narrow);
    expect(outcome?.status).toBe("revoked");
    expect(ec2.commandCalls(AuthorizeSecurityGroupIngressCommand)).toHaveLength(2);
    expect(ec2).toHaveReceivedCommandWith(RevokeSecurityGroupIngressCommand, {
      GroupId: "sg-1",
      SecurityGroupRuleIds: ["sgr-1"],
    });
  });

  it.each([
    [
      "revokes nothing and notifies (not-taken) when the group's rule quota refuses the remainder",
      "RulesPerSecurityGroupLimitExceeded",
      {
        status: "not-taken",
        error: {
          code: "RulesPerSecurityGroupLimitExceeded",
          message: expect.stringMatching(
            /ingress rule quota is reached .*the rule was not revoked/,
          ),
        },
      },
    ],
    [
      "fails, revoking nothing, when an Authorize fails for any other reason",
      "UnauthorizedOperation",
      { status: "failed", error: { code: "UnauthorizedOperation" } },
    ],
  ])("%s", async (_name, code, outcome) => {
    ec2.on(AuthorizeSecurityGroupIngressCommand).rejects(awsError(code));
    const [result] = await gateway().execute(narrow);
    expect(result).toMatchObject(outcome);
    expect(ec2).not.toHaveReceivedCommand(RevokeSecurityGroupIngressCommand);
  });
});
