import fc from "fast-check";
import { describe, expect, it } from "vitest";
import type { NetworkAclEntryChange } from "../src/model";
import { effectiveEntries, intersection, type Slice, subtract as subtractOne } from "../src/nacl";
import { applyPlan, planNetworkAcl } from "../src/nacl-plan";
import { parseCidr } from "../src/net/cidr";
import { boundaryPackets, entryArb, type OraclePacket, oracleDecider } from "./nacl-oracle";
import { naclEntry } from "./policy-builders";

/**
 * A stand-in policy, stated twice: as boxes for the planner, and as a plain packet test for the
 * oracle. A packet is forbidden when the allow entry that decides it has a public CIDR (not
 * inside 10.0.0.0/8 or 2001:db8::/32) and the packet is one of the forbidden services.
 */
interface Service {
  readonly protocol: number;
  readonly from: number;
  readonly to: number;
  /** ICMP: the one type forbidden. */
  readonly icmpType?: number;
}

const SERVICES: readonly Service[] = [
  { protocol: 6, from: 22, to: 22 },
  { protocol: 6, from: 25, to: 25 },
  { protocol: 6, from: 0, to: 1023 },
  { protocol: 17, from: 53, to: 53 },
  { protocol: 1, from: 0, to: 65535, icmpType: 8 },
  { protocol: 50, from: 0, to: 65535 },
];

const TRUSTED = [parseCidr("10.0.0.0/8"), parseCidr("2001:db8::/32")];

function isPublic(e: NetworkAclEntryChange): boolean {
  const bits = e.cidr.family === 4 ? 32 : 128;
  return !TRUSTED.some((t) => {
    if (t.family !== e.cidr.family || e.cidr.prefixLength < t.prefixLength) return false;
    const shift = BigInt(bits - t.prefixLength);
    return e.cidr.network >> shift === t.network >> shift;
  });
}

/** The oracle's reading of the policy: one packet, plainly. */
function oracleForbidden(
  services: readonly Service[],
  decider: NetworkAclEntryChange | null,
  p: OraclePacket,
) {
  if (decider?.ruleAction !== "allow" || !isPublic(decider)) return false;
  return services.some((s) => {
    if (s.protocol !== p.protocol) return false;
    if (s.icmpType !== undefined) return p.icmpType === s.icmpType;
    if (s.protocol === 6 || s.protocol === 17) return s.from <= p.port && p.port <= s.to;
    return true;
  });
}

/** The planner's input: each public allow's effective slices inside a forbidden service. */
function forbiddenSlices(entries: readonly NetworkAclEntryChange[], services: readonly Service[]) {
  const boxes: Slice[] = services.map((s) => ({
    protocols: { lo: s.protocol, hi: s.protocol },
    ports: s.protocol === 6 || s.protocol === 17 ? { lo: s.from, hi: s.to } : { lo: 0, hi: 65535 },
    icmpTypes: s.icmpType !== undefined ? { lo: s.icmpType, hi: s.icmpType } : { lo: 0, hi: 255 },
    icmpCodes: { lo: 0, hi: 255 },
    addresses: { lo: 0n, hi: (1n << 128n) - 1n },
  }));
  const out = new Map<NetworkAclEntryChange, Slice[]>();
  for (const { entry, slices } of effectiveEntries(entries)) {
    if (entry.ruleAction !== "allow" || !isPublic(entry)) continue;
    const bad = slices.flatMap((s) => boxes.flatMap((b) => intersection(s, b) ?? []));
    // Two services may overlap (tcp 22 inside tcp 0-1023): keep the boxes disjoint.
    const disjoint: Slice[] = [];
    for (const b of bad) {
      let pieces = [b];
      for (const d of disjoint) pieces = pieces.flatMap((x) => subtractOne(x, d));
      disjoint.push(...pieces);
    }
    if (disjoint.length > 0) out.set(entry, disjoint);
  }
  return out;
}

/** Extra boundaries: the services' own edges, so that every equivalence class is visited. */
const SERVICE_EDGES = SERVICES.filter((s) => s.protocol === 6 || s.protocol === 17).map((s) =>
  naclEntry({ ruleNumber: 1, protocol: s.protocol === 6 ? "tcp" : "udp", ports: [s.from, s.to] }),
);

/** Up to six entries, unique rule numbers per direction: small enough for 10,000 runs. */
const aclArb = fc.array(entryArb, { maxLength: 6 }).map((es) => {
  const seen = new Set<string>();
  return es.filter((e) => {
    const key = `${e.egress} ${e.ruleNumber}`;
    if (seen.has(key)) return false;
    seen.add(key);
    return true;
  });
});

describe("network ACL planner", () => {
  it("every plan is exact over 10,000 random ACLs: forbidden packets denied, every other verdict kept, a fixpoint", () => {
    fc.assert(
      fc.property(
        aclArb,
        fc.subarray([...SERVICES], { minLength: 1 }),
        fc.integer({ min: 1, max: 24 }),
        (entries, services, maxInsertedEntries) => {
          const plan = planNetworkAcl(entries, forbiddenSlices(entries, services), {
            maxInsertedEntries,
            entryQuota: 40,
          });
          const after = applyPlan(entries, plan);
          const refused = new Set(plan.refused.map((r) => r.entry));
          // Only the lists that hold entries: the others deny everything before and after.
          const lists = new Set(entries.map((e) => `${e.egress} ${e.cidr.family}`));
          for (const p of boundaryPackets([...entries, ...SERVICE_EDGES])) {
            if (!lists.has(`${p.egress} ${p.family}`)) continue;
            const before = oracleDecider(entries, p);
            if (before && refused.has(before)) continue;
            const allowedBefore = before?.ruleAction === "allow";
            const allowedAfter = oracleDecider(after, p)?.ruleAction === "allow";
            const want = oracleForbidden(services, before, p) ? false : allowedBefore;
            // A plain check per packet (expect() per packet would dominate the run time).
            if (allowedAfter !== want) {
              throw new Error(
                `packet ${JSON.stringify(p, (_, v) => (typeof v === "bigint" ? String(v) : v))}: allowed ${allowedAfter}, want ${want}`,
              );
            }
          }
          // Planning again on the result changes nothing more.
          const again = planNetworkAcl(after, forbiddenSlices(after, services), {
            maxInsertedEntries,
            entryQuota: 40,
          });
          expect(again.steps).toEqual([]);
        },
      ),
      { numRuns: Number(process.env.NACL_PLAN_RUNS ?? 10_000) },
    );
  }, 600_000);

  it("inserts a deny for tcp 22 before an allow of tcp 0-1023 instead of deleting it", () => {
    const allow = naclEntry({ ruleNumber: 100, egress: true, ports: [0, 1023] });
    const plan = planNetworkAcl([allow], forbiddenSlices([allow], [SERVICES[1] as Service]));
    expect(plan.steps).toEqual([
      {
        type: "insert",
        before: allow,
        entries: [
          {
            networkAclId: allow.networkAclId,
            ruleNumber: 99,
            egress: true,
            ruleAction: "deny",
            protocol: "tcp",
            ports: { from: 25, to: 25 },
            icmp: null,
            cidr: "0.0.0.0/0",
          },
        ],
      },
    ]);
  });

  it("deletes an entry whose every packet is forbidden", () => {
    const allow = naclEntry({ ruleNumber: 100, ports: [22] });
    const plan = planNetworkAcl([allow], forbiddenSlices([allow], [SERVICES[0] as Service]));
    expect(plan.steps).toEqual([{ type: "delete", entry: allow }]);
  });

  it("refuses, and says why, when the plan needs more entries than allowed or than fit", () => {
    const allow = naclEntry({ ruleNumber: 100, protocol: "all" });
    const forbidden = forbiddenSlices([allow], SERVICES);
    expect(planNetworkAcl([allow], forbidden, { maxInsertedEntries: 2 }).refused[0]?.reason).toBe(
      "max-inserted-entries",
    );
    expect(planNetworkAcl([allow], forbidden, { entryQuota: 3 }).refused[0]?.reason).toBe(
      "entry-quota",
    );
    const crowded = [naclEntry({ ruleNumber: 99, ruleAction: "deny", ports: [7] }), allow];
    expect(planNetworkAcl(crowded, forbiddenSlices(crowded, SERVICES)).refused[0]?.reason).toBe(
      "no-free-rule-numbers",
    );
  });
});
