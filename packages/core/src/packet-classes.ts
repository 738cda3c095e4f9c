import type { NetworkAclEntryChange, SecurityGroupRuleChange } from "./model";
import { type AddressRange, addressRangeOf, type Slice } from "./nacl";
import type { Cidr } from "./net/cidr";
import { getRuleKind } from "./policy/kinds";
import { type ClassifiedPeer, classifyCidr, isBroad } from "./policy/match";
import type { PeerClass, Policy } from "./policy/types";

/**
 * Peer classes per packet, for remediation without collateral: a rule or entry's peer class
 * (public, wide, narrow, special-purpose) is its CIDR's, while trusted, office and blocked
 * membership is judged on each packet's own address. These helpers cut a CIDR into the regions
 * where that membership is the same.
 */

// Math.min and Math.max take no bigint.
const bigMax = (a: bigint, b: bigint) => (a > b ? a : b);
const bigMin = (a: bigint, b: bigint) => (a < b ? a : b);

/** Addresses of one block with the same trusted/office and blocked membership. */
export interface AddressRegion {
  readonly range: AddressRange;
  readonly trusted: boolean;
  readonly blocked: boolean;
}

/** The policy block's range where `within` is matched (an IPv4 block in an IPv4-mapped list). */
export function blockRangeWithin(c: Cidr, within: Cidr): AddressRange | null {
  if (c.family !== within.family) return null;
  const bits = c.family === 4 ? 32 : 128;
  const span = (1n << BigInt(bits - c.prefixLength)) - 1n;
  const mapped = within.original?.family === 6 && within.family === 4 ? 0xffffn << 32n : 0n;
  return { lo: mapped | c.network, hi: mapped | c.network | span };
}

/** The parts of `list` inside `cidr`, as ranges where `cidr` is matched. */
export function clippedRanges(list: readonly Cidr[], cidr: Cidr): AddressRange[] {
  const own = addressRangeOf(cidr);
  return list.flatMap((c) => {
    const r = blockRangeWithin(c, cidr);
    if (r === null || r.hi < own.lo || own.hi < r.lo) return [];
    return [{ lo: bigMax(r.lo, own.lo), hi: bigMin(r.hi, own.hi) }];
  });
}

/** The block's addresses cut where trusted/office and blocked membership changes. */
export function addressRegions(cidr: Cidr, policy: Policy): AddressRegion[] {
  const own = addressRangeOf(cidr);
  const trusted = clippedRanges([...policy.networks.trusted, ...policy.networks.office], cidr);
  const blocked = clippedRanges(policy.networks.blocked, cidr);
  const cuts = new Set<bigint>([own.lo, own.hi + 1n]);
  for (const r of [...trusted, ...blocked]) {
    cuts.add(r.lo);
    cuts.add(r.hi + 1n);
  }
  const points = [...cuts].sort((a, b) => (a < b ? -1 : a > b ? 1 : 0));
  const inside = (list: readonly AddressRange[], a: bigint) =>
    list.some((r) => r.lo <= a && a <= r.hi);
  const out: AddressRegion[] = [];
  for (let i = 0; i + 1 < points.length; i++) {
    const lo = points[i] as bigint;
    const hi = (points[i + 1] as bigint) - 1n;
    const region = {
      range: { lo, hi },
      trusted: inside(trusted, lo),
      blocked: inside(blocked, lo),
    };
    const last = out.at(-1);
    if (last && last.trusted === region.trusted && last.blocked === region.blocked) {
      out[out.length - 1] = { ...last, range: { lo: last.range.lo, hi } };
    } else out.push(region);
  }
  return out;
}

/** The peer a packet of this region is, for a rule whose CIDR classifies as `whole`. */
export function regionPeer(whole: ClassifiedPeer, region: AddressRegion): ClassifiedPeer {
  const classes = new Set<PeerClass>(
    region.trusted ? ["any"] : [...whole.classes].filter((c) => c !== "blocked"),
  );
  if (region.blocked) classes.add("blocked");
  return { ...whole, classes };
}

/**
 * The forbidden part of `slices` (the traffic a rule or entry decides, inside its CIDR) under
 * the given policy rules, each judged per address region.
 */
export function forbiddenSlices(
  change: NetworkAclEntryChange | (SecurityGroupRuleChange & { direction: "ingress" | "egress" }),
  cidr: Cidr,
  slices: readonly Slice[],
  rules: Policy["rules"],
  policy: Policy,
): Slice[] {
  const whole = classifyCidr(cidr, policy);
  const out: Slice[] = [];
  for (const region of addressRegions(cidr, policy)) {
    const inRegion = slices.flatMap((s) => {
      const lo = bigMax(s.addresses.lo, region.range.lo);
      const hi = bigMin(s.addresses.hi, region.range.hi);
      return lo <= hi ? [{ ...s, addresses: { lo, hi } }] : [];
    });
    if (inRegion.length === 0) continue;
    const peers = [regionPeer(whole, region)];
    for (const rule of rules) {
      const match = getRuleKind(rule.kind)?.evaluate(change, {
        options: rule.options,
        peers,
        slices: inRegion,
      });
      if (match?.slices) out.push(...match.slices);
    }
  }
  return out;
}

/**
 * True when some rule of the policy, in enforce mode for it, would flag this allow (an entry or
 * rule the guardrail is about to create): creating it would give the next plan work to do.
 */
export function flaggedForEnforce(
  change: NetworkAclEntryChange | (SecurityGroupRuleChange & { direction: "ingress" | "egress" }),
  cidr: Cidr,
  slice: Slice,
  policy: Policy,
): boolean {
  const peers = [classifyCidr(cidr, policy)];
  const broad = isBroad(change, policy.thresholds);
  return policy.rules.some((rule) => {
    const mode = (broad ? rule.whenBroad : rule.whenTargeted) ?? rule.mode;
    if (mode !== "enforce") return false;
    const kind = getRuleKind(rule.kind);
    if (kind?.target !== change.kind) return false;
    return kind.evaluate(change, { options: rule.options, peers, slices: [slice] }) !== null;
  });
}
