import "./setup";
import { DeleteNetworkAclEntryCommand, EC2Client } from "@aws-sdk/client-ec2";
import { PublishCommand, SNSClient } from "@aws-sdk/client-sns";
import { DynamoDBDocumentClient, GetCommand, PutCommand } from "@aws-sdk/lib-dynamodb";
import { METRICS } from "@guardrail/core";
import { mockClient } from "aws-sdk-client-mock";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { loadFixture } from "../../test/fixtures/load";
import { RemediationFailedError } from "../src/errors";
import {
  createNetworkAclChangeHandler,
  networkAclChange,
} from "../src/pipelines/network-acl-change";
import { awsError, lambdaContext, metricValues, testDeps } from "./helpers";

const ec2 = mockClient(EC2Client);
const sns = mockClient(SNSClient);
const ddb = mockClient(DynamoDBDocumentClient);

const ACL = "acl-0a1b2c3d4e5f60001";
const replaceSsh = () =>
  loadFixture("ReplaceNetworkAclEntry", "tcp-6_ssh-from-world_replaces-rule-100");
/** The same entry, as CreateNetworkAclEntry makes it. */
function createSsh() {
  const event = replaceSsh();
  event.detail.eventName = "CreateNetworkAclEntry";
  return event;
}

function message() {
  const call = sns.commandCalls(PublishCommand)[0];
  return JSON.parse(call?.args[0].input.Message ?? "null");
}

beforeEach(() => {
  ec2.reset();
  sns.reset();
  ddb.reset();
  ec2.on(DeleteNetworkAclEntryCommand).resolves({});
  sns.on(PublishCommand).resolves({ MessageId: "m" });
  ddb.on(PutCommand).resolves({});
  ddb.on(GetCommand).resolves({});
});

afterEach(() => {
  ec2.reset();
  sns.reset();
  ddb.reset();
});

describe("network-acl-change", () => {
  it("deletes an entry that lets SSH in from anywhere, with no look-up before", async () => {
    const deps = testDeps({ fn: "network-acl-change" });
    const result = await networkAclChange(createSsh(), deps);
    expect(result).toMatchObject({ status: "decided", result: "revoked", published: true });
    expect(ec2.calls()).toHaveLength(1);
    expect(ec2).toHaveReceivedCommandExactlyOnceWith(DeleteNetworkAclEntryCommand, {
      NetworkAclId: ACL,
      RuleNumber: 100,
      Egress: false,
    });
    expect(message()).toMatchObject({
      resource: { type: "network-acl", id: ACL },
      result: "revoked",
      links: {
        resource: `https://eu-west-1.console.aws.amazon.com/vpcconsole/home?region=eu-west-1#NetworkAclDetails:networkAclId=${ACL}`,
      },
    });
    expect(metricValues(deps.addMetric, METRICS.remediations)).toEqual([1]);
  });

  it("only notifies about a replaced entry: a delete would remove the entry it replaced too", async () => {
    const result = await networkAclChange(replaceSsh(), testDeps({ fn: "network-acl-change" }));
    expect(result).toMatchObject({ status: "decided", result: "notify-only", published: true });
    expect(ec2).not.toHaveReceivedCommand(DeleteNetworkAclEntryCommand);
    expect(message().findings[0]).toMatchObject({ rule: "nacl-admin-ports", mode: "notify" });
  });

  it("says what the replaced entry was, from the last sweep", async () => {
    const before = {
      kind: "network-acl-entry",
      resourceId: ACL,
      ruleNumber: 100,
      ruleAction: "allow",
      text: "ingress rule #100 allow tcp 443 from 0.0.0.0/0",
    };
    ddb.on(GetCommand).resolves({
      Item: {
        resourceType: "network-acl",
        resourceId: ACL,
        fingerprint: "f",
        seenAt: "t",
        rules: { "ingress#100": before },
      },
    });
    await networkAclChange(replaceSsh(), testDeps({ fn: "network-acl-change" }));
    expect(message().findings[0].previous).toEqual(before);
  });

  it("says unknown when the sweep never saw the entry, or its state cannot be read", async () => {
    ddb.on(GetCommand).rejects(awsError("ResourceNotFoundException"));
    await networkAclChange(replaceSsh(), testDeps({ fn: "network-acl-change" }));
    expect(message().findings[0].previous).toBe("unknown");
  });

  it("reads no previous state for a created entry", async () => {
    const event = loadFixture("CreateNetworkAclEntry", "detail_panther_tcp-6_portRange_ingress");
    event.requestParameters.portRange = { from: 22, to: 22 };
    const result = await networkAclChange(event, testDeps({ fn: "network-acl-change" }));
    expect(result.result).toBe("revoked");
    expect(ddb).not.toHaveReceivedCommand(GetCommand);
    expect(message().findings[0].previous).toBeUndefined();
  });

  it("treats a missing entry as already gone", async () => {
    ec2
      .on(DeleteNetworkAclEntryCommand)
      .rejects(awsError("InvalidNetworkAclEntry.NotFound", "no ingress entry with number 100"));
    const result = await networkAclChange(createSsh(), testDeps({ fn: "network-acl-change" }));
    expect(result.result).toBe("already-gone");
  });

  it("alerts critical and throws when the delete is refused", async () => {
    ec2.on(DeleteNetworkAclEntryCommand).rejects(awsError("UnauthorizedOperation"));
    const deps = testDeps({ fn: "network-acl-change" });
    const handler = createNetworkAclChangeHandler(deps);
    await expect(handler(createSsh(), lambdaContext)).rejects.toBeInstanceOf(
      RemediationFailedError,
    );
    expect(message()).toMatchObject({ result: "failed", severity: "critical" });
    expect(metricValues(deps.addMetric, METRICS.remediationFailures)).toEqual([1]);
  });

  it("only notifies for a broad entry the policy downgrades to notify", async () => {
    const event = loadFixture(
      "CreateNetworkAclEntry",
      "detail_panther_all-protocols-minus1_egress",
    );
    event.requestParameters.egress = false;
    const result = await networkAclChange(event, testDeps({ fn: "network-acl-change" }));
    expect(result).toMatchObject({ status: "decided", result: "notify-only", published: true });
    expect(ec2).not.toHaveReceivedCommand(DeleteNetworkAclEntryCommand);
    expect(message().findings[0]).toMatchObject({
      rule: "nacl-admin-ports",
      mode: "notify",
      result: "notify-only",
    });
  });

  it("does nothing for an egress all-traffic entry (AWS's default shape)", async () => {
    const event = loadFixture(
      "CreateNetworkAclEntry",
      "detail_panther_all-protocols-minus1_egress",
    );
    expect(await networkAclChange(event, testDeps({ fn: "network-acl-change" }))).toMatchObject({
      status: "compliant",
    });
    expect(ec2.calls()).toHaveLength(0);
  });
});
