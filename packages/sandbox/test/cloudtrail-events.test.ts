import {
  AuthorizeSecurityGroupEgressCommand,
  AuthorizeSecurityGroupIngressCommand,
  CreateNetworkAclEntryCommand,
  CreateSecurityGroupCommand,
  CreateTagsCommand,
  DeleteNetworkAclEntryCommand,
  DescribeSecurityGroupsCommand,
  type EC2Client,
  ReplaceNetworkAclEntryCommand,
  RevokeSecurityGroupIngressCommand,
} from "@aws-sdk/client-ec2";
import { normalise } from "@guardrail/core";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { loadFixture } from "../../../test/fixtures/load";
import type { CloudTrailRecord, Ec2Sandbox, EventBridgeEvent } from "../src/index";
import { ec2Client, ec2Error, startSandbox } from "./helpers";
import {
  authorizeIngress,
  modifyPrefixList,
  modifyRules,
  tcpEntryFromWorld,
  tcpFromWorld,
  tcpPermission,
} from "./requests";

const ALICE_KEY = "AKIAALICE00000000001";
const ROLE_KEY = "ASIAGUARDRAIL0000001";
const OTHER_ACCOUNT_KEY = "AKIAOTHERACCOUNT0001";
const FIXED_TIME = new Date("2025-06-15T10:51:12.345Z");
/** The account and Region alice's (and the role's) calls act in: where the tests seed. */
const HOME = { accountId: "123456789012", region: "eu-west-1" } as const;

let sandbox: Ec2Sandbox;
let endpoint: string;
let alice: EC2Client;

beforeAll(async () => {
  ({ sandbox, endpoint } = await startSandbox({
    clock: () => FIXED_TIME,
    accessKeys: {
      [ALICE_KEY]: { type: "IAMUser", accountId: "123456789012", userName: "alice" },
      [ROLE_KEY]: {
        type: "AssumedRole",
        accountId: "123456789012",
        roleName: "guardrail-remediator",
        sessionName: "remediate",
        rolePath: "/service-role/",
      },
      [OTHER_ACCOUNT_KEY]: "210987654321",
    },
  }));
  alice = ec2Client(endpoint, { accessKeyId: ALICE_KEY, region: "eu-west-1" });
});

afterEach(() => sandbox.clearRecordedEvents());

afterAll(async () => {
  alice.destroy();
  await sandbox.close();
});

/** A value's structure: key sets and leaf types, lists reduced to their first element. */
function shape(value: unknown): unknown {
  if (Array.isArray(value)) return value.length === 0 ? [] : [shape(value[0])];
  if (value !== null && typeof value === "object") {
    return Object.fromEntries(
      Object.keys(value)
        .sort()
        .map((k) => [k, shape((value as Record<string, unknown>)[k])]),
    );
  }
  return value === null ? "null" : typeof value;
}

/** A captured CloudTrail record, out of its EventBridge envelope when it was captured in one. */
// biome-ignore lint/suspicious/noExplicitAny: fixtures are arbitrary JSON, read as loadFixture types them.
function captured(eventName: string, caseName: string): any {
  const json = loadFixture(eventName, caseName);
  return json.detail ?? json;
}

type RecordPart = "userIdentity" | "requestParameters" | "responseElements";

/** Checks that each of `parts` of an emitted record has the structure the captured record has. */
function expectShapedLike(
  emitted: CloudTrailRecord,
  capture: Record<RecordPart, unknown>,
  parts: readonly RecordPart[],
): void {
  for (const part of parts) expect(shape(emitted[part]), part).toEqual(shape(capture[part]));
}

/**
 * Checks the last `eventName` record: its `parts` against the same event's capture `like`, and
 * its request parameters against `request` (CloudTrail echoes a request as it was sent).
 */
async function expectLastRecord(
  eventName: string,
  like: { readonly capture: string; readonly parts: readonly RecordPart[] },
  request: Record<string, unknown>,
): Promise<CloudTrailRecord> {
  const record = (await lastEvent(eventName)).detail;
  expectShapedLike(record, captured(eventName, like.capture), like.parts);
  expect(record.requestParameters).toEqual(request);
  return record;
}

/** A nested member of an event's JSON; throws (failing the test) when the path is missing. */
function at(value: unknown, ...path: (string | number)[]): unknown {
  let current = value;
  for (const key of path) {
    if (current === null || typeof current !== "object") {
      throw new Error(`missing ${path.join(".")} (stopped at ${String(key)})`);
    }
    current = (current as Record<string | number, unknown>)[key];
  }
  return current;
}

/** Top-level record keys real events have that a plain-HTTP local endpoint cannot produce. */
const OPTIONAL_DETAIL_KEYS = ["tlsDetails", "sessionCredentialFromConsole"];

function detailKeys(detail: Record<string, unknown>): string[] {
  return Object.keys(detail)
    .filter((k) => !OPTIONAL_DETAIL_KEYS.includes(k))
    .sort();
}

async function lastEvent(eventName: string): Promise<EventBridgeEvent> {
  await sandbox.drainEvents();
  const event = sandbox
    .recordedEvents()
    .filter((e) => e.detail.eventName === eventName)
    .at(-1);
  if (event === undefined) throw new Error(`no ${eventName} event was emitted`);
  return event;
}

async function newGroup(client: EC2Client, name: string): Promise<string> {
  const reply = await client.send(
    new CreateSecurityGroupCommand({ GroupName: name, Description: name }),
  );
  return reply.GroupId ?? "";
}

describe("CloudTrail records of security-group calls", () => {
  it("wraps an Authorize record in the EventBridge envelope, shaped like a real capture", async () => {
    const groupId = await newGroup(alice, "ct-authorize");
    const reply = await authorizeIngress(alice, groupId, [
      { IpProtocol: "tcp", FromPort: 25, ToPort: 25, IpRanges: [{ CidrIp: "0.0.0.0/0" }] },
    ]);
    const event = await lastEvent("AuthorizeSecurityGroupIngress");
    const real = loadFixture("AuthorizeSecurityGroupIngress", "eventbridge_root-console_cidrIp");

    expect(Object.keys(event)).toEqual(Object.keys(real));
    expect(event["detail-type"]).toBe("AWS API Call via CloudTrail");
    expect(event.source).toBe("aws.ec2");
    expect(event.account).toBe("123456789012");
    expect(event.region).toBe("eu-west-1");
    expect(event.time).toBe("2025-06-15T10:51:12Z");
    expect(event.resources).toEqual([]);
    expect(event.id).toMatch(/^[0-9a-f-]{36}$/);
    expect(event.id).not.toBe(event.detail.eventID);

    const d = event.detail;
    expect(detailKeys(d as unknown as Record<string, unknown>)).toEqual(detailKeys(real.detail));
    expectShapedLike(d, real.detail, ["requestParameters", "responseElements"]);
    expect(d.requestParameters).toEqual({
      groupId,
      ipPermissions: {
        items: [
          {
            ipProtocol: "tcp",
            fromPort: 25,
            toPort: 25,
            groups: {},
            ipRanges: { items: [{ cidrIp: "0.0.0.0/0" }] },
            ipv6Ranges: {},
            prefixListIds: {},
          },
        ],
      },
    });
    const ruleId = reply.SecurityGroupRules?.[0]?.SecurityGroupRuleId;
    expect(d.responseElements).toEqual({
      requestId: reply.$metadata.requestId,
      _return: true,
      securityGroupRuleSet: {
        items: [
          {
            groupOwnerId: "123456789012",
            groupId,
            securityGroupRuleId: ruleId,
            isEgress: false,
            ipProtocol: "tcp",
            fromPort: 25,
            toPort: 25,
            cidrIpv4: "0.0.0.0/0",
            securityGroupRuleArn: `arn:aws:ec2:eu-west-1:123456789012:security-group-rule/${ruleId}`,
          },
        ],
      },
    });
    expect(d.requestID).toBe(reply.$metadata.requestId);
    expect(d.eventTime).toBe("2025-06-15T10:51:12Z");
    expect(d.eventSource).toBe("ec2.amazonaws.com");
    expect(d.awsRegion).toBe("eu-west-1");
    expect(d.recipientAccountId).toBe("123456789012");
    expect(d.sourceIPAddress).toBe("127.0.0.1");
    expect(d.userAgent).toMatch(/^aws-sdk-js\//);
    expect(d.readOnly).toBe(false);
    expect(d.managementEvent).toBe(true);
    expect(d.eventType).toBe("AwsApiCall");
  });

  it("writes an IAM user's identity from the access key used", async () => {
    await newGroup(alice, "ct-iam-user");
    const event = await lastEvent("CreateSecurityGroup");
    const real = captured("AuthorizeSecurityGroupIngress", "detail_iamuser-cli_cidrIp_elastic");
    expectShapedLike(event.detail, real, ["userIdentity"]);
    expect(event.detail.userIdentity).toMatchObject({
      type: "IAMUser",
      arn: "arn:aws:iam::123456789012:user/alice",
      accountId: "123456789012",
      accessKeyId: ALICE_KEY,
      userName: "alice",
    });
    expect(event.detail.userIdentity.principalId).toMatch(/^AIDA[A-Z2-7]{17}$/);
  });

  it("writes an assumed-role identity with the session issuer when the key belongs to a role", async () => {
    const role = ec2Client(endpoint, { accessKeyId: ROLE_KEY, region: "eu-west-1" });
    await newGroup(role, "ct-role");
    role.destroy();
    const event = await lastEvent("CreateSecurityGroup");
    const real = captured(
      "AuthorizeSecurityGroupIngress",
      "detail_assumedrole-console_cidrIp_2025",
    );
    expectShapedLike(event.detail, real, ["userIdentity"]);
    expect(event.detail.userIdentity).toMatchObject({
      type: "AssumedRole",
      arn: "arn:aws:sts::123456789012:assumed-role/guardrail-remediator/remediate",
      accessKeyId: ROLE_KEY,
      sessionContext: {
        sessionIssuer: {
          type: "Role",
          arn: "arn:aws:iam::123456789012:role/service-role/guardrail-remediator",
          accountId: "123456789012",
          userName: "guardrail-remediator",
        },
        attributes: { creationDate: "2025-06-15T10:51:12Z", mfaAuthenticated: "false" },
      },
    });
  });

  it("keeps state and events per account: the key decides the account", async () => {
    const other = ec2Client(endpoint, { accessKeyId: OTHER_ACCOUNT_KEY, region: "eu-west-1" });
    const groupId = await newGroup(other, "ct-other-account");
    const event = await lastEvent("CreateSecurityGroup");
    expect(event.account).toBe("210987654321");
    expect(event.detail.recipientAccountId).toBe("210987654321");
    expect(event.detail.userIdentity.arn).toBe("arn:aws:iam::210987654321:user/sandbox-user");
    // Alice's account cannot see the other account's group.
    const err = await ec2Error(
      alice.send(new DescribeSecurityGroupsCommand({ GroupIds: [groupId] })),
    );
    expect(err.name).toBe("InvalidGroup.NotFound");
    other.destroy();
  });

  it("renders the legacy flat form as CloudTrail does: top-level fields and ipPermissions {}", async () => {
    const groupId = await newGroup(alice, "ct-flat");
    await alice.send(
      new AuthorizeSecurityGroupIngressCommand({
        GroupId: groupId,
        IpProtocol: "tcp",
        FromPort: 22,
        ToPort: 22,
        CidrIp: "208.236.235.254/0",
      }),
    );
    // The request is echoed as sent; the rule set says what AWS stored (host bits cleared).
    const d = await expectLastRecord(
      "AuthorizeSecurityGroupIngress",
      {
        capture: "detail_iamuser_LEGACY-FLAT-cidrIp-ipProtocol-ports_ipPermissions-empty_stratus",
        parts: ["requestParameters"],
      },
      {
        groupId,
        ipPermissions: {},
        ipProtocol: "tcp",
        fromPort: 22,
        toPort: 22,
        cidrIp: "208.236.235.254/0",
      },
    );
    expect(at(d.responseElements, "securityGroupRuleSet", "items", 0, "cidrIpv4")).toBe(
      "0.0.0.0/0",
    );
  });

  it("renders revoke-by-id with securityGroupRuleIds and the revoked rule set", async () => {
    const groupId = await newGroup(alice, "ct-revoke");
    const added = await authorizeIngress(alice, groupId, [
      { IpProtocol: "tcp", FromPort: 22, ToPort: 22, IpRanges: [{ CidrIp: "203.0.113.0/24" }] },
    ]);
    const ruleId = added.SecurityGroupRules?.[0]?.SecurityGroupRuleId ?? "";
    await alice.send(
      new RevokeSecurityGroupIngressCommand({ GroupId: groupId, SecurityGroupRuleIds: [ruleId] }),
    );
    await expectLastRecord(
      "RevokeSecurityGroupIngress",
      { capture: "rule-ids-only_securityGroupRuleIds", parts: ["responseElements"] },
      {
        groupId,
        ipPermissions: {},
        securityGroupRuleIds: { items: [{ securityGroupRuleId: ruleId }] },
      },
    );
  });

  it("renders ModifySecurityGroupRules in its PascalCase wrapper: one rule an object, two an array", async () => {
    const groupId = await newGroup(alice, "ct-modify");
    const added = await authorizeIngress(alice, groupId, [
      { IpProtocol: "tcp", FromPort: 80, ToPort: 80, IpRanges: [{ CidrIp: "10.0.0.0/8" }] },
      { IpProtocol: "tcp", FromPort: 81, ToPort: 81, IpRanges: [{ CidrIp: "10.0.0.0/8" }] },
    ]);
    const [a, b] = (added.SecurityGroupRules ?? []).map((r) => r.SecurityGroupRuleId ?? "");
    await modifyRules(alice, groupId, [
      {
        SecurityGroupRuleId: a,
        SecurityGroupRule: tcpFromWorld(443),
      },
    ]);
    const one = await expectLastRecord(
      "ModifySecurityGroupRules",
      {
        capture: "requestParameters-only_live-shape_placeholder-ids",
        parts: ["requestParameters"],
      },
      {
        ModifySecurityGroupRulesRequest: {
          SecurityGroupRule: {
            SecurityGroupRuleId: a,
            tag: 1,
            SecurityGroupRule: {
              CidrIpv4: "0.0.0.0/0",
              FromPort: 443,
              ToPort: 443,
              IpProtocol: "tcp",
            },
          },
          GroupId: groupId,
        },
      },
    );
    expect(one.responseElements).toEqual({
      ModifySecurityGroupRulesResponse: {
        xmlns: "http://ec2.amazonaws.com/doc/2016-11-15/",
        requestId: one.requestID,
        return: true,
      },
    });

    await modifyRules(alice, groupId, [
      {
        SecurityGroupRuleId: a,
        SecurityGroupRule: tcpFromWorld(22),
      },
      { SecurityGroupRuleId: b, SecurityGroupRule: { IpProtocol: "-1", CidrIpv6: "::/0" } },
    ]);
    const two = (await lastEvent("ModifySecurityGroupRules")).detail;
    const rules = at(
      two.requestParameters,
      "ModifySecurityGroupRulesRequest",
      "SecurityGroupRule",
    ) as Record<string, unknown>[];
    expect(rules.map((r) => [r.SecurityGroupRuleId, r.tag])).toEqual([
      [a, 1],
      [b, 2],
    ]);
  });

  it("emits failed calls with a Client.-prefixed errorCode and null responseElements", async () => {
    const groupId = await newGroup(alice, "ct-failed");
    const permission = tcpPermission(22);
    await authorizeIngress(alice, groupId, [permission]);
    await ec2Error(authorizeIngress(alice, groupId, [permission]));
    const d = (await lastEvent("AuthorizeSecurityGroupIngress")).detail;
    const real = captured(
      "AuthorizeSecurityGroupIngress",
      "failed_client-invalid-permission-duplicate_response-null",
    );
    expect(detailKeys(d as unknown as Record<string, unknown>)).toEqual(detailKeys(real));
    expect(d.errorCode).toBe("Client.InvalidPermission.Duplicate");
    expect(d.errorMessage).toContain("already exists");
    expect(d.responseElements).toBeNull();
    expectShapedLike(d, real, ["requestParameters"]);
  });

  it("emits nothing for Describe calls", async () => {
    await alice.send(new DescribeSecurityGroupsCommand({}));
    await sandbox.drainEvents();
    expect(sandbox.recordedEvents()).toEqual([]);
  });
});

describe("CloudTrail records of network-ACL and prefix-list calls", () => {
  it("renders CreateNetworkAclEntry with aclProtocol, portRange and an empty icmpTypeCode", async () => {
    const aclId = sandbox.seedNetworkAcl(HOME);
    await alice.send(new CreateNetworkAclEntryCommand(tcpEntryFromWorld(aclId, 12, 700, 702)));
    const d = await expectLastRecord(
      "CreateNetworkAclEntry",
      { capture: "detail_panther_tcp-6_portRange_ingress", parts: ["requestParameters"] },
      {
        networkAclId: aclId,
        ruleNumber: 12,
        egress: false,
        ruleAction: "allow",
        icmpTypeCode: {},
        aclProtocol: "6",
        cidrBlock: "0.0.0.0/0",
        portRange: { from: 700, to: 702 },
      },
    );
    expect(d.responseElements).toEqual({ requestId: d.requestID, _return: true });
  });

  it("renders ReplaceNetworkAclEntry like Create and DeleteNetworkAclEntry like the real capture", async () => {
    const aclId = sandbox.seedNetworkAcl({
      ...HOME,
      entries: [
        { ruleNumber: 100, egress: false, protocol: "-1", ruleAction: "allow", cidr: "0.0.0.0/0" },
      ],
    });
    await alice.send(
      new ReplaceNetworkAclEntryCommand({
        NetworkAclId: aclId,
        RuleNumber: 100,
        Protocol: "1",
        RuleAction: "allow",
        Egress: false,
        CidrBlock: "0.0.0.0/0",
        IcmpTypeCode: { Type: 8, Code: -1 },
      }),
    );
    const replaced = (await lastEvent("ReplaceNetworkAclEntry")).detail;
    expect(replaced.requestParameters).toMatchObject({
      aclProtocol: "1",
      icmpTypeCode: { code: -1, type: 8 },
      portRange: {},
    });
    await alice.send(
      new DeleteNetworkAclEntryCommand({ NetworkAclId: aclId, RuleNumber: 100, Egress: false }),
    );
    await expectLastRecord(
      "DeleteNetworkAclEntry",
      { capture: "detail_iamuser-cli_elastic", parts: ["requestParameters", "responseElements"] },
      { networkAclId: aclId, ruleNumber: 100, egress: false },
    );
  });

  it("renders ModifyManagedPrefixList in its wrapper, entries as in the captured console event", async () => {
    const id = sandbox.seedPrefixList({
      ...HOME,
      name: "ct-offices",
      entries: ["203.0.113.0/24"],
    });
    await modifyPrefixList(alice, id, {
      CurrentVersion: 1,
      AddEntries: [{ Cidr: "71.131.0.0/16", Description: "My IP Range" }],
      RemoveEntries: [{ Cidr: "203.0.113.0/24" }],
    });
    const d = (await lastEvent("ModifyManagedPrefixList")).detail;
    expect(d.requestParameters).toEqual({
      ModifyManagedPrefixListRequest: {
        AddEntry: { Description: "My IP Range", cidr: "71.131.0.0/16", tag: "1" },
        RemoveEntry: { cidr: "203.0.113.0/24", tag: "1" },
        PrefixListId: id,
        CurrentVersion: 1,
      },
    });
    expect(at(d.responseElements, "ModifyManagedPrefixListResponse", "requestId")).toBe(
      d.requestID,
    );
    expect(at(d.responseElements, "ModifyManagedPrefixListResponse", "prefixList")).toMatchObject({
      prefixListId: id,
      version: 2,
    });
  });

  it("renders CreateTags with resourcesSet and tagSet", async () => {
    const groupId = await newGroup(alice, "ct-tags");
    await alice.send(
      new CreateTagsCommand({ Resources: [groupId], Tags: [{ Key: "team", Value: "net" }] }),
    );
    const d = (await lastEvent("CreateTags")).detail;
    expect(d.requestParameters).toEqual({
      resourcesSet: { items: [{ resourceId: groupId }] },
      tagSet: { items: [{ key: "team", value: "net" }] },
    });
  });
});

describe("emitted events read by the core normaliser", () => {
  it("normalises an Authorize event to handled changes carrying the new rule ids", async () => {
    const groupId = await newGroup(alice, "norm-authorize");
    const reply = await authorizeIngress(alice, groupId, [
      {
        IpProtocol: "tcp",
        FromPort: 22,
        ToPort: 22,
        IpRanges: [{ CidrIp: "0.0.0.0/0" }],
        Ipv6Ranges: [{ CidrIpv6: "::/0" }],
      },
    ]);
    const result = normalise(await lastEvent("AuthorizeSecurityGroupIngress"));
    expect(result.status).toBe("handled");
    if (result.status !== "handled") return;
    expect(result.event.account).toBe("123456789012");
    expect(result.event.actor.arn).toBe("arn:aws:iam::123456789012:user/alice");
    const ruleIds = (reply.SecurityGroupRules ?? []).map((r) => r.SecurityGroupRuleId);
    expect(result.changes.map((c) => (c.kind === "security-group-rule" ? c.ruleId : null))).toEqual(
      ruleIds,
    );
    expect(result.changes[0]).toMatchObject({
      kind: "security-group-rule",
      groupId,
      direction: "ingress",
      protocol: "tcp",
      ports: { from: 22, to: 22 },
      peer: { kind: "cidr", cidr: { cidr: "0.0.0.0/0" } },
    });
  });

  it("normalises egress, legacy flat and ModifySecurityGroupRules events with their rule ids", async () => {
    const groupId = await newGroup(alice, "norm-more");
    const egress = await alice.send(
      new AuthorizeSecurityGroupEgressCommand({
        GroupId: groupId,
        IpPermissions: [
          { IpProtocol: "udp", FromPort: 53, ToPort: 53, IpRanges: [{ CidrIp: "0.0.0.0/0" }] },
        ],
      }),
    );
    const egressResult = normalise(await lastEvent("AuthorizeSecurityGroupEgress"));
    expect(egressResult.status).toBe("handled");
    if (egressResult.status === "handled") {
      expect(egressResult.changes[0]).toMatchObject({
        direction: "egress",
        protocol: "udp",
        ruleId: egress.SecurityGroupRules?.[0]?.SecurityGroupRuleId,
      });
    }

    const flat = await alice.send(
      new AuthorizeSecurityGroupIngressCommand({
        GroupId: groupId,
        IpProtocol: "tcp",
        FromPort: 3389,
        ToPort: 3389,
        CidrIp: "198.51.100.7/32",
      }),
    );
    const flatResult = normalise(await lastEvent("AuthorizeSecurityGroupIngress"));
    expect(flatResult.status).toBe("handled");
    if (flatResult.status === "handled") {
      expect(flatResult.changes[0]).toMatchObject({
        ports: { from: 3389, to: 3389 },
        ruleId: flat.SecurityGroupRules?.[0]?.SecurityGroupRuleId,
      });
    }

    const ruleId = flat.SecurityGroupRules?.[0]?.SecurityGroupRuleId ?? "";
    await modifyRules(alice, groupId, [
      {
        SecurityGroupRuleId: ruleId,
        SecurityGroupRule: tcpFromWorld(22),
      },
    ]);
    const modResult = normalise(await lastEvent("ModifySecurityGroupRules"));
    expect(modResult.status).toBe("handled");
    if (modResult.status === "handled") {
      expect(modResult.changes[0]).toMatchObject({
        groupId,
        ruleId,
        direction: "unknown",
        ports: { from: 22, to: 22 },
      });
    }
  });

  it("normalises NACL and prefix-list events, and reads the assumed role's issuer", async () => {
    const role = ec2Client(endpoint, { accessKeyId: ROLE_KEY, region: "eu-west-1" });
    const aclId = sandbox.seedNetworkAcl(HOME);
    await role.send(new CreateNetworkAclEntryCommand(tcpEntryFromWorld(aclId, 90, 22)));
    const nacl = normalise(await lastEvent("CreateNetworkAclEntry"));
    expect(nacl.status).toBe("handled");
    if (nacl.status === "handled") {
      expect(nacl.event.actor.sessionIssuerArn).toBe(
        "arn:aws:iam::123456789012:role/service-role/guardrail-remediator",
      );
      expect(nacl.changes[0]).toMatchObject({
        kind: "network-acl-entry",
        networkAclId: aclId,
        ruleNumber: 90,
        egress: false,
        ruleAction: "allow",
        protocol: "tcp",
        ports: { from: 22, to: 22 },
        operation: "create",
      });
    }

    const plId = sandbox.seedPrefixList({
      ...HOME,
      name: "norm-pl",
      entries: ["192.0.2.0/24"],
    });
    await modifyPrefixList(role, plId, {
      AddEntries: [{ Cidr: "0.0.0.0/0" }, { Cidr: "10.0.0.0/8" }],
      RemoveEntries: [{ Cidr: "192.0.2.0/24" }],
    });
    const pl = normalise(await lastEvent("ModifyManagedPrefixList"));
    expect(pl.status).toBe("handled");
    if (pl.status === "handled") {
      expect(pl.changes[0]).toMatchObject({
        kind: "prefix-list",
        prefixListId: plId,
        added: [{ cidr: "0.0.0.0/0" }, { cidr: "10.0.0.0/8" }],
        removed: [{ cidr: "192.0.2.0/24" }],
      });
    }
    role.destroy();
  });

  it("normalises failed, restrictive and unrelated events to ignored with the right reason", async () => {
    const groupId = await newGroup(alice, "norm-ignored");
    expect(normalise(await lastEvent("CreateSecurityGroup"))).toMatchObject({
      status: "ignored",
      reason: "unhandled-event",
    });
    await ec2Error(
      alice.send(
        new RevokeSecurityGroupIngressCommand({
          GroupId: groupId,
          SecurityGroupRuleIds: ["sgr-0123456789abcdef0"],
        }),
      ),
    );
    expect(normalise(await lastEvent("RevokeSecurityGroupIngress"))).toMatchObject({
      status: "ignored",
      reason: "failed-call",
    });
    await alice.send(
      new RevokeSecurityGroupIngressCommand({
        GroupId: groupId,
        IpPermissions: [
          { IpProtocol: "tcp", FromPort: 1, ToPort: 1, IpRanges: [{ CidrIp: "10.0.0.0/8" }] },
        ],
      }),
    );
    expect(normalise(await lastEvent("RevokeSecurityGroupIngress"))).toMatchObject({
      status: "ignored",
      reason: "restrictive",
    });
  });
});

describe("event delivery", () => {
  it("delivers events to subscribers after the reply, and survives a throwing listener", async () => {
    const seen: string[] = [];
    const offBroken = sandbox.onEvent(() => {
      throw new Error("listener bug");
    });
    const off = sandbox.onEvent((e) => {
      seen.push(e.detail.eventName);
    });
    const errors: unknown[] = [];
    const original = console.error;
    console.error = (...args: unknown[]) => errors.push(args);
    try {
      await newGroup(alice, "delivery");
      const event = await sandbox.waitForEvent((e) => e.detail.eventName === "CreateSecurityGroup");
      await sandbox.drainEvents();
      expect(event.detail.requestParameters).toMatchObject({ groupName: "delivery" });
      expect(seen).toEqual(["CreateSecurityGroup"]);
      expect(errors).toHaveLength(1);
    } finally {
      console.error = original;
      off();
      offBroken();
    }
  });

  it("does not emit failed calls when emitFailedCalls is off", async () => {
    const quiet = await startSandbox({ emitFailedCalls: false });
    const client = ec2Client(quiet.endpoint);
    await ec2Error(
      client.send(new DescribeSecurityGroupsCommand({ GroupIds: ["sg-0000000000000000a"] })),
    );
    await ec2Error(
      authorizeIngress(client, "sg-0000000000000000a", [
        { IpProtocol: "-1", IpRanges: [{ CidrIp: "0.0.0.0/0" }] },
      ]),
    );
    await quiet.sandbox.drainEvents();
    expect(quiet.sandbox.recordedEvents()).toEqual([]);
    client.destroy();
    await quiet.sandbox.close();
  });
});

describe("CloudTrail records of the Resource Groups Tagging API", () => {
  const AUTH = `AWS4-HMAC-SHA256 Credential=${ALICE_KEY}/20250615/us-east-1/tagging/aws4_request`;

  it("records TagResources as tagging.amazonaws.com (source aws.tagging), failed ARNs listed", async () => {
    const { groupId } = sandbox.seedSecurityGroup({ name: "tagging-api" });
    const arn = `arn:aws:ec2:us-east-1:123456789012:security-group/${groupId}`;
    const missing = "arn:aws:ec2:us-east-1:123456789012:security-group/sg-0000000000000dead";
    const reply = await sandbox.handleJson({
      target: "ResourceGroupsTaggingAPI_20170126.TagResources",
      body: JSON.stringify({ ResourceARNList: [arn, missing], Tags: { "guardrail-exempt": "x" } }),
      authorization: AUTH,
    });
    expect(reply.status).toBe(200);
    expect(Object.keys(JSON.parse(reply.body).FailedResourcesMap)).toEqual([missing]);
    const [event] = sandbox.recordedEvents();
    expect(event).toMatchObject({
      source: "aws.tagging",
      detail: {
        eventSource: "tagging.amazonaws.com",
        eventName: "TagResources",
        requestParameters: { resourceARNList: [arn, missing], tags: { "guardrail-exempt": "x" } },
        responseElements: {
          failedResourcesMap: { [missing]: { errorCode: "InvalidParameterException" } },
        },
      },
    });
    const untag = await sandbox.handleJson({
      target: "ResourceGroupsTaggingAPI_20170126.UntagResources",
      body: JSON.stringify({ ResourceARNList: [arn], TagKeys: ["guardrail-exempt"] }),
      authorization: AUTH,
    });
    expect(JSON.parse(untag.body)).toEqual({ FailedResourcesMap: {} });
    expect(sandbox.recordedEvents()[1]?.detail.requestParameters).toEqual({
      resourceARNList: [arn],
      tagKeys: ["guardrail-exempt"],
    });
  });

  it("answers an unknown operation and a bad request as the JSON protocol does", async () => {
    const unknown = await sandbox.handleJson({
      target: "ResourceGroupsTaggingAPI_20170126.GetResources",
      body: "{}",
    });
    expect(JSON.parse(unknown.body).__type).toBe("UnknownOperationException");
    const bad = await sandbox.handleJson({
      target: "ResourceGroupsTaggingAPI_20170126.TagResources",
      body: JSON.stringify({ ResourceARNList: [] }),
    });
    expect(bad.status).toBe(400);
    expect(JSON.parse(bad.body).__type).toBe("InvalidParameterException");
    expect(sandbox.recordedEvents()).toEqual([]);
  });
});
