import {
  AuthorizeSecurityGroupIngressCommand,
  type CreateNetworkAclEntryRequest,
  type EC2Client,
  type IpPermission,
  ModifyManagedPrefixListCommand,
  type ModifyManagedPrefixListRequest,
  ModifySecurityGroupRulesCommand,
  type SecurityGroupRuleRequest,
  type SecurityGroupRuleUpdate,
} from "@aws-sdk/client-ec2";

// The EC2 calls and request bodies the sandbox's tests send (the sandbox and its client: helpers.ts).

/** AuthorizeSecurityGroupIngress of `permissions` on `groupId`, through `client`. */
export function authorizeIngress(client: EC2Client, groupId: string, permissions: IpPermission[]) {
  return client.send(
    new AuthorizeSecurityGroupIngressCommand({ GroupId: groupId, IpPermissions: permissions }),
  );
}

/** ModifySecurityGroupRules of `updates` in `groupId`, through `client`. */
export function modifyRules(
  client: EC2Client,
  groupId: string,
  updates: SecurityGroupRuleUpdate[],
) {
  return client.send(
    new ModifySecurityGroupRulesCommand({ GroupId: groupId, SecurityGroupRules: updates }),
  );
}

/** ModifyManagedPrefixList of `prefixListId` (its version and entry changes in `change`). */
export function modifyPrefixList(
  client: EC2Client,
  prefixListId: string,
  change: Omit<ModifyManagedPrefixListRequest, "PrefixListId">,
) {
  return client.send(new ModifyManagedPrefixListCommand({ PrefixListId: prefixListId, ...change }));
}

/** tcp `port` from `from`: an IPv4 CIDR, or the permission's peer fields (IPv6, groups, lists). */
export function tcpPermission(
  port: number,
  from: string | Omit<IpPermission, "IpProtocol" | "FromPort" | "ToPort"> = "0.0.0.0/0",
): IpPermission {
  return {
    IpProtocol: "tcp",
    FromPort: port,
    ToPort: port,
    ...(typeof from === "string" ? { IpRanges: [{ CidrIp: from }] } : from),
  };
}

/** A rule's new content: tcp `port` from anywhere over IPv4. */
export function tcpFromWorld(port: number): SecurityGroupRuleRequest {
  return { IpProtocol: "tcp", FromPort: port, ToPort: port, CidrIpv4: "0.0.0.0/0" };
}

/** A network-ACL entry request: rule `ruleNumber` of `aclId` allows tcp `from`-`to` in from anywhere. */
export function tcpEntryFromWorld(
  aclId: string,
  ruleNumber: number,
  from: number,
  to = from,
): CreateNetworkAclEntryRequest {
  return {
    NetworkAclId: aclId,
    RuleNumber: ruleNumber,
    Protocol: "6",
    RuleAction: "allow",
    Egress: false,
    CidrBlock: "0.0.0.0/0",
    PortRange: { From: from, To: to },
  };
}
