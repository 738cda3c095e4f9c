import type { QueryParams } from "../ec2/query";

/**
 * CloudTrail's `requestParameters` for each mutating EC2 action, rendered from the request as
 * sent (not from sandbox state), the way CloudTrail does: a CIDR with host bits set stays as the
 * caller wrote it, a missing port stays missing.
 *
 * Two renderings exist in real events (see the shared SHAPES.md):
 * - older APIs: camelCase locationNames, lists as `{ items: [...] }`, empty lists as `{}`;
 * - newer APIs (ModifySecurityGroupRules, managed prefix lists): a PascalCase `<Action>Request`
 *   wrapper with query member names, a single list member as an object (several as an array),
 *   and a positional `tag`.
 */
export type RequestRenderer = (params: QueryParams) => Record<string, unknown>;

type Json = Record<string, unknown>;

/** A query value as CloudTrail types it: integers as numbers, everything else as sent. */
function num(raw: string | undefined): number | string | undefined {
  if (raw === undefined) return undefined;
  return /^-?\d+$/.test(raw.trim()) ? Number(raw.trim()) : raw;
}

function bool(raw: string | undefined): boolean | string | undefined {
  if (raw === undefined) return undefined;
  const text = raw.trim().toLowerCase();
  return text === "true" ? true : text === "false" ? false : raw;
}

/** Drops undefined members, keeping key order. */
function compact(obj: Record<string, unknown>): Json {
  const out: Json = {};
  for (const [k, v] of Object.entries(obj)) if (v !== undefined) out[k] = v;
  return out;
}

/** `{ items: [...] }`, or `{}` when empty: CloudTrail never writes `[]` or `{ items: [] }`. */
function items(list: unknown[]): Json {
  return list.length === 0 ? {} : { items: list };
}

/** In the wrapper rendering, one member is an object and several are an array. */
function oneOrMany(list: Json[]): Json | Json[] | undefined {
  if (list.length === 0) return undefined;
  return list.length === 1 ? list[0] : list;
}

function tagSpecificationSet(params: QueryParams): Json | undefined {
  const specs = params.structs("TagSpecification");
  if (specs.length === 0) return undefined;
  return items(
    specs.map((s) =>
      compact({
        resourceType: s.str("ResourceType"),
        tags: s.structs("Tag").map((t) => compact({ key: t.str("Key"), value: t.str("Value") })),
      }),
    ),
  );
}

function ipPermission(p: QueryParams): Json {
  return compact({
    ipProtocol: p.str("IpProtocol"),
    fromPort: num(p.str("FromPort")),
    toPort: num(p.str("ToPort")),
    groups: items(
      p.structs("Groups").map((g) =>
        compact({
          userId: g.str("UserId"),
          groupId: g.str("GroupId"),
          groupName: g.str("GroupName"),
          description: g.str("Description"),
        }),
      ),
    ),
    ipRanges: items(
      p
        .structs("IpRanges")
        .map((r) => compact({ cidrIp: r.str("CidrIp"), description: r.str("Description") })),
    ),
    ipv6Ranges: items(
      p
        .structs("Ipv6Ranges")
        .map((r) => compact({ cidrIpv6: r.str("CidrIpv6"), description: r.str("Description") })),
    ),
    prefixListIds: items(
      p
        .structs("PrefixListIds")
        .map((r) =>
          compact({ prefixListId: r.str("PrefixListId"), description: r.str("Description") }),
        ),
    ),
  });
}

/** Authorize and Revoke (both directions): `groupId`, `ipPermissions` (`{}` in the legacy flat form) and the flat fields. */
const securityGroupPermissions: RequestRenderer = (params) => {
  const ruleIds = params.list("SecurityGroupRuleId");
  return compact({
    groupId: params.str("GroupId"),
    groupName: params.str("GroupName"),
    ipPermissions: items(params.structs("IpPermissions").map(ipPermission)),
    ipProtocol: params.str("IpProtocol"),
    fromPort: num(params.str("FromPort")),
    toPort: num(params.str("ToPort")),
    cidrIp: params.str("CidrIp"),
    sourceSecurityGroupName: params.str("SourceSecurityGroupName"),
    sourceSecurityGroupOwnerId: params.str("SourceSecurityGroupOwnerId"),
    // No capture of a revoke-by-id event exists; this follows the old-API list convention.
    securityGroupRuleIds:
      ruleIds.length > 0 ? items(ruleIds.map((id) => ({ securityGroupRuleId: id }))) : undefined,
    tagSpecificationSet: tagSpecificationSet(params),
  });
};

const modifySecurityGroupRules: RequestRenderer = (params) => {
  const rules = params.indices("SecurityGroupRule").map((n) => {
    const r = params.scope(`SecurityGroupRule.${n}`);
    const spec = r.scope("SecurityGroupRule");
    return compact({
      SecurityGroupRuleId: r.str("SecurityGroupRuleId"),
      tag: n,
      SecurityGroupRule: compact({
        CidrIpv4: spec.str("CidrIpv4"),
        CidrIpv6: spec.str("CidrIpv6"),
        PrefixListId: spec.str("PrefixListId"),
        ReferencedGroupId: spec.str("ReferencedGroupId"),
        FromPort: num(spec.str("FromPort")),
        ToPort: num(spec.str("ToPort")),
        IpProtocol: spec.str("IpProtocol"),
        Description: spec.str("Description"),
      }),
    });
  });
  return {
    ModifySecurityGroupRulesRequest: compact({
      SecurityGroupRule: oneOrMany(rules),
      GroupId: params.str("GroupId"),
    }),
  };
};

/**
 * Prefix-list entries as the one captured ModifyManagedPrefixList event shows them:
 * `Description`, lower-case `cidr`, and `tag` as a string.
 */
function prefixListEntries(params: QueryParams, name: string): Json | Json[] | undefined {
  return oneOrMany(
    params.indices(name).map((n) => {
      const e = params.scope(`${name}.${n}`);
      return compact({ Description: e.str("Description"), cidr: e.str("Cidr"), tag: String(n) });
    }),
  );
}

const naclEntry: RequestRenderer = (params) => {
  const hasIcmp = params.hasAny("Icmp");
  const hasPorts = params.hasAny("PortRange");
  return compact({
    networkAclId: params.str("NetworkAclId"),
    ruleNumber: num(params.str("RuleNumber")),
    egress: bool(params.str("Egress")),
    ruleAction: params.str("RuleAction"),
    icmpTypeCode: hasIcmp
      ? compact({ code: num(params.str("Icmp.Code")), type: num(params.str("Icmp.Type")) })
      : {},
    aclProtocol: params.str("Protocol"),
    cidrBlock: params.str("CidrBlock"),
    ipv6CidrBlock: params.str("Ipv6CidrBlock"),
    portRange: hasPorts
      ? compact({ from: num(params.str("PortRange.From")), to: num(params.str("PortRange.To")) })
      : {},
  });
};

export const REQUEST_RENDERERS: Readonly<Record<string, RequestRenderer>> = {
  CreateSecurityGroup: (p) =>
    compact({
      groupName: p.str("GroupName"),
      groupDescription: p.str("GroupDescription"),
      vpcId: p.str("VpcId"),
      tagSpecificationSet: tagSpecificationSet(p),
    }),
  DeleteSecurityGroup: (p) => compact({ groupId: p.str("GroupId"), groupName: p.str("GroupName") }),
  AuthorizeSecurityGroupIngress: securityGroupPermissions,
  AuthorizeSecurityGroupEgress: securityGroupPermissions,
  RevokeSecurityGroupIngress: securityGroupPermissions,
  RevokeSecurityGroupEgress: securityGroupPermissions,
  ModifySecurityGroupRules: modifySecurityGroupRules,
  CreateTags: (p) => ({
    resourcesSet: items(p.list("ResourceId").map((resourceId) => ({ resourceId }))),
    tagSet: items(
      p.structs("Tag").map((t) => compact({ key: t.str("Key"), value: t.str("Value") })),
    ),
  }),
  DeleteTags: (p) =>
    compact({
      resourcesSet: items(p.list("ResourceId").map((resourceId) => ({ resourceId }))),
      tagSet: items(
        p.structs("Tag").map((t) => compact({ key: t.str("Key"), value: t.str("Value") })),
      ),
    }),
  CreateVpc: (p) =>
    compact({ cidrBlock: p.str("CidrBlock"), tagSpecificationSet: tagSpecificationSet(p) }),
  CreateNetworkAcl: (p) =>
    compact({
      vpcId: p.str("VpcId"),
      clientToken: p.str("ClientToken"),
      tagSpecificationSet: tagSpecificationSet(p),
    }),
  CreateNetworkAclEntry: naclEntry,
  ReplaceNetworkAclEntry: naclEntry,
  DeleteNetworkAclEntry: (p) =>
    compact({
      networkAclId: p.str("NetworkAclId"),
      ruleNumber: num(p.str("RuleNumber")),
      egress: bool(p.str("Egress")),
    }),
  CreateSubnet: (p) =>
    compact({
      vpcId: p.str("VpcId"),
      cidrBlock: p.str("CidrBlock"),
      tagSpecificationSet: tagSpecificationSet(p),
    }),
  ReplaceNetworkAclAssociation: (p) =>
    compact({ associationId: p.str("AssociationId"), networkAclId: p.str("NetworkAclId") }),
  CreateManagedPrefixList: (p) => ({
    CreateManagedPrefixListRequest: compact({
      PrefixListName: p.str("PrefixListName"),
      MaxEntries: num(p.str("MaxEntries")),
      AddressFamily: p.str("AddressFamily"),
      Entry: prefixListEntries(p, "Entry"),
      ClientToken: p.str("ClientToken"),
    }),
  }),
  ModifyManagedPrefixList: (p) => ({
    ModifyManagedPrefixListRequest: compact({
      AddEntry: prefixListEntries(p, "AddEntry"),
      RemoveEntry: prefixListEntries(p, "RemoveEntry"),
      PrefixListId: p.str("PrefixListId"),
      CurrentVersion: num(p.str("CurrentVersion")),
      PrefixListName: p.str("PrefixListName"),
      MaxEntries: num(p.str("MaxEntries")),
    }),
  }),
};

/** Actions whose `responseElements` CloudTrail wraps as `{ "<Action>Response": xmlns, requestId, ... }`. */
export const WRAPPED_RESPONSE_ACTIONS: ReadonlySet<string> = new Set([
  "ModifySecurityGroupRules",
  "CreateManagedPrefixList",
  "ModifyManagedPrefixList",
]);
