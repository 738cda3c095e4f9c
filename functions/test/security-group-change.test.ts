import { LookupFailedError } from "@guardrail/aws";
import "./setup";
import {
  DescribeSecurityGroupRulesCommand,
  DescribeSecurityGroupsCommand,
  GetManagedPrefixListEntriesCommand,
  RevokeSecurityGroupEgressCommand,
  RevokeSecurityGroupIngressCommand,
  type SecurityGroupRule,
} from "@aws-sdk/client-ec2";
import { PublishCommand } from "@aws-sdk/client-sns";
import { GetCommand, PutCommand, QueryCommand, UpdateCommand } from "@aws-sdk/lib-dynamodb";
import { DEFAULT_POLICY_YAML, METRICS, policyId, renderSlack } from "@guardrail/core";
import { describe, expect, it, vi } from "vitest";
import { loadFixture } from "../../test/fixtures/load";
import { RemediationFailedError } from "../src/errors";
import {
  createSecurityGroupChangeHandler,
  securityGroupChange,
} from "../src/pipelines/security-group-change";
import {
  awsError,
  GROUP,
  ingressRule,
  lambdaContext,
  metricValues,
  OWN_ROLE,
  SSH_REVOKED_ATTRIBUTES,
  sshFromWorld,
  sshFromWorldRule,
  TABLE,
  TOPIC,
  tagRecord,
  testDeps,
} from "./helpers";
import {
  acceptRemediation,
  auditItems,
  ddb,
  ec2,
  mockAwsPerTest,
  publishedMessages,
  sns,
  stringAttributes,
} from "./support/aws-mocks";

/** A ModifySecurityGroupRules event that sets sgr-0c0000000mod0001 to tcp 22 from 0.0.0.0/0. */
const modify = () => loadFixture("ModifySecurityGroupRules", "wrapper_object-form_single-rule");

/** sgr-0c0000000mod0001 as EC2 describes it after that event. */
const described = (over: Partial<SecurityGroupRule> = {}): SecurityGroupRule => ({
  ...ingressRule("sgr-0c0000000mod0001", GROUP, 22),
  Description: "temporary",
  ...over,
});

/** DescribeSecurityGroupRules answers with these rules. */
const describes = (...rules: SecurityGroupRule[]) =>
  ec2.on(DescribeSecurityGroupRulesCommand).resolves({ SecurityGroupRules: rules });

/** The event handled ten minutes after it happened (a retry, a backlog). */
const late = () => testDeps({ now: new Date("2024-11-05T10:25:00.000Z") });

/** tcp 443 from 0.0.0.0/0 and ::/0, turned into port 22 (two rule ids, one call). */
function sshFromWorldTwice() {
  const e = loadFixture("AuthorizeSecurityGroupIngress", "ipv4-and-ipv6-same-item_with-ruleset");
  for (const p of e.detail.requestParameters.ipPermissions.items)
    Object.assign(p, { fromPort: 22, toPort: 22 });
  for (const r of e.detail.responseElements.securityGroupRuleSet.items)
    Object.assign(r, { fromPort: 22, toPort: 22 });
  return e;
}

mockAwsPerTest(() => acceptRemediation({ messageId: "msg-1" }));

describe("security-group-change: revoking", () => {
  it("revokes the offending rule by id in one call, records it and publishes once", async () => {
    const deps = testDeps();
    const result = await securityGroupChange(sshFromWorld(), deps);

    expect(result).toMatchObject({
      status: "decided",
      result: "revoked",
      recorded: "created",
      published: true,
    });
    expect(ec2).toHaveReceivedCommandExactlyOnceWith(RevokeSecurityGroupIngressCommand, {
      GroupId: GROUP,
      SecurityGroupRuleIds: ["sgr-0a00000000same01"],
    });
    expect(ec2).not.toHaveReceivedCommand(RevokeSecurityGroupEgressCommand);
    expect(sns).toHaveReceivedCommandTimes(PublishCommand, 1);
    const [message] = publishedMessages();
    expect(message?.body).toMatchObject({
      schema: "guardrail.decision/v1",
      result: "revoked",
      severity: "critical",
      exposureSeconds: 2.5,
      resource: { type: "security-group", id: GROUP },
    });
    expect(message?.body.findings[0]).toMatchObject({
      rule: "admin-ports",
      mode: "enforce",
      result: "revoked",
    });
    expect(message?.attributes).toEqual(stringAttributes(SSH_REVOKED_ATTRIBUTES));
    expect(sns).toHaveReceivedCommandWith(PublishCommand, { TopicArn: TOPIC });
    const [item] = auditItems();
    expect(item).toMatchObject({
      pk: "DECISION#085b5347-9517-55da-aa2c-3435181ff2a7",
      sk: "DECISION",
      gsi1pk: "ACCOUNT#123456789012",
      gsi2pk: `RESOURCE#${GROUP}`,
      result: "revoked",
      exposureSeconds: 2.5,
      guardrailVersion: "1.2.3",
      notification: "claimed",
    });
    expect(ddb).toHaveReceivedCommandWith(PutCommand, {
      TableName: TABLE,
      ConditionExpression:
        "attribute_not_exists(#pk) OR #rank < :rank OR ((#notification = :failed OR #notification = :deferred OR (#notification = :claimed AND #claimedAt < :stale)) AND #rank <= :rank)",
    });
    // Published: no later delivery may take the record over.
    expect(ddb).toHaveReceivedCommandWith(UpdateCommand, {
      Key: { pk: "DECISION#085b5347-9517-55da-aa2c-3435181ff2a7", sk: "DECISION" },
      UpdateExpression: "SET #notification = :published",
      ConditionExpression: "#notification = :claimed",
    });
    // admin-ports and internet-exposure both match the one rule, which is revoked once.
    expect(message?.body.findings.map((f: { rule: string }) => f.rule)).toEqual([
      "admin-ports",
      "internet-exposure",
    ]);
    expect(metricValues(deps.addMetric, METRICS.violations)).toEqual([2]);
    expect(metricValues(deps.addMetric, METRICS.remediations)).toEqual([1]);
    expect(metricValues(deps.addMetric, METRICS.exposureSeconds)).toEqual([2.5]);
  });

  it("makes no AWS call before revoking what no tag may waive; the tags are read after, for the report", async () => {
    // tcp 22 from the world is admin-ports (no tag may waive it) as well as internet-exposure.
    const calls: string[] = [];
    ec2.on(RevokeSecurityGroupIngressCommand).callsFake(() => {
      calls.push("ec2:RevokeSecurityGroupIngress");
      return { Return: true };
    });
    ec2.on(DescribeSecurityGroupsCommand).callsFake((input: { GroupIds: string[] }) => {
      calls.push("ec2:DescribeSecurityGroups");
      return { SecurityGroups: input.GroupIds.map((id) => ({ GroupId: id, Tags: [] })) };
    });
    for (const [command, name] of [
      [PutCommand, "PutItem"],
      [UpdateCommand, "UpdateItem"],
      [GetCommand, "GetItem"],
      [QueryCommand, "Query"],
    ] as const) {
      ddb.on(command as typeof PutCommand).callsFake(() => {
        calls.push(`dynamodb:${name}`);
        return {};
      });
    }
    const result = await securityGroupChange(sshFromWorld(), testDeps());
    expect(result.result).toBe("revoked");
    expect(calls[0]).toBe("ec2:RevokeSecurityGroupIngress");
    expect(calls).toContain("ec2:DescribeSecurityGroups");
    expect(ec2).toHaveReceivedCommandWith(DescribeSecurityGroupsCommand, { GroupIds: [GROUP] });
    // The report still judges the finding a tag could have waived.
    const rules = publishedMessages()[0]?.body.findings.map((f: { rule: string }) => f.rule);
    expect(rules).toEqual(expect.arrayContaining(["admin-ports", "internet-exposure"]));
  });

  it("skips the tag look-up when the policy configures no tag exemption", async () => {
    const deps = testDeps({
      policyYaml: DEFAULT_POLICY_YAML.replace(
        "exemptions:\n  tagKey: guardrail-exempt",
        "exemptions: {}",
      ),
    });
    await securityGroupChange(sshFromWorld(), deps);
    expect(ec2).not.toHaveReceivedCommand(DescribeSecurityGroupsCommand);
    expect(ec2).toHaveReceivedCommandTimes(RevokeSecurityGroupIngressCommand, 1);
  });

  it("names the policy that decided, by id, in the audit record, the SNS message and Slack", async () => {
    const yaml = `# production policy\n${DEFAULT_POLICY_YAML}`;
    const deps = testDeps({ policyYaml: yaml });
    expect(deps.config.policyId).toBe(policyId(yaml));
    expect(deps.config.policyId).not.toBe(policyId(DEFAULT_POLICY_YAML));
    await securityGroupChange(sshFromWorld(), deps);
    const [item] = auditItems();
    expect(item?.policyId).toBe(policyId(yaml));
    const [message] = publishedMessages();
    expect(message?.body.policyId).toBe(policyId(yaml));
    const slack = renderSlack(message?.body, message?.subject);
    const context = JSON.stringify(slack.blocks.filter((b) => b.type === "context"));
    expect(context).toContain(`policy \`${policyId(yaml)}\``);
  });

  it("revokes by permission when the event carries no rule id", async () => {
    const event = loadFixture("AuthorizeSecurityGroupIngress", "detail_panther_go-sdk");
    const result = await securityGroupChange(event, testDeps());
    expect(result.result).toBe("revoked");
    expect(ec2).toHaveReceivedCommandExactlyOnceWith(RevokeSecurityGroupIngressCommand, {
      GroupId: "sg-0d921df5d84f7270a",
      IpPermissions: [
        { IpProtocol: "tcp", FromPort: 22, ToPort: 22, IpRanges: [{ CidrIp: "0.0.0.0/0" }] },
      ],
    });
  });

  it("revokes an IPv6 permission with Ipv6Ranges", async () => {
    const event = loadFixture(
      "AuthorizeSecurityGroupIngress",
      "eventbridge_root-console_ipv4+ipv6-same-item_2021_no-ruleset",
    );
    await securityGroupChange(event, testDeps());
    expect(ec2).toHaveReceivedCommandWith(RevokeSecurityGroupIngressCommand, {
      IpPermissions: [
        { IpProtocol: "tcp", FromPort: 22, ToPort: 22, Ipv6Ranges: [{ CidrIpv6: "::/0" }] },
      ],
    });
    expect(ec2).toHaveReceivedCommandTimes(RevokeSecurityGroupIngressCommand, 2);
  });

  it("revokes an IPv4-mapped IPv6 permission by its IPv6 text in Ipv6Ranges, never as 0.0.0.0/0", async () => {
    const event = loadFixture(
      "AuthorizeSecurityGroupIngress",
      "ipv4-mapped-ipv6-world_no-ruleset_tcp-22",
    );
    const result = await securityGroupChange(event, testDeps());
    expect(ec2).toHaveReceivedCommandExactlyOnceWith(RevokeSecurityGroupIngressCommand, {
      GroupId: GROUP,
      IpPermissions: [
        {
          IpProtocol: "tcp",
          FromPort: 22,
          ToPort: 22,
          Ipv6Ranges: [{ CidrIpv6: "::ffff:0:0/96" }],
        },
      ],
    });
    expect(ec2).not.toHaveReceivedCommandWith(RevokeSecurityGroupIngressCommand, {
      IpPermissions: [expect.objectContaining({ IpRanges: expect.anything() })],
    });
    // Judged as what it means: 0.0.0.0/0 on an admin port.
    expect(publishedMessages()[0]?.body.findings[0]).toMatchObject({
      rule: "admin-ports",
      mode: "enforce",
    });
    expect(result.status).toBe("decided");
  });

  it("revokes egress rules with RevokeSecurityGroupEgress", async () => {
    const event = loadFixture(
      "AuthorizeSecurityGroupEgress",
      "detail_ec2-instance-role_cidrIp_elastic",
    );
    event.requestParameters.ipPermissions.items[0].fromPort = 25;
    event.requestParameters.ipPermissions.items[0].toPort = 25;
    event.responseElements.securityGroupRuleSet.items[0].fromPort = 25;
    event.responseElements.securityGroupRuleSet.items[0].toPort = 25;
    event.recipientAccountId = "123456789012";
    // Seconds after the event, as EventBridge delivers it: no read-back before the revoke.
    const now = new Date(Date.parse(event.eventTime) + 3_000);
    const result = await securityGroupChange(event, testDeps({ now }));
    expect(result.result).toBe("revoked");
    expect(ec2).toHaveReceivedCommandExactlyOnceWith(RevokeSecurityGroupEgressCommand, {
      GroupId: "sg-038ccc3a1f7b05f42",
      SecurityGroupRuleIds: ["sgr-02bdc373eac599585"],
    });
  });

  it("records a rule that is already gone (NotFound) as success, not failure", async () => {
    ec2
      .on(RevokeSecurityGroupIngressCommand)
      .rejects(awsError("InvalidSecurityGroupRuleId.NotFound"));
    const deps = testDeps();
    const result = await securityGroupChange(sshFromWorld(), deps);
    expect(result).toMatchObject({ status: "decided", result: "already-gone", published: true });
    expect(auditItems()[0]).toMatchObject({ result: "already-gone", exposureSeconds: null });
    expect(metricValues(deps.addMetric, METRICS.remediationFailures)).toEqual([]);
  });

  it("revokes the remaining rules one by one when one id of a call is already gone", async () => {
    ec2
      .on(RevokeSecurityGroupIngressCommand, {
        SecurityGroupRuleIds: ["sgr-0c0000000000ipv4", "sgr-0c0000000000ipv6"],
      })
      .rejects(awsError("InvalidSecurityGroupRuleId.NotFound"))
      .on(RevokeSecurityGroupIngressCommand, { SecurityGroupRuleIds: ["sgr-0c0000000000ipv6"] })
      .rejects(awsError("InvalidSecurityGroupRuleId.NotFound"))
      .on(RevokeSecurityGroupIngressCommand, { SecurityGroupRuleIds: ["sgr-0c0000000000ipv4"] })
      .resolves({ Return: true });
    const result = await securityGroupChange(sshFromWorldTwice(), testDeps());
    expect(result.result).toBe("revoked");
    expect(ec2).toHaveReceivedCommandTimes(RevokeSecurityGroupIngressCommand, 3);
    const results = auditItems()[0]?.findings as { change: { ruleId: string }; result: string }[];
    expect(Object.fromEntries(results.map((f) => [f.change.ruleId, f.result]))).toEqual({
      "sgr-0c0000000000ipv4": "revoked",
      "sgr-0c0000000000ipv6": "already-gone",
    });
  });

  it("revokes a rule whose prefix list holds a public range, after reading the list once", async () => {
    ec2
      .on(GetManagedPrefixListEntriesCommand)
      .resolves({ Entries: [{ Cidr: "10.0.0.0/8" }, { Cidr: "0.0.0.0/0" }] });
    const event = loadFixture("AuthorizeSecurityGroupIngress", "prefix-list-peer_ruleset");
    const result = await securityGroupChange(event, testDeps());
    expect(ec2).toHaveReceivedCommandExactlyOnceWith(GetManagedPrefixListEntriesCommand, {
      PrefixListId: "pl-0123456789abcdef0",
      MaxResults: 100,
    });
    expect(result.result).toBe("revoked");
    expect(ec2).toHaveReceivedCommandWith(RevokeSecurityGroupIngressCommand, {
      SecurityGroupRuleIds: ["sgr-0d00000000000pl1"],
    });
  });

  it("fails the invocation when a prefix list cannot be read, before any revoke", async () => {
    ec2.on(GetManagedPrefixListEntriesCommand).rejects(awsError("UnauthorizedOperation"));
    const event = loadFixture("AuthorizeSecurityGroupIngress", "prefix-list-peer_ruleset");
    await expect(securityGroupChange(event, testDeps())).rejects.toBeInstanceOf(LookupFailedError);
    expect(ec2).not.toHaveReceivedCommand(RevokeSecurityGroupIngressCommand);
    expect(sns).not.toHaveReceivedCommand(PublishCommand);
  });
});

describe("security-group-change: permanent failure", () => {
  /** EC2 refuses the revoke: a failure that retrying the call at once would not fix. */
  const revokeDenied = () =>
    ec2
      .on(RevokeSecurityGroupIngressCommand)
      .rejects(awsError("UnauthorizedOperation", "You are not authorized"));

  it("records the first failed attempt without an alert or a failure count, and throws so that Lambda retries", async () => {
    revokeDenied();
    ddb.on(UpdateCommand).resolves({ Attributes: { attempts: 1 } });
    const deps = testDeps();
    await expect(securityGroupChange(sshFromWorld(), deps)).rejects.toThrow(/attempt 1 of 3/);
    expect(sns).not.toHaveReceivedCommand(PublishCommand);
    expect(auditItems()[0]).toMatchObject({ result: "failed", notification: "deferred" });
    expect(ddb).toHaveReceivedCommandWith(UpdateCommand, {
      Key: { pk: "ATTEMPTS#085b5347-9517-55da-aa2c-3435181ff2a7", sk: "ATTEMPTS" },
      UpdateExpression: "ADD #attempts :one SET #ttl = :ttl",
    });
    expect(metricValues(deps.addMetric, METRICS.remediationFailures)).toEqual([]);
  });

  it("alerts critical on the last attempt, records the error, counts the failure, then throws", async () => {
    revokeDenied();
    ddb.on(UpdateCommand).resolves({ Attributes: { attempts: 3 } });
    const deps = testDeps();
    await expect(securityGroupChange(sshFromWorld(), deps)).rejects.toBeInstanceOf(
      RemediationFailedError,
    );
    const [message] = publishedMessages();
    expect(message?.attributes.severity?.StringValue).toBe("critical");
    expect(message?.body.result).toBe("failed");
    expect(message?.body.summary).toContain("exposure persists");
    expect(message?.subject).toContain("REMEDIATION FAILED");
    expect(auditItems()[0]).toMatchObject({
      result: "failed",
      error: { code: "UnauthorizedOperation", message: "You are not authorized" },
    });
    expect(metricValues(deps.addMetric, METRICS.remediationFailures)).toEqual([1]);
  });

  it("alerts when the attempt counter cannot be written (when unsure, alert)", async () => {
    revokeDenied();
    ddb.on(UpdateCommand).rejects(awsError("InternalServerError", "down", "server"));
    await expect(securityGroupChange(sshFromWorld(), testDeps())).rejects.toThrow(
      /exposure persists/,
    );
    expect(publishedMessages().map((m) => m.body.result)).toEqual(["failed"]);
  });

  it("does not alert twice when the retried delivery fails again", async () => {
    revokeDenied();
    ddb.on(PutCommand).rejects(awsError("ConditionalCheckFailedException"));
    ddb.on(UpdateCommand).rejects(awsError("ConditionalCheckFailedException"));
    ddb
      .on(UpdateCommand, { UpdateExpression: "ADD #attempts :one SET #ttl = :ttl" })
      .resolves({ Attributes: { attempts: 4 } });
    const deps = testDeps();
    await expect(securityGroupChange(sshFromWorld(), deps)).rejects.toBeInstanceOf(
      RemediationFailedError,
    );
    expect(sns).not.toHaveReceivedCommand(PublishCommand);
    expect(metricValues(deps.addMetric, METRICS.remediationFailures)).toEqual([1]);
  });
});

describe("security-group-change: idempotency", () => {
  it("publishes nothing for a duplicate delivery another delivery already recorded", async () => {
    ddb.on(PutCommand).rejects(awsError("ConditionalCheckFailedException"));
    const deps = testDeps();
    const result = await securityGroupChange(sshFromWorld(), deps);
    expect(result).toMatchObject({ status: "decided", recorded: "duplicate", published: false });
    expect(sns).not.toHaveReceivedCommand(PublishCommand);
    expect(metricValues(deps.addMetric, METRICS.violations)).toEqual([]);
  });

  /**
   * An earlier delivery left a record (PutItem answers with it); this delivery revokes. A
   * claim is stale 90 s (the function's timeout) after it was taken: 10:13:32.5 for an event
   * handled at 10:15:02.5.
   */
  it.each([
    {
      name: "publishes the resolution when a retry revokes what an earlier attempt failed to",
      before: { result: "failed", notification: "claimed" },
      published: true,
      markedPublished: true,
    },
    {
      name: "corrects an already-gone record with the revoke, without a second message",
      before: { result: "already-gone", notification: "claimed" },
      published: false,
      markedPublished: false,
    },
    {
      name: "lets the next delivery publish after a failed notification",
      before: { result: "revoked", notification: "failed" },
      published: true,
      markedPublished: true,
    },
    {
      name: "publishes its own better result over a record abandoned before its publish",
      before: {
        result: "already-gone",
        notification: "claimed",
        claimedAt: "2024-11-05T10:13:00.000Z",
      },
      published: true,
      markedPublished: true,
    },
    {
      // Not marked published either: the delivery that holds the claim does that.
      name: "leaves a claim younger than the function timeout to the delivery publishing it",
      before: {
        result: "already-gone",
        notification: "claimed",
        claimedAt: "2024-11-05T10:15:02.000Z",
      },
      published: false,
      markedPublished: false,
    },
    {
      name: "keeps a corrected record marked published when the first message already went out",
      before: { result: "already-gone", notification: "published" },
      published: false,
      markedPublished: true,
    },
  ])("$name", async ({ before, published, markedPublished }) => {
    ddb.on(PutCommand).resolves({ Attributes: before });
    const result = await securityGroupChange(sshFromWorld(), testDeps());
    expect(result).toMatchObject({ result: "revoked", recorded: "replaced", published });
    expect(ddb).toHaveReceivedCommandWith(PutCommand, {
      ExpressionAttributeValues: expect.objectContaining({ ":stale": "2024-11-05T10:13:32.500Z" }),
    });
    expect(sns).toHaveReceivedCommandTimes(PublishCommand, published ? 1 : 0);
    const marking = { UpdateExpression: "SET #notification = :published" };
    if (markedPublished) expect(ddb).toHaveReceivedCommandWith(UpdateCommand, marking);
    else expect(ddb).not.toHaveReceivedCommandWith(UpdateCommand, marking);
  });

  it("gives the turn back when the publish fails, and fails the invocation", async () => {
    sns.on(PublishCommand).rejects(awsError("InternalError", "boom", "server"));
    await expect(securityGroupChange(sshFromWorld(), testDeps())).rejects.toMatchObject({
      code: "NOTIFY_FAILED",
    });
    const claim = auditItems()[0]?.claim;
    expect(ddb).toHaveReceivedCommandWith(UpdateCommand, {
      Key: { pk: "DECISION#085b5347-9517-55da-aa2c-3435181ff2a7", sk: "DECISION" },
      ExpressionAttributeValues: { ":failed": "failed", ":claim": claim },
    });
  });

  it("announces the revoke an earlier delivery recorded but could not publish, not its own 'already gone'", async () => {
    // The first delivery revoked, recorded "revoked", and its publish failed; on the retry the
    // rule is gone already.
    ec2
      .on(RevokeSecurityGroupIngressCommand)
      .rejects(awsError("InvalidSecurityGroupRuleId.NotFound", "gone"));
    const first = await securityGroupChange(sshFromWorld(), testDeps());
    expect(first.result).toBe("already-gone");
    const recorded = { ...auditItems()[0], result: "revoked", notification: "failed" };
    ddb.reset();
    sns.reset();
    sns.on(PublishCommand).resolves({ MessageId: "msg-2" });
    ddb.on(PutCommand).rejects(awsError("ConditionalCheckFailedException"));
    ddb.on(UpdateCommand).resolves({ Attributes: { ...recorded, notification: "claimed" } });
    const retry = await securityGroupChange(sshFromWorld(), testDeps({ settleMs: 0 }));
    expect(retry).toMatchObject({ recorded: "taken-over", published: true });
    expect(ddb).toHaveReceivedCommandWith(UpdateCommand, {
      ConditionExpression:
        "(#notification = :failed OR #notification = :deferred OR (#notification = :claimed AND #claimedAt < :stale))",
    });
    expect(publishedMessages().map((m) => m.body.result)).toEqual(["revoked"]);
  });

  it("announces the revoke when the delivery that recorded it died before publishing", async () => {
    // First delivery: revokes, records (notification claimed), then hangs in SNS until Lambda
    // kills it at its timeout; it never marks the notification failed.
    sns.on(PublishCommand).callsFake(() => new Promise(() => {}));
    const first = testDeps();
    void securityGroupChange(sshFromWorld(), first);
    await vi.waitFor(() => expect(sns).toHaveReceivedCommand(PublishCommand));
    const recorded = auditItems()[0];
    expect(recorded).toMatchObject({
      result: "revoked",
      notification: "claimed",
      claimedAt: "2024-11-05T10:15:02.500Z",
    });

    // The retry, after the timeout (90 s): the rule is gone, so its own result is worse.
    ec2.reset();
    sns.reset();
    ddb.reset();
    ec2.on(DescribeSecurityGroupsCommand).resolves({ SecurityGroups: [{ GroupId: GROUP }] });
    ec2
      .on(DescribeSecurityGroupRulesCommand)
      .rejects(awsError("InvalidSecurityGroupRuleId.NotFound"));
    sns.on(PublishCommand).resolves({ MessageId: "msg-2" });
    ddb.on(PutCommand).rejects(awsError("ConditionalCheckFailedException"));
    ddb.on(UpdateCommand).resolves({ Attributes: { ...recorded, claim: "retry" } });
    const retry = await securityGroupChange(
      sshFromWorld(),
      testDeps({ now: new Date("2024-11-05T10:16:40.000Z") }),
    );
    expect(retry).toMatchObject({ recorded: "taken-over", published: true });
    expect(ddb).toHaveReceivedCommandWith(UpdateCommand, {
      ConditionExpression:
        "(#notification = :failed OR #notification = :deferred OR (#notification = :claimed AND #claimedAt < :stale))",
      ExpressionAttributeValues: expect.objectContaining({
        ":stale": "2024-11-05T10:15:10.000Z",
        ":claimedAt": "2024-11-05T10:16:40.000Z",
      }),
    });
    expect(publishedMessages().map((m) => m.body.result)).toEqual(["revoked"]);
    expect(ddb).toHaveReceivedCommandWith(UpdateCommand, {
      UpdateExpression: "SET #notification = :published",
    });
  });

  it("still notifies when the audit table is down, then fails for a retry", async () => {
    ddb.on(PutCommand).rejects(awsError("InternalServerError", "down", "server"));
    await expect(securityGroupChange(sshFromWorld(), testDeps())).rejects.toMatchObject({
      code: "AUDIT_WRITE_FAILED",
    });
    expect(sns).toHaveReceivedCommandTimes(PublishCommand, 1);
  });
});

describe("security-group-change: exemptions and loop guard", () => {
  const tagged = (value: string) =>
    ec2.on(DescribeSecurityGroupsCommand).resolves({
      SecurityGroups: [{ GroupId: GROUP, Tags: [{ Key: "guardrail-exempt", Value: value }] }],
    });

  const APPROVER = "arn:aws:iam::123456789012:role/security-approver";
  const approving = DEFAULT_POLICY_YAML.replace("approvers: []", `approvers: ["${APPROVER}"]`);
  const VALUE = "reason=bastion for the migration;expires=2024-11-30;rules=internet-exposure";
  /** tcp 8080 from the world: internet-exposure only, which a tag may waive. */
  const webFromWorld = () => {
    const e = sshFromWorld() as unknown as {
      requestParameters: { ipPermissions: { items: Record<string, unknown>[] } };
      responseElements: { securityGroupRuleSet: { items: Record<string, unknown>[] } };
    };
    for (const p of e.requestParameters.ipPermissions.items)
      Object.assign(p, { fromPort: 8080, toPort: 8080 });
    for (const r of e.responseElements.securityGroupRuleSet.items)
      Object.assign(r, { fromPort: 8080, toPort: 8080 });
    return e;
  };
  /** The audit table holds the record of `value` set by `by` an hour before the event. */
  const recorded = (value: string, by = APPROVER) => {
    const record = tagRecord({
      value,
      by,
      eventId: "tag-event-1",
      eventTime: "2024-11-05T09:15:00Z",
      policyYaml: approving,
    });
    ddb.on(QueryCommand).resolves({ Items: [{ ...record, type: "tag-record" }] });
  };

  it("keeps a rule an approver's recorded tag waives, announced at the waived severity", async () => {
    tagged(VALUE);
    recorded(VALUE);
    const result = await securityGroupChange(webFromWorld(), testDeps({ policyYaml: approving }));
    expect(result).toMatchObject({ status: "decided", result: "exempt", published: true });
    expect(ec2).not.toHaveReceivedCommand(RevokeSecurityGroupIngressCommand);
    const [message] = publishedMessages();
    expect(message?.attributes.severity?.StringValue).toBe("high");
    expect(message?.body.findings[0].exemption).toMatchObject({
      kind: "tag",
      expires: "2024-11-30",
      approvedBy: APPROVER,
      approvedAt: "2024-11-05T09:15:00Z",
    });
    expect(auditItems()[0]).toMatchObject({ result: "exempt", outcome: "exempt" });
  });

  it("revokes when the tag's value is not the one the approver set", async () => {
    tagged(VALUE.replace("migration", "anything"));
    recorded(VALUE);
    const result = await securityGroupChange(webFromWorld(), testDeps({ policyYaml: approving }));
    expect(result.result).toBe("revoked");
    expect(publishedMessages()[0]?.body.findings[0].reason).toContain(
      `is not the value approved by ${APPROVER}`,
    );
  });

  it("revokes when a developer set the tag", async () => {
    tagged(VALUE);
    recorded(VALUE, "arn:aws:iam::123456789012:user/developer");
    const result = await securityGroupChange(webFromWorld(), testDeps({ policyYaml: approving }));
    expect(result.result).toBe("revoked");
  });

  it("only notifies for a tag with no record: an unverified exemption", async () => {
    tagged(VALUE);
    ddb.on(QueryCommand).resolves({ Items: [] });
    const result = await securityGroupChange(webFromWorld(), testDeps({ policyYaml: approving }));
    expect(result.result).toBe("notify-only");
    expect(ec2).not.toHaveReceivedCommand(RevokeSecurityGroupIngressCommand);
    expect(publishedMessages()[0]?.body.findings[0].reason).toContain("unverified exemption");
  });

  it("revokes when the exemption tag has expired", async () => {
    const old = "reason=bastion for the migration;expires=2024-11-04;rules=internet-exposure";
    tagged(old);
    recorded(old);
    const result = await securityGroupChange(webFromWorld(), testDeps({ policyYaml: approving }));
    expect(result.result).toBe("revoked");
    expect(ec2).toHaveReceivedCommandTimes(RevokeSecurityGroupIngressCommand, 1);
  });

  it("revokes what no tag may waive without reading tags or records first", async () => {
    const e = sshFromWorld() as unknown as {
      requestParameters: {
        ipPermissions: { items: { ipRanges: { items: { cidrIp: string }[] } }[] };
      };
      responseElements: { securityGroupRuleSet: { items: Record<string, unknown>[] } };
    };
    // A narrow public range: admin-ports only (internet-exposure is about wide ranges).
    for (const p of e.requestParameters.ipPermissions.items)
      for (const r of p.ipRanges.items) r.cidrIp = "192.0.2.0/24";
    for (const r of e.responseElements.securityGroupRuleSet.items) r.cidrIpv4 = "192.0.2.0/24";
    const result = await securityGroupChange(e, testDeps({ policyYaml: approving }));
    expect(result.result).toBe("revoked");
    expect(ec2).not.toHaveReceivedCommand(DescribeSecurityGroupsCommand);
    expect(ddb).not.toHaveReceivedCommand(QueryCommand);
  });

  it("fails rather than guesses when the tags that decide the revoke cannot be read", async () => {
    ec2
      .on(DescribeSecurityGroupsCommand)
      .rejects(awsError("RequestLimitExceeded", "slow down", "server"));
    await expect(
      securityGroupChange(webFromWorld(), testDeps({ policyYaml: approving })),
    ).rejects.toBeInstanceOf(LookupFailedError);
    expect(ec2).not.toHaveReceivedCommand(RevokeSecurityGroupIngressCommand);
  });

  it("revokes what no tag may waive even when the tags cannot be read afterwards", async () => {
    ec2
      .on(DescribeSecurityGroupsCommand)
      .rejects(awsError("RequestLimitExceeded", "slow down", "server"));
    const result = await securityGroupChange(sshFromWorld(), testDeps({ policyYaml: approving }));
    expect(result.result).toBe("revoked");
    expect(ec2).toHaveReceivedCommandTimes(RevokeSecurityGroupIngressCommand, 1);
    expect(auditItems()[0]).toMatchObject({ result: "revoked" });
  });

  it.each([
    {
      name: "ignores a change made by its own role without any AWS call",
      event: () => {
        const event = modify();
        event.detail.userIdentity.sessionContext.sessionIssuer.arn = OWN_ROLE;
        return event;
      },
      outcome: { status: "ignored", reason: "own-principal" },
    },
    {
      name: "does nothing for a compliant change",
      event: () =>
        loadFixture("AuthorizeSecurityGroupIngress", "ipv4-and-ipv6-same-item_with-ruleset"),
      outcome: { status: "compliant" },
    },
    {
      name: "ignores failed calls",
      event: () =>
        loadFixture(
          "AuthorizeSecurityGroupIngress",
          "failed_client-invalid-permission-duplicate_response-null",
        ),
      outcome: { status: "ignored", reason: "failed-call" },
    },
  ])("$name", async ({ event, outcome }) => {
    expect(await securityGroupChange(event(), testDeps())).toMatchObject(outcome);
    expect(ec2.calls()).toHaveLength(0);
    expect(sns.calls()).toHaveLength(0);
    expect(ddb.calls()).toHaveLength(0);
  });
});

/**
 * The events whose rules are read back from EC2 before they are judged: a Modify (the event does
 * not say the direction) and any event handled late (the rule may have changed since).
 */
const READ_BACK = [
  {
    events: "ModifySecurityGroupRules events",
    event: modify,
    deps: testDeps,
    rule: described,
    id: "sgr-0c0000000mod0001",
  },
  {
    events: "events handled late",
    event: sshFromWorld,
    deps: late,
    rule: sshFromWorldRule,
    id: "sgr-0a00000000same01",
  },
];

describe.each(READ_BACK)(
  "security-group-change: reading back the rules of $events",
  ({ event, deps, rule, id }) => {
    it("reads the rule back by id, then revokes it when it is still open", async () => {
      describes(rule());
      const result = await securityGroupChange(event(), deps());
      expect(ec2).toHaveReceivedCommandExactlyOnceWith(DescribeSecurityGroupRulesCommand, {
        SecurityGroupRuleIds: [id],
      });
      expect(result.result).toBe("revoked");
      expect(ec2).toHaveReceivedCommandExactlyOnceWith(RevokeSecurityGroupIngressCommand, {
        GroupId: GROUP,
        SecurityGroupRuleIds: [id],
      });
    });

    it("leaves alone a rule that was modified again since, to something compliant", async () => {
      describes(rule({ CidrIpv4: "10.20.0.0/16" }));
      const result = await securityGroupChange(event(), deps());
      expect(result.status).toBe("compliant");
      expect(ec2).not.toHaveReceivedCommand(RevokeSecurityGroupIngressCommand);
      expect(ec2).not.toHaveReceivedCommand(RevokeSecurityGroupEgressCommand);
      expect(sns).not.toHaveReceivedCommand(PublishCommand);
    });

    it("reports a rule EC2 no longer knows as already gone, without a revoke", async () => {
      ec2
        .on(DescribeSecurityGroupRulesCommand)
        .rejects(awsError("InvalidSecurityGroupRuleId.NotFound"));
      const result = await securityGroupChange(event(), deps());
      expect(result.result).toBe("already-gone");
      expect(ec2).not.toHaveReceivedCommand(RevokeSecurityGroupIngressCommand);
      expect(ec2).not.toHaveReceivedCommand(RevokeSecurityGroupEgressCommand);
    });
  },
);

describe("security-group-change: ModifySecurityGroupRules", () => {
  it("says the previous state is unknown when the sweep never saw the rule it revokes", async () => {
    describes(described());
    const result = await securityGroupChange(modify(), testDeps());
    expect(result.result).toBe("revoked");
    expect(publishedMessages()[0]?.body.findings[0].previous).toBe("unknown");
  });

  it("makes the describe the only AWS call before revoking tcp 22; the tags come after", async () => {
    describes(described());
    await securityGroupChange(modify(), testDeps());
    const names = ec2.calls().map((c) => c.args[0].constructor.name);
    expect(names).toEqual([
      "DescribeSecurityGroupRulesCommand",
      "RevokeSecurityGroupIngressCommand",
      "DescribeSecurityGroupsCommand",
    ]);
  });

  it("judges the rule as it is now when the event shows less than EC2 holds", async () => {
    const event = modify();
    Object.assign(
      event.detail.requestParameters.ModifySecurityGroupRulesRequest.SecurityGroupRule
        .SecurityGroupRule,
      { CidrIpv4: "10.20.0.0/16" },
    );
    describes(described({ CidrIpv4: "0.0.0.0/0", FromPort: 3389, ToPort: 3389 }));
    const result = await securityGroupChange(event, testDeps());
    expect(result.result).toBe("revoked");
    const [message] = publishedMessages();
    expect(message?.body.findings[0].change).toMatchObject({
      ruleId: "sgr-0c0000000mod0001",
      direction: "ingress",
      text: "ingress tcp 3389 from 0.0.0.0/0",
    });
  });

  it("revokes an egress rule EC2 describes as egress", async () => {
    describes(described({ IsEgress: true, FromPort: 25, ToPort: 25 }));
    const result = await securityGroupChange(modify(), testDeps());
    expect(result.result).toBe("revoked");
    expect(ec2).toHaveReceivedCommandExactlyOnceWith(RevokeSecurityGroupEgressCommand, {
      GroupId: GROUP,
      SecurityGroupRuleIds: ["sgr-0c0000000mod0001"],
    });
    expect(ec2).not.toHaveReceivedCommand(RevokeSecurityGroupIngressCommand);
  });

  it("shows the rule as the last sweep saw it", async () => {
    describes(described());
    const before = {
      kind: "security-group-rule",
      resourceId: GROUP,
      text: "ingress tcp 22 from 203.0.113.0/24",
    };
    ddb.on(GetCommand).resolves({
      Item: {
        resourceType: "security-group",
        resourceId: GROUP,
        fingerprint: "x",
        seenAt: "t",
        rules: { "rule#sgr-0c0000000mod0001": before },
      },
    });
    await securityGroupChange(modify(), testDeps());
    expect(ddb).toHaveReceivedCommandWith(GetCommand, {
      Key: { pk: "STATE#123456789012#eu-west-1", sk: `RESOURCE#${GROUP}` },
    });
    expect(publishedMessages()[0]?.body.findings[0].previous).toEqual(before);
  });

  it("fails before any revoke when the direction look-up fails", async () => {
    ec2.on(DescribeSecurityGroupRulesCommand).rejects(awsError("UnauthorizedOperation"));
    await expect(securityGroupChange(modify(), testDeps())).rejects.toBeInstanceOf(
      LookupFailedError,
    );
    expect(ec2).not.toHaveReceivedCommand(RevokeSecurityGroupIngressCommand);
    expect(ec2).not.toHaveReceivedCommand(RevokeSecurityGroupEgressCommand);
    expect(sns).not.toHaveReceivedCommand(PublishCommand);
  });

  it("fails when the look-up answers without the rule", async () => {
    ec2.on(DescribeSecurityGroupRulesCommand).resolves({ SecurityGroupRules: [] });
    await expect(securityGroupChange(modify(), testDeps())).rejects.toBeInstanceOf(
      LookupFailedError,
    );
  });

  it("fails rather than guesses when EC2 describes the rule in a form it cannot read", async () => {
    describes(described({ IpProtocol: "tcp", FromPort: undefined, ToPort: undefined }));
    await expect(securityGroupChange(modify(), testDeps())).rejects.toBeInstanceOf(
      LookupFailedError,
    );
    expect(ec2).not.toHaveReceivedCommand(RevokeSecurityGroupIngressCommand);
  });

  it("asks for each rule alone when one of several ids is unknown", async () => {
    const event = loadFixture(
      "ModifySecurityGroupRules",
      "wrapper_array-form_two-rules_ipv6-and-referenced-group",
    );
    ec2
      .on(DescribeSecurityGroupRulesCommand, {
        SecurityGroupRuleIds: ["sgr-0c0000000mod0002", "sgr-0c0000000mod0003"],
      })
      .rejects(awsError("InvalidSecurityGroupRuleId.NotFound"))
      .on(DescribeSecurityGroupRulesCommand, { SecurityGroupRuleIds: ["sgr-0c0000000mod0002"] })
      .resolves({
        SecurityGroupRules: [ingressRule("sgr-0c0000000mod0002", GROUP, 22, { CidrIpv6: "::/0" })],
      })
      .on(DescribeSecurityGroupRulesCommand, { SecurityGroupRuleIds: ["sgr-0c0000000mod0003"] })
      .rejects(awsError("InvalidSecurityGroupRuleId.NotFound"));
    const result = await securityGroupChange(event, testDeps());
    expect(ec2).toHaveReceivedCommandTimes(DescribeSecurityGroupRulesCommand, 3);
    expect(result.result).toBe("revoked");
    expect(ec2).toHaveReceivedCommandExactlyOnceWith(RevokeSecurityGroupIngressCommand, {
      GroupId: GROUP,
      SecurityGroupRuleIds: ["sgr-0c0000000mod0002"],
    });
  });
});

describe("security-group-change: look-ups in parallel", () => {
  const rule: SecurityGroupRule = ingressRule("sgr-0c0000000mod0001", GROUP, 22);

  it("reads the group's tags while the rule is read back, not after, when they decide the revoke", async () => {
    // tcp 8080 from the world: internet-exposure only, which a tag may waive.
    const event = modify();
    Object.assign(
      event.detail.requestParameters.ModifySecurityGroupRulesRequest.SecurityGroupRule
        .SecurityGroupRule,
      { FromPort: 8080, ToPort: 8080 },
    );
    // The read-back answers only once the tag look-up has started: sequential calls would hang.
    ec2.on(DescribeSecurityGroupRulesCommand).callsFake(async () => {
      await vi.waitFor(() => expect(ec2).toHaveReceivedCommand(DescribeSecurityGroupsCommand));
      return { SecurityGroupRules: [{ ...rule, FromPort: 8080, ToPort: 8080 }] };
    });
    const result = await securityGroupChange(event, testDeps());
    expect(result.result).toBe("revoked");
    expect(ec2).toHaveReceivedCommandTimes(DescribeSecurityGroupsCommand, 1);
  });

  it("reads the account's context from AWS Organizations while EC2 answers", async () => {
    const context = vi.fn(async () => ({ accountTags: { env: "prod" } }));
    ec2.on(DescribeSecurityGroupRulesCommand).callsFake(async () => {
      await vi.waitFor(() => expect(context).toHaveBeenCalledWith("123456789012"));
      return { SecurityGroupRules: [rule] };
    });
    const result = await securityGroupChange(modify(), { ...testDeps(), directory: { context } });
    expect(result.result).toBe("revoked");
    expect(context).toHaveBeenCalledTimes(1);
  });

  it("waits for the account's context before reading tags a scoped exemption might make moot", async () => {
    const order: string[] = [];
    const context = vi.fn(async () => {
      order.push("context");
      return { accountTags: {} };
    });
    ec2.on(DescribeSecurityGroupsCommand).callsFake(() => {
      order.push("tags");
      return { SecurityGroups: [{ GroupId: GROUP, Tags: [] }] };
    });
    await securityGroupChange(sshFromWorld(), { ...testDeps(), directory: { context } });
    expect(order).toEqual(["context", "tags"]);
  });

  it("reads no tags early for a rule whose prefix list is not read yet", async () => {
    ec2.on(GetManagedPrefixListEntriesCommand).resolves({ Entries: [{ Cidr: "10.0.0.0/8" }] });
    const event = loadFixture("AuthorizeSecurityGroupIngress", "prefix-list-peer_ruleset");
    const result = await securityGroupChange(event, testDeps());
    expect(result.status).toBe("compliant");
    expect(ec2).not.toHaveReceivedCommand(DescribeSecurityGroupsCommand);
  });
});

describe("security-group-change: late events", () => {
  it("does not read back a fresh event's rules: the revoke comes first", async () => {
    await securityGroupChange(sshFromWorld(), testDeps());
    expect(ec2).not.toHaveReceivedCommand(DescribeSecurityGroupRulesCommand);
  });
});

describe("security-group-change: unreadable events", () => {
  it("logs, counts, records and alerts (high, invalid), and returns normally", async () => {
    const event = loadFixture(
      "AuthorizeSecurityGroupIngress",
      "request-parameters-omitted_oversize",
    );
    const deps = testDeps();
    const result = await securityGroupChange(event, deps);
    expect(result).toMatchObject({ status: "invalid", published: true, recorded: "created" });
    const [message] = publishedMessages();
    expect(message?.attributes.severity?.StringValue).toBe("high");
    expect(message?.attributes.outcome?.StringValue).toBe("invalid");
    expect(message?.body.error.message).toContain("requestParameters");
    expect(auditItems()[0]).toMatchObject({ result: "invalid", pk: `DECISION#${result.eventId}` });
    expect(metricValues(deps.addMetric, METRICS.invalidEvents)).toEqual([1]);
  });

  it("keys an event without an eventID by its envelope id, or a digest of the payload", async () => {
    const first = await securityGroupChange({ id: "env-1", detail: "garbage" }, testDeps());
    expect(first.eventId).toBe("envelope:env-1");
    const second = await securityGroupChange("not json at all", testDeps());
    expect(second.eventId).toMatch(/^sha256:[0-9a-f]{64}$/);
    const again = await securityGroupChange("not json at all", testDeps());
    expect(again.eventId).toBe(second.eventId);
  });
});

describe("security-group-change handler (middy)", () => {
  it("runs the flow behind the observability middlewares and rethrows failures", async () => {
    const deps = testDeps();
    const correlation = vi.spyOn(deps.logger, "setCorrelationId");
    const handler = createSecurityGroupChangeHandler(deps);
    const ok = await handler(sshFromWorld(), lambdaContext);
    expect(ok).toMatchObject({ status: "decided", result: "revoked" });
    expect(correlation).toHaveBeenCalledWith("085b5347-9517-55da-aa2c-3435181ff2a7");
    ec2.on(RevokeSecurityGroupIngressCommand).rejects(awsError("UnauthorizedOperation"));
    await expect(handler(sshFromWorld(), lambdaContext)).rejects.toBeInstanceOf(
      RemediationFailedError,
    );
  });
});
