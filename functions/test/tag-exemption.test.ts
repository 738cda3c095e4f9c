import "./setup";
import {
  DescribeSecurityGroupRulesCommand,
  DescribeSecurityGroupsCommand,
  RevokeSecurityGroupIngressCommand,
} from "@aws-sdk/client-ec2";
import { PublishCommand } from "@aws-sdk/client-sns";
import { GetCommand, PutCommand, QueryCommand, UpdateCommand } from "@aws-sdk/lib-dynamodb";
import { DEFAULT_POLICY_YAML, hashTagValue } from "@guardrail/core";
import { describe, expect, it } from "vitest";
import { loadFixture } from "../../test/fixtures/load";
import { securityGroupChange } from "../src/pipelines/security-group-change";
import { reportExpiredTags } from "../src/pipelines/tag-exemption";
import { awsError, GROUP, OWN_ROLE, tagRecord, testDeps } from "./helpers";
import { ddb, ec2, mockAwsPerTest, sns } from "./support/aws-mocks";

const APPROVER = "arn:aws:iam::123456789012:role/security-approver";
const approving = DEFAULT_POLICY_YAML.replace("approvers: []", `approvers: ["${APPROVER}"]`);
const deps = () => testDeps({ policyYaml: approving, now: new Date("2026-06-14T09:00:05Z") });

function published() {
  return sns.commandCalls(PublishCommand).map((c) => ({
    body: JSON.parse(c.args[0].input.Message ?? "{}"),
    severity: c.args[0].input.MessageAttributes?.severity?.StringValue,
    subject: c.args[0].input.Subject,
  }));
}
const puts = () => ddb.commandCalls(PutCommand).map((c) => c.args[0].input);

mockAwsPerTest(() => {
  sns.on(PublishCommand).resolves({ MessageId: "m-1" });
  ec2.on(DescribeSecurityGroupRulesCommand).resolves({ SecurityGroupRules: [] });
  // No tagging recorded yet.
  ddb.on(QueryCommand).resolves({ Items: [] });
});

describe("security-group-change: tagging events", () => {
  it("records an approver's grant with the value's hash and announces it at the rule's severity", async () => {
    const event = loadFixture("CreateTags", "assumed-role-approver_exemption-tag_two-groups");
    const result = await securityGroupChange(event, deps());
    expect(result).toMatchObject({ status: "decided" });
    const value = event.detail.requestParameters.tagSet.items[0].value;
    const records = puts().filter((p) => p.Item?.type === "tag-record");
    expect(records.map((r) => r.Item?.groupId)).toEqual([GROUP, "sg-0a1b2c3d4e5f60002"]);
    expect(records[0]?.Item).toMatchObject({
      pk: "TAG#123456789012#us-east-1",
      sk: `GROUP#${GROUP}#KEY#guardrail-exempt`,
      action: "set",
      valueHash: hashTagValue(value),
      by: APPROVER,
      approver: APPROVER,
      rules: ["internet-exposure"],
      problem: null,
    });
    expect(JSON.stringify(records[0]?.Item)).not.toContain(value);
    expect(records[0]?.ConditionExpression).toContain("attribute_not_exists");
    const [first] = published();
    expect(first?.severity).toBe("high");
    expect(first?.body).toMatchObject({ schema: "guardrail.exemption/v1", status: "granted" });
    expect(first?.subject).toContain("Exemption granted");
    expect(puts().filter((p) => p.Item?.type === "exemption")).toHaveLength(2);
  });

  it.each([
    {
      name: "a developer's tag that names no rule, at the severity of everything it asks to waive",
      event: () => loadFixture("CreateTags", "iamuser-cli_exemption-tag_no-rules"),
      groupId: GROUP,
      problem: "rules is missing",
    },
    {
      name: "a tag set at creation that waives admin ports",
      event: () => loadFixture("CreateSecurityGroup", "tag-specifications_exemption-tag"),
      groupId: "sg-0a1b2c3d4e5f60004",
      problem: expect.stringContaining("tagExemptable is false"),
    },
  ])("alerts (critical) on $name", async ({ event, groupId, problem }) => {
    await securityGroupChange(event(), deps());
    const [m] = published();
    expect(m?.severity).toBe("critical");
    expect(m?.body).toMatchObject({ status: "not-approved", groupId, record: { problem } });
    expect(m?.subject).toContain(`UNAPPROVED exemption tag: guardrail-exempt on ${groupId}`);
  });

  describe("a developer's tag whose event arrives after the rule's", () => {
    const VALUE = "reason=demo;expires=2026-06-30;rules=internet-exposure";
    const developerTags = () => {
      const event = loadFixture("CreateTags", "iamuser-cli_exemption-tag_no-rules");
      event.detail.requestParameters.tagSet.items[0].value = VALUE;
      return event;
    };
    const rule = (id: string, port: number) => ({
      SecurityGroupRuleId: id,
      GroupId: GROUP,
      GroupOwnerId: "123456789012",
      IsEgress: false,
      IpProtocol: "tcp",
      FromPort: port,
      ToPort: port,
      CidrIpv4: "0.0.0.0/0",
    });
    /** What the audit table holds once the tagging is recorded: the developer's record. */
    const developerRecord = () =>
      tagRecord({
        value: VALUE,
        by: "arn:aws:iam::123456789012:user/developer",
        byType: "IAMUser",
        eventId: "e1a00000-0000-4000-8000-000000000001",
        eventTime: "2026-06-14T09:00:00Z",
        policyYaml: approving,
      });

    it("revokes the rule the unverified tag kept, and only that one", async () => {
      ddb
        .on(QueryCommand)
        .resolvesOnce({ Items: [] })
        .resolves({ Items: [{ ...developerRecord(), type: "tag-record" }] });
      ec2.on(DescribeSecurityGroupRulesCommand).resolves({
        SecurityGroupRules: [
          rule("sgr-0a0000000000web80", 443),
          rule("sgr-0a00000000000808", 8080),
        ],
      });
      ec2.on(DescribeSecurityGroupsCommand).resolves({
        SecurityGroups: [{ GroupId: GROUP, Tags: [{ Key: "guardrail-exempt", Value: VALUE }] }],
      });
      ec2.on(RevokeSecurityGroupIngressCommand).resolves({ Return: true });
      ddb.on(PutCommand).resolves({});
      ddb.on(UpdateCommand).resolves({});
      const result = await securityGroupChange(developerTags(), deps());
      expect(result).toMatchObject({
        status: "decided",
        tags: [{ status: "not-approved", recorded: "written" }],
        rejudged: { status: "decided", result: "revoked" },
      });
      expect(ec2).toHaveReceivedCommandWith(DescribeSecurityGroupRulesCommand, {
        Filters: [{ Name: "group-id", Values: [GROUP] }],
      });
      expect(ec2).toHaveReceivedCommandTimes(RevokeSecurityGroupIngressCommand, 1);
      expect(ec2).toHaveReceivedCommandWith(RevokeSecurityGroupIngressCommand, {
        GroupId: GROUP,
        SecurityGroupRuleIds: ["sgr-0a00000000000808"],
      });
      const decision = published().find((m) => m.body.schema === "guardrail.decision/v1");
      expect(decision?.body.findings[0].reason).toContain("who is not an approver");
      // The records are read consistently: a tagging recorded a moment ago is seen.
      for (const q of ddb.commandCalls(QueryCommand))
        expect(q.args[0].input.ConsistentRead).toBe(true);
    });

    it("touches nothing when the group has no rule the tag names", async () => {
      ec2.on(DescribeSecurityGroupRulesCommand).resolves({
        SecurityGroupRules: [rule("sgr-0a0000000000web80", 443)],
      });
      const result = await securityGroupChange(developerTags(), deps());
      expect(result).not.toHaveProperty("rejudged");
      expect(ec2).not.toHaveReceivedCommand(RevokeSecurityGroupIngressCommand);
      expect(published().map((m) => m.body.schema)).toEqual(["guardrail.exemption/v1"]);
    });
  });

  it("records a removal through the Tagging API", async () => {
    await securityGroupChange(
      loadFixture("UntagResources", "iamuser-cli_security-group-arn"),
      deps(),
    );
    expect(puts()[0]?.Item).toMatchObject({ action: "removed", valueHash: null });
    expect(published()[0]?.body.status).toBe("removed");
  });

  it("announces a redelivered tagging once", async () => {
    ddb.on(PutCommand).rejects(awsError("ConditionalCheckFailedException", "exists", "client"));
    ddb.on(GetCommand).resolves({ Item: { eventId: "e1a00000-0000-4000-8000-000000000003" } });
    const result = await securityGroupChange(
      loadFixture("DeleteTags", "iamuser-cli_exemption-tag"),
      deps(),
    );
    expect(result).toMatchObject({ tags: [{ recorded: "duplicate", published: false }] });
    expect(sns).not.toHaveReceivedCommand(PublishCommand);
  });

  it("ignores tagging without an exemption key, and its own roles' tagging", async () => {
    const other = loadFixture("CreateSecurityGroup", "detail_panther_terraform");
    expect(await securityGroupChange(other, deps())).toMatchObject({ status: "ignored" });
    const own = loadFixture("TagResources", "assumed-role-cli_security-group-arn");
    own.detail.userIdentity.sessionContext.sessionIssuer.arn = OWN_ROLE;
    expect(await securityGroupChange(own, deps())).toMatchObject({
      status: "ignored",
      reason: "own-principal",
    });
    expect(sns).not.toHaveReceivedCommand(PublishCommand);
    expect(ddb).not.toHaveReceivedCommand(PutCommand);
  });
});

describe("the sweep's expired tags", () => {
  const value = "reason=demo;expires=2026-06-20;rules=internet-exposure";
  const record = tagRecord({
    value,
    by: APPROVER,
    eventId: "tag-1",
    eventTime: "2026-06-14T09:00:00Z",
    policyYaml: approving,
  });
  const later = () => testDeps({ policyYaml: approving, now: new Date("2026-06-21T00:00:01Z") });

  it("announces an approved tag that ran out once, at the severity of what it waived", async () => {
    ddb.on(QueryCommand).resolves({ Items: [{ ...record, type: "tag-record" }] });
    ddb
      .on(UpdateCommand)
      .resolvesOnce({})
      .rejects(awsError("ConditionalCheckFailedException", "reported", "client"));
    expect(await reportExpiredTags("123456789012", "us-east-1", later())).toBe(1);
    expect(await reportExpiredTags("123456789012", "us-east-1", later())).toBe(0);
    expect(published()).toHaveLength(1);
    expect(published()[0]).toMatchObject({ severity: "high", body: { status: "expired" } });
    expect(ddb.commandCalls(UpdateCommand)[0]?.args[0].input.ConditionExpression).toBe(
      "#e = :e AND attribute_not_exists(#r)",
    );
  });

  it("says nothing about a tag still running, or one already reported", async () => {
    ddb.on(QueryCommand).resolves({
      Items: [
        { ...record, type: "tag-record" },
        { ...record, groupId: "sg-0a1b2c3d4e5f60002", expiryReported: true },
      ],
    });
    const early = testDeps({ policyYaml: approving, now: new Date("2026-06-20T23:59:59Z") });
    expect(await reportExpiredTags("123456789012", "us-east-1", early)).toBe(0);
    ddb.on(UpdateCommand).resolves({});
    expect(await reportExpiredTags("123456789012", "us-east-1", later())).toBe(1);
    expect(ddb.commandCalls(UpdateCommand)).toHaveLength(1);
  });
});
