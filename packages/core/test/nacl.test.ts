import fc from "fast-check";
import { describe, expect, it } from "vitest";
import type { NetworkAclEntryChange } from "../src/model";
import {
  contains,
  describeSlices,
  effectiveEntries,
  entrySlice,
  type Packet,
  rangeToCidrs,
  type Slice,
  sliceSize,
} from "../src/nacl";
import { parseCidr } from "../src/net/cidr";
import type { Protocol } from "../src/net/protocol";
import { naclEntry } from "./policy-builders";

/**
 * The oracle: how AWS decides one packet, written as plainly as possible and independently of
 * the model. It reads the entries as generated (protocol number, port range, ICMP type/code, the
 * CIDR as text), parses the CIDR itself, tells the IP version by the text (a `:` is IPv6, as AWS
 * files an IPv4-mapped block in the IPv6 list), and walks the entries of the packet's direction
 * and IP version by rule number; the first that matches decides; none means the `*` entry denies.
 * Nothing here comes from the model.
 */
interface RawEntry {
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

interface OraclePacket {
  readonly egress: boolean;
  readonly family: 4 | 6;
  readonly protocol: number;
  readonly port: number;
  readonly icmpType: number;
  readonly icmpCode: number;
  readonly address: bigint;
}

const oracleFamily = (cidr: string): 4 | 6 => (cidr.includes(":") ? 6 : 4);

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
function oracleRange(cidr: string): [bigint, bigint] {
  const known = RANGES.get(cidr);
  if (known) return known;
  const [address = "", length = ""] = cidr.split("/");
  const hostBits = BigInt((oracleFamily(cidr) === 4 ? 32 : 128) - Number(length));
  const first = (oracleAddress(address) >> hostBits) << hostBits;
  const range: [bigint, bigint] = [first, first + (1n << hostBits) - 1n];
  RANGES.set(cidr, range);
  return range;
}

function oracleMatches(e: RawEntry, p: OraclePacket): boolean {
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

function oracleDecider(entries: readonly RawEntry[], p: OraclePacket): RawEntry | null {
  let best: RawEntry | null = null;
  for (const e of entries) {
    if (oracleMatches(e, p) && (best === null || e.ruleNumber < best.ruleNumber)) best = e;
  }
  return best;
}

const toPacket = (p: OraclePacket): Packet => ({
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
function toChange(r: RawEntry): NetworkAclEntryChange {
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
const V4_BLOCKS = [
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
const V6_BLOCKS = [
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

const rawArb: fc.Arbitrary<RawEntry> = fc
  .record({
    ruleNumber: fc.integer({ min: 1, max: 200 }),
    egress: fc.boolean(),
    ruleAction: fc.constantFrom("allow" as const, "deny" as const),
    protocol: protocolArb,
    a: portArb,
    b: portArb,
    icmpType: icmpArb,
    icmpCode: icmpArb,
    cidr: fc.oneof(fc.constantFrom(...V4_BLOCKS), fc.constantFrom(...V6_BLOCKS)),
  })
  .map(({ a, b, ...r }) => ({ ...r, ports: [Math.min(a, b), Math.max(a, b)] as const }));

/** Rule numbers are unique per direction, as AWS requires. */
const aclArb = fc.uniqueArray(rawArb, {
  maxLength: 10,
  selector: (e) => `${e.egress} ${e.ruleNumber}`,
});

/** Every value an entry's bounds draw, one below and one above, within [lo, hi]. */
function around(values: Iterable<number>, lo: number, hi: number): number[] {
  const out = new Set<number>([lo, hi]);
  for (const v of values) for (const x of [v - 1, v, v + 1]) if (x >= lo && x <= hi) out.add(x);
  return [...out];
}

/**
 * Packets on every boundary the entries draw (each bound, one below, one above) in every
 * dimension: protocol number, port, ICMP type and code, address.
 */
function boundaryPackets(entries: readonly RawEntry[]): OraclePacket[] {
  const protocols = around([1, 6, 17, 58, ...entries.map((e) => e.protocol)], 0, 255);
  const ports = around(
    entries.flatMap((e) => e.ports),
    0,
    65535,
  );
  const types = around(
    entries.map((e) => e.icmpType),
    0,
    255,
  );
  // A code matters only to entries of that very type: each type gets the codes they draw.
  const codesOf = (t: number) =>
    around(
      entries.filter((e) => e.icmpType === t).map((e) => e.icmpCode),
      0,
      255,
    );
  const addresses: Record<4 | 6, Set<bigint>> = {
    4: new Set([0n, (1n << 32n) - 1n]),
    6: new Set([0n, (1n << 128n) - 1n]),
  };
  for (const e of entries) {
    const family = oracleFamily(e.cidr);
    const max = (1n << (family === 4 ? 32n : 128n)) - 1n;
    const [first, last] = oracleRange(e.cidr);
    for (const a of [first - 1n, first, last, last + 1n]) {
      if (a >= 0n && a <= max) addresses[family].add(a);
    }
  }
  const out: OraclePacket[] = [];
  for (const egress of [false, true]) {
    for (const family of [4, 6] as const) {
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

type Box = Slice;

/** Two boxes share a packet: every dimension overlaps (written apart from the model's). */
function overlap(a: Box, b: Box): boolean {
  const dims = ["protocols", "ports", "icmpTypes", "icmpCodes", "addresses"] as const;
  return dims.every((d) => !(a[d].hi < b[d].lo || b[d].hi < a[d].lo));
}

// Runtime budget: the two properties take about 6 s together on one core (200 runs each); the
// first checks some 5,000 to 40,000 boundary packets per ACL.
describe("network ACL model", () => {
  it("the effective slices of all allows are exactly the packets the oracle allows (random ACLs)", () => {
    fc.assert(
      fc.property(aclArb, (raw) => {
        const entries = raw.map(toChange);
        const effective = effectiveEntries(entries);
        const rawOf = new Map(entries.map((e, i) => [e, raw[i] as RawEntry]));
        const listKey = (egress: boolean, family: 4 | 6) => `${egress} ${family}`;
        const lists = new Map<string, typeof effective>();
        for (const e of effective) {
          const key = listKey(e.entry.egress, oracleFamily((rawOf.get(e.entry) as RawEntry).cidr));
          lists.set(key, [...(lists.get(key) ?? []), e]);
        }
        for (const p of boundaryPackets(raw)) {
          const decider = oracleDecider(raw, p);
          const packet = toPacket(p);
          const holders = (lists.get(listKey(p.egress, p.family)) ?? []).filter((e) =>
            e.slices.some((s) => contains(s, packet)),
          );
          // One packet, at most one entry deciding it, and the very entry the oracle names
          // (plain comparisons: an expect per packet would dominate the runtime).
          const decidedBy = holders[0] ? rawOf.get(holders[0].entry) : null;
          if (holders.length > 1 || decidedBy !== decider) {
            expect({ packet: p, model: decidedBy, oracle: decider, holders: holders.length }).toBe(
              "the same deciding entry",
            );
          }
        }
      }),
      { numRuns: 200 },
    );
  });

  it("the slices of one list are pairwise disjoint, and each lies inside its entry's traffic", () => {
    fc.assert(
      fc.property(aclArb, (raw) => {
        const effective = effectiveEntries(raw.map(toChange));
        const byList = new Map<string, Box[]>();
        for (const { entry, slices } of effective) {
          const own = entrySlice(entry);
          const total = slices.reduce((n, s) => n + sliceSize(s), 0n);
          expect(total <= sliceSize(own)).toBe(true);
          const key = `${entry.egress} ${oracleFamily(entry.cidr.original?.cidr ?? entry.cidr.cidr)}`;
          const list = byList.get(key) ?? [];
          for (const s of slices) {
            const dims = ["protocols", "ports", "icmpTypes", "icmpCodes", "addresses"] as const;
            for (const d of dims) {
              expect(own[d].lo <= s[d].lo && s[d].hi <= own[d].hi && s[d].lo <= s[d].hi).toBe(true);
            }
            for (const other of list) expect(overlap(s, other)).toBe(false);
            list.push(s);
          }
          byList.set(key, list);
        }
      }),
      { numRuns: 200 },
    );
  });

  it("a fully shadowed allow has no slice", () => {
    const deny = naclEntry({ ruleNumber: 90, ruleAction: "deny", ports: [0, 1023] });
    const allow = naclEntry({ ruleNumber: 100, ports: [22] });
    const effective = effectiveEntries([allow, deny]);
    expect(effective.find((e) => e.entry === allow)?.slices).toEqual([]);
  });

  it("an allow behind a deny of tcp 22 decides tcp 0-21 and 23-1023", () => {
    const deny = naclEntry({ ruleNumber: 90, ruleAction: "deny", ports: [22] });
    const allow = naclEntry({ ruleNumber: 100, ports: [0, 1023] });
    const slices = effectiveEntries([deny, allow]).find((e) => e.entry === allow)?.slices ?? [];
    expect(describeSlices(slices, entrySlice(allow).addresses, 4)).toBe("tcp 0-21, tcp 23-1023");
  });

  it("entries of the other IP version or direction never shadow", () => {
    const denyV6 = naclEntry({ ruleNumber: 90, ruleAction: "deny", cidr: "::/0", ports: [22] });
    const denyEgress = naclEntry({ ruleNumber: 91, ruleAction: "deny", egress: true, ports: [22] });
    const allow = naclEntry({ ruleNumber: 100, ports: [22] });
    const slices = effectiveEntries([denyV6, denyEgress, allow]).find((e) => e.entry === allow);
    expect(slices?.slices).toEqual([entrySlice(allow)]);
  });

  it("an IPv4-mapped IPv6 entry sits in the IPv6 list", () => {
    const mapped = naclEntry({ ruleNumber: 90, ruleAction: "deny", cidr: "::ffff:0:0/96" });
    const allow = naclEntry({ ruleNumber: 100, cidr: "0.0.0.0/0" });
    expect(effectiveEntries([mapped, allow]).find((e) => e.entry === allow)?.slices).toEqual([
      entrySlice(allow),
    ]);
  });

  it("names the addresses of a slice narrower than its entry", () => {
    const deny = naclEntry({ ruleNumber: 90, ruleAction: "deny", cidr: "10.0.0.0/8" });
    const allow = naclEntry({ ruleNumber: 100, cidr: "0.0.0.0/0" });
    const slices = effectiveEntries([deny, allow]).find((e) => e.entry === allow)?.slices ?? [];
    expect(describeSlices(slices, entrySlice(allow).addresses, 4)).toBe(
      "tcp 22 for 0.0.0.0/5, 8.0.0.0/7, tcp 22 for 11.0.0.0/8, 12.0.0.0/6 and 4 more blocks",
    );
  });

  it("writes address ranges as the fewest CIDR blocks", () => {
    const c = parseCidr("10.0.0.0/8");
    expect(rangeToCidrs({ lo: 0n, hi: c.network - 1n }, 4)).toEqual(["0.0.0.0/5", "8.0.0.0/7"]);
    expect(rangeToCidrs({ lo: 0n, hi: (1n << 127n) - 1n }, 6)).toEqual(["::/1"]);
  });

  it("an ICMPv6 (58) entry in the IPv4 list matches every ICMP type and code", () => {
    // AWS ignores the type and code of protocol 58 with an IPv4 block (CreateNetworkAclEntry).
    const deny = naclEntry({
      ruleNumber: 90,
      ruleAction: "deny",
      protocol: "icmpv6",
      icmp: [128, 0],
    });
    const allow = naclEntry({ ruleNumber: 100, protocol: "all" });
    const slices = effectiveEntries([deny, allow]).find((e) => e.entry === allow)?.slices ?? [];
    const icmpv6 = (icmpType: number, icmpCode: number): Packet => ({
      protocol: 58,
      port: 0,
      icmpType,
      icmpCode,
      address: 0x08080808n,
    });
    expect(slices.some((s) => contains(s, icmpv6(3, 1)))).toBe(false);
    expect(slices.some((s) => contains(s, icmpv6(128, 0)))).toBe(false);
    expect(entrySlice(deny).icmpTypes).toEqual({ lo: 0, hi: 255 });
    // In the IPv6 list, the type and code hold.
    const v6 = naclEntry({ ruleNumber: 90, protocol: "icmpv6", icmp: [128, 0], cidr: "::/0" });
    expect(entrySlice(v6).icmpTypes).toEqual({ lo: 128, hi: 128 });
  });
});
