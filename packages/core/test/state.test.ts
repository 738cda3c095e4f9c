import { describe, expect, it } from "vitest";
import { loadFixture } from "../../../test/fixtures/load";
import { SSH_FROM_WORLD_NACL_ENTRY } from "../../../test/fixtures/network-acl-entries";
import { summariseChange } from "../../../test/fixtures/summarise";
import { normalise } from "../src/cloudtrail/normalise";
import { InvalidInputError } from "../src/errors";
import type { RuleChange } from "../src/model";
import {
  fromNetworkAclEntry,
  fromSecurityGroupRule,
  type NetworkAclEntryState,
  type SecurityGroupRuleState,
  type StateConversion,
} from "../src/state";

const SG = "sg-0a1b2c3d4e5f60001";
const ACL = "acl-0a1b2c3d4e5f60001";

function ok<T extends RuleChange>(result: StateConversion<T>): T {
  if (result.status !== "ok") throw new Error(`expected ok, got ${JSON.stringify(result)}`);
  return result.change;
}

function invalidPath<T>(result: StateConversion<T>): string {
  if (result.status !== "invalid") throw new Error(`expected invalid, got ${result.status}`);
  expect(result.error).toBeInstanceOf(InvalidInputError);
  return result.error.path;
}

/** What DescribeSecurityGroupRules returns for a rule (SDK field names). */
function described(overrides: Partial<Record<keyof SecurityGroupRuleState, unknown>> = {}) {
  return {
    SecurityGroupRuleId: "sgr-0a00000000same01",
    GroupId: SG,
    GroupOwnerId: "123456789012",
    IsEgress: false,
    IpProtocol: "tcp",
    FromPort: 22,
    ToPort: 22,
    CidrIpv4: "0.0.0.0/0",
    Tags: [],
    SecurityGroupRuleArn:
      "arn:aws:ec2:eu-west-1:123456789012:security-group-rule/sgr-0a00000000same01",
    ...overrides,
  } as SecurityGroupRuleState;
}

describe("fromSecurityGroupRule", () => {
  it("reads a described rule as the same change the event produced (direction known)", () => {
    const fromState = ok(fromSecurityGroupRule(described()));
    const event = normalise(
      loadFixture("AuthorizeSecurityGroupIngress", "items-form_tcp-22_same-rule-as-legacy-flat"),
    );
    expect(event.status).toBe("handled");
    if (event.status === "handled") expect(fromState).toEqual(event.changes[0]);
  });

  it("reads egress rules as egress", () => {
    expect(ok(fromSecurityGroupRule(described({ IsEgress: true }))).direction).toBe("egress");
  });

  it("reads protocol -1 with ports -1/-1 as all ports", () => {
    const change = ok(
      fromSecurityGroupRule(described({ IpProtocol: "-1", FromPort: -1, ToPort: -1 })),
    );
    expect(change).toMatchObject({ protocol: "all", ports: null, icmp: null });
  });

  it("reads ICMP FromPort/ToPort as type and code", () => {
    const change = ok(
      fromSecurityGroupRule(described({ IpProtocol: "icmp", FromPort: 8, ToPort: -1 })),
    );
    expect(change).toMatchObject({ protocol: "icmp", ports: null, icmp: { type: 8, code: -1 } });
  });

  it("reads IPv6, prefix-list and referenced-group peers", () => {
    expect(
      summariseChange(
        ok(fromSecurityGroupRule(described({ CidrIpv4: undefined, CidrIpv6: "2001:DB8::/32" }))),
      ),
    ).toBe(`ingress ${SG} tcp 22-22 cidr:2001:db8::/32 sgr-0a00000000same01`);
    expect(
      summariseChange(
        ok(
          fromSecurityGroupRule(
            described({ CidrIpv4: undefined, PrefixListId: "pl-0123456789abcdef0" }),
          ),
        ),
      ),
    ).toBe(`ingress ${SG} tcp 22-22 pl:pl-0123456789abcdef0 sgr-0a00000000same01`);
    const ref = ok(
      fromSecurityGroupRule(
        described({
          CidrIpv4: undefined,
          ReferencedGroupInfo: { GroupId: "sg-0fedcba9876540001", UserId: "210987654321" },
        }),
      ),
    );
    expect(ref.peer).toEqual({
      kind: "security-group",
      groupId: "sg-0fedcba9876540001",
      ownerId: "210987654321",
    });
  });

  it("keeps the description", () => {
    expect(ok(fromSecurityGroupRule(described({ Description: "bastion" }))).description).toBe(
      "bastion",
    );
  });

  it.each([
    ["no IsEgress", { IsEgress: undefined }, "SecurityGroupRule.IsEgress"],
    ["no GroupId", { GroupId: undefined }, "SecurityGroupRule.GroupId"],
    ["no rule id", { SecurityGroupRuleId: undefined }, "SecurityGroupRule.SecurityGroupRuleId"],
    ["a bad CIDR", { CidrIpv4: "10.1/16" }, "SecurityGroupRule.CidrIpv4"],
    ["a bad protocol", { IpProtocol: "sctp" }, "SecurityGroupRule.IpProtocol"],
    ["tcp without ports", { FromPort: undefined }, "SecurityGroupRule.FromPort"],
    ["no peer", { CidrIpv4: undefined }, "SecurityGroupRule"],
    ["two peers", { CidrIpv6: "::/0" }, "SecurityGroupRule"],
    [
      "a referenced group without a group id",
      { CidrIpv4: undefined, ReferencedGroupInfo: { UserId: "1" } },
      "SecurityGroupRule.ReferencedGroupInfo",
    ],
    [
      "a referenced group that is not an object",
      { CidrIpv4: undefined, ReferencedGroupInfo: "sg-1" },
      "SecurityGroupRule.ReferencedGroupInfo",
    ],
  ])("returns a typed error for %s, naming %s", (_name, overrides, path) => {
    expect(invalidPath(fromSecurityGroupRule(described(overrides)))).toBe(path);
  });

  it("uses the path it is given", () => {
    expect(
      invalidPath(fromSecurityGroupRule(described({ GroupId: 7 }), "SecurityGroupRules[3]")),
    ).toBe("SecurityGroupRules[3].GroupId");
  });

  it.each([null, undefined, "sgr-1", 42, []])(
    "returns a typed error for %j instead of a rule",
    (input) => {
      expect(invalidPath(fromSecurityGroupRule(input as unknown as SecurityGroupRuleState))).toBe(
        "SecurityGroupRule",
      );
    },
  );

  it("turns an unexpected exception into a typed error", () => {
    const hostile = described();
    Object.defineProperty(hostile, "GroupId", {
      get() {
        throw new TypeError("boom");
      },
    });
    const result = fromSecurityGroupRule(hostile);
    expect(result.status).toBe("invalid");
    if (result.status === "invalid") expect(result.error.cause).toBeInstanceOf(TypeError);
  });
});

/** What DescribeNetworkAcls returns for an entry (SDK field names). */
function entry(overrides: Partial<Record<keyof NetworkAclEntryState, unknown>> = {}) {
  return { ...SSH_FROM_WORLD_NACL_ENTRY, ...overrides } as NetworkAclEntryState;
}

describe("fromNetworkAclEntry", () => {
  it("reads a described entry with operation state", () => {
    expect(summariseChange(ok(fromNetworkAclEntry(ACL, entry())))).toBe(
      `nacl ${ACL} #100 ingress allow tcp 22-22 0.0.0.0/0 state`,
    );
  });

  it("matches the event's reading of the same entry, but for the operation", () => {
    const event = normalise(
      loadFixture("ReplaceNetworkAclEntry", "tcp-6_ssh-from-world_replaces-rule-100"),
    );
    expect(event.status).toBe("handled");
    if (event.status === "handled") {
      expect(ok(fromNetworkAclEntry(ACL, entry()))).toEqual({
        ...event.changes[0],
        operation: "state",
      });
    }
  });

  it("reads the default NACL's allow-all rule 100 (it is a real entry)", () => {
    const change = ok(fromNetworkAclEntry(ACL, entry({ Protocol: "-1", PortRange: undefined })));
    expect(change).toMatchObject({ protocol: "all", ports: null, ruleAction: "allow" });
  });

  it("reads IPv6 ICMPv6 entries with their type and code", () => {
    const change = ok(
      fromNetworkAclEntry(
        ACL,
        entry({
          Protocol: "58",
          CidrBlock: undefined,
          Ipv6CidrBlock: "::/0",
          PortRange: undefined,
          IcmpTypeCode: { Type: -1, Code: -1 },
        }),
      ),
    );
    expect(change).toMatchObject({
      protocol: "icmpv6",
      icmp: { type: -1, code: -1 },
      cidr: { family: 6 },
    });
  });

  it("reads ICMP without IcmpTypeCode as any type and code", () => {
    expect(
      ok(fromNetworkAclEntry(ACL, entry({ Protocol: "1", PortRange: undefined }))).icmp,
    ).toEqual({
      type: -1,
      code: -1,
    });
  });

  it.each([32767, 32768])(
    "skips the default deny-all entry %d (*): it can neither allow nor be removed",
    (ruleNumber) => {
      const result = fromNetworkAclEntry(
        ACL,
        entry({ RuleNumber: ruleNumber, Protocol: "-1", RuleAction: "deny", PortRange: undefined }),
      );
      expect(result.status).toBe("skipped");
      if (result.status === "skipped") expect(result.reason).toMatch(/default deny-all/);
    },
  );

  it.each([
    ["rule number 0", { RuleNumber: 0 }, "RuleNumber"],
    ["rule number 40000", { RuleNumber: 40000 }, "RuleNumber"],
    ["no protocol", { Protocol: undefined }, "Protocol"],
    ["a bad action", { RuleAction: "block" }, "RuleAction"],
    ["no Egress", { Egress: undefined }, "Egress"],
    ["tcp without PortRange", { PortRange: undefined }, "PortRange.From"],
    ["a PortRange that is not an object", { PortRange: "22" }, "PortRange"],
    ["an IcmpTypeCode that is not an object", { Protocol: "1", IcmpTypeCode: 8 }, "IcmpTypeCode"],
    ["a bad CIDR", { CidrBlock: "010.0.0.0/8" }, "CidrBlock"],
  ])("returns a typed error for %s", (_name, overrides, field) => {
    expect(invalidPath(fromNetworkAclEntry(ACL, entry(overrides)))).toBe(
      `NetworkAcl(${ACL}).Entries.${field}`,
    );
  });

  it("returns a typed error for an entry with no CIDR or two", () => {
    expect(invalidPath(fromNetworkAclEntry(ACL, entry({ CidrBlock: undefined })))).toBe(
      `NetworkAcl(${ACL}).Entries`,
    );
    expect(invalidPath(fromNetworkAclEntry(ACL, entry({ Ipv6CidrBlock: "::/0" })))).toBe(
      `NetworkAcl(${ACL}).Entries`,
    );
  });

  it("returns a typed error for a missing ACL id or a non-object entry", () => {
    expect(invalidPath(fromNetworkAclEntry("", entry()))).toBe("networkAclId");
    expect(
      invalidPath(fromNetworkAclEntry(ACL, null as unknown as NetworkAclEntryState, "Entries[0]")),
    ).toBe("Entries[0]");
  });
});
