import "./setup";
import { Readable } from "node:stream";
import {
  DescribeNetworkAclsCommand,
  DescribeSecurityGroupRulesCommand,
  EC2Client,
  GetManagedPrefixListAssociationsCommand,
  GetManagedPrefixListEntriesCommand,
  RevokeSecurityGroupIngressCommand,
} from "@aws-sdk/client-ec2";
import type { Action } from "@guardrail/core";
import { ConfiguredRetryStrategy } from "@smithy/util-retry";
import { type AwsClientStub, mockClient } from "aws-sdk-client-mock";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { createEc2Gateway } from "../src/ec2";
import { LookupFailedError } from "../src/errors";
import { awsError } from "./helpers";

const credentials = { accessKeyId: "AKIDTEST", secretAccessKey: "secret" };
const now = () => new Date("2025-01-01T00:00:01Z");

const byIds: Action = {
  type: "revoke-security-group-rules",
  groupId: "sg-1",
  direction: "ingress",
  ruleIds: ["sgr-1"],
};

/**
 * An EC2 client whose HTTP layer answers from a script: the real SDK middleware (signing,
 * retries, XML parsing) runs, no socket is opened.
 */
function scriptedClient(answers: { status: number; body: string }[]) {
  const requests: string[] = [];
  const client = new EC2Client({
    region: "eu-west-1",
    credentials,
    retryStrategy: new ConfiguredRetryStrategy(4, 0),
    requestHandler: {
      handle: async (request: { body?: unknown }) => {
        requests.push(String(request.body ?? ""));
        const answer = answers.shift() ?? { status: 500, body: "<Response/>" };
        return {
          response: {
            statusCode: answer.status,
            reason: "",
            headers: { "content-type": "text/xml;charset=UTF-8" },
            body: Readable.from([Buffer.from(answer.body)]),
          },
        };
      },
    },
  });
  return { client, requests };
}

const throttled = {
  status: 503,
  body: "<Response><Errors><Error><Code>RequestLimitExceeded</Code><Message>Request limit exceeded.</Message></Error></Errors><RequestID>r</RequestID></Response>",
};
const revoked = {
  status: 200,
  body: '<RevokeSecurityGroupIngressResponse xmlns="http://ec2.amazonaws.com/doc/2016-11-15/"><requestId>r</requestId><return>true</return></RevokeSecurityGroupIngressResponse>',
};

describe("EC2 adapter: retries (real SDK middleware, scripted HTTP)", () => {
  it("revokes after throttling: the SDK retries RequestLimitExceeded", async () => {
    const { client, requests } = scriptedClient([throttled, throttled, revoked]);
    const [outcome] = await createEc2Gateway(client, now).execute(byIds);
    expect(outcome).toMatchObject({ status: "revoked", confirmedAt: "2025-01-01T00:00:01.000Z" });
    expect(requests).toHaveLength(3);
    expect(requests[0]).toContain("Action=RevokeSecurityGroupIngress");
    expect(requests[0]).toContain("SecurityGroupRuleId.1=sgr-1");
  });

  it("reports a failure once the retries are spent", async () => {
    const { client, requests } = scriptedClient([throttled, throttled, throttled, throttled]);
    const [outcome] = await createEc2Gateway(client, now).execute(byIds);
    expect(outcome).toMatchObject({ status: "failed", error: { code: "RequestLimitExceeded" } });
    expect(requests).toHaveLength(4);
  });
});

describe("EC2 adapter: outcomes", () => {
  let ec2: AwsClientStub<EC2Client>;
  // Mocked per test, and restored, so that the scripted clients above keep their real send().
  beforeEach(() => {
    ec2 = mockClient(EC2Client);
  });
  afterEach(() => ec2.restore());
  const gateway = () => createEc2Gateway(new EC2Client({ region: "eu-west-1", credentials }), now);

  it("refuses to guess a direction it was not given", async () => {
    const [outcome] = await gateway().execute({ ...byIds, direction: null });
    expect(outcome).toMatchObject({ status: "failed", error: { code: "DirectionUnknown" } });
    expect(ec2.calls()).toHaveLength(0);
  });

  it("treats a false return as a failure", async () => {
    ec2.on(RevokeSecurityGroupIngressCommand).resolves({ Return: false });
    const [outcome] = await gateway().execute(byIds);
    expect(outcome).toMatchObject({ status: "failed", error: { code: "ReturnFalse" } });
  });

  it("reads a default VPC's unknown permissions as already gone", async () => {
    ec2.on(RevokeSecurityGroupIngressCommand).resolves({
      Return: true,
      UnknownIpPermissions: [{ IpProtocol: "tcp", FromPort: 22, ToPort: 22 }],
    });
    const [outcome] = await gateway().execute({
      type: "revoke-security-group-permissions",
      groupId: "sg-1",
      direction: "ingress",
      permissions: [{ protocol: "tcp", fromPort: 22, toPort: 22, cidr: "0.0.0.0/0" }],
    });
    expect(outcome?.status).toBe("already-gone");
  });

  it("revokes a prefix-list, a group and an all-traffic permission with the right members", async () => {
    ec2.on(RevokeSecurityGroupIngressCommand).resolves({ Return: true });
    await gateway().execute({
      type: "revoke-security-group-permissions",
      groupId: "sg-1",
      direction: "ingress",
      permissions: [
        { protocol: "tcp", fromPort: 5432, toPort: 5432, prefixListId: "pl-1" },
        { protocol: "-1", fromPort: null, toPort: null, groupId: "sg-2" },
      ],
    });
    expect(ec2).toHaveReceivedCommandWith(RevokeSecurityGroupIngressCommand, {
      IpPermissions: [
        {
          IpProtocol: "tcp",
          FromPort: 5432,
          ToPort: 5432,
          PrefixListIds: [{ PrefixListId: "pl-1" }],
        },
        { IpProtocol: "-1", UserIdGroupPairs: [{ GroupId: "sg-2" }] },
      ],
    });
  });

  it("pages through prefix-list entries and associations, keeping only security groups", async () => {
    ec2
      .on(GetManagedPrefixListEntriesCommand, { NextToken: undefined })
      .resolves({ Entries: [{ Cidr: "10.0.0.0/8" }], NextToken: "p2" })
      .on(GetManagedPrefixListEntriesCommand, { NextToken: "p2" })
      .resolves({ Entries: [{ Cidr: "0.0.0.0/0" }] });
    ec2
      .on(GetManagedPrefixListAssociationsCommand, { NextToken: undefined })
      .resolves({
        PrefixListAssociations: [{ ResourceId: "sg-1" }, { ResourceId: "rtb-1" }],
        NextToken: "a2",
      })
      .on(GetManagedPrefixListAssociationsCommand, { NextToken: "a2" })
      .resolves({ PrefixListAssociations: [{ ResourceId: "sg-2" }, { ResourceId: "sg-1" }] });
    const g = gateway();
    expect(await g.prefixListEntries("pl-1")).toEqual(["10.0.0.0/8", "0.0.0.0/0"]);
    expect(await g.prefixListGroups("pl-1")).toEqual(["sg-1", "sg-2"]);
  });

  it("turns look-up failures into LookupFailedError", async () => {
    ec2.on(GetManagedPrefixListAssociationsCommand).rejects(awsError("UnauthorizedOperation"));
    await expect(gateway().prefixListGroups("pl-1")).rejects.toBeInstanceOf(LookupFailedError);
    ec2.on(DescribeSecurityGroupRulesCommand).rejects(awsError("InternalError"));
    await expect(gateway().securityGroupRules().next()).rejects.toBeInstanceOf(LookupFailedError);
    ec2.on(DescribeNetworkAclsCommand).rejects(awsError("InternalError"));
    await expect(gateway().networkAcls().next()).rejects.toBeInstanceOf(LookupFailedError);
  });

  it("filters rule pages by group id, 200 ids per filter", async () => {
    ec2
      .on(DescribeSecurityGroupRulesCommand)
      .resolves({ SecurityGroupRules: [{ SecurityGroupRuleId: "sgr-1" }] });
    const ids = Array.from({ length: 250 }, (_, i) => `sg-${i}`);
    const pages = [];
    for await (const page of gateway().securityGroupRules(ids)) pages.push(page);
    expect(pages).toHaveLength(2);
    expect(ec2).toHaveReceivedNthCommandWith(DescribeSecurityGroupRulesCommand, 1, {
      MaxResults: 1000,
      Filters: [{ Name: "group-id", Values: ids.slice(0, 200) }],
    });
  });
});
