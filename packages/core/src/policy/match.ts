import type { NetworkAclEntryChange, SecurityGroupRuleChange } from "../model";
import { type Cidr, cidrContains } from "../net/cidr";
import type { IcmpTypeCode, PortRange } from "../net/ports";
import type { Protocol } from "../net/protocol";
import {
  PEER_CLASSES,
  type PeerClass,
  type Policy,
  type PolicyThresholds,
  type ServiceSpec,
} from "./types";

/** A security-group rule whose direction is known, or a network-ACL entry. */
export type ConcreteChange =
  | (SecurityGroupRuleChange & { readonly direction: "ingress" | "egress" })
  | NetworkAclEntryChange;

/** The other side of a rule, as the policy sees it. */
export interface ClassifiedPeer {
  /** How the reason names it: `0.0.0.0/0`, `prefix list pl-1 entry 0.0.0.0/0`. */
  readonly text: string;
  /** What the policy calls it: `public, wide`, `trusted`, `blocked network 198.51.100.0/24`. */
  readonly label: string;
  readonly classes: ReadonlySet<PeerClass>;
  /** True for a prefix list nobody resolved: it stands for every class at once. */
  readonly unresolved: boolean;
}

const ALL_PORTS: PortRange = { from: 0, to: 65535 };

/** Direction of a concrete change. */
export function directionOf(change: ConcreteChange): "ingress" | "egress" {
  return change.kind === "network-acl-entry"
    ? change.egress
      ? "egress"
      : "ingress"
    : change.direction;
}

/**
 * Broad: protocol all, or a tcp/udp range spanning more than `broadPortCount` ports (a missing
 * range counts as all 65,536). ICMP and other protocols are one service each: targeted.
 *
 * @example
 * isBroad({ protocol: "tcp", ports: { from: 0, to: 1023 } }, policy.thresholds) // false (1,024 ports)
 * isBroad({ protocol: "tcp", ports: { from: 0, to: 1024 } }, policy.thresholds) // true  (1,025 ports)
 */
export function isBroad(
  change: { readonly protocol: Protocol; readonly ports: PortRange | null },
  thresholds: PolicyThresholds,
): boolean {
  if (change.protocol === "all") return true;
  if (change.protocol !== "tcp" && change.protocol !== "udp") return false;
  const range = change.ports ?? ALL_PORTS;
  return range.to - range.from + 1 > thresholds.broadPortCount;
}

/** A CIDR written out as `parseCidr` would return it (a test holds each to `parseCidr`). */
const block = (family: 4 | 6, cidr: string, network: bigint): Cidr => ({
  family,
  cidr,
  prefixLength: Number(cidr.slice(cidr.indexOf("/") + 1)),
  network,
});

/**
 * IANA special-purpose ranges that cannot be a peer on the internet: a packet from or to them
 * never crosses a router to the public side. The documentation ranges (192.0.2.0/24,
 * 198.51.100.0/24, 203.0.113.0/24, 2001:db8::/32) are special-purpose too, but are left out on
 * purpose: the shipped policy and its examples use them as office and blocked networks.
 * Sources: the IANA IPv4 and IPv6 Special-Purpose Address Registries (RFC 6890).
 *
 * Written parsed, not parsed at module load: the table is on every event function's cold start.
 */
export const SPECIAL_PURPOSE_NETWORKS: readonly { readonly cidr: Cidr; readonly name: string }[] = [
  { cidr: block(4, "0.0.0.0/8", 0x00000000n), name: "this network (RFC 791)" },
  { cidr: block(4, "127.0.0.0/8", 0x7f000000n), name: "loopback (RFC 1122)" },
  { cidr: block(4, "169.254.0.0/16", 0xa9fe0000n), name: "link-local (RFC 3927)" },
  { cidr: block(4, "224.0.0.0/4", 0xe0000000n), name: "multicast (RFC 5771)" },
  { cidr: block(4, "240.0.0.0/4", 0xf0000000n), name: "reserved (RFC 1112)" },
  { cidr: block(4, "255.255.255.255/32", 0xffffffffn), name: "limited broadcast (RFC 919)" },
  { cidr: block(6, "::/128", 0n), name: "unspecified address (RFC 4291)" },
  { cidr: block(6, "::1/128", 1n), name: "loopback (RFC 4291)" },
  { cidr: block(6, "fe80::/10", 0xfe80n << 112n), name: "link-local unicast (RFC 4291)" },
  { cidr: block(6, "ff00::/8", 0xff00n << 112n), name: "multicast (RFC 4291)" },
];

/**
 * The special-purpose range holding the whole of `cidr`, if any. A CIDR only partly inside
 * one (0.0.0.0/0 holds 127.0.0.0/8 but also everything else) is not special-purpose.
 *
 * @example
 * specialPurposeRange(parseCidr("169.254.169.254/32"))?.name // "link-local (RFC 3927)"
 * specialPurposeRange(parseCidr("0.0.0.0/0"))                // undefined
 */
export function specialPurposeRange(cidr: Cidr) {
  // The most specific range names it: 255.255.255.255/32 is broadcast, though inside 240.0.0.0/4.
  let best: (typeof SPECIAL_PURPOSE_NETWORKS)[number] | undefined;
  for (const n of SPECIAL_PURPOSE_NETWORKS) {
    if (cidrContains(n.cidr, cidr) && (!best || n.cidr.prefixLength > best.cidr.prefixLength)) {
      best = n;
    }
  }
  return best;
}

/**
 * Classifies one CIDR against the policy's networks.
 *
 * @example
 * classifyCidr(parseCidr("0.0.0.0/0"), defaultPolicy()).label       // "public, wide"
 * classifyCidr(parseCidr("198.51.100.7/32"), defaultPolicy()).label // "public, narrow; blocked network 198.51.100.0/24"
 */
export function classifyCidr(cidr: Cidr, policy: Policy, text = cidr.cidr): ClassifiedPeer {
  const { trusted, office, blocked } = policy.networks;
  const classes = new Set<PeerClass>(["any"]);
  const parts: string[] = [];
  const isTrusted =
    trusted.some((n) => cidrContains(n, cidr)) || office.some((n) => cidrContains(n, cidr));
  const special = isTrusted ? undefined : specialPurposeRange(cidr);
  if (isTrusted) {
    parts.push("trusted");
  } else if (special) {
    classes.add("special-purpose");
    parts.push(`special-purpose, ${special.name}`);
  } else {
    const limit =
      cidr.family === 4 ? policy.thresholds.wideIpv4Prefix : policy.thresholds.wideIpv6Prefix;
    const wide = cidr.prefixLength < limit;
    classes.add("public");
    classes.add(wide ? "public-wide" : "public-narrow");
    parts.push(wide ? "public, wide" : "public, narrow");
  }
  // Blocked is checked on its own: a range carved out of a trusted network is still blocked.
  const block = blocked.find((n) => cidrContains(n, cidr));
  if (block) {
    classes.add("blocked");
    parts.push(`blocked network ${block.cidr}`);
  }
  return { text, label: parts.join("; "), classes, unresolved: false };
}

const EVERY_CLASS: ReadonlySet<PeerClass> = new Set(PEER_CLASSES);

/** A prefix list whose entries nobody supplied: it could be anything. */
export function unresolvedPeer(prefixListId: string): ClassifiedPeer {
  return {
    text: `prefix list ${prefixListId}`,
    label: "unresolved",
    classes: EVERY_CLASS,
    unresolved: true,
  };
}

/** A referenced security group: trusted, matched only by the `any` class. */
export function groupPeer(groupId: string | null, groupName: string | undefined): ClassifiedPeer {
  return {
    text: `security group ${groupId ?? groupName ?? "(unnamed)"}`,
    label: "referenced group",
    classes: new Set<PeerClass>(["any"]),
    unresolved: false,
  };
}

/** The first peer with one of the wanted classes. */
export function firstPeerIn(
  peers: readonly ClassifiedPeer[],
  wanted: readonly PeerClass[],
): ClassifiedPeer | undefined {
  return peers.find((p) => wanted.some((c) => p.classes.has(c)));
}

interface Traffic {
  readonly protocol: Protocol;
  readonly ports: PortRange | null;
  readonly icmp: IcmpTypeCode | null;
}

/**
 * True when the traffic reaches any part of `service`. A port range reaches a port when it
 * contains it; protocol all reaches everything only when `includeProtocolAll` says so.
 */
export function covers(
  traffic: Traffic,
  service: ServiceSpec,
  includeProtocolAll: boolean,
): boolean {
  if (traffic.protocol === "all") return includeProtocolAll;
  if (traffic.protocol !== service.protocol) return false;
  if (traffic.protocol === "tcp" || traffic.protocol === "udp") {
    if (service.ports === null || traffic.ports === null) return true;
    return traffic.ports.from <= service.ports.to && service.ports.from <= traffic.ports.to;
  }
  if (traffic.protocol === "icmp" || traffic.protocol === "icmpv6") {
    if (service.icmp === null || traffic.icmp === null || traffic.icmp.type === -1) return true;
    if (service.icmp.type !== traffic.icmp.type) return false;
    return (
      service.icmp.code === -1 ||
      traffic.icmp.code === -1 ||
      service.icmp.code === traffic.icmp.code
    );
  }
  return true;
}

/**
 * True when the traffic opens nothing beyond the allowed services. Port ranges may be covered
 * by several allowed entries together (tcp/80 + tcp/81 allow 80-81); a range that also reaches
 * a port in between (80-443 against 80 and 443) is not within them.
 */
export function within(traffic: Traffic, allowed: readonly ServiceSpec[]): boolean {
  if (traffic.protocol === "all") return false;
  const same = allowed.filter((s) => s.protocol === traffic.protocol);
  if (traffic.protocol === "tcp" || traffic.protocol === "udp") {
    if (same.some((s) => s.ports === null)) return true;
    const need = traffic.ports ?? ALL_PORTS;
    const ranges = same.map((s) => s.ports as PortRange).sort((a, b) => a.from - b.from);
    let next = need.from;
    for (const r of ranges) {
      if (r.from > next) break;
      next = Math.max(next, r.to + 1);
      if (next > need.to) return true;
    }
    return false;
  }
  if (traffic.protocol === "icmp" || traffic.protocol === "icmpv6") {
    const icmp = traffic.icmp;
    return same.some((s) => {
      if (s.icmp === null) return true;
      if (icmp === null || icmp.type === -1 || icmp.type !== s.icmp.type) return false;
      return s.icmp.code === -1 || (icmp.code !== -1 && icmp.code === s.icmp.code);
    });
  }
  return same.length > 0;
}

/** `tcp 22`, `tcp 80-443`, `udp all ports`, `all traffic`, `icmp type 3 code 4`, `protocol 50`. */
export function describeTraffic(traffic: Traffic): string {
  const p = traffic.protocol;
  if (p === "all") return "all traffic";
  if (p === "tcp" || p === "udp") {
    const r = traffic.ports;
    if (r === null) return `${p} all ports`;
    return r.from === r.to ? `${p} ${r.from}` : `${p} ${r.from}-${r.to}`;
  }
  if (p === "icmp" || p === "icmpv6") {
    const t = traffic.icmp;
    if (t === null || t.type === -1) return `${p} all types`;
    return t.code === -1 ? `${p} type ${t.type}` : `${p} type ${t.type} code ${t.code}`;
  }
  return `protocol ${p}`;
}

/** True when the traffic is exactly one listed service (no need to say which it covers). */
export function isExactly(traffic: Traffic, service: ServiceSpec): boolean {
  if (traffic.protocol !== service.protocol) return false;
  if (service.ports) {
    return traffic.ports?.from === service.ports.from && traffic.ports.to === service.ports.to;
  }
  if (service.icmp) {
    return traffic.icmp?.type === service.icmp.type && traffic.icmp.code === service.icmp.code;
  }
  return traffic.ports === null && traffic.icmp === null;
}
