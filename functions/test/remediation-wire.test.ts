import {
  createNotifier,
  createSlackPoster,
  NotifyError,
  notifyClientOptions,
  SlackDeliveryError,
} from "@guardrail/aws";
import "./setup";
import { Logger } from "@aws-lambda-powertools/logger";
import { Metrics } from "@aws-lambda-powertools/metrics";
import { SNSClient } from "@aws-sdk/client-sns";
import { QueryCommand } from "@aws-sdk/lib-dynamodb";
import { AUDIT_TABLE } from "@guardrail/core";
import {
  createNetworkAclChangeHandler,
  createPrefixListChangeHandler,
  createSecurityGroupChangeHandler,
  createSlackNotifierHandler,
  type RemediationDeps,
  RemediationFailedError,
} from "@guardrail/functions";
import { afterAll, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { loadFixture } from "../../test/fixtures/load";
import {
  credentials,
  endpointsOf,
  REGION,
  recordedStringAttributes,
  SSH_FROM_WORLD_RULE,
  snsEventOf,
  sshRule,
  startWebhook,
  wireDeps,
  wireStubs,
} from "./harness";
import { GROUP, lambdaContext, RULE, SSH_REVOKED_ATTRIBUTES, sshFromWorld, TABLE } from "./helpers";

const EVENT_ID = "085b5347-9517-55da-aa2c-3435181ff2a7";

const wire = wireStubs();
let slack: Awaited<ReturnType<typeof startWebhook>>;

beforeAll(async () => {
  slack = await startWebhook();
});

afterAll(async () => {
  await slack.close();
});

beforeEach(async () => {
  // Every test here re-opens the same rule; the flap guard's own wire tests count across events.
  await wire.dynamo.resetFlapCounters();
  wire.ec2.addRules(SSH_FROM_WORLD_RULE);
  slack.posts.length = 0;
  slack.answer(200);
});

/** A fresh set of clients per test (the SDK's retry capacity is per client). */
function deps(over: Partial<Parameters<typeof wireDeps>[0]> = {}): RemediationDeps {
  return wireDeps({ ...endpointsOf(wire), ...over });
}

/** A clock running from two seconds after the fixture's event: EventBridge's usual delay. */
function freshClock(eventTime = "2024-11-05T10:15:00Z"): () => Date {
  const started = Date.now();
  const at = Date.parse(eventTime) + 2_000;
  return () => new Date(at + (Date.now() - started));
}

describe("wire: security-group-change against local EC2, SNS and DynamoDB", () => {
  it("sends the exact revoke, publishes with attributes, and records a queryable audit item", async () => {
    const result = await createSecurityGroupChangeHandler(deps({ now: freshClock() }))(
      sshFromWorld({ eventID: `${EVENT_ID}-a` }),
      lambdaContext,
    );
    expect(result).toMatchObject({ status: "decided", result: "revoked", published: true });

    const [revoke] = wire.ec2.calls("RevokeSecurityGroupIngress");
    expect(revoke?.body).toBe(
      `Action=RevokeSecurityGroupIngress&Version=2016-11-15&GroupId=${GROUP}&SecurityGroupRuleId.1=${RULE}`,
    );
    expect(wire.ec2.rules.has(RULE)).toBe(false);
    // tcp 22 from the world has a finding no tag may waive (admin-ports): revoked first, the
    // group's tags read afterwards only to report each finding's exemption (issue 22's one-call
    // path; the order changed on purpose).
    expect(wire.ec2.requests.map((r) => r.action)).toEqual([
      "RevokeSecurityGroupIngress",
      "DescribeSecurityGroups",
    ]);
    expect(wire.ec2.requests[1]?.params.get("GroupId.1")).toBe(GROUP);

    expect(wire.sns.publishes).toHaveLength(1);
    const [publish] = wire.sns.publishes;
    expect(publish?.params.get("TopicArn")).toBe(
      "arn:aws:sns:eu-west-1:123456789012:guardrail-alerts",
    );
    expect(publish?.attributes).toEqual(recordedStringAttributes(SSH_REVOKED_ATTRIBUTES));
    const body = JSON.parse(publish?.message ?? "{}");
    expect(body.findings.length).toBeGreaterThan(0);
    expect(body.exposureSeconds).toBeGreaterThan(0);

    const [item] = await wire.dynamo.decisionItems(`${EVENT_ID}-a`);
    expect(item).toMatchObject({ result: "revoked", resourceId: GROUP, account: "123456789012" });
    for (const index of [AUDIT_TABLE.byAccount, AUDIT_TABLE.byResource]) {
      const out = await wire.dynamo.doc.send(
        new QueryCommand({
          TableName: TABLE,
          IndexName: index.indexName,
          KeyConditionExpression: "#pk = :pk AND begins_with(#sk, :year)",
          ExpressionAttributeNames: { "#pk": index.partitionKey, "#sk": index.sortKey },
          ExpressionAttributeValues: {
            ":pk": index === AUDIT_TABLE.byAccount ? "ACCOUNT#123456789012" : `RESOURCE#${GROUP}`,
            ":year": "2024-11-05",
          },
        }),
      );
      expect(out.Items?.map((i) => i.id)).toContain(`${EVENT_ID}-a`);
    }
  });

  it("revokes by permission with the IpPermissions form members", async () => {
    const event = loadFixture("AuthorizeSecurityGroupIngress", "detail_panther_go-sdk");
    wire.ec2.addRules(sshRule("sgr-x", "sg-0d921df5d84f7270a"));
    const result = await createSecurityGroupChangeHandler(deps())(event, lambdaContext);
    expect(result.result).toBe("revoked");
    const body = new URLSearchParams(wire.ec2.calls("RevokeSecurityGroupIngress")[0]?.body);
    expect(Object.fromEntries(body)).toEqual({
      Action: "RevokeSecurityGroupIngress",
      Version: "2016-11-15",
      GroupId: "sg-0d921df5d84f7270a",
      "IpPermissions.1.IpProtocol": "tcp",
      "IpPermissions.1.FromPort": "22",
      "IpPermissions.1.ToPort": "22",
      "IpPermissions.1.IpRanges.1.CidrIp": "0.0.0.0/0",
    });
    expect(wire.ec2.rules.has("sgr-x")).toBe(false);
  });

  it("revokes an IPv4-mapped IPv6 rule as Ipv6Ranges ::ffff:0:0/96, leaving the group's IPv4 rule", async () => {
    const event = loadFixture(
      "AuthorizeSecurityGroupIngress",
      "ipv4-mapped-ipv6-world_no-ruleset_tcp-22",
    );
    wire.ec2.addRules(sshRule("sgr-mapped", GROUP, { cidrV6: "::ffff:0:0/96" }));
    await createSecurityGroupChangeHandler(deps())(event, lambdaContext);
    const body = new URLSearchParams(wire.ec2.calls("RevokeSecurityGroupIngress")[0]?.body);
    expect(Object.fromEntries(body)).toEqual({
      Action: "RevokeSecurityGroupIngress",
      Version: "2016-11-15",
      GroupId: GROUP,
      "IpPermissions.1.IpProtocol": "tcp",
      "IpPermissions.1.FromPort": "22",
      "IpPermissions.1.ToPort": "22",
      "IpPermissions.1.Ipv6Ranges.1.CidrIpv6": "::ffff:0:0/96",
    });
    expect(wire.ec2.rules.has("sgr-mapped")).toBe(false);
    // tcp 22 from 0.0.0.0/0 (IpRanges), seeded for every test, is another rule: untouched.
    expect(wire.ec2.rules.has(RULE)).toBe(true);
  });

  it("retries RequestLimitExceeded (503) and a 500, then revokes", async () => {
    wire.ec2.failNext(
      "RevokeSecurityGroupIngress",
      { status: 503, code: "RequestLimitExceeded", message: "Request limit exceeded." },
      { status: 500, code: "InternalError" },
    );
    const result = await createSecurityGroupChangeHandler(deps())(
      sshFromWorld({ eventID: `${EVENT_ID}-retry` }),
      lambdaContext,
    );
    expect(result.result).toBe("revoked");
    expect(wire.ec2.calls("RevokeSecurityGroupIngress")).toHaveLength(3);
    expect(wire.ec2.rules.has(RULE)).toBe(false);
  });

  it("retries RequestLimitExceeded even when it comes with HTTP 400", async () => {
    wire.ec2.failNext("RevokeSecurityGroupIngress", { status: 400, code: "RequestLimitExceeded" });
    const result = await createSecurityGroupChangeHandler(deps())(
      sshFromWorld({ eventID: `${EVENT_ID}-400` }),
      lambdaContext,
    );
    expect(result.result).toBe("revoked");
    expect(wire.ec2.calls("RevokeSecurityGroupIngress")).toHaveLength(2);
  });

  it("does not retry a permanent error; alerts critical on Lambda's last attempt only", async () => {
    const denied = {
      status: 403,
      code: "UnauthorizedOperation",
      message: "You are not authorized to perform this operation.",
    };
    wire.ec2.failNext("RevokeSecurityGroupIngress", denied, denied, denied);
    const handler = createSecurityGroupChangeHandler(deps());
    // Lambda's three attempts of the event (the first and its two retries).
    for (let attempt = 1; attempt <= 3; attempt++) {
      await expect(
        handler(sshFromWorld({ eventID: `${EVENT_ID}-denied` }), lambdaContext),
      ).rejects.toBeInstanceOf(RemediationFailedError);
      expect(wire.ec2.calls("RevokeSecurityGroupIngress")).toHaveLength(attempt);
      expect(wire.sns.publishes).toHaveLength(attempt < 3 ? 0 : 1);
    }
    expect(wire.ec2.rules.has(RULE)).toBe(true);
    expect(wire.sns.publishes[0]?.attributes.severity?.value).toBe("critical");
    expect(wire.sns.publishes[0]?.attributes.result?.value).toBe("failed");
    const [item] = await wire.dynamo.decisionItems(`${EVENT_ID}-denied`);
    expect(item).toMatchObject({ result: "failed", error: { code: "UnauthorizedOperation" } });
  });

  it("makes ONE revoke effect, ONE publish and ONE audit record from ten concurrent deliveries", async () => {
    const eventId = `${EVENT_ID}-ten`;
    const handlers = Array.from({ length: 10 }, () => createSecurityGroupChangeHandler(deps()));
    const results = await Promise.all(
      handlers.map((h) => h(sshFromWorld({ eventID: eventId }), lambdaContext)),
    );

    const revokes = wire.ec2.calls("RevokeSecurityGroupIngress");
    expect(revokes.length).toBeGreaterThanOrEqual(1);
    // One call removed the rule; every other call found it gone.
    expect(results.filter((r) => r.result === "revoked")).toHaveLength(1);
    expect(results.filter((r) => r.result === "already-gone")).toHaveLength(9);
    expect(wire.ec2.rules.has(RULE)).toBe(false);
    expect(wire.sns.publishes).toHaveLength(1);
    expect(results.filter((r) => r.published)).toHaveLength(1);
    const items = await wire.dynamo.decisionItems(eventId);
    expect(items).toHaveLength(1);
    // Whoever won the write, the record ends up telling the truth: the guardrail revoked it.
    expect(items[0]).toMatchObject({ result: "revoked" });
    expect(items[0]?.exposureSeconds).toBeGreaterThan(0);
  });

  it("keeps one publish and a truthful record even without the settle delay", async () => {
    const eventId = `${EVENT_ID}-ten-nodelay`;
    const handlers = Array.from({ length: 10 }, () =>
      createSecurityGroupChangeHandler(deps({ settleMs: 0 })),
    );
    const results = await Promise.all(
      handlers.map((h) => h(sshFromWorld({ eventID: eventId }), lambdaContext)),
    );
    expect(results.filter((r) => r.result === "revoked")).toHaveLength(1);
    expect(wire.sns.publishes).toHaveLength(1);
    const items = await wire.dynamo.decisionItems(eventId);
    expect(items).toHaveLength(1);
    expect(items[0]).toMatchObject({ result: "revoked" });
  });

  it("reports an unreadable event: published as invalid, recorded, no crash", async () => {
    const event = loadFixture(
      "AuthorizeSecurityGroupIngress",
      "request-parameters-omitted_oversize",
    );
    const result = await createSecurityGroupChangeHandler(deps())(event, lambdaContext);
    expect(result.status).toBe("invalid");
    expect(wire.sns.publishes[0]?.attributes).toMatchObject({
      severity: { type: "String", value: "high" },
      outcome: { type: "String", value: "invalid" },
    });
    expect(await wire.dynamo.decisionItems(result.eventId as string)).toHaveLength(1);
  });

  it("reads a late event's rule back with SecurityGroupRuleId.1 before revoking it", async () => {
    // Handled long after it happened (the fixture is from 2024): what is there now decides.
    const result = await createSecurityGroupChangeHandler(deps())(
      sshFromWorld({ eventID: `${EVENT_ID}-late` }),
      lambdaContext,
    );
    expect(result.result).toBe("revoked");
    expect(wire.ec2.calls("DescribeSecurityGroupRules")[0]?.body).toBe(
      `Action=DescribeSecurityGroupRules&Version=2016-11-15&SecurityGroupRuleId.1=${RULE}`,
    );
    // The read-back, then the revoke; the tags are read after it (one-call path, on purpose).
    expect(wire.ec2.requests.map((r) => r.action).slice(-2)).toEqual([
      "RevokeSecurityGroupIngress",
      "DescribeSecurityGroups",
    ]);
    expect(wire.ec2.rules.has(RULE)).toBe(false);
  });

  it("leaves a late event's rule alone when it was modified since to something compliant", async () => {
    const rule = wire.ec2.rules.get(RULE);
    if (!rule) throw new Error("seeded rule missing");
    wire.ec2.rules.set(RULE, { ...rule, cidr: "10.0.0.0/8" });
    const result = await createSecurityGroupChangeHandler(deps())(
      sshFromWorld({ eventID: `${EVENT_ID}-late-modified` }),
      lambdaContext,
    );
    expect(result.status).toBe("compliant");
    expect(wire.ec2.calls("RevokeSecurityGroupIngress")).toEqual([]);
    expect(wire.ec2.rules.has(RULE)).toBe(true);
    expect(wire.sns.publishes).toEqual([]);
  });

  it("looks a ModifySecurityGroupRules direction up with SecurityGroupRuleId.1, then revokes", async () => {
    const event = loadFixture("ModifySecurityGroupRules", "wrapper_object-form_single-rule");
    wire.ec2.addRules(sshRule("sgr-0c0000000mod0001", GROUP));
    const result = await createSecurityGroupChangeHandler(deps())(event, lambdaContext);
    expect(result.result).toBe("revoked");
    expect(wire.ec2.calls("DescribeSecurityGroupRules")[0]?.body).toBe(
      "Action=DescribeSecurityGroupRules&Version=2016-11-15&SecurityGroupRuleId.1=sgr-0c0000000mod0001",
    );
    expect(
      wire.ec2.calls("RevokeSecurityGroupIngress")[0]?.params.get("SecurityGroupRuleId.1"),
    ).toBe("sgr-0c0000000mod0001");
  });
});

describe("wire: a delivery that dies between the audit write and the publish", () => {
  /** A clock `offsetMs` after the fixture's event. */
  const at = (offsetMs: number) => () => new Date(Date.parse("2024-11-05T10:15:00Z") + offsetMs);

  it("loses no alert: after the function timeout the retry announces the recorded revoke", async () => {
    const id = `${EVENT_ID}-died`;
    // The first delivery revokes and records, then hangs in SNS until Lambda kills it.
    const dying = {
      ...deps({ now: at(2_000) }),
      notifier: { publish: () => new Promise<string>(() => {}) },
    };
    void createSecurityGroupChangeHandler(dying)(sshFromWorld({ eventID: id }), lambdaContext);
    await expect
      .poll(async () => (await wire.dynamo.decisionItems(id))[0]?.notification, { timeout: 5_000 })
      .toBe("claimed");
    expect(wire.ec2.rules.has(RULE)).toBe(false);

    // A duplicate delivery while that invocation may still be running: it leaves the claim.
    const early = await createSecurityGroupChangeHandler(deps({ now: at(20_000) }))(
      sshFromWorld({ eventID: id }),
      lambdaContext,
    );
    expect(early).toMatchObject({ recorded: "duplicate", published: false });
    expect(wire.sns.publishes).toEqual([]);

    // EventBridge's retry, past the 30 s timeout: the rule is gone, the claim is stale.
    const retry = await createSecurityGroupChangeHandler(deps({ now: at(95_000) }))(
      sshFromWorld({ eventID: id }),
      lambdaContext,
    );
    expect(retry).toMatchObject({ recorded: "taken-over", published: true });
    expect(wire.sns.publishes.map((p) => p.attributes.result?.value)).toEqual(["revoked"]);
    const [item] = await wire.dynamo.decisionItems(id);
    expect(item).toMatchObject({ result: "revoked", notification: "published" });

    // And a delivery after that finds nothing left to announce.
    await createSecurityGroupChangeHandler(deps({ now: at(200_000) }))(
      sshFromWorld({ eventID: id }),
      lambdaContext,
    );
    expect(wire.sns.publishes).toHaveLength(1);
  });

  it("turns an SNS connection that hangs into a NotifyError within the request timeout", async () => {
    wire.sns.hangNext(1);
    const notifier = createNotifier(
      "arn:aws:sns:eu-west-1:123456789012:guardrail-alerts",
      async () =>
        new SNSClient({
          ...notifyClientOptions(300),
          endpoint: wire.sns.endpoint,
          region: REGION,
          credentials,
          maxAttempts: 1,
        }),
    );
    const started = performance.now();
    await expect(
      notifier.publish({
        subject: "s",
        message: "{}",
        attributes: {} as Parameters<typeof notifier.publish>[0]["attributes"],
      }),
    ).rejects.toBeInstanceOf(NotifyError);
    expect(performance.now() - started).toBeLessThan(3_000);
  });
});

describe("wire: network-acl-change", () => {
  const ACL = "acl-0a1b2c3d4e5f60001";
  const sshEntry = {
    ruleNumber: 100,
    egress: false,
    protocol: "6",
    action: "allow" as const,
    cidr: "0.0.0.0/0",
    from: 22,
    to: 22,
  };

  it("inserts the planned entries in order: allows for the trusted and office ranges, then the deny", async () => {
    wire.ec2.nacls.set(ACL, [sshEntry]);
    // The same entry, as CreateNetworkAclEntry would have made it.
    const event = loadFixture("ReplaceNetworkAclEntry", "tcp-6_ssh-from-world_replaces-rule-100");
    event.detail.eventName = "CreateNetworkAclEntry";
    event.detail.eventID = "create-ssh-from-world-100";
    const result = await createNetworkAclChangeHandler(deps({ fn: "network-acl-change" }))(
      event,
      lambdaContext,
    );
    expect(result.result).toBe("revoked");
    expect(wire.ec2.calls("DeleteNetworkAclEntry")).toEqual([]);
    const creates = wire.ec2.calls("CreateNetworkAclEntry");
    expect(creates.map((c) => c.params.get("RuleNumber"))).toEqual([
      "94",
      "95",
      "96",
      "97",
      "98",
      "99",
    ]);
    expect(creates[5]?.body).toBe(
      `Action=CreateNetworkAclEntry&Version=2016-11-15&NetworkAclId=${ACL}&RuleNumber=99&Protocol=6&RuleAction=deny&Egress=false&CidrBlock=0.0.0.0%2F0&PortRange.From=22&PortRange.To=22`,
    );
    expect(creates[0]?.params.get("RuleAction")).toBe("allow");
    expect(creates[0]?.params.get("CidrBlock")).toBe("10.0.0.0/8");
    expect(wire.ec2.nacls.get(ACL)).toHaveLength(7);
  });

  it("remediates a replaced entry the same way, showing what was there as unknown", async () => {
    wire.ec2.nacls.set(ACL, [sshEntry]);
    const result = await createNetworkAclChangeHandler(deps({ fn: "network-acl-change" }))(
      loadFixture("ReplaceNetworkAclEntry", "tcp-6_ssh-from-world_replaces-rule-100"),
      lambdaContext,
    );
    expect(result.result).toBe("revoked");
    expect(wire.ec2.calls("DeleteNetworkAclEntry")).toEqual([]);
    expect(wire.ec2.calls("CreateNetworkAclEntry")).toHaveLength(6);
    expect(JSON.parse(wire.sns.publishes[0]?.message ?? "{}").findings[0].previous).toBe("unknown");
  });
});

describe("wire: prefix-list-change", () => {
  it("finds the referencing groups, reads their rules by group-id filter, and revokes the rules", async () => {
    wire.ec2.prefixLists.set("pl-0123456789abcdef0", {
      entries: ["10.0.0.0/8"],
      groups: ["sg-web"],
    });
    wire.ec2.addRules(
      {
        id: "sgr-pl-ssh",
        groupId: "sg-web",
        egress: false,
        protocol: "tcp",
        from: 22,
        to: 22,
        prefixListId: "pl-0123456789abcdef0",
      },
      {
        id: "sgr-other",
        groupId: "sg-web",
        egress: false,
        protocol: "tcp",
        from: 443,
        to: 443,
        cidr: "10.0.0.0/8",
      },
    );
    const event = loadFixture("ModifyManagedPrefixList", "wrapper_add-and-remove_object-form");
    event.detail.requestParameters.ModifyManagedPrefixListRequest.AddEntry.Cidr = "0.0.0.0/0";
    const result = await createPrefixListChangeHandler(deps({ fn: "prefix-list-change" }))(
      event,
      lambdaContext,
    );
    expect(result.result).toBe("revoked");
    expect(wire.ec2.calls("GetManagedPrefixListAssociations")[0]?.params.get("PrefixListId")).toBe(
      "pl-0123456789abcdef0",
    );
    const describe = wire.ec2.calls("DescribeSecurityGroupRules")[0]?.params;
    expect([
      describe?.get("Filter.1.Name"),
      describe?.get("Filter.1.Value.1"),
      describe?.get("MaxResults"),
    ]).toEqual(["group-id", "sg-web", "1000"]);
    expect(wire.ec2.rules.has("sgr-pl-ssh")).toBe(false);
    expect(wire.ec2.rules.has("sgr-other")).toBe(true);
    expect(wire.ec2.prefixLists.get("pl-0123456789abcdef0")?.entries).toEqual(["10.0.0.0/8"]);
  });
});

describe("wire: Slack", () => {
  const slackDeps = (url: string) => ({
    logger: new Logger({ serviceName: "wire", logLevel: "SILENT" }),
    metrics: new Metrics({ namespace: "NetworkGuardrail", serviceName: "wire" }),
    config: {
      webhookParameter: "/network-guardrail/test/slack-webhook-url",
      stage: "wire",
      version: "1",
    },
    slack: createSlackPoster(url),
  });

  it("posts the Block Kit message of a published decision to the webhook", async () => {
    await createSecurityGroupChangeHandler(deps())(
      sshFromWorld({ eventID: `${EVENT_ID}-slack` }),
      lambdaContext,
    );
    const [publish] = wire.sns.publishes;
    expect(publish).toBeDefined();
    await createSlackNotifierHandler(slackDeps(slack.url))(
      snsEventOf(publish as NonNullable<typeof publish>),
      lambdaContext,
    );
    expect(slack.posts).toHaveLength(1);
    const body = slack.posts[0]?.body as { text: string; blocks: { type: string }[] };
    expect(body.blocks.length).toBeGreaterThan(2);
    expect(body.blocks[0]?.type).toBe("header");
    expect(JSON.stringify(body.blocks)).toContain("admin-ports");
    expect(slack.posts[0]?.path).toBe("/services/T000/B000/secret-token");
  });

  it("throws when Slack is down (SNS retries), while remediation does not depend on it", async () => {
    slack.answer(503);
    const result = await createSecurityGroupChangeHandler(deps())(
      sshFromWorld({ eventID: `${EVENT_ID}-down` }),
      lambdaContext,
    );
    expect(result).toMatchObject({ result: "revoked", published: true });
    const [publish] = wire.sns.publishes;
    await expect(
      createSlackNotifierHandler(slackDeps(slack.url))(
        snsEventOf(publish as NonNullable<typeof publish>),
        lambdaContext,
      ),
    ).rejects.toBeInstanceOf(SlackDeliveryError);
  });
});
