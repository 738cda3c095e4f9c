import fc from "fast-check";
import { describe, expect, it } from "vitest";
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
import {
  boundaryPackets,
  oracleDecider,
  oracleFamily,
  type RawEntry,
  rawAclArb,
  toChange,
  toPacket,
} from "./nacl-oracle";
import { naclEntry } from "./policy-builders";

/** Up to ten raw entries of any protocol, port, ICMP type/code and block (see nacl-oracle.ts). */
const aclArb = rawAclArb(10);

type Box = Slice;

/** Two boxes share a packet: every dimension overlaps (written apart from the model's). */
function overlap(a: Box, b: Box): boolean {
  const dims = ["protocols", "ports", "icmpTypes", "icmpCodes", "addresses"] as const;
  return dims.every((d) => !(a[d].hi < b[d].lo || b[d].hi < a[d].lo));
}

// Runtime budget: the two properties take about 3 s together on one core (200 runs each); the
// first checks one packet of every boundary class per ACL (a few thousand).
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
