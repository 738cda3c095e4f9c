import {
  AuthorizeSecurityGroupIngressCommand,
  CreateSecurityGroupCommand,
  type EC2Client,
} from "@aws-sdk/client-ec2";
import type { DecisionMessage } from "@guardrail/core";
import { type LocalStack, startLocalStack } from "@guardrail/sandbox/local";
import { afterAll, beforeAll, describe, expect, it } from "vitest";

/** What the Terraform AWS provider adds to the SDK's user agent (terraform-provider-aws 5.x). */
const TERRAFORM_AGENT =
  "APN/1.0 HashiCorp/1.0 Terraform/1.9.5 (+https://www.terraform.io) terraform-provider-aws/5.70.0 (+https://registry.terraform.io/providers/hashicorp/aws)";

let stack: LocalStack;

beforeAll(async () => {
  stack = await startLocalStack();
});

afterAll(async () => {
  await stack.close();
});

const ssh = (groupId: string) =>
  new AuthorizeSecurityGroupIngressCommand({
    GroupId: groupId,
    IpPermissions: [
      { IpProtocol: "tcp", FromPort: 22, ToPort: 22, IpRanges: [{ CidrIp: "0.0.0.0/0" }] },
    ],
  });

/** Opens the rule `times` times, as an apply would, letting the guardrail revoke it each time. */
async function reopen(ec2: EC2Client, groupId: string, times: number): Promise<void> {
  for (let i = 0; i < times; i++) {
    await ec2.send(ssh(groupId));
    await stack.idle();
  }
}

function revokesOf(groupId: string) {
  return stack.sandbox
    .recordedEvents()
    .filter(
      (e) =>
        e.detail.eventName === "RevokeSecurityGroupIngress" &&
        JSON.stringify(e.detail.requestParameters).includes(groupId),
    );
}

function messagesAbout(groupId: string) {
  return stack
    .notifications()
    .filter((n) => (n.message as DecisionMessage | null)?.resource?.id === groupId);
}

describe("the flap guard, end to end in the sandbox", () => {
  it("a rule re-opened 5 times by Terraform: 5 revokes, 3 alerts and one escalation naming Terraform", async () => {
    const developer = stack.developerEc2();
    const terraform = stack.developerEc2({ userAgent: TERRAFORM_AGENT });
    const { GroupId = "" } = await developer.send(
      new CreateSecurityGroupCommand({ GroupName: "tf-web", Description: "managed by Terraform" }),
    );
    await reopen(terraform, GroupId, 5);

    expect(revokesOf(GroupId)).toHaveLength(5);
    const opened = stack.sandbox
      .recordedEvents()
      .filter((e) => e.detail.eventName === "AuthorizeSecurityGroupIngress");
    expect(opened.at(-1)?.detail.userAgent).toContain("Terraform/1.9.5");

    const messages = messagesAbout(GroupId);
    const escalations = messages.filter(
      (n) => (n.message as DecisionMessage).flap?.state === "escalated",
    );
    expect(messages).toHaveLength(4);
    expect(
      messages.slice(0, 3).every((n) => (n.message as DecisionMessage).flap === undefined),
    ).toBe(true);
    expect(escalations).toHaveLength(1);
    const [escalation] = escalations;
    if (!escalation) throw new Error("no escalation");
    expect((escalation.message as DecisionMessage).flap?.attribution).toMatchObject({
      tool: "terraform",
      label: "Terraform 1.9.5",
      principal: `arn:aws:iam::${stack.accountId}:user/developer`,
    });
    const slack = (escalation.slack[0]?.lines ?? []).join("\n");
    expect(slack).toContain("Revoke loop: Terraform 1.9.5 keeps re-opening a rule");
    expect(slack).toContain("Where to fix it:");
    expect(slack).toContain("opened 4 times");
    // Each Slack delivery is one message; the fifth revoke reached neither SNS nor Slack.
    expect(messages.every((n) => n.ok && n.slack.length === 1)).toBe(true);
  });

  it("a rule CloudFormation keeps re-creating: the escalation names the stack", async () => {
    const { groupId } = stack.sandbox.seedSecurityGroup({
      name: "cfn-web",
      tags: {
        "aws:cloudformation:stack-name": "web-prod",
        "aws:cloudformation:logical-id": "WebSecurityGroup",
        "aws:cloudformation:stack-id": `arn:aws:cloudformation:${stack.region}:${stack.accountId}:stack/web-prod/6d3c5e40-9f0a-11ef-8d2b-0a1b2c3d4e5f`,
      },
    });
    await reopen(stack.cloudFormationEc2(), groupId, 4);

    expect(revokesOf(groupId)).toHaveLength(4);
    const opened = stack.sandbox
      .recordedEvents()
      .filter((e) => e.detail.eventName === "AuthorizeSecurityGroupIngress")
      .at(-1)?.detail;
    expect(opened).toMatchObject({
      sourceIPAddress: "cloudformation.amazonaws.com",
      userAgent: "cloudformation.amazonaws.com",
      userIdentity: { invokedBy: "cloudformation.amazonaws.com" },
    });
    const escalation = messagesAbout(groupId)
      .map((n) => n.message as DecisionMessage)
      .find((m) => m.flap?.state === "escalated");
    expect(escalation?.flap?.attribution).toMatchObject({
      tool: "cloudformation",
      sessionName: "AWSCloudFormation",
      stack: { name: "web-prod", logicalId: "WebSecurityGroup" },
    });
    expect(escalation?.summary).toContain('CloudFormation stack "web-prod"');
  });
});
