import type {
  Action,
  Evaluation,
  Finding,
  RuleChange,
  SecurityGroupPermission,
  SecurityGroupRuleChange,
} from "./model";
import {
  ALL_PORTS,
  ALL_PROTOCOLS,
  addressRangeOf,
  describeSlices,
  type Interval,
  rangeToCidrs,
  type Slice,
  subtractAll,
} from "./nacl";
import { mergeSlices } from "./nacl-plan";
import { type Cidr, parseCidr } from "./net/cidr";
import { type Protocol, protocolNumber } from "./net/protocol";
import { flaggedForEnforce, forbiddenSlices } from "./packet-classes";
import type { Policy } from "./policy/types";
import type { GroupRuleCounts, RemediationContext } from "./remediation";

/**
 * Security-group narrowing (opt-in per policy rule, `remediation.narrow`): a rule that allows
 * both forbidden and compliant traffic is replaced by its compliant remainder. The remainder is
 * authorized first and the rule revoked by id after, so compliant traffic never stops; when the
 * remainder cannot be authorized (the group's rule quota, more permissions than the policy
 * allows), nothing is revoked and the finding notifies.
 *
 * Security-group rules only allow, and a group allows the union of its rules: the remainder is
 * the rule's traffic minus its forbidden packets, exactly, as permissions of one peer each.
 */

/**
 * "Inbound or outbound rules per security group": 60 by default, counted separately for IPv4
 * and IPv6 (https://docs.aws.amazon.com/vpc/latest/userguide/amazon-vpc-limits.html#vpc-limits-security-groups).
 */
export const DEFAULT_GROUP_RULE_QUOTA = 60;

/**
 * How many rules each security group holds, per direction and IP version, as the quota counts
 * them: a CIDR rule counts toward its own IP version, a rule whose peer is a group or a prefix
 * list toward both. A customer-managed prefix list really counts as its maximum number of
 * entries; it is counted as one here, and AWS's own `RulesPerSecurityGroupLimitExceeded`
 * then stops the narrowing before the revoke (see `narrowSecurityGroupRule`).
 *
 * @example
 * countGroupRules(changes)["sg-1"]?.ingress[4] // 3
 */
export function countGroupRules(changes: readonly RuleChange[]): Record<string, GroupRuleCounts> {
  const out: Record<
    string,
    { ingress: { 4: number; 6: number }; egress: { 4: number; 6: number } }
  > = {};
  for (const c of changes) {
    if (c.kind !== "security-group-rule" || c.groupId === null || c.direction === "unknown")
      continue;
    out[c.groupId] ??= { ingress: { 4: 0, 6: 0 }, egress: { 4: 0, 6: 0 } };
    const side = out[c.groupId]?.[c.direction];
    if (side === undefined) continue;
    if (c.peer.kind === "cidr") side[c.peer.cidr.original?.family ?? c.peer.cidr.family] += 1;
    else {
      side[4] += 1;
      side[6] += 1;
    }
  }
  return out;
}

/** The groups whose rules an action list narrows: their rule counts decide the plan. */
export function groupsNarrowed(actions: readonly Action[]): string[] {
  return [
    ...new Set(
      actions.flatMap((a) => (a.type === "narrow-security-group-rule" ? [a.groupId] : [])),
    ),
  ];
}

type Concrete = SecurityGroupRuleChange & {
  readonly direction: "ingress" | "egress";
  readonly ruleId: string;
  readonly groupId: string;
};

const ALL_ICMP: Interval = { lo: 0, hi: 255 };

/** The traffic a security-group rule with a CIDR peer allows, as a box. */
export function ruleSlice(rule: SecurityGroupRuleChange, cidr: Cidr): Slice {
  const n = protocolNumber(rule.protocol);
  const protocols = n < 0 ? ALL_PROTOCOLS : { lo: n, hi: n };
  const portful = rule.protocol === "tcp" || rule.protocol === "udp";
  const ports = portful && rule.ports ? { lo: rule.ports.from, hi: rule.ports.to } : ALL_PORTS;
  const typed = rule.protocol === "icmp" || rule.protocol === "icmpv6";
  const icmp = typed ? rule.icmp : null;
  const icmpTypes = icmp && icmp.type >= 0 ? { lo: icmp.type, hi: icmp.type } : ALL_ICMP;
  const icmpCodes =
    icmp && icmp.type >= 0 && icmp.code >= 0 ? { lo: icmp.code, hi: icmp.code } : ALL_ICMP;
  return { protocols, ports, icmpTypes, icmpCodes, addresses: addressRangeOf(cidr) };
}

const full = (r: Interval, all: Interval) => r.lo === all.lo && r.hi === all.hi;

const API_NAMES: Record<number, string> = { 6: "tcp", 17: "udp", 1: "icmp", 58: "icmpv6" };

/** Permissions whose union is exactly the box, or null when none can be. */
function permissionsFor(s: Slice, cidr: Cidr): SecurityGroupPermission[] | null {
  const family = cidr.original?.family ?? cidr.family;
  const blocks = rangeToCidrs(s.addresses, family);
  const out: SecurityGroupPermission[] = [];
  if (full(s.protocols, ALL_PROTOCOLS)) {
    if (!full(s.ports, ALL_PORTS) || !full(s.icmpTypes, ALL_ICMP) || !full(s.icmpCodes, ALL_ICMP))
      return null;
    return blocks.map((b) => ({ protocol: "-1", fromPort: null, toPort: null, cidr: b }));
  }
  for (let n = s.protocols.lo; n <= s.protocols.hi; n++) {
    const protocol = API_NAMES[n] ?? String(n);
    const portful = n === 6 || n === 17;
    const typed = n === 1 || n === 58;
    if (!portful && !full(s.ports, ALL_PORTS)) return null;
    if (!typed && !(full(s.icmpTypes, ALL_ICMP) && full(s.icmpCodes, ALL_ICMP))) return null;
    const ranges: [number | null, number | null][] = [];
    if (portful) ranges.push([s.ports.lo, s.ports.hi]);
    else if (typed) {
      if (full(s.icmpTypes, ALL_ICMP)) {
        if (!full(s.icmpCodes, ALL_ICMP)) return null;
        ranges.push([-1, -1]);
      } else {
        for (let t = s.icmpTypes.lo; t <= s.icmpTypes.hi; t++) {
          if (full(s.icmpCodes, ALL_ICMP)) ranges.push([t, -1]);
          else for (let c = s.icmpCodes.lo; c <= s.icmpCodes.hi; c++) ranges.push([t, c]);
        }
      }
    } else ranges.push([null, null]);
    for (const [fromPort, toPort] of ranges) {
      for (const b of blocks) out.push({ protocol, fromPort, toPort, cidr: b });
    }
    if (out.length > 256) return null;
  }
  return out;
}

/** The box a permission allows (for checks and tests). */
export function permissionSlice(p: SecurityGroupPermission): Slice {
  const cidr = parseCidr(p.cidr as string);
  const n =
    p.protocol === "-1"
      ? -1
      : (Object.entries(API_NAMES).find(([, v]) => v === p.protocol)?.[0] ?? p.protocol);
  const num = Number(n);
  const protocols = num < 0 ? ALL_PROTOCOLS : { lo: num, hi: num };
  const portful = num === 6 || num === 17;
  const typed = num === 1 || num === 58;
  const ports = portful ? { lo: p.fromPort ?? 0, hi: p.toPort ?? 65535 } : ALL_PORTS;
  const type = typed ? (p.fromPort ?? -1) : -1;
  const code = typed ? (p.toPort ?? -1) : -1;
  return {
    protocols,
    ports,
    icmpTypes: type >= 0 ? { lo: type, hi: type } : ALL_ICMP,
    icmpCodes: type >= 0 && code >= 0 ? { lo: code, hi: code } : ALL_ICMP,
    addresses: addressRangeOf(cidr),
  };
}

export type NarrowRefusalReason =
  | "group-rule-quota"
  | "max-inserted-entries"
  | "not-expressible"
  | "remainder-flagged";

/** What narrowing one rule comes to. */
export type NarrowPlan =
  | { readonly status: "revoke" }
  | {
      readonly status: "narrow";
      readonly remainder: readonly SecurityGroupPermission[];
      readonly forbidden: readonly Slice[];
      readonly check: string;
    }
  | { readonly status: "refused"; readonly reason: NarrowRefusalReason; readonly detail: string };

/**
 * Plans the narrowing of one rule: its compliant remainder (its traffic minus `forbidden`),
 * as the fewest permissions the slice algebra finds, checked to be exact.
 *
 * @example
 * narrowRule(tcp0to1023FromWorld, [tcp22Slice], policy, { count: 3 })
 * // { status: "narrow", remainder: [tcp 0-21, tcp 23-1023 from 0.0.0.0/0], ... }
 */
export function narrowRule(
  rule: SecurityGroupRuleChange,
  cidr: Cidr,
  forbidden: readonly Slice[],
  policy: Policy,
  limits: { readonly count?: number; readonly quota?: number } = {},
): NarrowPlan {
  const own = ruleSlice(rule, cidr);
  const left = mergeSlices(subtractAll([own], forbidden));
  if (left.length === 0) return { status: "revoke" };
  const remainder: SecurityGroupPermission[] = [];
  for (const s of left) {
    const perms = permissionsFor(s, cidr);
    if (perms === null) {
      return {
        status: "refused",
        reason: "not-expressible",
        detail: "no list of permissions allows exactly the compliant remainder",
      };
    }
    remainder.push(...perms);
  }
  const max = policy.remediation.maxInsertedEntries;
  if (remainder.length > max) {
    return {
      status: "refused",
      reason: "max-inserted-entries",
      detail: `the remainder needs ${remainder.length} rules, more than remediation.maxInsertedEntries (${max})`,
    };
  }
  const quota = limits.quota ?? DEFAULT_GROUP_RULE_QUOTA;
  if (limits.count !== undefined && limits.count + remainder.length > quota) {
    return {
      status: "refused",
      reason: "group-rule-quota",
      detail: `${remainder.length} more rules would make ${limits.count + remainder.length} before the revoke, over the group's quota of ${quota} per direction and IP version`,
    };
  }
  for (const p of remainder) {
    const pc = parseCidr(p.cidr as string);
    const slice = permissionSlice(p);
    const n = slice.protocols.lo === slice.protocols.hi ? slice.protocols.lo : -1;
    const names: Record<number, Protocol> = { 6: "tcp", 17: "udp", 1: "icmp", 58: "icmpv6" };
    const protocol: Protocol = n < 0 ? "all" : (names[n] ?? n);
    const portful = protocol === "tcp" || protocol === "udp";
    const typed = protocol === "icmp" || protocol === "icmpv6";
    // The rule the remainder becomes, judged as a rule of its own (its own breadth and mode).
    const as = {
      ...rule,
      protocol,
      ports: portful ? { from: slice.ports.lo, to: slice.ports.hi } : null,
      icmp: typed ? { type: p.fromPort ?? -1, code: p.toPort ?? -1 } : null,
      peer: { kind: "cidr", cidr: pc },
    } as Concrete;
    if (flaggedForEnforce(as, pc, slice, policy)) {
      return {
        status: "refused",
        reason: "remainder-flagged",
        detail: `the remainder ${p.protocol} ${p.fromPort ?? ""}-${p.toPort ?? ""} ${p.cidr} would be flagged itself`,
      };
    }
  }
  // The check: the remainder's union is exactly the rule's traffic minus the forbidden part.
  const got = remainder.map(permissionSlice);
  const want = subtractAll([own], forbidden);
  const exact = subtractAll(want, got).length === 0 && subtractAll(got, want).length === 0;
  if (!exact) {
    return {
      status: "refused",
      reason: "not-expressible",
      detail: "the remainder failed its check",
    };
  }
  const within = addressRangeOf(cidr);
  const family = cidr.original?.family ?? cidr.family;
  return {
    status: "narrow",
    remainder,
    forbidden,
    check: `checked: the ${remainder.length} rule${remainder.length === 1 ? "" : "s"} authorized allow exactly what the rule allowed except ${describeSlices(forbidden, within, family)}`,
  };
}

/** The narrowing actions of an evaluation, and its findings rewritten to say what happens. */
export function planNarrowing(
  evaluation: Evaluation,
  policy: Policy,
  ctx: RemediationContext,
): { actions: Action[]; rewrites: Map<Finding, Finding> } {
  const actions: Action[] = [];
  const rewrites = new Map<Finding, Finding>();
  const byRule = new Map<string, Finding[]>();
  for (const f of evaluation.findings) {
    if (f.mode !== "enforce" || f.exemption || f.change.kind !== "security-group-rule") continue;
    const c = f.change;
    if (c.ruleId === null || c.groupId === null || c.direction === "unknown") continue;
    if (c.peer.kind !== "cidr") continue;
    const key = `${c.groupId} ${c.ruleId}`;
    byRule.set(key, [...(byRule.get(key) ?? []), f]);
  }
  for (const findings of byRule.values()) {
    const rules = findings.map((f) => policy.rules.find((r) => r.id === f.rule));
    // One rule that revokes whole decides: narrowing is each rule's own choice.
    if (rules.some((r) => r === undefined || !r.remediation.narrow)) continue;
    const change = (findings[0] as Finding).change as Concrete;
    if (change.peer.kind !== "cidr") continue;
    const cidr = change.peer.cidr;
    const own = ruleSlice(change, cidr);
    const forbidden = forbiddenSlices(change, cidr, [own], rules as Policy["rules"], policy);
    const family = cidr.original?.family ?? cidr.family;
    const counts = ctx.groupRuleCounts?.[change.groupId];
    const plan = narrowRule(change, cidr, forbidden, policy, {
      ...(counts ? { count: counts[change.direction][family] } : {}),
      ...(ctx.groupRuleQuota !== undefined ? { quota: ctx.groupRuleQuota } : {}),
    });
    if (plan.status === "revoke") continue;
    if (plan.status === "refused") {
      for (const f of findings) {
        rewrites.set(f, {
          ...f,
          mode: "notify",
          reason: `${f.reason}; cannot be narrowed (${plan.detail}), and revoking it whole would remove compliant traffic, so notify`,
        });
      }
      continue;
    }
    actions.push({
      type: "narrow-security-group-rule",
      groupId: change.groupId,
      direction: change.direction,
      ruleId: change.ruleId,
      remainder: plan.remainder,
      check: plan.check,
    });
    for (const f of findings) {
      rewrites.set(f, {
        ...f,
        reason: `${f.reason}; narrowed: ${plan.remainder.length} compliant rule${plan.remainder.length === 1 ? "" : "s"} authorized first, then the rule revoked`,
      });
    }
  }
  return { actions, rewrites };
}
