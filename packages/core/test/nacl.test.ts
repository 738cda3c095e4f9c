import fc from "fast-check";
import { describe, expect, it } from "vitest";
import {
  contains,
  describeSlices,
  effectiveEntries,
  entrySlice,
  rangeToCidrs,
  sliceSize,
} from "../src/nacl";
import { parseCidr } from "../src/net/cidr";
import { aclArb, boundaryPackets, oracleDecider, toPacket } from "./nacl-oracle";
import { naclEntry } from "./policy-builders";

describe("network ACL model", () => {
  it("the effective slices of all allows are exactly the packets the oracle allows (random ACLs)", () => {
    fc.assert(
      fc.property(aclArb, (entries) => {
        const effective = effectiveEntries(entries);
        for (const p of boundaryPackets(entries)) {
          const decider = oracleDecider(entries, p);
          const holders = effective.filter(
            (e) =>
              e.entry.egress === p.egress &&
              e.entry.cidr.family === p.family &&
              e.slices.some((s) => contains(s, toPacket(p))),
          );
          // Slices never overlap: one packet, at most one entry deciding it.
          expect(holders.length).toBeLessThanOrEqual(1);
          const allowedByModel = holders.some((h) => h.entry.ruleAction === "allow");
          expect(allowedByModel).toBe(decider?.ruleAction === "allow");
          expect(holders[0]?.entry ?? null).toBe(decider);
        }
      }),
      { numRuns: 150 },
    );
  });

  it("an entry's slices lie inside its own traffic and are pairwise disjoint", () => {
    fc.assert(
      fc.property(aclArb, (entries) => {
        for (const { entry, slices } of effectiveEntries(entries)) {
          const own = entrySlice(entry);
          const total = slices.reduce((n, s) => n + sliceSize(s), 0n);
          expect(total <= sliceSize(own)).toBe(true);
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
});
