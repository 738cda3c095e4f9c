import fc from "fast-check";
import { describe, expect, it } from "vitest";
import type { SecurityGroupPermission, SecurityGroupRuleChange } from "../src/model";
import { evaluate } from "../src/policy/evaluate";
import { parsePolicy } from "../src/policy/schema";
import type { Policy } from "../src/policy/types";
import { planRemediation } from "../src/remediation";
import { countGroupRules, groupsNarrowed } from "../src/sg-narrow";
import {
  boundaryPackets,
  type OraclePacket,
  oracleFamily,
  oracleRange,
  type RawEntry,
  V4_BLOCKS,
  V6_BLOCKS,
} from "./nacl-oracle";
import { ADMIN_PORTS_RULE, GROUP, NOW, sgRule } from "./policy-builders";
import { oracleForbidden, oraclePolicyArb, policyBounds, toPolicy } from "./policy-oracle";

/** A security-group rule as raw data, and how the oracle reads one packet against it. */
interface RawRule {
  readonly egress: boolean;
  readonly protocol: number;
  readonly ports: readonly [number, number];
  readonly icmp: readonly [number, number];
  readonly cidr: string;
}

/** True when the permission (rule) allows the packet: written apart from `src/`. */
function holds(
  p: { protocol: string; fromPort: number | null; toPort: number | null; cidr?: string },
  packet: OraclePacket,
): boolean {
  const n = { tcp: 6, udp: 17, icmp: 1, icmpv6: 58, "-1": -1 }[p.protocol] ?? Number(p.protocol);
  if (n !== -1 && n !== packet.protocol) return false;
  if (n === 6 || n === 17) {
    if (packet.port < (p.fromPort ?? 0) || packet.port > (p.toPort ?? 65535)) return false;
  }
  if ((n === 1 || n === 58) && p.fromPort !== null && p.fromPort !== -1) {
    if (p.fromPort !== packet.icmpType) return false;
    if (p.toPort !== null && p.toPort !== -1 && p.toPort !== packet.icmpCode) return false;
  }
  const cidr = p.cidr as string;
  if (oracleFamily(cidr) !== packet.family) return false;
  const [a, b] = oracleRange(cidr);
  return a <= packet.address && packet.address <= b;
}

const NAMES: Record<number, string> = { [-1]: "-1", 6: "tcp", 17: "udp", 1: "icmp", 58: "icmpv6" };

/** What a permission's fromPort and toPort hold: the ports, the ICMP type and code, or nothing. */
const bounds = (r: RawRule): readonly [number, number] | null =>
  r.protocol === 6 || r.protocol === 17
    ? r.ports
    : r.protocol === 1 || r.protocol === 58
      ? r.icmp
      : null;

const asPermission = (r: RawRule) => {
  const b = bounds(r);
  return {
    protocol: NAMES[r.protocol] ?? String(r.protocol),
    fromPort: b ? b[0] : null,
    toPort: b ? b[1] : null,
    cidr: r.cidr,
  };
};

function toChange(r: RawRule, ruleId = "sgr-0aaaaaaaaaaaaaaa1"): SecurityGroupRuleChange {
  const protocol =
    r.protocol === -1
      ? "all"
      : (({ 6: "tcp", 17: "udp", 1: "icmp", 58: "icmpv6" } as const)[r.protocol as 6] ??
        r.protocol);
  return sgRule({
    direction: r.egress ? "egress" : "ingress",
    protocol,
    ports: r.protocol === 6 || r.protocol === 17 ? [r.ports[0], r.ports[1]] : null,
    icmp: r.protocol === 1 || r.protocol === 58 ? [r.icmp[0], r.icmp[1]] : null,
    cidr: r.cidr,
    ruleId,
  });
}

function fromPermission(p: SecurityGroupPermission, egress: boolean, i: number) {
  const n = { tcp: 6, udp: 17, icmp: 1, icmpv6: 58, "-1": -1 }[p.protocol] ?? Number(p.protocol);
  const raw: RawRule = {
    egress,
    protocol: n,
    ports: [p.fromPort ?? 0, p.toPort ?? 65535],
    icmp: [p.fromPort ?? -1, p.toPort ?? -1],
    cidr: p.cidr as string,
  };
  return toChange(raw, `sgr-0bbbbbbbbbbbbbbb${i}`);
}

const BLOCKS = [...V4_BLOCKS, ...V6_BLOCKS.filter((b) => !b.startsWith("::ffff"))];
const portArb = fc.oneof(
  fc.constantFrom(0, 21, 22, 23, 25, 80, 443, 1023, 1024, 65535),
  fc.integer({ min: 0, max: 65535 }),
);

const rawRuleArb: fc.Arbitrary<RawRule> = fc
  .record({
    egress: fc.boolean(),
    protocol: fc.constantFrom(-1, 6, 6, 6, 17, 1, 58, 50),
    a: portArb,
    b: portArb,
    icmp: fc.constantFrom([-1, -1] as const, [8, -1] as const, [3, 4] as const, [2, -1] as const),
    cidr: fc.constantFrom(...BLOCKS),
  })
  .map(({ a, b, ...r }) => ({ ...r, ports: [Math.min(a, b), Math.max(a, b)] as const }))
  // ICMPv6 rules take IPv6 blocks only.
  .filter((r) => r.protocol !== 58 || r.cidr.includes(":"));

function plan(rules: readonly SecurityGroupRuleChange[], policy: Policy) {
  const evaluation = evaluate(rules, policy, {
    now: NOW,
    account: "123456789012",
    region: "eu-west-1",
  });
  return planRemediation(evaluation, policy, {});
}

const RUNS = Number(process.env.SG_NARROW_RUNS ?? 10_000);

// Runtime budget: 10,000 random rules under random policies take about 25 s on one core
// (SG_NARROW_RUNS lowers it locally).
describe("security-group narrowing", () => {
  it("narrowing is exact over 10,000 random rules and policies: the remainder allows exactly the compliant packets, and is a fixpoint", () => {
    fc.assert(
      fc.property(rawRuleArb, oraclePolicyArb, (raw, oracle) => {
        const policy = toPolicy(oracle, "security-group");
        const rule = toChange(raw);
        const { actions } = plan([rule], policy);
        const narrow = actions.find((a) => a.type === "narrow-security-group-rule");
        const revoke = actions.find((a) => a.type === "revoke-security-group-rules");
        const asRaw: RawEntry = {
          ruleNumber: 1,
          egress: raw.egress,
          ruleAction: "allow",
          protocol: raw.protocol,
          ports: raw.ports,
          icmpType: raw.icmp[0],
          icmpCode: raw.icmp[1],
          cidr: raw.cidr,
        };
        const list = new Set([`${raw.egress} ${oracleFamily(raw.cidr)}`]);
        const remainder = narrow?.type === "narrow-security-group-rule" ? narrow.remainder : [];
        const extra = remainder.map((p) => ({
          ...asRaw,
          protocol:
            { tcp: 6, udp: 17, icmp: 1, icmpv6: 58, "-1": -1 }[p.protocol] ?? Number(p.protocol),
          ports: [p.fromPort ?? 0, p.toPort ?? 65535] as const,
          icmpType: p.fromPort ?? -1,
          icmpCode: p.toPort ?? -1,
          cidr: p.cidr as string,
        }));
        const everyRuleNarrows = policy.rules.every((r) => r.remediation.narrow);
        for (const packet of boundaryPackets([asRaw, ...extra], policyBounds(oracle), list)) {
          const before = holds(asPermission(raw), packet);
          const forbidden = before && oracleForbidden(oracle, raw, packet);
          if (narrow) {
            const after = remainder.some((p) => holds(p, packet));
            if (after !== (before && !forbidden)) {
              throw new Error(
                `packet ${JSON.stringify(packet, (_, v) => (typeof v === "bigint" ? String(v) : v))}: allowed ${after}, want ${before && !forbidden}`,
              );
            }
          } else if (revoke && everyRuleNarrows && before && !forbidden) {
            throw new Error("revoked whole though a narrowing rule left compliant traffic");
          }
        }
        if (narrow) {
          // Authorize first, then revoke: the action carries both, in that order.
          expect(narrow.type).toBe("narrow-security-group-rule");
          const again = plan(
            remainder.map((p, i) => fromPermission(p, raw.egress, i)),
            policy,
          );
          expect(again.actions).toEqual([]);
        }
      }),
      { numRuns: RUNS },
    );
  }, 600_000);

  const rules = [{ ...ADMIN_PORTS_RULE, remediation: { narrow: true } }];

  it("narrows tcp 0-1023 from the world to tcp 0-21 and 23-1023, keeping tcp 22 for the office", () => {
    const policy = parsePolicy({ networks: { office: ["192.0.2.0/24"] }, rules });
    const rule = sgRule({ ports: [0, 1023] });
    const { actions, evaluation } = plan([rule], policy);
    expect(actions).toEqual([
      expect.objectContaining({
        type: "narrow-security-group-rule",
        ruleId: rule.ruleId,
        remainder: [
          { protocol: "tcp", fromPort: 0, toPort: 21, cidr: "0.0.0.0/0" },
          { protocol: "tcp", fromPort: 23, toPort: 1023, cidr: "0.0.0.0/0" },
          { protocol: "tcp", fromPort: 22, toPort: 22, cidr: "192.0.2.0/24" },
        ],
      }),
    ]);
    expect(evaluation.findings[0]?.reason).toContain(
      "narrowed: 3 compliant rules authorized first",
    );
  });

  it("revokes whole when narrowing is off (the default) or nothing compliant is left", () => {
    const off = parsePolicy({ rules: rules.map(({ remediation: _, ...r }) => r) });
    expect(plan([sgRule({ ports: [0, 1023] })], off).actions.map((a) => a.type)).toEqual([
      "revoke-security-group-rules",
    ]);
    const on = parsePolicy({ rules });
    expect(plan([sgRule({ ports: [22] })], on).actions.map((a) => a.type)).toEqual([
      "revoke-security-group-rules",
    ]);
  });

  it("notifies, never revokes, when the group's rule quota has no room for the remainder", () => {
    const policy = parsePolicy({ rules });
    const rule = sgRule({ ports: [0, 1023] });
    const evaluation = evaluate([rule], policy, {
      now: NOW,
      account: "123456789012",
      region: "eu-west-1",
    });
    const full = { ingress: { 4: 59, 6: 0 }, egress: { 4: 0, 6: 0 } };
    const result = planRemediation(evaluation, policy, {
      groupRuleCounts: { [rule.groupId as string]: full },
    });
    expect(result.actions).toEqual([]);
    expect(result.evaluation.findings[0]?.mode).toBe("notify");
    expect(result.evaluation.findings[0]?.reason).toContain("over the group's quota of 60");
  });

  it("counts a group's rules as the quota does: per direction and IP version, group and list peers toward both", () => {
    const counts = countGroupRules([
      sgRule({ cidr: "0.0.0.0/0" }),
      sgRule({ cidr: "10.0.0.0/8", ports: [443] }),
      sgRule({ cidr: "::/0" }),
      // An IPv4-mapped IPv6 block is stored, and counted, as IPv6.
      sgRule({ cidr: "::ffff:192.0.2.0/120" }),
      sgRule({ prefixListId: "pl-1" }),
      sgRule({ referencedGroupId: "sg-2", direction: "egress" }),
      sgRule({ groupId: "sg-other", cidr: "192.0.2.0/24", direction: "egress" }),
      sgRule({ direction: "unknown" }),
    ]);
    expect(counts).toEqual({
      [GROUP]: { ingress: { 4: 3, 6: 3 }, egress: { 4: 1, 6: 1 } },
      "sg-other": { ingress: { 4: 0, 6: 0 }, egress: { 4: 1, 6: 0 } },
    });
  });

  it("names the groups a plan narrows, once each", () => {
    const policy = parsePolicy({ rules });
    const rule = sgRule({ ports: [0, 1023] });
    const evaluation = evaluate([rule, { ...rule, ruleId: "sgr-0aaaaaaaaaaaaaaa2" }], policy, {
      now: NOW,
      account: "123456789012",
      region: "eu-west-1",
    });
    const { actions } = planRemediation(evaluation, policy, {});
    expect(actions.map((a) => a.type)).toEqual([
      "narrow-security-group-rule",
      "narrow-security-group-rule",
    ]);
    expect(groupsNarrowed(actions)).toEqual([rule.groupId]);
  });
});
