import type { NetworkAclEntryChange } from "./model";
import type { Cidr } from "./net/cidr";
import { protocolNumber } from "./net/protocol";

/**
 * Network ACLs as AWS evaluates them: per direction and per IP version, the entries in ascending
 * rule number, the first entry that matches a packet decides it, and the default `*` entries
 * (32767 for IPv4, 32768 for IPv6) deny whatever no numbered entry decided. From that, the
 * *effective* traffic of each entry: the part of what it matches that no earlier entry already
 * decided.
 *
 * Traffic is a box in five dimensions: protocol number (0-255), port (0-65535, meaningful for
 * tcp and udp only), ICMP type and code (0-255 each, meaningful for ICMP only) and address. An
 * entry that does not restrict a dimension spans it whole, so one box describes any entry, and
 * the effective traffic of an entry is its box minus the boxes of the entries before it: a list
 * of disjoint boxes ("slices").
 *
 * See https://docs.aws.amazon.com/vpc/latest/userguide/nacl-basics.html (rule numbers 1 to
 * 32766, lowest first, first match applies) and
 * https://docs.aws.amazon.com/vpc/latest/userguide/default-network-acl.html (the `*` entries).
 */

/** An inclusive range of small integers (protocol, port, ICMP type or code). */
export interface Interval {
  readonly lo: number;
  readonly hi: number;
}

/** An inclusive range of addresses of one IP version, as numbers. */
export interface AddressRange {
  readonly lo: bigint;
  readonly hi: bigint;
}

/** A box of traffic: every packet whose fields all lie in these ranges. */
export interface Slice {
  readonly protocols: Interval;
  readonly ports: Interval;
  readonly icmpTypes: Interval;
  readonly icmpCodes: Interval;
  readonly addresses: AddressRange;
}

/** One packet, as a network ACL sees it. */
export interface Packet {
  readonly protocol: number;
  readonly port: number;
  readonly icmpType: number;
  readonly icmpCode: number;
  readonly address: bigint;
}

/** Which of an ACL's four entry lists an entry is in. */
export interface AclList {
  readonly egress: boolean;
  readonly family: 4 | 6;
}

/** An entry with the traffic it decides: its effective slices, in no particular order. */
export interface EffectiveEntry {
  readonly entry: NetworkAclEntryChange;
  readonly slices: readonly Slice[];
}

export const ALL_PROTOCOLS: Interval = { lo: 0, hi: 255 };
export const ALL_PORTS: Interval = { lo: 0, hi: 65535 };
const ALL_ICMP: Interval = { lo: 0, hi: 255 };

/**
 * The highest rule number CreateNetworkAclEntry and ReplaceNetworkAclEntry take ("Constraints:
 * Positive integer from 1 to 32766. The number 32767 is reserved for internal use.",
 * https://docs.aws.amazon.com/AWSEC2/latest/APIReference/API_CreateNetworkAclEntry.html).
 */
export const MAX_NETWORK_ACL_RULE_NUMBER = 32766;

/**
 * The default `*` entries every network ACL ends with: 32767 for IPv4 and 32768 for its IPv6
 * twin, as DescribeNetworkAcls lists them. They always deny, cannot be changed or deleted, and
 * so can neither break a policy nor be remediated; evaluating them would only produce noise (or,
 * worse, a delete that fails). See
 * https://docs.aws.amazon.com/vpc/latest/userguide/default-network-acl.html.
 */
export const DEFAULT_NETWORK_ACL_RULE_NUMBERS: readonly number[] = [32767, 32768];

/**
 * The IP version whose list an entry is in. An IPv4-mapped IPv6 block is read as IPv4 by the
 * policy, but AWS keeps it in the IPv6 list and matches only IPv6 packets with it.
 */
export function familyOf(cidr: Cidr): 4 | 6 {
  return cidr.original?.family ?? cidr.family;
}

/** The block's addresses in the list it is matched in (see {@link familyOf}). */
export function addressRangeOf(cidr: Cidr): AddressRange {
  if (cidr.original && cidr.original.family === 6 && cidr.family === 4) {
    const lo = (0xffffn << 32n) | cidr.network;
    const span = (1n << BigInt(32 - cidr.prefixLength)) - 1n;
    return { lo, hi: lo | span };
  }
  const bits = cidr.family === 4 ? 32 : 128;
  const span = (1n << BigInt(bits - cidr.prefixLength)) - 1n;
  return { lo: cidr.network, hi: cidr.network | span };
}

/**
 * The traffic one entry matches, as a box.
 *
 * @example
 * entrySlice(tcp22FromWorld).ports // { lo: 22, hi: 22 }
 */
export function entrySlice(entry: NetworkAclEntryChange): Slice {
  const n = protocolNumber(entry.protocol);
  const protocols = n < 0 ? ALL_PROTOCOLS : { lo: n, hi: n };
  const hasPorts = entry.protocol === "tcp" || entry.protocol === "udp";
  const ports = hasPorts && entry.ports ? { lo: entry.ports.from, hi: entry.ports.to } : ALL_PORTS;
  // Protocol 58 (ICMPv6) in an IPv4 entry matches every ICMP type and code, whatever the entry
  // names: "If you specify protocol 58 (ICMPv6) and specify an IPv4 CIDR block, traffic for all
  // ICMP types and codes allowed, regardless of any that you specify."
  // https://docs.aws.amazon.com/AWSEC2/latest/APIReference/API_CreateNetworkAclEntry.html
  const typed =
    entry.protocol === "icmp" || (entry.protocol === "icmpv6" && familyOf(entry.cidr) === 6);
  const icmp = typed ? entry.icmp : null;
  const icmpTypes = icmp && icmp.type >= 0 ? { lo: icmp.type, hi: icmp.type } : ALL_ICMP;
  const icmpCodes =
    icmp && icmp.type >= 0 && icmp.code >= 0 ? { lo: icmp.code, hi: icmp.code } : ALL_ICMP;
  return { protocols, ports, icmpTypes, icmpCodes, addresses: addressRangeOf(entry.cidr) };
}

function meets(a: Interval | AddressRange, b: Interval | AddressRange): boolean {
  return a.lo <= b.hi && b.lo <= a.hi;
}

/** True when the two boxes share a packet. */
export function intersects(a: Slice, b: Slice): boolean {
  return (
    meets(a.protocols, b.protocols) &&
    meets(a.ports, b.ports) &&
    meets(a.icmpTypes, b.icmpTypes) &&
    meets(a.icmpCodes, b.icmpCodes) &&
    meets(a.addresses, b.addresses)
  );
}

/** The packets in both boxes, or null. */
export function intersection(a: Slice, b: Slice): Slice | null {
  if (!intersects(a, b)) return null;
  // Generic over bigint (addresses), which Math.max/min do not take.
  const cut = <T extends number | bigint>(x: { lo: T; hi: T }, y: { lo: T; hi: T }) => {
    const lo = [x.lo, y.lo].sort((p, q) => (p < q ? 1 : -1))[0] as T;
    const hi = [x.hi, y.hi].sort((p, q) => (p < q ? -1 : 1))[0] as T;
    return { lo, hi };
  };
  return {
    protocols: cut(a.protocols, b.protocols),
    ports: cut(a.ports, b.ports),
    icmpTypes: cut(a.icmpTypes, b.icmpTypes),
    icmpCodes: cut(a.icmpCodes, b.icmpCodes),
    addresses: cut(a.addresses, b.addresses),
  };
}

type SmallDim = "protocols" | "ports" | "icmpTypes" | "icmpCodes";
// Protocol first: a box narrowed on ports or ICMP fields then always holds one protocol.
const SMALL_DIMS: readonly SmallDim[] = ["protocols", "ports", "icmpTypes", "icmpCodes"];

/**
 * `a` minus `b`, as disjoint boxes. Each dimension in turn, the parts of `a` below and above `b`
 * are cut off and kept, and `a` narrows to the overlap; what is left at the end lies inside `b`.
 */
export function subtract(a: Slice, b: Slice): Slice[] {
  if (!intersects(a, b)) return [a];
  const out: Slice[] = [];
  let cur = a;
  for (const d of SMALL_DIMS) {
    const x = cur[d];
    const y = b[d];
    if (x.lo < y.lo) out.push({ ...cur, [d]: { lo: x.lo, hi: y.lo - 1 } });
    if (x.hi > y.hi) out.push({ ...cur, [d]: { lo: y.hi + 1, hi: x.hi } });
    cur = { ...cur, [d]: { lo: Math.max(x.lo, y.lo), hi: Math.min(x.hi, y.hi) } };
  }
  const x = cur.addresses;
  const y = b.addresses;
  if (x.lo < y.lo) out.push({ ...cur, addresses: { lo: x.lo, hi: y.lo - 1n } });
  if (x.hi > y.hi) out.push({ ...cur, addresses: { lo: y.hi + 1n, hi: x.hi } });
  return out;
}

/** `pieces` minus every box of `minus`. */
export function subtractAll(pieces: readonly Slice[], minus: readonly Slice[]): Slice[] {
  let left = [...pieces];
  for (const m of minus) {
    if (left.length === 0) break;
    left = left.flatMap((p) => subtract(p, m));
  }
  return left;
}

/**
 * The same packets as `slices` (which may overlap), as disjoint boxes.
 *
 * @example
 * disjointSlices([tcp0to100, tcp50to200]) // [tcp 0-100, tcp 101-200]
 */
export function disjointSlices(slices: readonly Slice[]): Slice[] {
  const out: Slice[] = [];
  for (const s of slices) out.push(...subtractAll([s], out));
  return out;
}

/** True when the packet lies in the box. */
export function contains(slice: Slice, p: Packet): boolean {
  const inside = (r: Interval, v: number) => r.lo <= v && v <= r.hi;
  return (
    inside(slice.protocols, p.protocol) &&
    inside(slice.ports, p.port) &&
    inside(slice.icmpTypes, p.icmpType) &&
    inside(slice.icmpCodes, p.icmpCode) &&
    slice.addresses.lo <= p.address &&
    p.address <= slice.addresses.hi
  );
}

/** How many packets the box holds (for tests and sizes; a bigint, IPv6 boxes are vast). */
export function sliceSize(s: Slice): bigint {
  const n = (r: Interval) => BigInt(r.hi - r.lo + 1);
  return (
    n(s.protocols) *
    n(s.ports) *
    n(s.icmpTypes) *
    n(s.icmpCodes) *
    (s.addresses.hi - s.addresses.lo + 1n)
  );
}

/** The list an entry is in. */
export function listOf(entry: NetworkAclEntryChange): AclList {
  return { egress: entry.egress, family: familyOf(entry.cidr) };
}

function listKey(list: AclList): string {
  return `${list.egress ? "egress" : "ingress"}/${list.family}`;
}

/**
 * The entries of one ACL, split into its four lists (ingress/egress × IPv4/IPv6), each sorted
 * by rule number. Entries of other ACLs are the caller's mistake and are kept apart by id.
 *
 * @example
 * aclLists(entries).get("ingress/4") // [entry 90, entry 100, ...]
 */
export function aclLists(
  entries: readonly NetworkAclEntryChange[],
): Map<string, NetworkAclEntryChange[]> {
  const lists = new Map<string, NetworkAclEntryChange[]>();
  for (const e of entries) {
    const key = `${e.networkAclId} ${listKey(listOf(e))}`;
    const list = lists.get(key) ?? [];
    list.push(e);
    lists.set(key, list);
  }
  for (const list of lists.values()) list.sort((a, b) => a.ruleNumber - b.ruleNumber);
  return lists;
}

/**
 * Every entry with its effective slices: what it matches minus what the entries before it in
 * its list (same ACL, direction and IP version) already decided. A fully shadowed entry has no
 * slice. The default `*` entries need no place here: they come last and only deny.
 *
 * @example
 * // 90 deny tcp 22 from 0.0.0.0/0, then 100 allow tcp 0-1023 from 0.0.0.0/0:
 * effectiveEntries([deny22, allowLow]).find((e) => e.entry === allowLow)?.slices
 * // two slices: tcp 0-21 and tcp 23-1023, every IPv4 address
 */
export function effectiveEntries(entries: readonly NetworkAclEntryChange[]): EffectiveEntry[] {
  const out: EffectiveEntry[] = [];
  for (const list of aclLists(entries).values()) {
    const earlier: Slice[] = [];
    for (const entry of list) {
      const own = entrySlice(entry);
      out.push({ entry, slices: subtractAll([own], earlier) });
      earlier.push(own);
    }
  }
  return out;
}

function protocolName(n: number): string {
  switch (n) {
    case 6:
      return "tcp";
    case 17:
      return "udp";
    case 1:
      return "icmp";
    case 58:
      return "icmpv6";
    default:
      return `protocol ${n}`;
  }
}

function full(r: Interval, all: Interval): boolean {
  return r.lo === all.lo && r.hi === all.hi;
}

function span(r: Interval): string {
  return r.lo === r.hi ? String(r.lo) : `${r.lo}-${r.hi}`;
}

/**
 * The traffic of a box in words, without its addresses: `tcp 22`, `tcp 23-1023`, `all traffic`,
 * `icmp type 3 code 4`, `protocols 7-16`.
 */
export function describeSliceTraffic(s: Slice): string {
  if (full(s.protocols, ALL_PROTOCOLS)) return "all traffic";
  if (s.protocols.lo !== s.protocols.hi) return `protocols ${span(s.protocols)}`;
  const p = s.protocols.lo;
  const name = protocolName(p);
  if (p === 6 || p === 17)
    return full(s.ports, ALL_PORTS) ? `${name} all ports` : `${name} ${span(s.ports)}`;
  if (p === 1 || p === 58) {
    if (full(s.icmpTypes, ALL_ICMP)) return `${name} all types`;
    const types = s.icmpTypes.lo === s.icmpTypes.hi ? "type" : "types";
    if (full(s.icmpCodes, ALL_ICMP)) return `${name} ${types} ${span(s.icmpTypes)}`;
    return `${name} ${types} ${span(s.icmpTypes)} code ${span(s.icmpCodes)}`;
  }
  return name;
}

/** The smallest list of CIDR blocks covering exactly the range. */
export function rangeToCidrs(range: AddressRange, family: 4 | 6): string[] {
  const bits = family === 4 ? 32 : 128;
  const out: string[] = [];
  let lo = range.lo;
  while (lo <= range.hi) {
    let size = 0;
    while (
      size < bits &&
      (lo & ((1n << BigInt(size + 1)) - 1n)) === 0n &&
      lo + (1n << BigInt(size + 1)) - 1n <= range.hi
    ) {
      size++;
    }
    out.push(`${addressText(lo, family)}/${bits - size}`);
    lo += 1n << BigInt(size);
  }
  return out;
}

function addressText(n: bigint, family: 4 | 6): string {
  if (family === 4) {
    return [24n, 16n, 8n, 0n].map((s) => String((n >> s) & 0xffn)).join(".");
  }
  const words: string[] = [];
  for (let i = 7; i >= 0; i--) words.push(((n >> BigInt(i * 16)) & 0xffffn).toString(16));
  // RFC 5952: the longest run of two or more zero words becomes `::`.
  let best = { at: -1, len: 0 };
  for (let i = 0; i < 8; ) {
    if (words[i] !== "0") {
      i++;
      continue;
    }
    let j = i;
    while (j < 8 && words[j] === "0") j++;
    if (j - i > best.len) best = { at: i, len: j - i };
    i = j;
  }
  if (best.len < 2) return words.join(":");
  return `${words.slice(0, best.at).join(":")}::${words.slice(best.at + best.len).join(":")}`;
}

/**
 * A box in words, naming its addresses only when they are not the whole of `within` (the
 * entry's own block): `tcp 22`, `tcp 22 for 0.0.0.0/5, 8.0.0.0/7 and 6 more blocks`.
 */
export function describeSlice(s: Slice, within: AddressRange, family: 4 | 6): string {
  const traffic = describeSliceTraffic(s);
  if (s.addresses.lo === within.lo && s.addresses.hi === within.hi) return traffic;
  const blocks = rangeToCidrs(s.addresses, family);
  const shown = blocks.slice(0, 2).join(", ");
  const rest = blocks.length - 2;
  const more = rest > 0 ? ` and ${rest} more block${rest === 1 ? "" : "s"}` : "";
  return `${traffic} for ${shown}${more}`;
}

/** Boxes in words, merged by traffic, at most `limit` named. */
export function describeSlices(
  slices: readonly Slice[],
  within: AddressRange,
  family: 4 | 6,
  limit = 4,
): string {
  const ordered = [...slices].sort(
    (a, b) =>
      a.protocols.lo - b.protocols.lo ||
      a.ports.lo - b.ports.lo ||
      a.icmpTypes.lo - b.icmpTypes.lo ||
      a.icmpCodes.lo - b.icmpCodes.lo ||
      (a.addresses.lo < b.addresses.lo ? -1 : a.addresses.lo > b.addresses.lo ? 1 : 0),
  );
  const texts = [...new Set(ordered.map((s) => describeSlice(s, within, family)))];
  const shown = texts.slice(0, limit).join(", ");
  return texts.length > limit ? `${shown} and ${texts.length - limit} more` : shown;
}
