import { GuardrailError, parseCidr, parseProtocol } from "@guardrail/core";
import { Ec2ApiError, invalidParameterValue, missingParameter } from "./errors";
import type { RegionState, RuleContent, RulePeer, SecurityGroup, SgRule } from "./model";
import type { QueryParams } from "./query";
import { type XmlList, type XmlObject, type XmlValue, xmlList } from "./xml";

/** One source as the request named it, before canonicalisation. */
export type SourceRequest =
  | { readonly kind: "cidr4"; readonly cidr: string; readonly description?: string }
  | { readonly kind: "cidr6"; readonly cidr: string; readonly description?: string }
  | { readonly kind: "prefix-list"; readonly prefixListId: string; readonly description?: string }
  | {
      readonly kind: "group";
      readonly groupId?: string;
      readonly groupName?: string;
      readonly userId?: string;
      readonly description?: string;
    };

/** One `IpPermission` as the request sent it. */
export interface PermissionRequest {
  readonly ipProtocol: string | undefined;
  readonly fromPort: number | undefined;
  readonly toPort: number | undefined;
  readonly sources: readonly SourceRequest[];
}

const MAX_DESCRIPTION = 255;

function description(params: QueryParams): string | undefined {
  const text = params.str("Description");
  if (text !== undefined && text.length > MAX_DESCRIPTION) {
    throw invalidParameterValue(
      `Invalid value for ${params.path("Description")}: longer than ${MAX_DESCRIPTION} characters`,
    );
  }
  return text;
}

function withDescription<T extends object>(base: T, text: string | undefined): T {
  return text === undefined ? base : { ...base, description: text };
}

/**
 * Reads `IpPermissions.N` or, when absent, the legacy flat form (`CidrIp`, `IpProtocol`,
 * `FromPort`, `ToPort`, `SourceSecurityGroupName`/`OwnerId`) that old SDKs and scripts still send.
 */
export function readPermissions(params: QueryParams): {
  permissions: PermissionRequest[];
  flat: boolean;
} {
  const flatKeys = [
    "CidrIp",
    "IpProtocol",
    "FromPort",
    "ToPort",
    "SourceSecurityGroupName",
    "SourceSecurityGroupOwnerId",
  ];
  const flat = flatKeys.some((k) => params.has(k));
  const structured = params.structs("IpPermissions");
  if (flat && structured.length > 0) {
    throw new Ec2ApiError(
      "InvalidParameterCombination",
      "The parameter 'ipPermissions' may not be used in combination with 'cidrIp', 'ipProtocol', 'fromPort', 'toPort' or 'sourceSecurityGroupName'",
    );
  }
  if (flat) {
    const sources: SourceRequest[] = [];
    const cidr = params.str("CidrIp");
    if (cidr !== undefined) sources.push({ kind: "cidr4", cidr });
    const groupName = params.str("SourceSecurityGroupName");
    if (groupName !== undefined) {
      const userId = params.str("SourceSecurityGroupOwnerId");
      sources.push(
        userId === undefined ? { kind: "group", groupName } : { kind: "group", groupName, userId },
      );
    }
    return {
      permissions: [
        {
          ipProtocol: params.str("IpProtocol"),
          fromPort: params.int("FromPort"),
          toPort: params.int("ToPort"),
          sources,
        },
      ],
      flat: true,
    };
  }
  const permissions = structured.map((p): PermissionRequest => {
    const sources: SourceRequest[] = [];
    for (const r of p.structs("IpRanges")) {
      sources.push(
        withDescription({ kind: "cidr4", cidr: r.requiredStr("CidrIp") }, description(r)),
      );
    }
    for (const r of p.structs("Ipv6Ranges")) {
      sources.push(
        withDescription({ kind: "cidr6", cidr: r.requiredStr("CidrIpv6") }, description(r)),
      );
    }
    for (const r of p.structs("PrefixListIds")) {
      sources.push(
        withDescription(
          { kind: "prefix-list", prefixListId: r.requiredStr("PrefixListId") },
          description(r),
        ),
      );
    }
    for (const g of p.structs("Groups")) {
      const groupId = g.str("GroupId");
      const groupName = g.str("GroupName");
      const userId = g.str("UserId");
      sources.push(
        withDescription(
          {
            kind: "group",
            ...(groupId === undefined ? {} : { groupId }),
            ...(groupName === undefined ? {} : { groupName }),
            ...(userId === undefined ? {} : { userId }),
          },
          description(g),
        ),
      );
    }
    return {
      ipProtocol: p.str("IpProtocol"),
      fromPort: p.int("FromPort"),
      toPort: p.int("ToPort"),
      sources,
    };
  });
  return { permissions, flat: false };
}

/** Protocol and ports as EC2 stores them: names for tcp/udp/icmp/icmpv6, `-1` ports when none apply. */
export function canonicalProtocolAndPorts(
  protocol: string | number | undefined,
  fromPort: number | undefined,
  toPort: number | undefined,
): { ipProtocol: string; fromPort: number; toPort: number } {
  if (protocol === undefined || protocol === "") throw missingParameter("ipProtocol");
  let parsed: ReturnType<typeof parseProtocol>;
  try {
    parsed = parseProtocol(protocol, "ipProtocol");
  } catch (e) {
    if (e instanceof GuardrailError) {
      throw invalidParameterValue(
        `Invalid value '${String(protocol)}' for IP protocol. Unknown protocol.`,
      );
    }
    throw e;
  }
  if (parsed === "all") return { ipProtocol: "-1", fromPort: -1, toPort: -1 };
  if (parsed === "tcp" || parsed === "udp") {
    if (fromPort === undefined || toPort === undefined) {
      throw invalidParameterValue(
        "Invalid value 'Must specify both from and to ports with TCP/UDP.' for portRange",
      );
    }
    if (fromPort < 0 || toPort > 65535 || fromPort > toPort) {
      throw invalidParameterValue(
        `Invalid value '${fromPort}-${toPort}' for portRange. Ports must be 0-65535 with from <= to.`,
      );
    }
    return { ipProtocol: parsed, fromPort, toPort };
  }
  if (parsed === "icmp" || parsed === "icmpv6") {
    const type = fromPort ?? -1;
    const code = toPort ?? -1;
    if (type < -1 || type > 255 || code < -1 || code > 255) {
      throw invalidParameterValue(`Invalid ICMP type/code ${type}/${code}`);
    }
    return { ipProtocol: parsed, fromPort: type, toPort: code };
  }
  // Any other protocol number opens all its traffic; EC2 reports the ports as -1.
  return { ipProtocol: String(parsed), fromPort: -1, toPort: -1 };
}

export function canonicalCidr(text: string, family: 4 | 6, field: string): string {
  let cidr: ReturnType<typeof parseCidr>;
  try {
    cidr = parseCidr(text, field);
  } catch (e) {
    if (e instanceof GuardrailError) throw invalidParameterValue(`CIDR block ${text} is malformed`);
    throw e;
  }
  if (cidr.family !== family) {
    throw invalidParameterValue(
      `CIDR block ${text} is malformed: expected an IPv${family} block in ${field}`,
    );
  }
  return cidr.cidr;
}

/** A canonical rule, with the request source it came from (for `unknownIpPermissionSet`). */
export interface ResolvedRule {
  readonly content: RuleContent;
  readonly permission: PermissionRequest;
  readonly source: SourceRequest;
}

/**
 * Turns request permissions into canonical rules for `group`: one rule per permission × source,
 * CIDRs with host bits cleared, referenced groups and prefix lists resolved. Validates everything
 * before anything is changed, as EC2 does.
 */
export function resolveRules(
  state: RegionState,
  group: SecurityGroup,
  isEgress: boolean,
  permissions: readonly PermissionRequest[],
): ResolvedRule[] {
  const out: ResolvedRule[] = [];
  for (const permission of permissions) {
    const ports = canonicalProtocolAndPorts(
      permission.ipProtocol,
      permission.fromPort,
      permission.toPort,
    );
    if (permission.sources.length === 0) {
      throw invalidParameterValue(
        "missing mandatory parameter: exactly one of remote-security-group, remote-ip-range, remote-ipv6-range, or prefix-list-id must be present",
      );
    }
    for (const source of permission.sources) {
      const peer = resolvePeer(state, group, source);
      const content: RuleContent = {
        isEgress,
        ...ports,
        peer,
        ...(source.description === undefined ? {} : { description: source.description }),
      };
      out.push({ content, permission, source });
    }
  }
  return out;
}

/** Canonicalises and checks one source: CIDR family and host bits, referenced list or group exists. */
export function resolvePeer(
  state: RegionState,
  group: SecurityGroup,
  source: SourceRequest,
): RulePeer {
  switch (source.kind) {
    case "cidr4":
      return { kind: "cidr4", cidr: canonicalCidr(source.cidr, 4, "cidrIp") };
    case "cidr6":
      return { kind: "cidr6", cidr: canonicalCidr(source.cidr, 6, "cidrIpv6") };
    case "prefix-list": {
      if (!state.prefixLists.has(source.prefixListId)) {
        throw new Ec2ApiError(
          "InvalidPrefixListID.NotFound",
          `The prefix list ID '${source.prefixListId}' does not exist`,
        );
      }
      return { kind: "prefix-list", prefixListId: source.prefixListId };
    }
    case "group": {
      const userId = source.userId ?? state.accountId;
      if (userId !== state.accountId) {
        // Another account's group: EC2 cannot check it from here either; keep it as named.
        if (source.groupId === undefined) {
          throw invalidParameterValue("A cross-account group reference must name the GroupId");
        }
        return { kind: "group", groupId: source.groupId, userId };
      }
      let referenced: SecurityGroup | undefined;
      if (source.groupId !== undefined) {
        referenced = state.groups.get(source.groupId);
        if (referenced === undefined) {
          throw new Ec2ApiError(
            "InvalidGroup.NotFound",
            `The security group '${source.groupId}' does not exist`,
          );
        }
      } else if (source.groupName !== undefined) {
        const id = state.groupNames.get(group.vpcId)?.get(source.groupName);
        referenced = id === undefined ? undefined : state.groups.get(id);
        if (referenced === undefined) {
          throw new Ec2ApiError(
            "InvalidGroup.NotFound",
            `The security group '${source.groupName}' does not exist in VPC '${group.vpcId}'`,
          );
        }
      } else {
        throw missingParameter("groups.groupId");
      }
      return { kind: "group", groupId: referenced.id, userId };
    }
  }
}

/** The text EC2 puts in `InvalidPermission.Duplicate` messages. */
export function describeRuleForMessage(rule: RuleContent): string {
  const protocol = rule.ipProtocol === "-1" ? "ALL" : rule.ipProtocol.toUpperCase();
  return `peer: ${peerName(rule.peer)}, ${protocol}, from port: ${rule.fromPort}, to port: ${rule.toPort}, ALLOW`;
}

export function ruleArn(state: RegionState, ruleId: string): string {
  return `arn:aws:ec2:${state.region}:${state.accountId}:security-group-rule/${ruleId}`;
}

function tagSet(tags: ReadonlyMap<string, string>): XmlValue {
  return xmlList([...tags].map(([key, value]) => ({ key, value })));
}

/** A `SecurityGroupRule` item (Authorize reply, DescribeSecurityGroupRules). */
export function ruleItem(state: RegionState, rule: SgRule): XmlObject {
  return {
    groupOwnerId: rule.ownerId,
    groupId: rule.groupId,
    securityGroupRuleId: rule.id,
    description: rule.description,
    isEgress: rule.isEgress,
    ipProtocol: rule.ipProtocol,
    fromPort: rule.fromPort,
    toPort: rule.toPort,
    ...peerFields(rule.peer),
    tagSet: rule.tags.size > 0 ? tagSet(rule.tags) : undefined,
    securityGroupRuleArn: ruleArn(state, rule.id),
  };
}

function peerFields(peer: RulePeer): XmlObject {
  if (peer.kind !== "group") return flatPeerFields(peer);
  return {
    referencedGroupInfo: {
      userId: peer.userId,
      groupId: peer.groupId,
      vpcId: peer.vpcId,
      vpcPeeringConnectionId: peer.vpcPeeringConnectionId,
    },
  };
}

/** What EC2 names a rule's peer by: its CIDR, prefix-list id or group id. */
function peerName(peer: RulePeer): string {
  switch (peer.kind) {
    case "group":
      return peer.groupId;
    case "prefix-list":
      return peer.prefixListId;
    default:
      return peer.cidr;
  }
}

/** The one field a flat rule item names each kind of peer in (a group without its owner). */
const FLAT_PEER_FIELD = {
  cidr4: "cidrIpv4",
  cidr6: "cidrIpv6",
  "prefix-list": "prefixListId",
  group: "referencedGroupId",
} as const satisfies Record<RulePeer["kind"], string>;

type FlatPeerFields = { readonly [F in (typeof FLAT_PEER_FIELD)[RulePeer["kind"]]]?: string };

function flatPeerFields(peer: RulePeer): FlatPeerFields {
  return { [FLAT_PEER_FIELD[peer.kind]]: peerName(peer) };
}

/** A rule as a `RevokedSecurityGroupRule` item lists it: its peer in one flat field, no owner, no ARN. */
export interface FlatRule extends FlatPeerFields {
  readonly securityGroupRuleId: string;
  readonly groupId: string;
  readonly isEgress: boolean;
  readonly ipProtocol: string;
  readonly fromPort: number;
  readonly toPort: number;
  readonly description?: string;
}

export function flatRule(rule: SgRule): FlatRule {
  return {
    securityGroupRuleId: rule.id,
    groupId: rule.groupId,
    isEgress: rule.isEgress,
    ipProtocol: rule.ipProtocol,
    fromPort: rule.fromPort,
    toPort: rule.toPort,
    ...flatPeerFields(rule.peer),
    ...(rule.description === undefined ? {} : { description: rule.description }),
  };
}

/** A `RevokedSecurityGroupRule` item. */
export function revokedRuleItem(rule: SgRule): XmlObject {
  return { ...flatRule(rule) };
}

/**
 * Rules grouped into `IpPermission` items the way DescribeSecurityGroups reports them: one item
 * per protocol and port range, holding every source; ports omitted for protocol -1.
 */
export function permissionItems(rules: Iterable<RuleContent>): XmlList {
  const byKey = new Map<
    string,
    { head: RuleContent; groups: XmlObject[]; v4: XmlObject[]; v6: XmlObject[]; pl: XmlObject[] }
  >();
  for (const rule of rules) {
    const key = `${rule.ipProtocol}|${rule.fromPort}|${rule.toPort}`;
    let bucket = byKey.get(key);
    if (bucket === undefined) {
      bucket = { head: rule, groups: [], v4: [], v6: [], pl: [] };
      byKey.set(key, bucket);
    }
    const d = rule.description;
    const p = rule.peer;
    if (p.kind === "cidr4") bucket.v4.push({ cidrIp: p.cidr, description: d });
    else if (p.kind === "cidr6") bucket.v6.push({ cidrIpv6: p.cidr, description: d });
    else if (p.kind === "prefix-list")
      bucket.pl.push({ prefixListId: p.prefixListId, description: d });
    else
      bucket.groups.push({
        description: d,
        userId: p.userId,
        groupId: p.groupId,
        vpcId: p.vpcId,
        vpcPeeringConnectionId: p.vpcPeeringConnectionId,
      });
  }
  return xmlList(
    [...byKey.values()].map(({ head, groups, v4, v6, pl }) => ({
      ipProtocol: head.ipProtocol,
      fromPort: head.ipProtocol === "-1" ? undefined : head.fromPort,
      toPort: head.ipProtocol === "-1" ? undefined : head.toPort,
      groups: xmlList(groups),
      ipRanges: xmlList(v4),
      ipv6Ranges: xmlList(v6),
      prefixListIds: xmlList(pl),
    })),
  );
}
