import {
  AuthorizeSecurityGroupEgressCommand,
  AuthorizeSecurityGroupIngressCommand,
  CreateManagedPrefixListCommand,
  CreateNetworkAclCommand,
  CreateNetworkAclEntryCommand,
  CreateSecurityGroupCommand,
  CreateSubnetCommand,
  CreateTagsCommand,
  CreateVpcCommand,
  DeleteNetworkAclEntryCommand,
  DeleteSecurityGroupCommand,
  DeleteTagsCommand,
  DescribeManagedPrefixListsCommand,
  DescribeNetworkAclsCommand,
  DescribeRegionsCommand,
  DescribeSecurityGroupRulesCommand,
  DescribeSecurityGroupsCommand,
  DescribeSubnetsCommand,
  DescribeTagsCommand,
  DescribeVpcsCommand,
  type EC2Client,
  GetManagedPrefixListAssociationsCommand,
  GetManagedPrefixListEntriesCommand,
  ModifyManagedPrefixListCommand,
  ReplaceNetworkAclAssociationCommand,
  ReplaceNetworkAclEntryCommand,
  RevokeSecurityGroupEgressCommand,
  RevokeSecurityGroupIngressCommand,
} from "@aws-sdk/client-ec2";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { EC2_ACTIONS, type Ec2Sandbox } from "../src/index";
import { ec2Client, ec2Error, startSandbox } from "./helpers";
import { authorizeIngress, modifyRules, tcpEntryFromWorld, tcpPermission } from "./requests";

// Every assertion reads a parsed member: the SDK's XML parser silently drops misnamed elements,
// so a reply with a wrong element name shows up here as `undefined`, never as a pass.

let sandbox: Ec2Sandbox;
let endpoint: string;
let ec2: EC2Client;

beforeAll(async () => {
  ({ sandbox, endpoint } = await startSandbox());
  ec2 = ec2Client(endpoint);
});

afterAll(async () => {
  ec2.destroy();
  await sandbox.close();
});

async function newGroup(name: string, vpcId?: string): Promise<string> {
  const created = await ec2.send(
    new CreateSecurityGroupCommand({ GroupName: name, Description: `${name} group`, VpcId: vpcId }),
  );
  expect(created.GroupId).toMatch(/^sg-[0-9a-f]{17}$/);
  return created.GroupId ?? "";
}

describe("security groups over the SDK", () => {
  it("creates a group in the default VPC with the allow-all egress rule", async () => {
    const groupId = await newGroup("wire-create");
    const vpcs = await ec2.send(
      new DescribeVpcsCommand({ Filters: [{ Name: "is-default", Values: ["true"] }] }),
    );
    const defaultVpc = vpcs.Vpcs?.[0];
    expect(defaultVpc?.VpcId).toMatch(/^vpc-/);
    expect(defaultVpc?.IsDefault).toBe(true);
    expect(defaultVpc?.CidrBlock).toBe("172.31.0.0/16");
    expect(defaultVpc?.CidrBlockAssociationSet?.[0]?.CidrBlockState?.State).toBe("associated");

    const described = await ec2.send(new DescribeSecurityGroupsCommand({ GroupIds: [groupId] }));
    const group = described.SecurityGroups?.[0];
    expect(group?.GroupName).toBe("wire-create");
    expect(group?.Description).toBe("wire-create group");
    expect(group?.VpcId).toBe(defaultVpc?.VpcId);
    expect(group?.OwnerId).toBe("123456789012");
    expect(group?.SecurityGroupArn).toBe(
      `arn:aws:ec2:us-east-1:123456789012:security-group/${groupId}`,
    );
    expect(group?.IpPermissions).toEqual([]);
    expect(group?.IpPermissionsEgress?.[0]?.IpProtocol).toBe("-1");
    expect(group?.IpPermissionsEgress?.[0]?.IpRanges?.[0]?.CidrIp).toBe("0.0.0.0/0");
  });

  it("authorizes ingress and answers with the new rule ids, CIDRs canonicalised", async () => {
    const groupId = await newGroup("wire-ingress");
    const reply = await authorizeIngress(ec2, groupId, [
      {
        IpProtocol: "tcp",
        FromPort: 22,
        ToPort: 22,
        IpRanges: [{ CidrIp: "203.0.113.77/24", Description: "office" }],
      },
    ]);
    expect(reply.Return).toBe(true);
    const rule = reply.SecurityGroupRules?.[0];
    expect(rule?.SecurityGroupRuleId).toMatch(/^sgr-[0-9a-f]{17}$/);
    expect(rule?.GroupId).toBe(groupId);
    expect(rule?.GroupOwnerId).toBe("123456789012");
    expect(rule?.IsEgress).toBe(false);
    expect(rule?.IpProtocol).toBe("tcp");
    expect(rule?.FromPort).toBe(22);
    expect(rule?.ToPort).toBe(22);
    expect(rule?.CidrIpv4).toBe("203.0.113.0/24");
    expect(rule?.Description).toBe("office");
    expect(rule?.SecurityGroupRuleArn).toBe(
      `arn:aws:ec2:us-east-1:123456789012:security-group-rule/${rule?.SecurityGroupRuleId}`,
    );
  });

  it("authorizes egress to IPv6, prefix-list and group peers, one rule per source", async () => {
    const groupId = await newGroup("wire-egress");
    const peerId = await newGroup("wire-egress-peer");
    const prefixListId = sandbox.seedPrefixList({
      name: "wire-egress-pl",
      entries: ["198.51.100.0/24"],
    });
    const reply = await ec2.send(
      new AuthorizeSecurityGroupEgressCommand({
        GroupId: groupId,
        IpPermissions: [
          {
            IpProtocol: "tcp",
            FromPort: 443,
            ToPort: 443,
            Ipv6Ranges: [{ CidrIpv6: "2001:db8::1/32" }],
            PrefixListIds: [{ PrefixListId: prefixListId }],
            UserIdGroupPairs: [{ GroupId: peerId, Description: "peer" }],
          },
        ],
      }),
    );
    const rules = reply.SecurityGroupRules ?? [];
    expect(rules).toHaveLength(3);
    expect(rules.every((r) => r.IsEgress === true)).toBe(true);
    expect(rules.map((r) => r.CidrIpv6).filter(Boolean)).toEqual(["2001:db8::/32"]);
    expect(rules.map((r) => r.PrefixListId).filter(Boolean)).toEqual([prefixListId]);
    const referenced = rules.find((r) => r.ReferencedGroupInfo !== undefined);
    expect(referenced?.ReferencedGroupInfo?.GroupId).toBe(peerId);
    expect(referenced?.ReferencedGroupInfo?.UserId).toBe("123456789012");

    const described = await ec2.send(new DescribeSecurityGroupsCommand({ GroupIds: [groupId] }));
    const perms = described.SecurityGroups?.[0]?.IpPermissionsEgress ?? [];
    const https = perms.find((p) => p.FromPort === 443);
    expect(https?.IpProtocol).toBe("tcp");
    expect(https?.ToPort).toBe(443);
    expect(https?.Ipv6Ranges?.[0]?.CidrIpv6).toBe("2001:db8::/32");
    expect(https?.PrefixListIds?.[0]?.PrefixListId).toBe(prefixListId);
    expect(https?.UserIdGroupPairs?.[0]?.GroupId).toBe(peerId);
    expect(https?.UserIdGroupPairs?.[0]?.Description).toBe("peer");
  });

  it("accepts the legacy flat CidrIp form", async () => {
    const groupId = await newGroup("wire-flat");
    const reply = await ec2.send(
      new AuthorizeSecurityGroupIngressCommand({
        GroupId: groupId,
        IpProtocol: "tcp",
        FromPort: 3389,
        ToPort: 3389,
        CidrIp: "0.0.0.0/0",
      }),
    );
    expect(reply.SecurityGroupRules?.[0]?.FromPort).toBe(3389);
    expect(reply.SecurityGroupRules?.[0]?.CidrIpv4).toBe("0.0.0.0/0");
  });

  it("describes rules by id and by the group-id filter, paging with MaxResults and NextToken", async () => {
    const groupId = await newGroup("wire-rules");
    const added = await ec2.send(
      new AuthorizeSecurityGroupIngressCommand({
        GroupId: groupId,
        IpPermissions: [1, 2, 3, 4, 5, 6, 7].map((n) => ({
          IpProtocol: "udp",
          FromPort: 5000 + n,
          ToPort: 5000 + n,
          IpRanges: [{ CidrIp: "192.0.2.0/24" }],
        })),
      }),
    );
    const ids = (added.SecurityGroupRules ?? []).map((r) => r.SecurityGroupRuleId);
    expect(ids).toHaveLength(7);

    const byId = await ec2.send(
      new DescribeSecurityGroupRulesCommand({ SecurityGroupRuleIds: [ids[2] ?? ""] }),
    );
    expect(byId.SecurityGroupRules?.[0]?.SecurityGroupRuleId).toBe(ids[2]);
    expect(byId.SecurityGroupRules?.[0]?.FromPort).toBe(5003);

    const first = await ec2.send(
      new DescribeSecurityGroupRulesCommand({
        Filters: [{ Name: "group-id", Values: [groupId] }],
        MaxResults: 5,
      }),
    );
    expect(first.SecurityGroupRules).toHaveLength(5);
    expect(first.NextToken).toBeTruthy();
    const second = await ec2.send(
      new DescribeSecurityGroupRulesCommand({
        Filters: [{ Name: "group-id", Values: [groupId] }],
        MaxResults: 5,
        NextToken: first.NextToken,
      }),
    );
    expect(second.NextToken).toBeUndefined();
    const all = [...(first.SecurityGroupRules ?? []), ...(second.SecurityGroupRules ?? [])];
    // 7 ingress rules plus the default egress rule.
    expect(all).toHaveLength(8);
    expect(new Set(all.map((r) => r.SecurityGroupRuleId)).size).toBe(8);
    expect(all.filter((r) => r.IsEgress).map((r) => r.CidrIpv4)).toEqual(["0.0.0.0/0"]);
  });

  it("revokes ingress by rule id and reports the revoked rule", async () => {
    const groupId = await newGroup("wire-revoke-id");
    const added = await authorizeIngress(ec2, groupId, [
      { IpProtocol: "tcp", FromPort: 22, ToPort: 22, IpRanges: [{ CidrIp: "0.0.0.0/0" }] },
    ]);
    const ruleId = added.SecurityGroupRules?.[0]?.SecurityGroupRuleId ?? "";
    const reply = await ec2.send(
      new RevokeSecurityGroupIngressCommand({ GroupId: groupId, SecurityGroupRuleIds: [ruleId] }),
    );
    expect(reply.Return).toBe(true);
    const revoked = reply.RevokedSecurityGroupRules?.[0];
    expect(revoked?.SecurityGroupRuleId).toBe(ruleId);
    expect(revoked?.GroupId).toBe(groupId);
    expect(revoked?.IsEgress).toBe(false);
    expect(revoked?.CidrIpv4).toBe("0.0.0.0/0");
    expect(revoked?.FromPort).toBe(22);
    expect(sandbox.securityGroupRules(groupId)?.map((r) => r.securityGroupRuleId)).not.toContain(
      ruleId,
    );
  });

  it("revokes egress by permission", async () => {
    const groupId = await newGroup("wire-revoke-egress");
    const reply = await ec2.send(
      new RevokeSecurityGroupEgressCommand({
        GroupId: groupId,
        IpPermissions: [{ IpProtocol: "-1", IpRanges: [{ CidrIp: "0.0.0.0/0" }] }],
      }),
    );
    expect(reply.Return).toBe(true);
    expect(reply.RevokedSecurityGroupRules?.[0]?.IsEgress).toBe(true);
    expect(reply.RevokedSecurityGroupRules?.[0]?.IpProtocol).toBe("-1");
    expect(reply.UnknownIpPermissions).toBeUndefined();
    const described = await ec2.send(new DescribeSecurityGroupsCommand({ GroupIds: [groupId] }));
    expect(described.SecurityGroups?.[0]?.IpPermissionsEgress).toEqual([]);
  });

  it("in the default VPC, revoking a missing rule returns true and lists it as unknown", async () => {
    const groupId = await newGroup("wire-revoke-unknown");
    const reply = await ec2.send(
      new RevokeSecurityGroupIngressCommand({
        GroupId: groupId,
        IpPermissions: [
          { IpProtocol: "tcp", FromPort: 8080, ToPort: 8080, IpRanges: [{ CidrIp: "10.0.0.0/8" }] },
        ],
      }),
    );
    expect(reply.Return).toBe(true);
    expect(reply.RevokedSecurityGroupRules).toBeUndefined();
    const unknown = reply.UnknownIpPermissions?.[0];
    expect(unknown?.IpProtocol).toBe("tcp");
    expect(unknown?.FromPort).toBe(8080);
    expect(unknown?.IpRanges?.[0]?.CidrIp).toBe("10.0.0.0/8");
  });

  it("modifies a rule in place: same id, new content", async () => {
    const groupId = await newGroup("wire-modify");
    const added = await authorizeIngress(ec2, groupId, [
      { IpProtocol: "tcp", FromPort: 443, ToPort: 443, IpRanges: [{ CidrIp: "10.0.0.0/8" }] },
    ]);
    const ruleId = added.SecurityGroupRules?.[0]?.SecurityGroupRuleId ?? "";
    const reply = await modifyRules(ec2, groupId, [
      {
        SecurityGroupRuleId: ruleId,
        SecurityGroupRule: {
          IpProtocol: "tcp",
          FromPort: 22,
          ToPort: 22,
          CidrIpv4: "0.0.0.0/0",
          Description: "ssh",
        },
      },
    ]);
    expect(reply.Return).toBe(true);
    const after = await ec2.send(
      new DescribeSecurityGroupRulesCommand({ SecurityGroupRuleIds: [ruleId] }),
    );
    expect(after.SecurityGroupRules?.[0]?.FromPort).toBe(22);
    expect(after.SecurityGroupRules?.[0]?.CidrIpv4).toBe("0.0.0.0/0");
    expect(after.SecurityGroupRules?.[0]?.Description).toBe("ssh");
    expect(after.SecurityGroupRules?.[0]?.IsEgress).toBe(false);
  });

  it("tags a group and finds the tag by resource-id and key", async () => {
    const groupId = await newGroup("wire-tags");
    await ec2.send(
      new CreateTagsCommand({
        Resources: [groupId],
        Tags: [{ Key: "guardrail:exempt", Value: "until 2030-01-01" }],
      }),
    );
    const tags = await ec2.send(
      new DescribeTagsCommand({
        Filters: [
          { Name: "resource-id", Values: [groupId] },
          { Name: "key", Values: ["guardrail:*"] },
        ],
      }),
    );
    expect(tags.Tags?.[0]?.ResourceId).toBe(groupId);
    expect(tags.Tags?.[0]?.ResourceType).toBe("security-group");
    expect(tags.Tags?.[0]?.Key).toBe("guardrail:exempt");
    expect(tags.Tags?.[0]?.Value).toBe("until 2030-01-01");
    const described = await ec2.send(
      new DescribeSecurityGroupsCommand({
        Filters: [{ Name: "tag:guardrail:exempt", Values: ["*"] }],
      }),
    );
    expect(described.SecurityGroups?.map((g) => g.GroupId)).toEqual([groupId]);
    expect(described.SecurityGroups?.[0]?.Tags?.[0]?.Key).toBe("guardrail:exempt");
  });

  it("deletes a tag only when a given value matches, as DeleteTags does", async () => {
    const groupId = await newGroup("wire-delete-tags");
    await ec2.send(
      new CreateTagsCommand({ Resources: [groupId], Tags: [{ Key: "k", Value: "v" }] }),
    );
    await ec2.send(
      new DeleteTagsCommand({ Resources: [groupId], Tags: [{ Key: "k", Value: "other" }] }),
    );
    const kept = await ec2.send(
      new DescribeTagsCommand({ Filters: [{ Name: "resource-id", Values: [groupId] }] }),
    );
    expect(kept.Tags?.map((t) => t.Key)).toEqual(["k"]);
    await ec2.send(new DeleteTagsCommand({ Resources: [groupId], Tags: [{ Key: "k" }] }));
    const gone = await ec2.send(
      new DescribeTagsCommand({ Filters: [{ Name: "resource-id", Values: [groupId] }] }),
    );
    expect(gone.Tags).toEqual([]);
    const event = sandbox.recordedEvents().findLast((e) => e.detail.eventName === "DeleteTags");
    expect(event?.detail.requestParameters).toEqual({
      resourcesSet: { items: [{ resourceId: groupId }] },
      tagSet: { items: [{ key: "k" }] },
    });
  });

  it("filters groups by group-name and vpc-id and pages them", async () => {
    const vpc = await ec2.send(new CreateVpcCommand({ CidrBlock: "10.20.0.0/16" }));
    const vpcId = vpc.Vpc?.VpcId ?? "";
    for (const n of [1, 2, 3, 4, 5, 6]) await newGroup(`wire-page-${n}`, vpcId);
    const page1 = await ec2.send(
      new DescribeSecurityGroupsCommand({
        Filters: [{ Name: "vpc-id", Values: [vpcId] }],
        MaxResults: 5,
      }),
    );
    expect(page1.SecurityGroups).toHaveLength(5);
    const page2 = await ec2.send(
      new DescribeSecurityGroupsCommand({
        Filters: [{ Name: "vpc-id", Values: [vpcId] }],
        MaxResults: 5,
        NextToken: page1.NextToken,
      }),
    );
    // Six groups plus the VPC's own default group.
    expect(page2.SecurityGroups).toHaveLength(2);
    expect(page2.NextToken).toBeUndefined();
    const byName = await ec2.send(
      new DescribeSecurityGroupsCommand({
        Filters: [{ Name: "group-name", Values: ["wire-page-3"] }],
      }),
    );
    expect(byName.SecurityGroups?.map((g) => g.GroupName)).toEqual(["wire-page-3"]);
  });

  it("deletes a group", async () => {
    const groupId = await newGroup("wire-delete");
    const reply = await ec2.send(new DeleteSecurityGroupCommand({ GroupId: groupId }));
    expect(reply.Return).toBe(true);
    expect(reply.GroupId).toBe(groupId);
    const err = await ec2Error(
      ec2.send(new DescribeSecurityGroupsCommand({ GroupIds: [groupId] })),
    );
    expect(err.name).toBe("InvalidGroup.NotFound");
  });
});

describe("VPCs and network ACLs over the SDK", () => {
  it("creates a VPC with its own default group and default ACL", async () => {
    const created = await ec2.send(new CreateVpcCommand({ CidrBlock: "10.1.2.3/16" }));
    const vpcId = created.Vpc?.VpcId ?? "";
    expect(vpcId).toMatch(/^vpc-/);
    expect(created.Vpc?.CidrBlock).toBe("10.1.0.0/16");
    expect(created.Vpc?.IsDefault).toBe(false);
    const listed = await ec2.send(new DescribeVpcsCommand({ VpcIds: [vpcId] }));
    expect(listed.Vpcs?.[0]?.VpcId).toBe(vpcId);
    const groups = await ec2.send(
      new DescribeSecurityGroupsCommand({ Filters: [{ Name: "vpc-id", Values: [vpcId] }] }),
    );
    const defaultGroup = groups.SecurityGroups?.[0];
    expect(defaultGroup?.GroupName).toBe("default");
    // The default group lets its members talk to each other and out to anywhere.
    expect(defaultGroup?.IpPermissions?.[0]?.UserIdGroupPairs?.[0]?.GroupId).toBe(
      defaultGroup?.GroupId,
    );
    expect(defaultGroup?.IpPermissionsEgress?.[0]?.IpRanges?.[0]?.CidrIp).toBe("0.0.0.0/0");
    const acls = await ec2.send(
      new DescribeNetworkAclsCommand({ Filters: [{ Name: "vpc-id", Values: [vpcId] }] }),
    );
    const acl = acls.NetworkAcls?.[0];
    expect(acl?.IsDefault).toBe(true);
    expect(
      acl?.Entries?.map(
        (e) =>
          `${e.Egress ? "out" : "in"} ${e.RuleNumber} ${e.RuleAction} ${e.Protocol} ${e.CidrBlock}`,
      ),
    ).toEqual([
      "out 100 allow -1 0.0.0.0/0",
      "out 32767 deny -1 0.0.0.0/0",
      "in 100 allow -1 0.0.0.0/0",
      "in 32767 deny -1 0.0.0.0/0",
    ]);
  });

  it("creates an ACL with only the catch-all deny entries, then creates, replaces and deletes entries", async () => {
    const { vpcId } = sandbox.defaultVpc();
    const created = await ec2.send(new CreateNetworkAclCommand({ VpcId: vpcId }));
    const aclId = created.NetworkAcl?.NetworkAclId ?? "";
    expect(aclId).toMatch(/^acl-[0-9a-f]{17}$/);
    expect(created.NetworkAcl?.VpcId).toBe(vpcId);
    expect(created.NetworkAcl?.IsDefault).toBe(false);
    expect(created.NetworkAcl?.Entries?.map((e) => e.RuleNumber)).toEqual([32767, 32767]);
    expect(created.NetworkAcl?.Entries?.every((e) => e.RuleAction === "deny")).toBe(true);

    const sshFromWorld = tcpEntryFromWorld(aclId, 100, 22);
    await ec2.send(new CreateNetworkAclEntryCommand(sshFromWorld));
    await ec2.send(
      new CreateNetworkAclEntryCommand({
        NetworkAclId: aclId,
        RuleNumber: 110,
        Protocol: "1",
        RuleAction: "allow",
        Egress: false,
        CidrBlock: "192.0.2.9/24",
        IcmpTypeCode: { Type: 8, Code: -1 },
      }),
    );
    let acl = (await ec2.send(new DescribeNetworkAclsCommand({ NetworkAclIds: [aclId] })))
      .NetworkAcls?.[0];
    const ssh = acl?.Entries?.find((e) => e.RuleNumber === 100);
    expect(ssh?.Protocol).toBe("6");
    expect(ssh?.PortRange?.From).toBe(22);
    expect(ssh?.PortRange?.To).toBe(22);
    expect(ssh?.Egress).toBe(false);
    const ping = acl?.Entries?.find((e) => e.RuleNumber === 110);
    expect(ping?.IcmpTypeCode?.Type).toBe(8);
    expect(ping?.IcmpTypeCode?.Code).toBe(-1);
    expect(ping?.CidrBlock).toBe("192.0.2.0/24");

    await ec2.send(new ReplaceNetworkAclEntryCommand({ ...sshFromWorld, RuleAction: "deny" }));
    await ec2.send(
      new DeleteNetworkAclEntryCommand({ NetworkAclId: aclId, RuleNumber: 110, Egress: false }),
    );
    acl = (await ec2.send(new DescribeNetworkAclsCommand({ NetworkAclIds: [aclId] })))
      .NetworkAcls?.[0];
    expect(acl?.Entries?.map((e) => `${e.RuleNumber} ${e.RuleAction}`)).toEqual([
      "32767 deny",
      "100 deny",
      "32767 deny",
    ]);
  });

  it("associates a new subnet with the default ACL and moves it with ReplaceNetworkAclAssociation", async () => {
    const { vpcId, defaultNetworkAclId } = sandbox.seedVpc({ cidrBlock: "10.40.0.0/16" });
    const created = await ec2.send(
      new CreateSubnetCommand({ VpcId: vpcId, CidrBlock: "10.40.1.0/24" }),
    );
    const subnetId = created.Subnet?.SubnetId ?? "";
    expect(subnetId).toMatch(/^subnet-[0-9a-f]{17}$/);
    expect(created.Subnet?.CidrBlock).toBe("10.40.1.0/24");
    const listed = await ec2.send(new DescribeSubnetsCommand({ SubnetIds: [subnetId] }));
    expect(listed.Subnets?.[0]?.VpcId).toBe(vpcId);
    const before = (
      await ec2.send(new DescribeNetworkAclsCommand({ NetworkAclIds: [defaultNetworkAclId] }))
    ).NetworkAcls?.[0]?.Associations?.[0];
    expect(before?.SubnetId).toBe(subnetId);
    expect(before?.NetworkAclAssociationId).toMatch(/^aclassoc-[0-9a-f]{17}$/);

    const open = (await ec2.send(new CreateNetworkAclCommand({ VpcId: vpcId }))).NetworkAcl;
    const moved = await ec2.send(
      new ReplaceNetworkAclAssociationCommand({
        AssociationId: before?.NetworkAclAssociationId,
        NetworkAclId: open?.NetworkAclId,
      }),
    );
    expect(moved.NewAssociationId).toMatch(/^aclassoc-/);
    expect(moved.NewAssociationId).not.toBe(before?.NetworkAclAssociationId);
    const after = (
      await ec2.send(new DescribeNetworkAclsCommand({ NetworkAclIds: [open?.NetworkAclId ?? ""] }))
    ).NetworkAcls?.[0]?.Associations;
    expect(after?.map((a) => [a.SubnetId, a.NetworkAclAssociationId])).toEqual([
      [subnetId, moved.NewAssociationId],
    ]);
    // The old association id is gone with the move.
    const stale = await ec2Error(
      ec2.send(
        new ReplaceNetworkAclAssociationCommand({
          AssociationId: before?.NetworkAclAssociationId,
          NetworkAclId: defaultNetworkAclId,
        }),
      ),
    );
    expect(stale.name).toBe("InvalidAssociationID.NotFound");
    const outside = await ec2Error(
      ec2.send(new CreateSubnetCommand({ VpcId: vpcId, CidrBlock: "10.41.0.0/24" })),
    );
    expect(outside.name).toBe("InvalidSubnet.Range");
  });

  it("lists the IPv6 default entries of a VPC with an IPv6 block", async () => {
    const { defaultNetworkAclId } = sandbox.seedVpc({
      cidrBlock: "10.50.0.0/16",
      ipv6CidrBlock: "2001:db8:50::/56",
    });
    const acl = (
      await ec2.send(new DescribeNetworkAclsCommand({ NetworkAclIds: [defaultNetworkAclId] }))
    ).NetworkAcls?.[0];
    expect(
      acl?.Entries?.filter((e) => !e.Egress).map(
        (e) => `${e.RuleNumber} ${e.RuleAction} ${e.CidrBlock ?? e.Ipv6CidrBlock}`,
      ),
    ).toEqual(["100 allow 0.0.0.0/0", "101 allow ::/0", "32767 deny 0.0.0.0/0", "32768 deny ::/0"]);
  });

  it("pages network ACLs with MaxResults and NextToken", async () => {
    const { vpcId } = sandbox.seedVpc({ cidrBlock: "10.30.0.0/16" });
    for (let i = 0; i < 6; i++) sandbox.seedNetworkAcl({ vpcId });
    const filters = [{ Name: "vpc-id", Values: [vpcId] }];
    const first = await ec2.send(
      new DescribeNetworkAclsCommand({ Filters: filters, MaxResults: 5 }),
    );
    const second = await ec2.send(
      new DescribeNetworkAclsCommand({
        Filters: filters,
        MaxResults: 5,
        NextToken: first.NextToken,
      }),
    );
    expect(first.NetworkAcls).toHaveLength(5);
    expect(second.NetworkAcls).toHaveLength(2);
    expect(second.NextToken).toBeUndefined();
  });
});

describe("managed prefix lists over the SDK", () => {
  it("creates, modifies, describes and reads entries of a prefix list", async () => {
    const created = await ec2.send(
      new CreateManagedPrefixListCommand({
        PrefixListName: "wire-offices",
        MaxEntries: 10,
        AddressFamily: "IPv4",
        Entries: [
          { Cidr: "198.51.100.0/24", Description: "hq" },
          { Cidr: "203.0.113.0/24", Description: "lab" },
        ],
      }),
    );
    const id = created.PrefixList?.PrefixListId ?? "";
    expect(id).toMatch(/^pl-[0-9a-f]{17}$/);
    expect(created.PrefixList?.Version).toBe(1);
    expect(created.PrefixList?.State).toBe("create-in-progress");
    expect(created.PrefixList?.MaxEntries).toBe(10);

    const modified = await ec2.send(
      new ModifyManagedPrefixListCommand({
        PrefixListId: id,
        CurrentVersion: 1,
        AddEntries: [{ Cidr: "0.0.0.0/0", Description: "oops" }],
        RemoveEntries: [{ Cidr: "203.0.113.0/24" }],
      }),
    );
    expect(modified.PrefixList?.Version).toBe(2);

    const entries = await ec2.send(new GetManagedPrefixListEntriesCommand({ PrefixListId: id }));
    expect(entries.Entries?.map((e) => e.Cidr)).toEqual(["198.51.100.0/24", "0.0.0.0/0"]);
    expect(entries.Entries?.[0]?.Description).toBe("hq");
    const old = await ec2.send(
      new GetManagedPrefixListEntriesCommand({ PrefixListId: id, TargetVersion: 1 }),
    );
    expect(old.Entries?.map((e) => e.Cidr)).toEqual(["198.51.100.0/24", "203.0.113.0/24"]);
    const paged = await ec2.send(
      new GetManagedPrefixListEntriesCommand({ PrefixListId: id, MaxResults: 1 }),
    );
    expect(paged.Entries).toHaveLength(1);
    expect(paged.NextToken).toBeTruthy();

    const listed = await ec2.send(new DescribeManagedPrefixListsCommand({ PrefixListIds: [id] }));
    expect(listed.PrefixLists?.[0]?.PrefixListName).toBe("wire-offices");
    expect(listed.PrefixLists?.[0]?.State).toBe("modify-complete");
    expect(listed.PrefixLists?.[0]?.PrefixListArn).toBe(
      `arn:aws:ec2:us-east-1:123456789012:prefix-list/${id}`,
    );
  });
});

describe("prefix-list associations over the SDK", () => {
  it("lists the groups whose rules reference a prefix list", async () => {
    const plId = sandbox.seedPrefixList({ name: "wire-assoc", entries: ["192.0.2.0/24"] });
    const { groupId } = sandbox.seedSecurityGroup({
      name: "wire-assoc-user",
      ingress: [{ protocol: "tcp", fromPort: 443, toPort: 443, prefixListId: plId }],
    });
    sandbox.seedSecurityGroup({ name: "wire-assoc-bystander" });
    const reply = await ec2.send(
      new GetManagedPrefixListAssociationsCommand({ PrefixListId: plId, MaxResults: 255 }),
    );
    expect(reply.PrefixListAssociations).toEqual([
      { ResourceId: groupId, ResourceOwner: "123456789012" },
    ]);
    expect(reply.NextToken).toBeUndefined();
  });
});

describe("EC2 errors over the SDK", () => {
  it("answers InvalidPermission.NotFound (HTTP 400) when revoking a missing rule outside the default VPC", async () => {
    const vpc = await ec2.send(new CreateVpcCommand({ CidrBlock: "10.40.0.0/16" }));
    const groupId = await newGroup("wire-err-notfound", vpc.Vpc?.VpcId);
    const err = await ec2Error(
      ec2.send(
        new RevokeSecurityGroupIngressCommand({
          GroupId: groupId,
          IpPermissions: [
            { IpProtocol: "tcp", FromPort: 22, ToPort: 22, IpRanges: [{ CidrIp: "0.0.0.0/0" }] },
          ],
        }),
      ),
    );
    expect(err.name).toBe("InvalidPermission.NotFound");
    expect(err.$fault).toBe("client");
    expect(err.$metadata.httpStatusCode).toBe(400);
    expect(err.$metadata.requestId).toMatch(/^[0-9a-f-]{36}$/);
    expect(err.message).toBe("The specified rule does not exist in this security group.");
  });

  it("answers InvalidPermission.Duplicate for a rule that exists, whatever the CIDR's host bits", async () => {
    const groupId = await newGroup("wire-err-dup");
    const permission = tcpPermission(22, "10.0.0.0/8");
    await authorizeIngress(ec2, groupId, [permission]);
    const err = await ec2Error(
      authorizeIngress(ec2, groupId, [{ ...permission, IpRanges: [{ CidrIp: "10.9.9.9/8" }] }]),
    );
    expect(err.name).toBe("InvalidPermission.Duplicate");
    expect(err.$metadata.httpStatusCode).toBe(400);
    expect(err.message).toContain("already exists");
  });

  it("answers InvalidGroup.NotFound for an unknown group", async () => {
    const err = await ec2Error(
      authorizeIngress(ec2, "sg-0123456789abcdef0", [
        { IpProtocol: "-1", IpRanges: [{ CidrIp: "0.0.0.0/0" }] },
      ]),
    );
    expect(err.name).toBe("InvalidGroup.NotFound");
    expect(err.message).toBe("The security group 'sg-0123456789abcdef0' does not exist");
  });

  it("answers InvalidSecurityGroupRuleId.NotFound for an unknown rule id", async () => {
    const groupId = await newGroup("wire-err-sgr");
    const err = await ec2Error(
      ec2.send(
        new RevokeSecurityGroupIngressCommand({
          GroupId: groupId,
          SecurityGroupRuleIds: ["sgr-0123456789abcdef0"],
        }),
      ),
    );
    expect(err.name).toBe("InvalidSecurityGroupRuleId.NotFound");
    expect(err.$metadata.httpStatusCode).toBe(400);
  });

  it("answers the network-ACL error codes", async () => {
    const aclId = sandbox.seedNetworkAcl({
      entries: [
        { ruleNumber: 100, egress: false, protocol: "-1", ruleAction: "allow", cidr: "0.0.0.0/0" },
      ],
    });
    const entry = {
      NetworkAclId: aclId,
      RuleNumber: 100,
      Protocol: "-1",
      RuleAction: "allow" as const,
      Egress: false,
      CidrBlock: "0.0.0.0/0",
    };
    const exists = await ec2Error(ec2.send(new CreateNetworkAclEntryCommand(entry)));
    expect(exists.name).toBe("NetworkAclEntryAlreadyExists");
    expect(exists.message).toBe("The network acl entry identified by 100 already exists.");
    const missing = await ec2Error(
      ec2.send(
        new DeleteNetworkAclEntryCommand({ NetworkAclId: aclId, RuleNumber: 120, Egress: false }),
      ),
    );
    expect(missing.name).toBe("InvalidNetworkAclEntry.NotFound");
    expect(missing.message).toBe("no ingress entry with number 120");
    const replaceMissing = await ec2Error(
      ec2.send(new ReplaceNetworkAclEntryCommand({ ...entry, RuleNumber: 130 })),
    );
    expect(replaceMissing.name).toBe("InvalidNetworkAclEntry.NotFound");
    const unknownAcl = await ec2Error(
      ec2.send(new DescribeNetworkAclsCommand({ NetworkAclIds: ["acl-0804e62f77ad72b9c"] })),
    );
    expect(unknownAcl.name).toBe("InvalidNetworkAclID.NotFound");
    expect(unknownAcl.message).toBe("The networkAcl ID 'acl-0804e62f77ad72b9c' does not exist");
    const outOfRange = await ec2Error(
      ec2.send(new CreateNetworkAclEntryCommand({ ...entry, RuleNumber: 32767 })),
    );
    expect(outOfRange.name).toBe("InvalidParameterValue");
  });
});

describe("raw Query protocol", () => {
  it("serves GET requests with the parameters in the query string", async () => {
    const res = await fetch(`${endpoint}/?Action=DescribeVpcs&Version=2016-11-15`);
    expect(res.status).toBe(200);
    const xml = await res.text();
    expect(xml).toMatch(
      /^<\?xml version="1.0" encoding="UTF-8"\?>\n<DescribeVpcsResponse xmlns="http:\/\/ec2\.amazonaws\.com\/doc\/2016-11-15\/"><requestId>[0-9a-f-]{36}<\/requestId><vpcSet><item><vpcId>vpc-/,
    );
  });

  it("answers errors with the <Response><Errors> document and RequestID", async () => {
    const res = await fetch(endpoint, {
      method: "POST",
      headers: { "content-type": "application/x-www-form-urlencoded" },
      body: "Action=NoSuchAction&Version=2016-11-15",
    });
    expect(res.status).toBe(400);
    expect(res.headers.get("x-amzn-requestid")).toMatch(/^[0-9a-f-]{36}$/);
    expect(await res.text()).toMatch(
      /<Response><Errors><Error><Code>InvalidAction<\/Code><Message>The action NoSuchAction is not valid for this web service\.<\/Message><\/Error><\/Errors><RequestID>[0-9a-f-]{36}<\/RequestID><\/Response>$/,
    );
  });

  it("answers DryRun with DryRunOperation and changes nothing", async () => {
    const before = sandbox.stats().groups;
    const res = await fetch(endpoint, {
      method: "POST",
      headers: { "content-type": "application/x-www-form-urlencoded" },
      body: "Action=CreateSecurityGroup&Version=2016-11-15&GroupName=dry&GroupDescription=dry&DryRun=true",
    });
    expect(res.status).toBe(412);
    expect(await res.text()).toContain("<Code>DryRunOperation</Code>");
    expect(sandbox.stats().groups).toBe(before);
  });
});

describe("DescribeRegions over the wire", () => {
  it("answers the Regions enabled by default, not the opt-in ones not opted in", async () => {
    const out = await ec2.send(new DescribeRegionsCommand({}));
    const names = out.Regions?.map((r) => r.RegionName) ?? [];
    expect(names).toContain("us-east-1");
    expect(names).toContain("eu-west-1");
    expect(names).not.toContain("me-south-1");
    expect(out.Regions?.every((r) => r.OptInStatus === "opt-in-not-required")).toBe(true);
  });
});

describe("coverage of the served actions", () => {
  it("has exercised every served action over the SDK in this file", () => {
    const counts = sandbox.callCounts();
    const untested = Object.keys(EC2_ACTIONS).filter((a) => (counts[a] ?? 0) === 0);
    expect(untested).toEqual([]);
  });
});
