import fc from "fast-check";
import { describe, expect, it } from "vitest";
import type { NetworkAclEntryChange } from "../src/model";
import { applyPlan, checkNaclPlan, planNetworkAcl } from "../src/nacl-plan";
import { evaluate } from "../src/policy/evaluate";
import { parsePolicy } from "../src/policy/schema";
import type { Policy } from "../src/policy/types";
import { forbiddenTraffic, planRemediation } from "../src/remediation";
import {
  boundaryPackets,
  oracleDecider,
  type RawEntry,
  rawAclArb,
  toChange,
  V4_BLOCKS,
  V6_BLOCKS,
} from "./nacl-oracle";
import { ACL, NOW, naclEntry } from "./policy-builders";
import { oracleForbidden, oraclePolicyArb, policyBounds, toPolicy } from "./policy-oracle";

/** Judges and plans one ACL as every path does (the event flow, the sweep, `scan --fix`). */
function planAcl(acl: readonly NetworkAclEntryChange[], policy: Policy, naclEntryQuota = 20) {
  const networkAcls = { [ACL]: acl };
  const evaluation = evaluate(
    acl.filter((e) => e.ruleAction === "allow"),
    policy,
    { now: NOW, account: "123456789012", region: "eu-west-1", networkAcls, naclPlanned: true },
  );
  return planRemediation(evaluation, policy, { networkAcls, naclEntryQuota });
}

// The IPv4-mapped block is left out: the policy reads it as IPv4, which the random policy's
// oracle does not model (nacl.test.ts checks how the model files it).
const BLOCKS = [...V4_BLOCKS, ...V6_BLOCKS.filter((b) => !b.startsWith("::ffff"))];

const RUNS = Number(process.env.NACL_PLAN_RUNS ?? 10_000);

// Runtime budget: 10,000 random ACLs (one to six entries, any protocol, port, ICMP type and
// block) under random policies (two to four rules, random networks and limits) take about 45 s
// on one core (NACL_PLAN_RUNS lowers it locally). About a third of them have a plan; each is
// checked on one packet of every boundary class of the lists in use, before and after.
describe("network ACL planner", () => {
  it("every plan is exact over 10,000 random ACLs and policies: forbidden packets denied, every other verdict kept, a fixpoint", () => {
    fc.assert(
      fc.property(
        rawAclArb(6, { blocks: BLOCKS, planned: true }),
        oraclePolicyArb,
        fc.constantFrom(20, 40, 8),
        (raw, oracle, quota) => {
          const policy = toPolicy(oracle, "network-acl");
          const acl = raw.map(toChange);
          const rawOf = new Map(acl.map((e, i) => [e, raw[i] as RawEntry]));
          const { actions, naclPlans } = planAcl(acl, policy, quota);
          const plan = naclPlans.get(ACL);
          if (!plan) {
            expect(actions).toEqual([]);
            return;
          }
          expect(plan.check.exact).toBe(true);
          const refused = new Set(plan.refused.map((r) => rawOf.get(r.entry)));
          const deleted = new Set(
            plan.steps.flatMap((s) => (s.type === "delete" ? [rawOf.get(s.entry)] : [])),
          );
          const inserted: RawEntry[] = plan.steps.flatMap((s) =>
            s.type === "insert"
              ? s.entries.map((e) => ({
                  ruleNumber: e.ruleNumber,
                  egress: e.egress,
                  ruleAction: e.ruleAction,
                  protocol:
                    e.protocol === "all"
                      ? -1
                      : typeof e.protocol === "number"
                        ? e.protocol
                        : { tcp: 6, udp: 17, icmp: 1, icmpv6: 58 }[e.protocol],
                  ports: e.ports ? ([e.ports.from, e.ports.to] as const) : ([0, 65535] as const),
                  icmpType: e.icmp?.type ?? -1,
                  icmpCode: e.icmp?.code ?? -1,
                  cidr: e.cidr,
                }))
              : [],
          );
          const after = [...raw.filter((e) => !deleted.has(e)), ...inserted];
          // Rule numbers stay unique per direction, as AWS requires.
          const numbers = after.map((e) => `${e.egress} ${e.ruleNumber}`);
          expect(new Set(numbers).size).toBe(numbers.length);
          const lists = new Set(raw.map((e) => `${e.egress} ${e.cidr.includes(":") ? 6 : 4}`));
          for (const p of boundaryPackets([...raw, ...inserted], policyBounds(oracle), lists)) {
            const before = oracleDecider(raw, p);
            const allowedBefore = before?.ruleAction === "allow";
            const allowedAfter = oracleDecider(after, p)?.ruleAction === "allow";
            const forbidden =
              before !== null &&
              allowedBefore &&
              !refused.has(before) &&
              oracleForbidden(oracle, before, p);
            const want = forbidden ? false : allowedBefore;
            // A plain check per packet (an expect per packet would dominate the run time).
            if (allowedAfter !== want) {
              throw new Error(
                `packet ${JSON.stringify(p, (_, v) => (typeof v === "bigint" ? String(v) : v))}: allowed ${allowedAfter}, want ${want} (decided by ${JSON.stringify(before)})`,
              );
            }
          }
          // Planning again on the result finds nothing more to do.
          const again = planAcl(applyPlan(acl, plan), policy, quota);
          expect(again.actions).toEqual([]);
        },
      ),
      { numRuns: RUNS },
    );
  }, 600_000);

  const rules = [
    {
      id: "smtp-out",
      kind: "network-acl-ports",
      description: "no SMTP to the internet",
      mode: "enforce",
      options: { direction: "egress", peers: ["public"], ports: ["tcp/25"] },
    },
    {
      id: "admin-in",
      kind: "network-acl-ports",
      description: "no SSH from the internet",
      mode: "enforce",
      options: { direction: "ingress", peers: ["public"], ports: ["tcp/22"] },
    },
  ];
  const office = parsePolicy({
    networks: { office: ["192.0.2.0/24"], trusted: ["10.0.0.0/8"] },
    rules,
  });

  // The same rules without trusted or office networks.
  const plain = parsePolicy({ rules });

  it("egress tcp 0-1023 to the world: an allow for each trusted range, then one deny of tcp 25, before it", () => {
    const allow = naclEntry({ ruleNumber: 100, egress: true, ports: [0, 1023] });
    const { actions, evaluation } = planAcl([allow], office);
    expect(actions).toEqual([
      expect.objectContaining({
        type: "insert-network-acl-entries",
        before: 100,
        egress: true,
        entries: [
          expect.objectContaining({ ruleNumber: 97, ruleAction: "allow", cidr: "10.0.0.0/8" }),
          expect.objectContaining({ ruleNumber: 98, ruleAction: "allow", cidr: "192.0.2.0/24" }),
          expect.objectContaining({
            ruleNumber: 99,
            ruleAction: "deny",
            protocol: "tcp",
            ports: { from: 25, to: 25 },
            cidr: "0.0.0.0/0",
          }),
        ],
      }),
    ]);
    expect(evaluation.findings[0]?.reason).toContain(
      "3 entries inserted before it deny tcp 25, still allowed from 10.0.0.0/8, 192.0.2.0/24",
    );
  });

  it("a replaced entry 100 narrowed to tcp 0-1023 gets inserts, never a delete, on every path", () => {
    const replaced = naclEntry({ ruleNumber: 100, ports: [0, 1023], operation: "replace" });
    const state = { ...replaced, operation: "state" as const };
    const event = planAcl([replaced], office).actions;
    const sweep = planAcl([state], office).actions;
    expect(event).toEqual(sweep);
    expect(event.map((a) => a.type)).toEqual(["insert-network-acl-entries"]);
  });

  it("deletes an entry whose every packet is forbidden when nothing after it would take them", () => {
    const allow = naclEntry({ ruleNumber: 100, ports: [22] });
    expect(planAcl([allow], plain).actions).toEqual([
      { type: "delete-network-acl-entry", networkAclId: ACL, ruleNumber: 100, egress: false },
    ]);
    // A later allow would take the packets: one deny before the entry instead.
    const later = naclEntry({ ruleNumber: 200, ports: [0, 1023], cidr: "10.0.0.0/8" });
    const plan = planAcl([allow, later], plain);
    expect(plan.actions.map((a) => a.type)).toEqual(["insert-network-acl-entries"]);
    expect(plan.naclPlans.get(ACL)?.check.exact).toBe(true);
    // With trusted ranges, their share of tcp 22 stays allowed: inserts, not a delete.
    expect(planAcl([allow], office).actions.map((a) => a.type)).toEqual([
      "insert-network-acl-entries",
    ]);
  });

  it("refuses, and says why, when the plan needs more entries than allowed or than fit", () => {
    const allow = naclEntry({ ruleNumber: 100, protocol: "all" });
    const forbidden = new Map([
      [
        allow,
        [
          {
            protocols: { lo: 6, hi: 6 },
            ports: { lo: 22, hi: 22 },
            icmpTypes: { lo: 0, hi: 255 },
            icmpCodes: { lo: 0, hi: 255 },
            addresses: { lo: 1n, hi: 6n },
          },
        ],
      ],
    ]);
    expect(planNetworkAcl([allow], forbidden, { maxInsertedEntries: 2 }).refused[0]?.reason).toBe(
      "max-inserted-entries",
    );
    expect(planNetworkAcl([allow], forbidden, { entryQuota: 3 }).refused[0]?.reason).toBe(
      "entry-quota",
    );
    const crowded = [naclEntry({ ruleNumber: 99, ruleAction: "deny", ports: [7] }), allow];
    const tight = new Map([[allow, forbidden.get(allow) ?? []]]);
    expect(planNetworkAcl(crowded, tight).refused[0]?.reason).toBe("no-free-rule-numbers");
    const findings = planAcl([naclEntry({ ruleNumber: 1, ports: [0, 1023], egress: true })], office)
      .evaluation.findings;
    expect(findings[0]?.mode).toBe("notify");
    expect(findings[0]?.reason).toContain("no free rule numbers before the entry");
  });

  it("counts the quota per list with the * entry, as AWS does", () => {
    const others = Array.from({ length: 18 }, (_, i) =>
      naclEntry({ ruleNumber: 200 + i, ruleAction: "deny", ports: [1000 + i] }),
    );
    const allow = naclEntry({ ruleNumber: 100, ports: [20, 23] });
    // 18 + the allow + the * entry = 20: one more entry would exceed the default quota.
    const plan = planAcl([allow, ...others], plain).naclPlans.get(ACL);
    expect(plan?.refused[0]?.reason).toBe("entry-quota");
    // An entry less, and one of the IPv6 list (which counts apart): the one deny fits.
    const v6 = naclEntry({ ruleNumber: 300, ruleAction: "deny", cidr: "::/0" });
    expect(planAcl([allow, ...others.slice(1), v6], plain).actions).toHaveLength(1);
  });

  it("the plan's check catches a plan that is not exact", () => {
    const allow = naclEntry({ ruleNumber: 100, ports: [0, 1023] });
    const forbidden = forbiddenTraffic(
      [allow],
      evaluate([allow], office, { now: NOW, networkAcls: { [ACL]: [allow] }, naclPlanned: true }),
      office,
    );
    const wrong = {
      steps: [{ type: "delete" as const, entry: allow }],
      refused: [],
    };
    expect(checkNaclPlan([allow], forbidden, wrong).exact).toBe(false);
  });
});
