import {
  AuthorizeSecurityGroupIngressCommand,
  CreateManagedPrefixListCommand,
  CreateNetworkAclCommand,
  CreateNetworkAclEntryCommand,
  CreateSecurityGroupCommand,
  EC2Client,
  ModifyManagedPrefixListCommand,
} from "@aws-sdk/client-ec2";
import { EVENT_DRIVEN_FUNCTIONS, eventPatternFor, normalise } from "@guardrail/core";
import type { FlowResult } from "@guardrail/functions";
import type { EventBridgeEvent } from "@guardrail/sandbox";
import { type LocalStack, type RoutedEvent, startLocalStack } from "@guardrail/sandbox/local";
import { afterAll, beforeAll, beforeEach, describe, expect, it } from "vitest";

let stack: LocalStack;
let ec2: EC2Client;
const routed: RoutedEvent[] = [];

beforeAll(async () => {
  stack = await startLocalStack();
  ec2 = stack.developerEc2();
  stack.router.onRouted((r) => routed.push(r));
});

afterAll(async () => {
  await stack.close();
});

beforeEach(() => {
  stack.sandbox.faults.clear();
});

const detail = (e: EventBridgeEvent) => e.detail as unknown as Record<string, unknown>;

/** What the router did with the event of the call that answered `requestId`. */
async function routedFor(requestId: string | undefined): Promise<RoutedEvent> {
  await stack.idle();
  const found = routed.find((r) => detail(r.event).requestID === requestId);
  if (!found) throw new Error(`no event was routed for request ${requestId}`);
  return found;
}

async function newGroup(name: string): Promise<string> {
  const out = await ec2.send(
    new CreateSecurityGroupCommand({ GroupName: name, Description: name }),
  );
  return out.GroupId ?? "";
}

const ssh = (groupId: string) =>
  new AuthorizeSecurityGroupIngressCommand({
    GroupId: groupId,
    IpPermissions: [
      { IpProtocol: "tcp", FromPort: 22, ToPort: 22, IpRanges: [{ CidrIp: "0.0.0.0/0" }] },
    ],
  });

describe("the local EventBridge router", () => {
  it("routes with exactly the patterns the infra deploys, the guardrail's roles excluded", () => {
    expect(stack.router.rules).toEqual(
      EVENT_DRIVEN_FUNCTIONS.map((fn) => ({ fn, pattern: eventPatternFor(fn, stack.ownRoleArns) })),
    );
    for (const identity of Object.values(stack.functions)) {
      expect(stack.ownRoleArns).toContain(identity.roleArn);
    }
  });

  it("delivers a developer's ingress rule to security-group-change alone, which revokes it", async () => {
    const groupId = await newGroup("routing-ssh");
    const out = await ec2.send(ssh(groupId));
    const r = await routedFor(out.$metadata.requestId);
    expect(r.targets).toEqual(["security-group-change"]);
    expect(r.invocations).toHaveLength(1);
    expect(r.invocations[0]?.result).toMatchObject({ status: "decided", result: "revoked" });
    expect(stack.sandbox.securityGroupRules(groupId)?.some((x) => x.fromPort === 22)).toBe(false);
  });

  it("delivers a NACL entry to network-acl-change and a prefix-list change to prefix-list-change", async () => {
    const acl = await ec2.send(
      new CreateNetworkAclCommand({ VpcId: stack.sandbox.defaultVpc().vpcId }),
    );
    const entry = await ec2.send(
      new CreateNetworkAclEntryCommand({
        NetworkAclId: acl.NetworkAcl?.NetworkAclId,
        RuleNumber: 120,
        Protocol: "6",
        PortRange: { From: 443, To: 443 },
        Egress: false,
        CidrBlock: "0.0.0.0/0",
        RuleAction: "allow",
      }),
    );
    expect((await routedFor(entry.$metadata.requestId)).targets).toEqual(["network-acl-change"]);

    const list = await ec2.send(
      new CreateManagedPrefixListCommand({
        PrefixListName: "partners",
        AddressFamily: "IPv4",
        MaxEntries: 5,
        Entries: [{ Cidr: "10.1.0.0/16" }],
      }),
    );
    const modify = await ec2.send(
      new ModifyManagedPrefixListCommand({
        PrefixListId: list.PrefixList?.PrefixListId,
        CurrentVersion: 1,
        AddEntries: [{ Cidr: "10.2.0.0/16" }],
      }),
    );
    const r = await routedFor(modify.$metadata.requestId);
    expect(r.targets).toEqual(["prefix-list-change"]);
    expect(r.invocations[0]?.error).toBeUndefined();
  });

  it("delivers a failed call to no function (errorCode must be absent)", async () => {
    const groupId = await newGroup("routing-failed");
    await ec2.send(
      new AuthorizeSecurityGroupIngressCommand({
        GroupId: groupId,
        IpPermissions: [
          { IpProtocol: "tcp", FromPort: 443, ToPort: 443, IpRanges: [{ CidrIp: "0.0.0.0/0" }] },
        ],
      }),
    );
    const duplicate = await ec2
      .send(
        new AuthorizeSecurityGroupIngressCommand({
          GroupId: groupId,
          IpPermissions: [
            { IpProtocol: "tcp", FromPort: 443, ToPort: 443, IpRanges: [{ CidrIp: "0.0.0.0/0" }] },
          ],
        }),
      )
      .catch((e: { name: string; $metadata: { requestId?: string } }) => e);
    expect(duplicate).toMatchObject({ name: "InvalidPermission.Duplicate" });
    const r = await routedFor(
      (duplicate as { $metadata: { requestId?: string } }).$metadata.requestId,
    );
    expect(detail(r.event).errorCode).toBe("Client.InvalidPermission.Duplicate");
    expect(r.targets).toEqual([]);
    expect(r.unrouted).toBe("failed-call");
    expect(r.invocations).toEqual([]);
  });

  it("delivers nothing the guardrail's own role does, so it never judges its own changes", async () => {
    const groupId = await newGroup("routing-own-role");
    const own = stack.functions["security-group-change"];
    const guardrail = new EC2Client({
      endpoint: stack.endpoints.ec2,
      region: stack.region,
      credentials: { accessKeyId: own.accessKeyId, secretAccessKey: "local" },
      maxAttempts: 1,
    });
    try {
      const out = await guardrail.send(ssh(groupId));
      const r = await routedFor(out.$metadata.requestId);
      const identity = detail(r.event).userIdentity as {
        type: string;
        sessionContext: { sessionIssuer: { arn: string } };
      };
      expect(identity.type).toBe("AssumedRole");
      expect(identity.sessionContext.sessionIssuer.arn).toBe(own.roleArn);
      expect(r.unrouted).toBe("own-role");
      expect(r.invocations).toEqual([]);
      // Not delivered, so not revoked: the pattern, not luck, kept the guardrail away from it.
      expect(stack.sandbox.securityGroupRules(groupId)?.some((x) => x.fromPort === 22)).toBe(true);
    } finally {
      guardrail.destroy();
    }
  });

  it("delivers none of the guardrail's own revokes, which the normaliser would ignore anyway", async () => {
    const groupId = await newGroup("routing-revoke");
    await routedFor((await ec2.send(ssh(groupId))).$metadata.requestId);
    const revoke = routed.find(
      (r) =>
        detail(r.event).eventName === "RevokeSecurityGroupIngress" &&
        JSON.stringify(detail(r.event).requestParameters).includes(groupId),
    );
    expect(revoke?.unrouted).toBe("own-role");
    expect(revoke?.invocations).toEqual([]);
    expect(normalise(revoke?.event).status).toBe("ignored");
  });

  it("retries a function whose revoke failed, as Lambda does, until the rule is gone", async () => {
    const groupId = await newGroup("routing-retry");
    // Every SDK attempt of the first invocation fails; the retried invocation gets through.
    stack.sandbox.faults.set("RevokeSecurityGroupIngress", { errorNext: 4 });
    const r = await routedFor((await ec2.send(ssh(groupId))).$metadata.requestId);
    expect(r.invocations.map((i) => i.attempt)).toEqual([1, 2]);
    expect(r.invocations[0]?.error).toMatchObject({ name: "RemediationFailedError" });
    expect(r.invocations[1]?.result as FlowResult).toMatchObject({
      result: "revoked",
      recorded: "replaced",
    });
    expect(stack.sandbox.securityGroupRules(groupId)?.some((x) => x.fromPort === 22)).toBe(false);
    const item = await stack.dynamo.decision(detail(r.event).eventID as string);
    expect(item?.result).toBe("revoked");
    // The first attempt's failure is recorded, not announced: Lambda retries it, and only the
    // last attempt may send "failed". On-call hears once, that it is resolved.
    const messages = stack.notifications().filter((n) => n.id === detail(r.event).eventID);
    expect(messages.map((n) => (n.message as { result: string }).result)).toEqual(["revoked"]);
  });
});
