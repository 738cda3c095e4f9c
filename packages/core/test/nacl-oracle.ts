import fc from "fast-check";
import type { NetworkAclEntryChange } from "../src/model";
import type { Packet } from "../src/nacl";
import type { Protocol } from "../src/net/protocol";
import { naclEntry } from "./policy-builders";

/**
 * The one packet oracle of the network-ACL tests: how AWS decides one packet, written as plainly
 * as possible and independently of the model and the planner. It reads entries as raw data
 * (protocol number, port range, ICMP type/code, the CIDR as text), parses the CIDR itself, tells
 * the IP version by the text (a `:` is IPv6, as AWS files an IPv4-mapped block in the IPv6
 * list), and walks the entries of the packet's direction and IP version by rule number; the
 * first that matches decides; none means the `*` entry denies. Nothing here comes from `src/`
 * except the builder that turns a raw entry into the model's input.
 */
export interface RawEntry {
  readonly ruleNumber: number;
  readonly egress: boolean;
  readonly ruleAction: "allow" | "deny";
  /** -1 for all protocols. */
  readonly protocol: number;
  readonly ports: readonly [number, number];
  /** -1 for any. */
  readonly icmpType: number;
  readonly icmpCode: number;
  readonly cidr: string;
}

export interface OraclePacket {
  readonly egress: boolean;
  readonly family: 4 | 6;
  readonly protocol: number;
  readonly port: number;
  readonly icmpType: number;
  readonly icmpCode: number;
  readonly address: bigint;
}

export const oracleFamily = (cidr: string): 4 | 6 => (cidr.includes(":") ? 6 : 4);

function oracleAddress(text: string): bigint {
  if (!text.includes(":")) {
    return text.split(".").reduce((n, octet) => (n << 8n) | BigInt(Number(octet)), 0n);
  }
  const [head = "", tail] = text.split("::");
  const words = (part: string) => (part === "" ? [] : part.split(":"));
  const left = words(head);
  const right = tail === undefined ? [] : words(tail);
  const all = [...left, ...Array(8 - left.length - right.length).fill("0"), ...right];
  return all.reduce((n, w) => (n << 16n) | BigInt(Number.parseInt(w, 16)), 0n);
}

const RANGES = new Map<string, [bigint, bigint]>();

/** The first and last address of a block, by bigint arithmetic. */
export function oracleRange(cidr: string): [bigint, bigint] {
  const known = RANGES.get(cidr);
  if (known) return known;
  const [address = "", length = ""] = cidr.split("/");
  const hostBits = BigInt((oracleFamily(cidr) === 4 ? 32 : 128) - Number(length));
  const first = (oracleAddress(address) >> hostBits) << hostBits;
  const range: [bigint, bigint] = [first, first + (1n << hostBits) - 1n];
  RANGES.set(cidr, range);
  return range;
}

export function oracleMatches(e: RawEntry, p: OraclePacket): boolean {
  if (e.egress !== p.egress || oracleFamily(e.cidr) !== p.family) return false;
  if (e.protocol !== -1 && e.protocol !== p.protocol) return false;
  if ((e.protocol === 6 || e.protocol === 17) && (p.port < e.ports[0] || p.port > e.ports[1])) {
    return false;
  }
  // ICMP, and ICMPv6 in the IPv6 list only: protocol 58 with an IPv4 block matches every type.
  const typed = e.protocol === 1 || (e.protocol === 58 && p.family === 6);
  if (typed && e.icmpType !== -1) {
    if (e.icmpType !== p.icmpType) return false;
    if (e.icmpCode !== -1 && e.icmpCode !== p.icmpCode) return false;
  }
  const [first, last] = oracleRange(e.cidr);
  return first <= p.address && p.address <= last;
}

export function oracleDecider<E extends RawEntry>(
  entries: readonly E[],
  p: OraclePacket,
): E | null {
  let best: E | null = null;
  for (const e of entries) {
    if (oracleMatches(e, p) && (best === null || e.ruleNumber < best.ruleNumber)) best = e;
  }
  return best;
}

export const toPacket = (p: OraclePacket): Packet => ({
  protocol: p.protocol,
  port: p.port,
  icmpType: p.icmpType,
  icmpCode: p.icmpCode,
  address: p.address,
});

const NAMES: Record<number, Protocol> = {
  [-1]: "all",
  1: "icmp",
  6: "tcp",
  17: "udp",
  58: "icmpv6",
};

/** The entry as the model gets it (from the normaliser's shape). */
export function toChange(r: RawEntry): NetworkAclEntryChange {
  const protocol = NAMES[r.protocol] ?? r.protocol;
  return naclEntry({
    ruleNumber: r.ruleNumber,
    egress: r.egress,
    ruleAction: r.ruleAction,
    protocol,
    ports: [r.ports[0], r.ports[1]],
    ...(protocol === "icmp" || protocol === "icmpv6" ? { icmp: [r.icmpType, r.icmpCode] } : {}),
    cidr: r.cidr,
  });
}

// Few distinct blocks, so that random entries overlap, shadow and abut one another.
export const V4_BLOCKS = [
  "0.0.0.0/0",
  "10.0.0.0/8",
  "10.0.0.0/16",
  "10.0.0.0/24",
  "10.0.0.128/25",
  "10.0.0.7/32",
  "10.1.0.0/16",
  "128.0.0.0/1",
  "192.0.2.0/24",
];
export const V6_BLOCKS = [
  "::/0",
  "2001:db8::/32",
  "2001:db8::/64",
  "2001:db8::1/128",
  "8000::/1",
  "::ffff:0:0/96",
];

// Random numbers, biased to small ranges around the well-known ones so that entries collide.
const portArb = fc.oneof(
  fc.integer({ min: 0, max: 65535 }),
  fc.integer({ min: 18, max: 26 }),
  fc.constantFrom(0, 1023, 1024, 65535),
);
const icmpArb = fc.oneof(
  fc.constant(-1),
  fc.integer({ min: 0, max: 255 }),
  fc.integer({ min: 0, max: 5 }),
);
const protocolArb = fc.oneof(
  fc.constantFrom(-1, 1, 6, 17, 58),
  fc.integer({ min: 0, max: 255 }),
  fc.integer({ min: 0, max: 8 }),
);

// For plans: mostly allows, of the protocols policies name, so that most ACLs have findings.
const plannedProtocolArb = fc.oneof(
  { weight: 4, arbitrary: fc.constantFrom(-1, 6, 6, 17, 1, 58, 50) },
  { weight: 1, arbitrary: protocolArb },
);

/** Options of {@link rawEntryArb}. */
export interface RawEntryOptions {
  readonly blocks?: readonly string[];
  /** Mostly allows, of the protocols policies name (for planner tests). */
  readonly planned?: boolean;
}

/** Random raw entries: any protocol, port, ICMP type/code and one of the blocks above. */
export function rawEntryArb(options: RawEntryOptions = {}): fc.Arbitrary<RawEntry> {
  const blocks = options.blocks ?? [...V4_BLOCKS, ...V6_BLOCKS];
  return fc
    .record({
      ruleNumber: fc.integer({ min: 1, max: 200 }),
      egress: fc.boolean(),
      ruleAction: options.planned
        ? fc.constantFrom("allow" as const, "allow" as const, "allow" as const, "deny" as const)
        : fc.constantFrom("allow" as const, "deny" as const),
      protocol: options.planned ? plannedProtocolArb : protocolArb,
      a: portArb,
      b: portArb,
      icmpType: icmpArb,
      icmpCode: icmpArb,
      cidr: fc.constantFrom(...blocks),
    })
    .map(({ a, b, ...r }) => ({ ...r, ports: [Math.min(a, b), Math.max(a, b)] as const }));
}

/** Rule numbers are unique per direction, as AWS requires. */
export function rawAclArb(
  maxLength: number,
  options: RawEntryOptions = {},
): fc.Arbitrary<RawEntry[]> {
  return fc.uniqueArray(rawEntryArb(options), {
    minLength: options.planned ? 1 : 0,
    maxLength,
    selector: (e) => `${e.egress} ${e.ruleNumber}`,
  });
}

/** Where a dimension's equivalence classes start: its lowest value, each bound, one past it. */
function starts(ranges: Iterable<readonly [number, number]>, lo: number, hi: number): number[] {
  const out = new Set<number>([lo]);
  for (const [a, b] of ranges) {
    if (a >= lo && a <= hi) out.add(a);
    if (b + 1 >= lo && b + 1 <= hi) out.add(b + 1);
  }
  return [...out];
}

/** Extra bounds for {@link boundaryPackets}: a policy's services and networks. */
export interface Bounds {
  readonly protocols?: readonly number[];
  readonly ports?: readonly (readonly [number, number])[];
  readonly icmp?: readonly (readonly [number, number])[];
  readonly cidrs?: readonly string[];
}

/**
 * One packet in every equivalence class of the bounds the entries (and `extra`) draw, in every
 * dimension: protocol number, port, ICMP type and code, address. Two packets of one class
 * match the same entries, so the oracle checking these checks every packet. `lists` limits the
 * packets to some directions and IP versions (`"false 4"` is ingress IPv4).
 */
export function boundaryPackets(
  entries: readonly RawEntry[],
  extra: Bounds = {},
  lists?: ReadonlySet<string>,
): OraclePacket[] {
  const protocols = starts(
    [...[1, 6, 17, 58, ...entries.map((e) => e.protocol), ...(extra.protocols ?? [])]]
      .filter((p) => p >= 0)
      .map((p) => [p, p] as const),
    0,
    255,
  );
  const ports = starts([...entries.map((e) => e.ports), ...(extra.ports ?? [])], 0, 65535);
  const icmp = [...entries.map((e) => [e.icmpType, e.icmpCode] as const), ...(extra.icmp ?? [])];
  const types = starts(
    icmp.filter(([t]) => t >= 0).map(([t]) => [t, t] as const),
    0,
    255,
  );
  // A code matters only to entries of that very type: each type gets the codes they draw.
  const codesOf = (t: number) =>
    starts(
      icmp.filter(([x, c]) => x === t && c >= 0).map(([, c]) => [c, c] as const),
      0,
      255,
    );
  const addresses: Record<4 | 6, Set<bigint>> = { 4: new Set([0n]), 6: new Set([0n]) };
  for (const cidr of [...entries.map((e) => e.cidr), ...(extra.cidrs ?? [])]) {
    const family = oracleFamily(cidr);
    const max = (1n << (family === 4 ? 32n : 128n)) - 1n;
    const [first, last] = oracleRange(cidr);
    addresses[family].add(first);
    if (last < max) addresses[family].add(last + 1n);
  }
  const out: OraclePacket[] = [];
  for (const egress of [false, true]) {
    for (const family of [4, 6] as const) {
      if (lists && !lists.has(`${egress} ${family}`)) continue;
      for (const address of addresses[family]) {
        for (const protocol of protocols) {
          const base = { egress, family, protocol, address, port: 0, icmpType: 0, icmpCode: 0 };
          if (protocol === 6 || protocol === 17) {
            for (const port of ports) out.push({ ...base, port });
          } else if (protocol === 1 || protocol === 58) {
            for (const icmpType of types) {
              for (const icmpCode of codesOf(icmpType)) out.push({ ...base, icmpType, icmpCode });
            }
          } else {
            out.push(base);
          }
        }
      }
    }
  }
  return out;
}
