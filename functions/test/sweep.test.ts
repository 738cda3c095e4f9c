import "./setup";
import {
  CreateNetworkAclEntryCommand,
  DeleteNetworkAclEntryCommand,
  DescribeNetworkAclsCommand,
  DescribeSecurityGroupRulesCommand,
  DescribeSecurityGroupsCommand,
  GetManagedPrefixListEntriesCommand,
  type NetworkAclEntry,
  RevokeSecurityGroupIngressCommand,
} from "@aws-sdk/client-ec2";
import { PublishCommand } from "@aws-sdk/client-sns";
import { BatchWriteCommand, GetCommand, PutCommand, QueryCommand } from "@aws-sdk/lib-dynamodb";
import { METRICS } from "@guardrail/core";
import { describe, expect, it } from "vitest";
import { createSweepHandler, type SweepDeps, sweep } from "../src/pipelines/sweep";
import {
  awsError,
  ingressRule,
  lambdaContext,
  metricValues,
  scheduledEvent,
  testDeps,
} from "./helpers";
import {
  acceptRemediation,
  batchWriteRequests,
  ddb,
  ec2,
  mockAwsPerTest,
  publishedMessages,
  sns,
} from "./support/aws-mocks";

const scheduled = scheduledEvent();

/** Entry 110 of acl-1: rdp from anywhere, inbound. */
const RDP_FROM_WORLD_ENTRY: NetworkAclEntry = {
  RuleNumber: 110,
  Protocol: "6",
  RuleAction: "allow",
  Egress: false,
  CidrBlock: "0.0.0.0/0",
  PortRange: { From: 3389, To: 3389 },
};

/** Entry 120 of acl-1: everything from anywhere, inbound. */
const ALLOW_ALL_ENTRY: NetworkAclEntry = {
  RuleNumber: 120,
  Protocol: "-1",
  RuleAction: "allow",
  Egress: false,
  CidrBlock: "0.0.0.0/0",
};

/** What the sweep stored of each resource: its id and its state's fingerprint. */
const storedStates = () =>
  batchWriteRequests().map((w) => ({
    resourceId: w.PutRequest?.Item?.resourceId,
    fingerprint: w.PutRequest?.Item?.fingerprint,
  }));

function sweepDeps(): SweepDeps & { addMetric: ReturnType<typeof testDeps>["addMetric"] } {
  return {
    ...testDeps({ fn: "sweep" }),
    identity: async () => {
      throw new Error("the scheduled event names the account");
    },
  };
}

mockAwsPerTest(() => {
  acceptRemediation();
  ec2
    .on(DescribeSecurityGroupRulesCommand, { NextToken: undefined })
    .resolves({
      SecurityGroupRules: [ingressRule("sgr-ssh", "sg-a", 22), ingressRule("sgr-web", "sg-a", 443)],
      NextToken: "page-2",
    })
    .on(DescribeSecurityGroupRulesCommand, { NextToken: "page-2" })
    .resolves({
      SecurityGroupRules: [
        ingressRule("sgr-pl", "sg-b", 5432, { PrefixListId: "pl-1" }),
        ingressRule("sgr-pl2", "sg-b", 5433, { PrefixListId: "pl-1" }),
        {
          SecurityGroupRuleId: "sgr-out",
          GroupId: "sg-b",
          IsEgress: true,
          IpProtocol: "-1",
          CidrIpv4: "0.0.0.0/0",
        },
      ],
    });
  ec2.on(DescribeNetworkAclsCommand).resolves({
    NetworkAcls: [
      {
        NetworkAclId: "acl-1",
        // The allow-all comes after 110: numbered first, it would shadow 110 whole (no finding).
        Entries: [
          ALLOW_ALL_ENTRY,
          RDP_FROM_WORLD_ENTRY,
          {
            RuleNumber: 32767,
            Protocol: "-1",
            RuleAction: "deny",
            Egress: false,
            CidrBlock: "0.0.0.0/0",
          },
        ],
      },
    ],
  });
  ec2.on(GetManagedPrefixListEntriesCommand).resolves({ Entries: [{ Cidr: "10.0.0.0/8" }] });
  ec2
    .on(DescribeSecurityGroupsCommand)
    .resolves({ SecurityGroups: [{ GroupId: "sg-a", Tags: [] }] });
  ec2.on(CreateNetworkAclEntryCommand).resolves({});
});

describe("sweep", () => {
  it("reads every page, resolves each prefix list once, revokes, and publishes one summary", async () => {
    const deps = sweepDeps();
    const result = await sweep(scheduled, deps);
    // Twice to read every rule, once more by id to check the offender before revoking it.
    expect(ec2).toHaveReceivedCommandTimes(DescribeSecurityGroupRulesCommand, 3);
    expect(ec2).toHaveReceivedNthCommandWith(DescribeSecurityGroupRulesCommand, 1, {
      MaxResults: 1000,
    });
    expect(ec2).toHaveReceivedCommandExactlyOnceWith(GetManagedPrefixListEntriesCommand, {
      PrefixListId: "pl-1",
    });
    expect(ec2).toHaveReceivedCommandExactlyOnceWith(RevokeSecurityGroupIngressCommand, {
      GroupId: "sg-a",
      SecurityGroupRuleIds: ["sgr-ssh"],
    });
    // tcp 3389 from the VPC and office ranges stays allowed (and 120 takes nothing more): the
    // same plan as the event path's, entries inserted before 110 rather than a delete.
    expect(ec2).not.toHaveReceivedCommand(DeleteNetworkAclEntryCommand);
    expect(ec2).toHaveReceivedCommandTimes(CreateNetworkAclEntryCommand, 6);
    expect(ec2).toHaveReceivedCommandWith(CreateNetworkAclEntryCommand, {
      NetworkAclId: "acl-1",
      RuleNumber: 109,
      Egress: false,
      RuleAction: "deny",
      Protocol: "6",
      CidrBlock: "0.0.0.0/0",
      PortRange: { From: 3389, To: 3389 },
    });
    expect(result).toMatchObject({
      runId: "run-1",
      account: "123456789012",
      scanned: { securityGroupRules: 5, networkAclEntries: 3, prefixLists: 1 },
      unreadable: 0,
      published: true,
      stateWrites: 3,
      stateDeletes: 0,
    });
    expect(result.counts.revoked).toBeGreaterThanOrEqual(2);
    expect(sns).toHaveReceivedCommandTimes(PublishCommand, 1);
    const body = publishedMessages()[0]?.body;
    expect(body.schema).toBe("guardrail.sweep/v1");
    expect(body.severity).toBe("critical");
    expect(metricValues(deps.addMetric, METRICS.sweepRuns)).toEqual([1]);
  });

  it("keeps the last state of each resource, minus what it just revoked, plus what it inserted", async () => {
    await sweep(scheduled, sweepDeps());
    const items = Object.fromEntries(
      batchWriteRequests().map((w) => [w.PutRequest?.Item?.resourceId, w.PutRequest?.Item]),
    );
    expect(Object.keys(items).sort()).toEqual(["acl-1", "sg-a", "sg-b"]);
    expect(Object.keys(items["sg-a"]?.rules as object)).toEqual(["rule#sgr-web"]);
    // 110 stays, with the entries inserted before it.
    expect(Object.keys(items["acl-1"]?.rules as object).sort()).toEqual([
      "ingress#104",
      "ingress#105",
      "ingress#106",
      "ingress#107",
      "ingress#108",
      "ingress#109",
      "ingress#110",
      "ingress#120",
    ]);
    expect(items["sg-b"]).toMatchObject({
      pk: "STATE#123456789012#eu-west-1",
      sk: "RESOURCE#sg-b",
      resourceType: "security-group",
    });
    expect(items["sg-b"]?.fingerprint).toMatch(/^[0-9a-f]{64}$/);
  });

  it("writes nothing when the state did not change, and deletes resources that vanished", async () => {
    const first = sweepDeps();
    await sweep(scheduled, first);
    const stored = storedStates();
    ddb.reset();
    ddb
      .on(QueryCommand)
      .resolves({ Items: [...stored, { resourceId: "sg-deleted", fingerprint: "x" }] });
    ddb.on(BatchWriteCommand).resolves({});
    ddb.on(PutCommand).resolves({});
    ddb.on(GetCommand).resolves({});
    // The revokes of the first run happened: EC2 no longer lists those rules.
    ec2.on(DescribeSecurityGroupRulesCommand, { NextToken: undefined }).resolves({
      SecurityGroupRules: [ingressRule("sgr-web", "sg-a", 443)],
      NextToken: "page-2",
    });
    // The entries the first run inserted before 110 are in the ACL now, as EC2 lists them.
    const inserted = ec2.commandCalls(CreateNetworkAclEntryCommand).map((c) => {
      const { NetworkAclId: _, ...entry } = c.args[0].input;
      return entry;
    });
    expect(inserted).toHaveLength(6);
    ec2.on(DescribeNetworkAclsCommand).resolves({
      NetworkAcls: [
        {
          NetworkAclId: "acl-1",
          Entries: [...inserted, RDP_FROM_WORLD_ENTRY, ALLOW_ALL_ENTRY],
        },
      ],
    });
    sns.reset();
    ec2.resetHistory();
    const deps = sweepDeps();
    const second = await sweep(scheduled, deps);
    // Planning again on what the first run left finds nothing more to write.
    expect(ec2).not.toHaveReceivedCommand(CreateNetworkAclEntryCommand);
    expect(second).toMatchObject({ stateWrites: 0, stateDeletes: 1 });
    // Nothing new: the default-NACL-like allow-all entry is a standing notify-only finding.
    expect(second.published).toBe(false);
    expect(sns).not.toHaveReceivedCommand(PublishCommand);
    expect(metricValues(deps.addMetric, METRICS.sweepRuns)).toEqual([1]);
    expect(batchWriteRequests()).toEqual([
      { DeleteRequest: { Key: { pk: "STATE#123456789012#eu-west-1", sk: "RESOURCE#sg-deleted" } } },
    ]);
  });

  it("announces a standing finding again once its resource changes", async () => {
    // The last run saw acl-1 with a different set of entries; sg-a and sg-b are unchanged.
    await sweep(scheduled, sweepDeps());
    const stored = storedStates().map((state) =>
      state.resourceId === "acl-1" ? { ...state, fingerprint: "before" } : state,
    );
    ddb.on(QueryCommand).resolves({ Items: stored });
    sns.reset();
    sns.on(PublishCommand).resolves({ MessageId: "m" });
    ec2
      .on(RevokeSecurityGroupIngressCommand)
      .rejects(awsError("InvalidSecurityGroupRuleId.NotFound"));
    const result = await sweep(scheduled, sweepDeps());
    expect(result.published).toBe(true);
    const body = publishedMessages()[0]?.body;
    const resources = [
      ...new Set(body.findings.map((f: { resource: { id: string } }) => f.resource.id)),
    ];
    // acl-1 changed; sg-a is there for its remediation (already gone this time).
    expect(resources.sort()).toEqual(["acl-1", "sg-a"]);
  });

  it("records every remediation in the audit table, without publishing each", async () => {
    await sweep(scheduled, sweepDeps());
    const items = ddb
      .commandCalls(PutCommand)
      .map((c) => c.args[0].input.Item as Record<string, unknown>);
    expect(items.map((i) => i.pk).sort()).toContain("DECISION#sweep:run-1:sg-a");
    expect(items.find((i) => i.pk === "DECISION#sweep:run-1:sg-a")).toMatchObject({
      source: "sweep",
      result: "revoked",
    });
    expect(sns).toHaveReceivedCommandTimes(PublishCommand, 1);
  });

  it("reports a failed revoke in a critical summary and counts it, without failing the run", async () => {
    ec2.on(RevokeSecurityGroupIngressCommand).rejects(awsError("UnauthorizedOperation"));
    const deps = sweepDeps();
    const result = await createSweepHandler(deps)(scheduled, lambdaContext);
    expect(result.counts.failed).toBeGreaterThan(0);
    expect(metricValues(deps.addMetric, METRICS.remediationFailures)).toEqual([1]);
    const body = publishedMessages()[0]?.body;
    expect(body.findings[0]).toMatchObject({ result: "failed", resource: { id: "sg-a" } });
  });

  it("leaves a prefix list it cannot read unresolved: reported, not revoked", async () => {
    ec2.on(GetManagedPrefixListEntriesCommand).rejects(awsError("UnauthorizedOperation"));
    const result = await sweep(scheduled, sweepDeps());
    const body = publishedMessages()[0]?.body;
    const pl = body.findings.filter((f: { change: { peer?: string } }) => f.change.peer === "pl-1");
    expect(pl.length).toBeGreaterThan(0);
    expect(
      pl.every(
        (f: { result: string; rule: string }) =>
          f.result === "notify-only" && f.rule === "unresolved-prefix-list",
      ),
    ).toBe(true);
    expect(result.scanned.prefixLists).toBe(0);
  });

  it("asks STS for the account when the event does not say", async () => {
    const deps = {
      ...sweepDeps(),
      identity: async () => ({ account: "999999999999", region: "us-east-2" }),
    };
    expect((await sweep({}, deps)).account).toBe("999999999999");
  });

  it("remediates and reports even when the audit table is down, then fails the run", async () => {
    ddb.on(QueryCommand).rejects(awsError("InternalServerError", "down", "server"));
    ddb.on(BatchWriteCommand).rejects(awsError("InternalServerError", "down", "server"));
    ddb.on(PutCommand).rejects(awsError("InternalServerError", "down", "server"));
    await expect(sweep(scheduled, sweepDeps())).rejects.toMatchObject({
      code: "AUDIT_WRITE_FAILED",
    });
    expect(ec2).toHaveReceivedCommandTimes(RevokeSecurityGroupIngressCommand, 1);
    expect(sns).toHaveReceivedCommandTimes(PublishCommand, 1);
  });
});
