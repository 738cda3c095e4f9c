import "./setup";
import {
  CreateNetworkAclEntryCommand,
  DeleteNetworkAclEntryCommand,
  DescribeNetworkAclsCommand,
  type NetworkAclEntry,
} from "@aws-sdk/client-ec2";
import { PublishCommand } from "@aws-sdk/client-sns";
import { GetCommand, PutCommand } from "@aws-sdk/lib-dynamodb";
import { METRICS } from "@guardrail/core";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { loadFixture } from "../../test/fixtures/load";
import { RemediationFailedError } from "../src/errors";
import {
  createNetworkAclChangeHandler,
  MAX_ACL_READS,
  networkAclChange,
  UNREADABLE_ACL_RULE,
} from "../src/pipelines/network-acl-change";
import { awsError, lambdaContext, metricValues, policyWith, testDeps } from "./helpers";
import { ddb, ec2, resetAwsMocks, sns } from "./support/aws-mocks";

const ACL = "acl-0a1b2c3d4e5f60001";

/** The default policy without trusted, office or blocked networks: every public packet counts. */
const NO_NETWORKS = policyWith((y) => y.replace(/\nnetworks:\n(?: {2,}.*\n)+/, "\nnetworks: {}\n"));
const plain = () => testDeps({ fn: "network-acl-change", policyYaml: NO_NETWORKS });
const replaceSsh = () =>
  loadFixture("ReplaceNetworkAclEntry", "tcp-6_ssh-from-world_replaces-rule-100");
/** The same entry, as CreateNetworkAclEntry makes it. */
function createSsh() {
  const event = replaceSsh();
  event.detail.eventName = "CreateNetworkAclEntry";
  return event;
}

/**
 * The ACLs EC2 holds, by id: DescribeNetworkAcls answers them, DeleteNetworkAclEntry removes
 * from them (NotFound when the entry is not there), as EC2 does.
 */
const acls = new Map<string, NetworkAclEntry[]>();

const DEFAULT_ENTRIES: NetworkAclEntry[] = [
  { RuleNumber: 32767, Protocol: "-1", RuleAction: "deny", Egress: false, CidrBlock: "0.0.0.0/0" },
  { RuleNumber: 32767, Protocol: "-1", RuleAction: "deny", Egress: true, CidrBlock: "0.0.0.0/0" },
];

/** The entry an event's request describes, as DescribeNetworkAcls lists it. */
function entryOf(event: { detail?: unknown; requestParameters?: unknown }): NetworkAclEntry {
  const detail = (event.detail ?? event) as { requestParameters: Record<string, unknown> };
  const r = detail.requestParameters as {
    ruleNumber: number;
    egress: boolean;
    ruleAction: string;
    aclProtocol: string;
    cidrBlock: string;
    portRange?: { from?: number; to?: number };
  };
  return {
    RuleNumber: r.ruleNumber,
    Egress: r.egress,
    RuleAction: r.ruleAction as NetworkAclEntry["RuleAction"],
    Protocol: r.aclProtocol,
    CidrBlock: r.cidrBlock,
    ...(r.portRange?.from !== undefined
      ? { PortRange: { From: r.portRange.from, To: r.portRange.to } }
      : {}),
  };
}

/** The ACL holds exactly these entries (and the `*` ones). */
function holds(id: string, ...entries: NetworkAclEntry[]) {
  acls.set(id, [...entries, ...DEFAULT_ENTRIES]);
}

function aclOfEvent(event: { detail?: unknown; requestParameters?: unknown }): string {
  const detail = (event.detail ?? event) as { requestParameters: { networkAclId: string } };
  return detail.requestParameters.networkAclId;
}

/** The ACL as AWS has it right after the event. */
function after(event: { detail?: unknown; requestParameters?: unknown }) {
  holds(aclOfEvent(event), entryOf(event));
  return event;
}

function message() {
  const call = sns.commandCalls(PublishCommand)[0];
  return JSON.parse(call?.args[0].input.Message ?? "null");
}

beforeEach(() => {
  resetAwsMocks();
  acls.clear();
  ec2.on(DescribeNetworkAclsCommand).callsFake((input) => {
    const id = input.Filters?.[0]?.Values?.[0] as string;
    const entries = acls.get(id);
    return { NetworkAcls: entries ? [{ NetworkAclId: id, Entries: entries }] : [] };
  });
  ec2.on(CreateNetworkAclEntryCommand).callsFake((input) => {
    const entries = acls.get(input.NetworkAclId) ?? [];
    if (entries.some((e) => e.RuleNumber === input.RuleNumber && e.Egress === input.Egress)) {
      throw awsError("NetworkAclEntryAlreadyExists", "taken");
    }
    entries.push({
      RuleNumber: input.RuleNumber,
      Egress: input.Egress,
      RuleAction: input.RuleAction,
      Protocol: input.Protocol,
      ...(input.CidrBlock ? { CidrBlock: input.CidrBlock } : {}),
      ...(input.Ipv6CidrBlock ? { Ipv6CidrBlock: input.Ipv6CidrBlock } : {}),
      ...(input.PortRange ? { PortRange: input.PortRange } : {}),
    });
    return {};
  });
  ec2.on(DeleteNetworkAclEntryCommand).callsFake((input) => {
    const entries = acls.get(input.NetworkAclId) ?? [];
    const at = entries.findIndex(
      (e) => e.RuleNumber === input.RuleNumber && e.Egress === input.Egress,
    );
    if (at < 0) throw awsError("InvalidNetworkAclEntry.NotFound", "no such entry");
    entries.splice(at, 1);
    return {};
  });
  sns.on(PublishCommand).resolves({ MessageId: "m" });
  ddb.on(PutCommand).resolves({});
  ddb.on(GetCommand).resolves({});
});

afterEach(resetAwsMocks);

describe("network-acl-change", () => {
  it("reads the ACL once, then inserts entries that deny SSH from anywhere but the trusted and office ranges", async () => {
    const deps = testDeps({ fn: "network-acl-change" });
    const result = await networkAclChange(after(createSsh()), deps);
    expect(result).toMatchObject({ status: "decided", result: "revoked", published: true });
    expect(ec2.calls().map((c) => c.args[0].constructor.name)).toEqual([
      "DescribeNetworkAclsCommand",
      ...Array(6).fill("CreateNetworkAclEntryCommand"),
    ]);
    expect(ec2).not.toHaveReceivedCommand(DeleteNetworkAclEntryCommand);
    // Allows for the VPC and office ranges first, then the one deny, directly before entry 100.
    const made = (acls.get(ACL) ?? []).filter((e) => (e.RuleNumber as number) < 100);
    expect(made.map((e) => [e.RuleNumber, e.RuleAction, e.CidrBlock])).toEqual([
      [94, "allow", "10.0.0.0/8"],
      [95, "allow", "172.16.0.0/12"],
      [96, "allow", "192.168.0.0/16"],
      [97, "allow", "100.64.0.0/10"],
      [98, "allow", "203.0.113.0/24"],
      [99, "deny", "0.0.0.0/0"],
    ]);
    expect(message()).toMatchObject({
      resource: { type: "network-acl", id: ACL },
      result: "revoked",
      links: {
        resource: `https://eu-west-1.console.aws.amazon.com/vpcconsole/home?region=eu-west-1#NetworkAclDetails:networkAclId=${ACL}`,
      },
    });
    expect(message().findings[0].action.inserted).toHaveLength(6);
    expect(message().findings[0].action.check).toContain("every other packet keeps its verdict");
    expect(metricValues(deps.addMetric, METRICS.remediations)).toEqual([1]);
  });

  it("deletes an entry whose every packet is forbidden (no trusted or office range)", async () => {
    const result = await networkAclChange(after(createSsh()), plain());
    expect(result).toMatchObject({ status: "decided", result: "revoked" });
    expect(ec2).toHaveReceivedCommandExactlyOnceWith(DeleteNetworkAclEntryCommand, {
      NetworkAclId: ACL,
      RuleNumber: 100,
      Egress: false,
    });
    expect(ec2).not.toHaveReceivedCommand(CreateNetworkAclEntryCommand);
  });

  it("remediates a replaced entry as every path does: inserts before it, the same plan as the sweep's", async () => {
    const result = await networkAclChange(
      after(replaceSsh()),
      testDeps({ fn: "network-acl-change" }),
    );
    expect(result).toMatchObject({ status: "decided", result: "revoked", published: true });
    expect(ec2).not.toHaveReceivedCommand(DeleteNetworkAclEntryCommand);
    expect(ec2).toHaveReceivedCommandTimes(CreateNetworkAclEntryCommand, 6);
    expect(message().findings[0]).toMatchObject({ rule: "nacl-admin-ports", mode: "enforce" });
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
    await networkAclChange(after(replaceSsh()), testDeps({ fn: "network-acl-change" }));
    expect(message().findings[0].previous).toEqual(before);
  });

  it("says unknown when the sweep never saw the entry, or its state cannot be read", async () => {
    ddb.on(GetCommand).rejects(awsError("ResourceNotFoundException"));
    await networkAclChange(after(replaceSsh()), testDeps({ fn: "network-acl-change" }));
    expect(message().findings[0].previous).toBe("unknown");
  });

  it("reads no previous state for a created entry", async () => {
    const event = loadFixture("CreateNetworkAclEntry", "detail_panther_tcp-6_portRange_ingress");
    event.requestParameters.portRange = { from: 22, to: 22 };
    const result = await networkAclChange(after(event), testDeps({ fn: "network-acl-change" }));
    expect(result.result).toBe("revoked");
    expect(ddb).not.toHaveReceivedCommand(GetCommand);
    expect(message().findings[0].previous).toBeUndefined();
  });

  it("reads the ACL again when the entry went between the read and the delete", async () => {
    const event = after(createSsh());
    ec2.on(DeleteNetworkAclEntryCommand).callsFakeOnce(() => {
      acls.get(ACL)?.splice(0, 1);
      throw awsError("InvalidNetworkAclEntry.NotFound", "no ingress entry with number 100");
    });
    const result = await networkAclChange(event, plain());
    expect(result).toMatchObject({
      status: "compliant",
      reason: `entry 100 is no longer in ${ACL}`,
    });
    expect(ec2).toHaveReceivedCommandTimes(DescribeNetworkAclsCommand, 2);
    expect(sns).not.toHaveReceivedCommand(PublishCommand);
  });

  it("records already gone when EC2 keeps listing an entry it cannot find", async () => {
    ec2
      .on(DeleteNetworkAclEntryCommand)
      .rejects(awsError("InvalidNetworkAclEntry.NotFound", "no ingress entry with number 100"));
    const result = await networkAclChange(after(createSsh()), plain());
    expect(result.result).toBe("already-gone");
    expect(ec2).toHaveReceivedCommandTimes(DescribeNetworkAclsCommand, MAX_ACL_READS);
    expect(ec2).toHaveReceivedCommandTimes(DeleteNetworkAclEntryCommand, MAX_ACL_READS);
  });

  it("alerts critical and throws when the delete is refused", async () => {
    ec2.on(DeleteNetworkAclEntryCommand).rejects(awsError("UnauthorizedOperation"));
    const deps = plain();
    const handler = createNetworkAclChangeHandler(deps);
    await expect(handler(after(createSsh()), lambdaContext)).rejects.toBeInstanceOf(
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
    const result = await networkAclChange(after(event), testDeps({ fn: "network-acl-change" }));
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
    expect(
      await networkAclChange(after(event), testDeps({ fn: "network-acl-change" })),
    ).toMatchObject({ status: "compliant" });
    expect(ec2).not.toHaveReceivedCommand(DeleteNetworkAclEntryCommand);
  });
});

describe("network-acl-change judges the ACL as it is now", () => {
  const deny22 = (n: number): NetworkAclEntry => ({
    RuleNumber: n,
    Egress: false,
    RuleAction: "deny",
    Protocol: "6",
    CidrBlock: "0.0.0.0/0",
    PortRange: { From: 22, To: 22 },
  });
  const deleteDeny = () => {
    const event = loadFixture("DeleteNetworkAclEntry", "detail_iamuser-cli_elastic");
    event.requestParameters = { egress: false, networkAclId: ACL, ruleNumber: 90 };
    return event;
  };

  it("takes no action on an allow a lower-numbered deny shadows", async () => {
    const event = createSsh();
    holds(ACL, deny22(90), entryOf(event));
    const result = await networkAclChange(event, testDeps({ fn: "network-acl-change" }));
    expect(result).toMatchObject({ status: "compliant" });
    expect(ec2).not.toHaveReceivedCommand(DeleteNetworkAclEntryCommand);
  });

  it("leaves a compliant entry made since a late event in place", async () => {
    const event = createSsh();
    holds(ACL, { ...entryOf(event), PortRange: { From: 443, To: 443 } });
    const result = await networkAclChange(event, testDeps({ fn: "network-acl-change" }));
    expect(result).toMatchObject({ status: "compliant" });
    expect(ec2).not.toHaveReceivedCommand(DeleteNetworkAclEntryCommand);
    expect(acls.get(ACL)?.[0]?.PortRange).toEqual({ From: 443, To: 443 });
  });

  it("does nothing when the entry or the ACL is gone", async () => {
    holds(ACL);
    expect(
      await networkAclChange(createSsh(), testDeps({ fn: "network-acl-change" })),
    ).toMatchObject({ status: "compliant", reason: `entry 100 is no longer in ${ACL}` });
    acls.clear();
    expect(
      await networkAclChange(createSsh(), testDeps({ fn: "network-acl-change" })),
    ).toMatchObject({ status: "compliant", reason: `${ACL} no longer exists` });
  });

  it("DeleteNetworkAclEntry: acts on the allow a deleted deny exposed", async () => {
    holds(ACL, entryOf(createSsh()));
    const result = await networkAclChange(deleteDeny(), plain());
    expect(result).toMatchObject({ status: "decided", result: "revoked" });
    expect(ec2).toHaveReceivedCommandWith(DeleteNetworkAclEntryCommand, {
      NetworkAclId: ACL,
      RuleNumber: 100,
      Egress: false,
    });
    expect(message().findings[0]).toMatchObject({ rule: "nacl-admin-ports" });
  });

  it("DeleteNetworkAclEntry: nothing when what is left is compliant", async () => {
    holds(ACL, deny22(80), entryOf(createSsh()));
    const result = await networkAclChange(deleteDeny(), testDeps({ fn: "network-acl-change" }));
    expect(result).toMatchObject({ status: "compliant" });
  });

  it("ReplaceNetworkAclAssociation: judges the ACL the subnet now uses", async () => {
    const event = loadFixture("ReplaceNetworkAclAssociation", "subnet-moved_cli");
    const open = "acl-0b2c3d4e5f6a70002";
    holds(open, entryOf(createSsh()));
    const result = await networkAclChange(event, testDeps({ fn: "network-acl-change" }));
    expect(result).toMatchObject({ status: "decided" });
    expect(ec2).toHaveReceivedCommandWith(DescribeNetworkAclsCommand, {
      Filters: [{ Name: "network-acl-id", Values: [open] }],
    });
    expect(message()).toMatchObject({ resource: { type: "network-acl", id: open } });
  });
});

describe("network-acl-change plans with the one NACL planner on the ACL as read", () => {
  const tcp = (n: number, from: number, to: number, cidr = "0.0.0.0/0"): NetworkAclEntry => ({
    RuleNumber: n,
    Egress: false,
    RuleAction: "allow",
    Protocol: "6",
    CidrBlock: cidr,
    PortRange: { From: from, To: to },
  });
  const all = (n: number, cidr = "0.0.0.0/0"): NetworkAclEntry => ({
    RuleNumber: n,
    Egress: false,
    RuleAction: "allow",
    Protocol: "-1",
    CidrBlock: cidr,
  });
  /** Someone deleted deny 90 of ACL's ingress. */
  const deleted90 = () => {
    const event = loadFixture("DeleteNetworkAclEntry", "detail_iamuser-cli_elastic");
    event.requestParameters = { egress: false, networkAclId: ACL, ruleNumber: 90 };
    return event;
  };
  const numbers = () => acls.get(ACL)?.map((e) => e.RuleNumber);
  const findings = () =>
    (message()?.findings ?? []) as { rule: string; mode: string; result: string; reason: string }[];

  it("denies tcp 22 before the first allow when a later allow would take its packets", async () => {
    holds(ACL, tcp(100, 22, 22), tcp(110, 22, 22, "128.0.0.0/1"));
    const result = await networkAclChange(deleted90(), plain());
    expect(result).toMatchObject({ status: "decided", result: "revoked", actions: 1 });
    expect(ec2).not.toHaveReceivedCommand(DeleteNetworkAclEntryCommand);
    expect(numbers()).toEqual([100, 110, 32767, 32767, 99]);
    expect(acls.get(ACL)?.at(-1)).toMatchObject({ RuleAction: "deny", PortRange: { From: 22 } });
  });

  it("never touches a later allow that also lets compliant traffic in", async () => {
    // With 100 deleted, 110 (tcp 0-1023) would let tcp 22 in: a deny before 100 instead.
    holds(ACL, tcp(100, 22, 22), tcp(110, 0, 1023));
    const result = await networkAclChange(deleted90(), plain());
    expect(result).toMatchObject({ status: "decided", result: "revoked", actions: 1 });
    expect(numbers()).toEqual([100, 110, 32767, 32767, 99]);
    expect(findings()[0]?.reason).toContain("1 entry inserted before it deny exactly tcp 22");
  });

  it("closes an allow that a later notify-only allow would re-open, and notifies about that one", async () => {
    // 100 allow all is broad, so only notified; 50's tcp 22 is denied in front of it.
    holds(ACL, tcp(50, 22, 22), all(100));
    const result = await networkAclChange(deleted90(), plain());
    expect(result).toMatchObject({ status: "decided", result: "revoked", actions: 1 });
    expect(numbers()).toEqual([50, 100, 32767, 32767, 49]);
    expect(
      findings().some((f) => f.result === "notify-only" && f.reason.includes("entry 100 allows")),
    ).toBe(true);
  });

  it("plans every entry of the list on the ACL as read, sharing its free rule numbers", async () => {
    holds(ACL, tcp(100, 22, 22, "0.0.0.0/1"), tcp(110, 22, 22), all(120, "128.0.0.0/1"));
    const result = await networkAclChange(deleted90(), plain());
    expect(result).toMatchObject({ status: "decided", result: "revoked", actions: 2 });
    expect(numbers()).toEqual([100, 110, 120, 32767, 32767, 99, 109]);
  });

  it("after a re-read, keeps the writes already made and records every one", async () => {
    // 120 is removed by someone else between the read and the write.
    holds(ACL, tcp(100, 22, 22), tcp(120, 3389, 3389));
    const made: number[] = [];
    ec2.on(DeleteNetworkAclEntryCommand).callsFake((input) => {
      const entries = acls.get(ACL) ?? [];
      const at = entries.findIndex((e) => e.RuleNumber === input.RuleNumber);
      if (input.RuleNumber === 120) entries.splice(at, 1);
      if (input.RuleNumber === 120 || at < 0) {
        throw awsError("InvalidNetworkAclEntry.NotFound", "no such entry");
      }
      entries.splice(at, 1);
      made.push(input.RuleNumber as number);
      return {};
    });
    const result = await networkAclChange(deleted90(), plain());
    expect(made).toEqual([100]);
    expect(numbers()).toEqual([32767, 32767]);
    expect(result).toMatchObject({ status: "decided", result: "revoked" });
    const revoked = findings().filter((f) => f.result === "revoked");
    expect(revoked.map((f) => f.reason.match(/entry (\d+)/)?.[1])).toEqual(["100"]);
    expect(ec2).toHaveReceivedCommandTimes(DescribeNetworkAclsCommand, 2);
  });

  it("judges nothing and notifies when an entry of the ACL cannot be read", async () => {
    holds(
      ACL,
      // A deny without its port range: unreadable, and it may shadow the allow behind it.
      { RuleNumber: 80, Egress: false, RuleAction: "deny", Protocol: "6", CidrBlock: "0.0.0.0/0" },
      tcp(100, 22, 22),
    );
    const result = await networkAclChange(deleted90(), testDeps({ fn: "network-acl-change" }));
    expect(result).toMatchObject({ status: "decided", result: "notify-only" });
    expect(ec2).not.toHaveReceivedCommand(DeleteNetworkAclEntryCommand);
    expect(findings()).toEqual([
      expect.objectContaining({ rule: UNREADABLE_ACL_RULE, mode: "notify" }),
    ]);
    expect(findings()[0]?.reason).toContain("could not be read whole (entry 80:");
  });
});
