import {
  AuthorizeSecurityGroupEgressCommand,
  AuthorizeSecurityGroupIngressCommand,
  CreateNetworkAclEntryCommand,
  CreateSecurityGroupCommand,
  DeleteSecurityGroupCommand,
  DescribeNetworkAclsCommand,
  DescribeSecurityGroupRulesCommand,
  DescribeSecurityGroupsCommand,
  DescribeVpcsCommand,
  type EC2Client,
  type IpPermission,
  RevokeSecurityGroupEgressCommand,
  RevokeSecurityGroupIngressCommand,
} from "@aws-sdk/client-ec2";
import { ConfigurationError } from "@guardrail/core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { Ec2ApiError, Ec2Sandbox } from "../src/index";
import { ec2Client, ec2Error, startSandbox } from "./helpers";
import {
  authorizeIngress,
  modifyPrefixList,
  modifyRules,
  tcpFromWorld,
  tcpPermission,
} from "./requests";

let sandbox: Ec2Sandbox;
let ec2: EC2Client;
let endpoint: string;

beforeAll(async () => {
  ({ sandbox, endpoint } = await startSandbox({ limits: { rulesPerGroup: 4, naclEntries: 3 } }));
  ec2 = ec2Client(endpoint);
});

afterAll(async () => {
  ec2.destroy();
  await sandbox.close();
});

let counter = 0;
function group(vpcId?: string): string {
  counter += 1;
  return sandbox.seedSecurityGroup({ name: `behaviour-${counter}`, vpcId }).groupId;
}

describe("security-group rules as EC2 stores them", () => {
  it("canonicalises IPv6 CIDRs and protocol numbers", async () => {
    const groupId = group();
    const reply = await authorizeIngress(ec2, groupId, [
      {
        IpProtocol: "6",
        FromPort: 443,
        ToPort: 443,
        Ipv6Ranges: [{ CidrIpv6: "2001:DB8:0:0::1/64" }],
      },
      { IpProtocol: "50", IpRanges: [{ CidrIp: "192.0.2.1/32" }] },
      { IpProtocol: "icmp", FromPort: 8, ToPort: -1, IpRanges: [{ CidrIp: "0.0.0.0/0" }] },
    ]);
    expect(
      reply.SecurityGroupRules?.map(
        (r) => `${r.IpProtocol} ${r.FromPort} ${r.ToPort} ${r.CidrIpv4 ?? r.CidrIpv6}`,
      ),
    ).toEqual(["tcp 443 443 2001:db8::/64", "50 -1 -1 192.0.2.1/32", "icmp 8 -1 0.0.0.0/0"]);
  });

  it("escapes XML in descriptions and tag values", async () => {
    const groupId = group();
    const text = `a<b & "c" 'd'>`;
    await authorizeIngress(ec2, groupId, [
      { ...tcpPermission(8443), IpRanges: [{ CidrIp: "0.0.0.0/0", Description: text }] },
    ]);
    const rules = await ec2.send(
      new DescribeSecurityGroupRulesCommand({ Filters: [{ Name: "group-id", Values: [groupId] }] }),
    );
    expect(rules.SecurityGroupRules?.find((r) => r.FromPort === 8443)?.Description).toBe(text);
  });

  it("rejects tcp without ports, an unknown protocol, a malformed CIDR and a permission without a source", async () => {
    const groupId = group();
    const send = (p: IpPermission) => ec2Error(authorizeIngress(ec2, groupId, [p]));
    const noPorts = await send({ IpProtocol: "tcp", IpRanges: [{ CidrIp: "0.0.0.0/0" }] });
    expect(noPorts.name).toBe("InvalidParameterValue");
    expect((await send({ ...tcpPermission(22), IpProtocol: "tcpp" })).name).toBe(
      "InvalidParameterValue",
    );
    expect((await send(tcpPermission(22, "10.1/16"))).message).toBe(
      "CIDR block 10.1/16 is malformed",
    );
    expect((await send({ IpProtocol: "tcp", FromPort: 22, ToPort: 22 })).name).toBe(
      "InvalidParameterValue",
    );
    expect(sandbox.securityGroupRules(groupId)?.filter((r) => !r.isEgress)).toEqual([]);
  });

  it("rejects the same permission twice in one request", async () => {
    const groupId = group();
    const err = await ec2Error(
      authorizeIngress(ec2, groupId, [tcpPermission(22), tcpPermission(22)]),
    );
    expect(err.name).toBe("InvalidParameterValue");
    expect(err.message).toBe("The same permission must not appear multiple times");
  });

  it("enforces the rules-per-group quota per direction and IP family", async () => {
    const groupId = group();
    await authorizeIngress(ec2, groupId, [
      tcpPermission(1),
      tcpPermission(2),
      tcpPermission(3),
      tcpPermission(4),
    ]);
    const err = await ec2Error(authorizeIngress(ec2, groupId, [tcpPermission(5)]));
    expect(err.name).toBe("RulesPerSecurityGroupLimitExceeded");
    // Egress has its own quota, and so have IPv6 rules.
    await ec2.send(
      new AuthorizeSecurityGroupEgressCommand({
        GroupId: groupId,
        IpPermissions: [tcpPermission(5)],
      }),
    );
    const v6 = (port: number) => tcpPermission(port, { Ipv6Ranges: [{ CidrIpv6: "::/0" }] });
    await authorizeIngress(ec2, groupId, [v6(1), v6(2), v6(3), v6(4)]);
    // A group reference counts against both families, and IPv4 is full.
    const both = await ec2Error(
      authorizeIngress(ec2, groupId, [
        { IpProtocol: "-1", UserIdGroupPairs: [{ GroupId: groupId }] },
      ]),
    );
    expect(both.name).toBe("RulesPerSecurityGroupLimitExceeded");
  });

  it("rejects references to groups and prefix lists that do not exist", async () => {
    const groupId = group();
    const missingGroup = await ec2Error(
      authorizeIngress(ec2, groupId, [
        { IpProtocol: "-1", UserIdGroupPairs: [{ GroupId: "sg-0000000000000000b" }] },
      ]),
    );
    expect(missingGroup.name).toBe("InvalidGroup.NotFound");
    const missingList = await ec2Error(
      authorizeIngress(ec2, groupId, [
        { IpProtocol: "-1", PrefixListIds: [{ PrefixListId: "pl-0000000000000000c" }] },
      ]),
    );
    expect(missingList.name).toBe("InvalidPrefixListID.NotFound");
  });

  it("accepts a cross-account group reference as named", async () => {
    const groupId = group();
    const reply = await authorizeIngress(ec2, groupId, [
      tcpPermission(5432, {
        UserIdGroupPairs: [{ GroupId: "sg-0aaaaaaaaaaaaaaa1", UserId: "210987654321" }],
      }),
    ]);
    expect(reply.SecurityGroupRules?.[0]?.ReferencedGroupInfo).toEqual({
      GroupId: "sg-0aaaaaaaaaaaaaaa1",
      UserId: "210987654321",
    });
  });

  it("addresses ingress by group name in the default VPC; egress needs the group id", async () => {
    counter += 1;
    const name = `behaviour-${counter}`;
    const { groupId } = sandbox.seedSecurityGroup({ name });
    const reply = await ec2.send(
      new AuthorizeSecurityGroupIngressCommand({
        GroupName: name,
        IpPermissions: [tcpPermission(80)],
      }),
    );
    expect(reply.SecurityGroupRules?.[0]?.GroupId).toBe(groupId);
    const err = await ec2Error(
      ec2.send(
        new AuthorizeSecurityGroupEgressCommand({
          GroupId: undefined,
          IpPermissions: [tcpPermission(80)],
        }),
      ),
    );
    expect(err.name).toBe("MissingParameter");
  });
});

describe("revoking", () => {
  it("outside the default VPC, one unmatched permission fails the whole call and revokes nothing", async () => {
    const { vpcId } = sandbox.seedVpc({ cidrBlock: "10.50.0.0/16" });
    const groupId = group(vpcId);
    await authorizeIngress(ec2, groupId, [tcpPermission(22)]);
    const err = await ec2Error(
      ec2.send(
        new RevokeSecurityGroupIngressCommand({
          GroupId: groupId,
          IpPermissions: [tcpPermission(22), tcpPermission(23)],
        }),
      ),
    );
    expect(err.name).toBe("InvalidPermission.NotFound");
    expect(sandbox.securityGroupRules(groupId)?.some((r) => r.fromPort === 22)).toBe(true);
  });

  it("in the default VPC, revokes what matches and lists the rest as unknown", async () => {
    const groupId = group();
    await authorizeIngress(ec2, groupId, [tcpPermission(22)]);
    const reply = await ec2.send(
      new RevokeSecurityGroupIngressCommand({
        GroupId: groupId,
        IpPermissions: [tcpPermission(22), tcpPermission(23)],
      }),
    );
    expect(reply.Return).toBe(true);
    expect(reply.RevokedSecurityGroupRules?.map((r) => r.FromPort)).toEqual([22]);
    expect(reply.UnknownIpPermissions?.map((p) => p.FromPort)).toEqual([23]);
    expect(sandbox.securityGroupRules(groupId)?.filter((r) => !r.isEgress)).toEqual([]);
  });

  it("matches a revoke on canonical content, whatever host bits the caller sends", async () => {
    const groupId = group();
    await authorizeIngress(ec2, groupId, [tcpPermission(22, "10.0.0.0/8")]);
    const reply = await ec2.send(
      new RevokeSecurityGroupIngressCommand({
        GroupId: groupId,
        IpPermissions: [tcpPermission(22, "10.1.2.3/8")],
      }),
    );
    expect(reply.RevokedSecurityGroupRules?.[0]?.CidrIpv4).toBe("10.0.0.0/8");
  });

  it("does not revoke an egress rule id through RevokeSecurityGroupIngress", async () => {
    const groupId = group();
    const egressId =
      sandbox.securityGroupRules(groupId)?.find((r) => r.isEgress)?.securityGroupRuleId ?? "";
    const err = await ec2Error(
      ec2.send(
        new RevokeSecurityGroupIngressCommand({
          GroupId: groupId,
          SecurityGroupRuleIds: [egressId],
        }),
      ),
    );
    expect(err.name).toBe("InvalidSecurityGroupRuleId.NotFound");
    const reply = await ec2.send(
      new RevokeSecurityGroupEgressCommand({ GroupId: groupId, SecurityGroupRuleIds: [egressId] }),
    );
    expect(reply.RevokedSecurityGroupRules?.[0]?.SecurityGroupRuleId).toBe(egressId);
  });

  it("refuses rule ids and permissions in the same call", async () => {
    const groupId = group();
    const err = await ec2Error(
      ec2.send(
        new RevokeSecurityGroupIngressCommand({
          GroupId: groupId,
          SecurityGroupRuleIds: ["sgr-0000000000000000d"],
          IpPermissions: [tcpPermission(22)],
        }),
      ),
    );
    expect(err.name).toBe("InvalidParameterCombination");
  });
});

describe("ModifySecurityGroupRules", () => {
  it("refuses to make a rule a duplicate of another, and accepts two rules swapping contents", async () => {
    const groupId = group();
    const added = await authorizeIngress(ec2, groupId, [tcpPermission(80), tcpPermission(443)]);
    const [a, b] = (added.SecurityGroupRules ?? []).map((r) => r.SecurityGroupRuleId ?? "");
    const dup = await ec2Error(
      modifyRules(ec2, groupId, [
        {
          SecurityGroupRuleId: a,
          SecurityGroupRule: tcpFromWorld(443),
        },
      ]),
    );
    expect(dup.name).toBe("InvalidPermission.Duplicate");
    await modifyRules(ec2, groupId, [
      {
        SecurityGroupRuleId: a,
        SecurityGroupRule: tcpFromWorld(443),
      },
      {
        SecurityGroupRuleId: b,
        SecurityGroupRule: tcpFromWorld(80),
      },
    ]);
    const rules = sandbox.securityGroupRules(groupId) ?? [];
    expect(rules.find((r) => r.securityGroupRuleId === a)?.fromPort).toBe(443);
    expect(rules.find((r) => r.securityGroupRuleId === b)?.fromPort).toBe(80);
    // And the swapped rules are still found by content.
    const revoked = await ec2.send(
      new RevokeSecurityGroupIngressCommand({
        GroupId: groupId,
        IpPermissions: [tcpPermission(80)],
      }),
    );
    expect(revoked.RevokedSecurityGroupRules?.[0]?.SecurityGroupRuleId).toBe(b);
  });

  it("answers InvalidSecurityGroupRuleId.NotFound for a rule of another group", async () => {
    const groupA = group();
    const groupB = group();
    const ruleOfA = sandbox.securityGroupRules(groupA)?.[0]?.securityGroupRuleId ?? "";
    const err = await ec2Error(
      modifyRules(ec2, groupB, [
        {
          SecurityGroupRuleId: ruleOfA,
          SecurityGroupRule: { IpProtocol: "-1", CidrIpv4: "10.0.0.0/8" },
        },
      ]),
    );
    expect(err.name).toBe("InvalidSecurityGroupRuleId.NotFound");
  });
});

describe("group lifecycle", () => {
  it("refuses a duplicate name, the reserved name, an unknown VPC", async () => {
    counter += 1;
    const name = `behaviour-${counter}`;
    await ec2.send(new CreateSecurityGroupCommand({ GroupName: name, Description: "d" }));
    expect(
      (
        await ec2Error(
          ec2.send(new CreateSecurityGroupCommand({ GroupName: name, Description: "d" })),
        )
      ).name,
    ).toBe("InvalidGroup.Duplicate");
    expect(
      (
        await ec2Error(
          ec2.send(new CreateSecurityGroupCommand({ GroupName: "default", Description: "d" })),
        )
      ).name,
    ).toBe("InvalidParameterValue");
    expect(
      (
        await ec2Error(
          ec2.send(
            new CreateSecurityGroupCommand({
              GroupName: "n",
              Description: "d",
              VpcId: "vpc-0000000000000000e",
            }),
          ),
        )
      ).name,
    ).toBe("InvalidVpcID.NotFound");
  });

  it("refuses to delete the default group or a group another group's rule references", async () => {
    const { defaultGroupId } = sandbox.defaultVpc();
    expect(
      (await ec2Error(ec2.send(new DeleteSecurityGroupCommand({ GroupId: defaultGroupId })))).name,
    ).toBe("CannotDelete");
    const referenced = group();
    counter += 1;
    sandbox.seedSecurityGroup({
      name: `behaviour-${counter}`,
      ingress: [{ protocol: "tcp", fromPort: 5432, toPort: 5432, groupId: referenced }],
    });
    expect(
      (await ec2Error(ec2.send(new DeleteSecurityGroupCommand({ GroupId: referenced })))).name,
    ).toBe("DependencyViolation");
  });
});

describe("network-ACL entries", () => {
  const entry = (aclId: string, ruleNumber: number) => ({
    NetworkAclId: aclId,
    RuleNumber: ruleNumber,
    Protocol: "-1",
    RuleAction: "deny" as const,
    Egress: true,
    CidrBlock: "192.0.2.0/24",
  });

  it("checks the rule-number range, ports for tcp, and the entries quota", async () => {
    const aclId = sandbox.seedNetworkAcl();
    expect((await ec2Error(ec2.send(new CreateNetworkAclEntryCommand(entry(aclId, 0))))).name).toBe(
      "InvalidParameterValue",
    );
    const noPorts = await ec2Error(
      ec2.send(new CreateNetworkAclEntryCommand({ ...entry(aclId, 10), Protocol: "tcp" })),
    );
    expect(noPorts.name).toBe("MissingParameter");
    expect(
      (await ec2Error(ec2.send(new CreateNetworkAclEntryCommand(entry(aclId, 32767))))).name,
    ).toBe("InvalidParameterValue");
    // The quota (3 here) counts the `*` entry of the ACL, direction and IP version.
    for (const n of [1, 2]) await ec2.send(new CreateNetworkAclEntryCommand(entry(aclId, n)));
    expect((await ec2Error(ec2.send(new CreateNetworkAclEntryCommand(entry(aclId, 3))))).name).toBe(
      "NetworkAclEntryLimitExceeded",
    );
    // IPv6 entries and the other direction have their own count.
    const { CidrBlock: _v4, ...v6 } = { ...entry(aclId, 3), Ipv6CidrBlock: "::/0" };
    await ec2.send(new CreateNetworkAclEntryCommand(v6));
    await ec2.send(new CreateNetworkAclEntryCommand({ ...entry(aclId, 3), Egress: false }));
  });

  it("accepts a quota of network-ACL entries up to 40, as AWS does", () => {
    expect(() => new Ec2Sandbox({ limits: { naclEntries: 41 } })).toThrow(ConfigurationError);
    expect(() => new Ec2Sandbox({ limits: { naclEntries: 40 } })).not.toThrow();
  });

  it("stores protocol names as numbers and keeps IPv6 entries apart", async () => {
    const aclId = sandbox.seedNetworkAcl();
    await ec2.send(
      new CreateNetworkAclEntryCommand({
        NetworkAclId: aclId,
        RuleNumber: 100,
        Protocol: "udp",
        RuleAction: "allow",
        Egress: false,
        Ipv6CidrBlock: "2001:db8::/32",
        PortRange: { From: 53, To: 53 },
      }),
    );
    const acl = (await ec2.send(new DescribeNetworkAclsCommand({ NetworkAclIds: [aclId] })))
      .NetworkAcls?.[0];
    const dns = acl?.Entries?.find((e) => e.RuleNumber === 100);
    expect(dns?.Protocol).toBe("17");
    expect(dns?.Ipv6CidrBlock).toBe("2001:db8::/32");
    expect(dns?.CidrBlock).toBeUndefined();
  });
});

describe("Describe parameters", () => {
  it("rejects unknown filters, out-of-range MaxResults and a garbage NextToken", async () => {
    const badFilter = await ec2Error(
      ec2.send(
        new DescribeSecurityGroupsCommand({
          Filters: [{ Name: "ip-permission.port", Values: ["22"] }],
        }),
      ),
    );
    expect(badFilter.name).toBe("InvalidParameterValue");
    expect(badFilter.message).toBe("The filter 'ip-permission.port' is invalid");
    expect(
      (await ec2Error(ec2.send(new DescribeSecurityGroupRulesCommand({ MaxResults: 1001 })))).name,
    ).toBe("InvalidParameterValue");
    expect(
      (await ec2Error(ec2.send(new DescribeSecurityGroupRulesCommand({ NextToken: "garbage" }))))
        .name,
    ).toBe("InvalidParameterValue");
  });

  it("never skips a rule when rules are revoked between pages", async () => {
    const groupId = group();
    const ids = sandbox.seedRules(
      groupId,
      "ingress",
      [1, 2, 3, 4, 5, 6, 7, 8, 9].map((n) => ({
        protocol: "tcp",
        fromPort: n,
        toPort: n,
        cidr: "0.0.0.0/0",
      })),
    );
    const filters = [{ Name: "group-id", Values: [groupId] }];
    const first = await ec2.send(
      new DescribeSecurityGroupRulesCommand({ Filters: filters, MaxResults: 5 }),
    );
    // The sweep revokes rules it has already read while it pages.
    await ec2.send(
      new RevokeSecurityGroupIngressCommand({
        GroupId: groupId,
        SecurityGroupRuleIds: ids.slice(0, 3),
      }),
    );
    const second = await ec2.send(
      new DescribeSecurityGroupRulesCommand({
        Filters: filters,
        MaxResults: 5,
        NextToken: first.NextToken,
      }),
    );
    const seen = [...(first.SecurityGroupRules ?? []), ...(second.SecurityGroupRules ?? [])].map(
      (r) => r.SecurityGroupRuleId,
    );
    for (const id of ids) expect(seen).toContain(id);
  });
});

describe("accounts and regions", () => {
  it("gives every region its own default VPC and keeps resources apart", async () => {
    const paris = ec2Client(endpoint, { region: "eu-west-3" });
    const parisVpc = (await paris.send(new DescribeVpcsCommand({}))).Vpcs?.[0]?.VpcId;
    const virginiaVpc = (await ec2.send(new DescribeVpcsCommand({}))).Vpcs?.[0]?.VpcId;
    expect(parisVpc).toMatch(/^vpc-/);
    expect(parisVpc).not.toBe(virginiaVpc);
    const { groupId } = sandbox.seedSecurityGroup({ name: "virginia-only" });
    const err = await ec2Error(
      paris.send(new DescribeSecurityGroupsCommand({ GroupIds: [groupId] })),
    );
    expect(err.name).toBe("InvalidGroup.NotFound");
    paris.destroy();
  });

  it("refuses an access-key table with a malformed account id", () => {
    expect(() => new Ec2Sandbox({ accessKeys: { AKIABAD: "12345" } })).toThrow(ConfigurationError);
    expect(() => new Ec2Sandbox({ defaultAccountId: "abc" })).toThrow(ConfigurationError);
  });

  it("answers InvalidAction for names that are not EC2 actions, Object methods included", async () => {
    for (const action of ["toString", "__proto__", "RunInstances"]) {
      const reply = await sandbox.handle({ params: [["Action", action]] });
      expect(reply.status).toBe(400);
      expect(reply.body).toContain("<Code>InvalidAction</Code>");
    }
  });

  it("uses the default account and region for unsigned requests", async () => {
    const reply = await sandbox.handle({ params: [["Action", "DescribeVpcs"]] });
    expect(reply.status).toBe(200);
    expect(reply.body).toContain("<ownerId>123456789012</ownerId>");
  });
});

describe("prefix lists", () => {
  it("refuses a modification against a stale version", async () => {
    const id = sandbox.seedPrefixList({ name: "stale", entries: ["192.0.2.0/24"] });
    const err = await ec2Error(
      modifyPrefixList(ec2, id, { CurrentVersion: 7, AddEntries: [{ Cidr: "10.0.0.0/8" }] }),
    );
    expect(err.name).toBe("PrefixListVersionMismatch");
    expect(sandbox.prefixListEntries(id)).toEqual(["192.0.2.0/24"]);
  });
});

describe("seeding", () => {
  it("replaces the default egress when egress rules are given, and emits nothing", async () => {
    const quiet = new Ec2Sandbox();
    const seeded = quiet.seedSecurityGroup({
      name: "seeded",
      tags: { team: "net" },
      ingress: [
        {
          protocol: "tcp",
          fromPort: 22,
          toPort: 22,
          cidr: "203.0.113.9/24",
          description: "office",
        },
      ],
      egress: [{ protocol: -1, cidr: "::/0" }],
    });
    expect(quiet.securityGroupRules(seeded.groupId)).toEqual([
      {
        securityGroupRuleId: seeded.ingressRuleIds[0],
        groupId: seeded.groupId,
        isEgress: false,
        ipProtocol: "tcp",
        fromPort: 22,
        toPort: 22,
        cidrIpv4: "203.0.113.0/24",
        description: "office",
      },
      {
        securityGroupRuleId: seeded.egressRuleIds[0],
        groupId: seeded.groupId,
        isEgress: true,
        ipProtocol: "-1",
        fromPort: -1,
        toPort: -1,
        cidrIpv6: "::/0",
      },
    ]);
    expect(quiet.recordedEvents()).toEqual([]);
    expect(quiet.calls()).toBe(0);
  });

  it("fails seeding with the EC2 error the API would give", () => {
    const quiet = new Ec2Sandbox();
    const { groupId } = quiet.seedSecurityGroup({ name: "dup" });
    const rule = { protocol: "tcp", fromPort: 22, toPort: 22, cidr: "0.0.0.0/0" };
    quiet.seedRules(groupId, "ingress", [rule]);
    expect(() => quiet.seedRules(groupId, "ingress", [rule])).toThrow(Ec2ApiError);
    expect(() => quiet.seedSecurityGroup({ name: "dup" })).toThrow(/already exists/);
    expect(() =>
      quiet.seedNetworkAcl({
        entries: [
          { ruleNumber: 40000, egress: true, protocol: -1, ruleAction: "deny", cidr: "0.0.0.0/0" },
        ],
      }),
    ).toThrow(Ec2ApiError);
  });

  it("rejects a timed-out wait for an event", async () => {
    const quiet = new Ec2Sandbox();
    await expect(quiet.waitForEvent(() => true, 20)).rejects.toThrow(/no matching sandbox event/);
  });
});
