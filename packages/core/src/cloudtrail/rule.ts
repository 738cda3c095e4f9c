import { InvalidInputError } from "../errors";
import type { Direction, Peer, SecurityGroupRuleChange } from "../model";
import { parseCidr } from "../net/cidr";
import { type IcmpTypeCode, type PortRange, parsePort } from "../net/ports";
import { hasPorts, isIcmp, type Protocol, parseProtocol, protocolApiName } from "../net/protocol";
import { type At, asObject, asString, field, join, missing, optString } from "./json";

/**
 * The protocol/ports/ICMP part of a rule, read the same way from every source (CloudTrail
 * request and response, ModifySecurityGroupRules, the SDK's described state), so that the
 * same rule always compares equal.
 */
export interface RuleShape {
  readonly protocol: Protocol;
  readonly ports: PortRange | null;
  readonly icmp: IcmpTypeCode | null;
}

/**
 * Ports for TCP/UDP. Every other protocol means all ports: `-1` (AWS ignores whatever ports
 * come with it: absent from Terraform, `0/65535` from the old console, `-1/-1` in responses),
 * ICMP (whose "ports" are type and code), and other protocol numbers, for which AWS documents
 * that all ports are allowed whatever is specified.
 */
export function portsFor(protocol: Protocol, from: At, to: At): PortRange | null {
  if (!hasPorts(protocol)) return null;
  if (missing(from.value))
    throw new InvalidInputError(from.path, `missing: ${protocol} needs ports`);
  if (missing(to.value)) throw new InvalidInputError(to.path, `missing: ${protocol} needs ports`);
  const range = { from: parsePort(from.value, from.path), to: parsePort(to.value, to.path) };
  if (range.from > range.to) {
    throw new InvalidInputError(
      to.path,
      `port range ends (${range.to}) before it starts (${range.from})`,
    );
  }
  return range;
}

/** ICMP type and code; absent means any (`-1`), as the console and the API read it. */
export function icmpFor(protocol: Protocol, type: At, code: At): IcmpTypeCode | null {
  if (!isIcmp(protocol)) return null;
  return {
    type: missing(type.value) ? -1 : parsePort(type.value, type.path, -1, 255),
    code: missing(code.value) ? -1 : parsePort(code.value, code.path, -1, 255),
  };
}

/** A security-group rule shape: EC2 puts ICMP type/code in `fromPort`/`toPort`. */
export function securityGroupRuleShape(protocol: At, from: At, to: At): RuleShape {
  const p = parseProtocol(protocol.value, protocol.path);
  return { protocol: p, ports: portsFor(p, from, to), icmp: icmpFor(p, from, to) };
}

/** One way a rule may name its peer: the field's name, its raw value and how to read it. */
export interface PeerOption<T = Peer> {
  readonly name: string;
  readonly value: unknown;
  readonly read: () => T;
}

/**
 * Exactly one peer. A rule with none, or with several, is not a single-source rule and is
 * rejected rather than guessed at.
 */
export function singlePeer<T = Peer>(options: readonly PeerOption<T>[], path: string): T {
  const present = options.filter((o) => !missing(o.value));
  const [only] = present;
  if (only === undefined) throw new InvalidInputError(path, "missing: the rule names no peer");
  if (present.length > 1) {
    const names = present.map((o) => o.name).join(", ");
    throw new InvalidInputError(path, `the rule names several peers (${names})`);
  }
  return only.read();
}

export function cidrPeer(at: At): Peer {
  return { kind: "cidr", cidr: parseCidr(at.value, at.path) };
}

export function prefixListPeer(at: At): Peer {
  if (typeof at.value !== "string" || at.value === "") {
    throw new InvalidInputError(at.path, "expected a prefix list id");
  }
  return { kind: "prefix-list", prefixListId: at.value };
}

/**
 * The address fields of a security-group rule, as each source spells them: CloudTrail's
 * responses in camelCase, the EC2 API (and ModifySecurityGroupRules' request) in PascalCase.
 */
export const RULE_ADDRESS_FIELDS = {
  camelCase: ["cidrIpv4", "cidrIpv6", "prefixListId"],
  PascalCase: ["CidrIpv4", "CidrIpv6", "PrefixListId"],
} as const;

/** The fields of a referenced group (`referencedGroupInfo`): its id, its name and its owner. */
const GROUP_INFO_FIELDS = {
  camelCase: ["groupId", "groupName", "userId"],
  PascalCase: ["GroupId", "GroupName", "UserId"],
} as const;

/**
 * The peer of a security-group rule (`SecurityGroupRule`, or its request form): its IPv4 CIDR,
 * IPv6 CIDR or prefix list, read by `field` under the names of `casing`, or one of `groups`,
 * the ways this source names a referenced group.
 */
export function securityGroupRulePeer(
  field: (key: string) => At,
  casing: keyof typeof RULE_ADDRESS_FIELDS,
  groups: readonly PeerOption[],
  path: string,
): Peer {
  const [v4, v6, prefixList] = RULE_ADDRESS_FIELDS[casing];
  const address = (key: string, read: (at: At) => Peer): PeerOption => {
    const at = field(key);
    return { name: key, value: at.value, read: () => read(at) };
  };
  return singlePeer(
    [address(v4, cidrPeer), address(v6, cidrPeer), address(prefixList, prefixListPeer), ...groups],
    path,
  );
}

/** A referenced group given as an object (`ReferencedGroupInfo`), its fields as `casing` spells them. */
export function groupInfoOption(
  name: string,
  at: At,
  casing: keyof typeof GROUP_INFO_FIELDS,
): PeerOption {
  return {
    name,
    value: at.value,
    read: () => {
      const info = asObject(at.value, at.path);
      const read = (key: string) => optString(field(info, key), join(at.path, key));
      const [groupId, groupName, owner] = GROUP_INFO_FIELDS[casing];
      return groupPeer(read(groupId), read(groupName), read(owner), at.path);
    },
  };
}

/** A referenced group named by its id alone (`ReferencedGroupId`, a string). */
export function groupIdOption(name: string, at: At): PeerOption {
  return {
    name,
    value: at.value,
    read: () => groupPeer(asString(at.value, at.path), null, null, at.path),
  };
}

export function groupPeer(
  groupId: string | null,
  groupName: string | null,
  ownerId: string | null,
  path: string,
): Peer {
  if (groupId === null && groupName === null) {
    throw new InvalidInputError(path, "missing: a referenced group needs a groupId or a groupName");
  }
  return {
    kind: "security-group",
    groupId,
    ...(groupName !== null ? { groupName } : {}),
    ...(ownerId !== null ? { ownerId } : {}),
  };
}

/** Protocol, ports and ICMP as one comparable text. */
export function shapeKey(shape: RuleShape): string {
  const ports = shape.ports ? `${shape.ports.from}-${shape.ports.to}` : "all";
  const icmp = shape.icmp ? `${shape.icmp.type}/${shape.icmp.code}` : "-";
  return `${protocolApiName(shape.protocol)}|${ports}|${icmp}`;
}

/** Builds a change with optional fields left out rather than set to undefined. */
export function securityGroupRuleChange(parts: {
  groupId: string | null;
  groupName?: string | null;
  direction: Direction | "unknown";
  shape: RuleShape;
  peer: Peer;
  ruleId: string | null;
  description?: string | null;
}): SecurityGroupRuleChange {
  return {
    kind: "security-group-rule",
    groupId: parts.groupId,
    ...(parts.groupName ? { groupName: parts.groupName } : {}),
    direction: parts.direction,
    protocol: parts.shape.protocol,
    ports: parts.shape.ports,
    icmp: parts.shape.icmp,
    peer: parts.peer,
    ruleId: parts.ruleId,
    ...(parts.description ? { description: parts.description } : {}),
  };
}
