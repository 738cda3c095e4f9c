import type { NaclEntrySpec, NetworkAclEntryChange } from "./model";
import {
  type AclList,
  ALL_PORTS,
  ALL_PROTOCOLS,
  aclLists,
  addressRangeOf,
  disjointSlices,
  effectiveEntries,
  entrySlice,
  familyOf,
  type Interval,
  intersection,
  intersects,
  listOf,
  MAX_NETWORK_ACL_RULE_NUMBER,
  rangeToCidrs,
  type Slice,
  subtractAll,
} from "./nacl";
import { parseCidr } from "./net/cidr";
import type { Protocol } from "./net/protocol";

/**
 * The one remediation planner for network ACLs. For each allow entry, the packets it decides
 * that the policy forbids (`forbidden`, a subset of its effective slices) are denied, and no
 * other packet changes verdict:
 *
 * - the entry is deleted when every packet it decides is forbidden and no later allow of its
 *   list could take them when they fall through;
 * - otherwise entries are inserted at free rule numbers directly before it: deny entries for the
 *   forbidden traffic, with allow entries ahead of them for the trusted or office ranges inside
 *   the denied traffic that the entry allowed. Every inserted entry lies inside the entry's own
 *   traffic, so it can only change the verdict of packets the entry decided;
 * - when that cannot be done (no free rule numbers, the ACL's entry quota, more entries than
 *   `maxInsertedEntries`, or traffic no entry can express), nothing is done for the entry and
 *   the reason is given, to notify.
 *
 * The result is checked before it is returned (see {@link checkNaclPlan}): a plan whose check
 * fails is not carried out.
 */

/** An entry the plan creates, in the shape of CreateNetworkAclEntry. */
export type InsertedEntry = NaclEntrySpec;

export type NaclPlanStep =
  | { readonly type: "delete"; readonly entry: NetworkAclEntryChange }
  | {
      readonly type: "insert";
      readonly before: NetworkAclEntryChange;
      /** Allows first (lowest rule numbers), then denies, all directly before `before`. */
      readonly entries: readonly InsertedEntry[];
    };

export type NaclRefusalReason =
  | "no-free-rule-numbers"
  | "entry-quota"
  | "max-inserted-entries"
  | "not-expressible"
  | "check-failed";

export interface NaclRefusal {
  readonly entry: NetworkAclEntryChange;
  readonly reason: NaclRefusalReason;
  readonly detail: string;
}

/** What the planner verified of its own plan, on the ACL as it will be. */
export interface NaclPlanCheck {
  readonly exact: boolean;
  readonly detail: string;
}

export interface NaclPlan {
  readonly steps: readonly NaclPlanStep[];
  readonly refused: readonly NaclRefusal[];
  readonly check: NaclPlanCheck;
}

export interface NaclPlanOptions {
  /** Most entries one finding may insert (policy `remediation.maxInsertedEntries`). Default 6. */
  readonly maxInsertedEntries?: number;
  /** Entries per ACL, direction and IP version, the `*` entry counted (AWS default 20). */
  readonly entryQuota?: number;
  /**
   * CIDR blocks an allow may be inserted for, ahead of the denies, per entry: the trusted and
   * office ranges inside the entry that the policy would not flag as an entry of their own.
   * Without them, only deny entries are inserted.
   */
  readonly allowBlocks?: (entry: NetworkAclEntryChange) => readonly string[];
}

export const DEFAULT_MAX_INSERTED_ENTRIES = 6;
/**
 * "Rules per network ACL": 20 per ACL, direction and IP version, the default `*` entry
 * counted; adjustable up to 40
 * (https://docs.aws.amazon.com/vpc/latest/userguide/amazon-vpc-limits.html#vpc-limits-nacls).
 */
export const DEFAULT_ENTRY_QUOTA = 20;

const ALL_ICMP: Interval = { lo: 0, hi: 255 };

function full(r: Interval, all: Interval): boolean {
  return r.lo === all.lo && r.hi === all.hi;
}

const SMALL_DIMS = ["protocols", "ports", "icmpTypes", "icmpCodes"] as const;

/** Boxes that differ only in one adjacent dimension become one (fewer entries to insert). */
export function mergeSlices(slices: readonly Slice[]): Slice[] {
  const out = [...slices];
  const same = (a: Interval, b: Interval) => a.lo === b.lo && a.hi === b.hi;
  let merged = true;
  while (merged) {
    merged = false;
    outer: for (let i = 0; i < out.length; i++) {
      for (let j = i + 1; j < out.length; j++) {
        const a = out[i] as Slice;
        const b = out[j] as Slice;
        const sameAddr = a.addresses.lo === b.addresses.lo && a.addresses.hi === b.addresses.hi;
        const sameTraffic = SMALL_DIMS.every((x) => same(a[x], b[x]));
        if (sameAddr && sameTraffic) {
          out.splice(j, 1);
          merged = true;
          break outer;
        }
        if (sameAddr) {
          for (const d of SMALL_DIMS) {
            if (!SMALL_DIMS.filter((x) => x !== d).every((x) => same(a[x], b[x]))) continue;
            if (a[d].hi + 1 === b[d].lo || b[d].hi + 1 === a[d].lo) {
              const lo = Math.min(a[d].lo, b[d].lo);
              const hi = Math.max(a[d].hi, b[d].hi);
              out[i] = { ...a, [d]: { lo, hi } };
              out.splice(j, 1);
              merged = true;
              break outer;
            }
          }
        }
        if (
          sameTraffic &&
          (a.addresses.hi + 1n === b.addresses.lo || b.addresses.hi + 1n === a.addresses.lo)
        ) {
          const [first, second] = a.addresses.hi + 1n === b.addresses.lo ? [a, b] : [b, a];
          out[i] = { ...a, addresses: { lo: first.addresses.lo, hi: second.addresses.hi } };
          out.splice(j, 1);
          merged = true;
          break outer;
        }
      }
    }
  }
  return out;
}

const NAMED: Record<number, Protocol> = { 6: "tcp", 17: "udp", 1: "icmp", 58: "icmpv6" };

type Shape = Omit<InsertedEntry, "networkAclId" | "ruleNumber" | "egress" | "ruleAction">;

/**
 * The entries (without numbers) that match exactly the packets of one box, or null when no list
 * of entries can: ICMPv6 (58) in the IPv4 list matches every type and code whatever the entry
 * names, and only tcp and udp entries can narrow ports.
 */
function shapesFor(s: Slice, family: 4 | 6): Shape[] | null {
  const cidrs = rangeToCidrs(s.addresses, family);
  if (full(s.protocols, ALL_PROTOCOLS)) {
    if (!full(s.ports, ALL_PORTS) || !full(s.icmpTypes, ALL_ICMP)) return null;
    if (!full(s.icmpCodes, ALL_ICMP)) return null;
    return cidrs.map((cidr) => ({ protocol: "all", ports: null, icmp: null, cidr }));
  }
  const out: Shape[] = [];
  for (let n = s.protocols.lo; n <= s.protocols.hi; n++) {
    const protocol = NAMED[n] ?? n;
    const portful = n === 6 || n === 17;
    const typed = n === 1 || (n === 58 && family === 6);
    if (!portful && !full(s.ports, ALL_PORTS)) return null;
    if (!typed && !(full(s.icmpTypes, ALL_ICMP) && full(s.icmpCodes, ALL_ICMP))) return null;
    const ports = portful ? { from: s.ports.lo, to: s.ports.hi } : null;
    let icmps: ({ type: number; code: number } | null)[] = [null];
    if (n === 1 || n === 58) {
      if (full(s.icmpTypes, ALL_ICMP)) {
        if (!full(s.icmpCodes, ALL_ICMP)) return null;
        icmps = [{ type: -1, code: -1 }];
      } else {
        icmps = [];
        for (let t = s.icmpTypes.lo; t <= s.icmpTypes.hi; t++) {
          if (full(s.icmpCodes, ALL_ICMP)) icmps.push({ type: t, code: -1 });
          else
            for (let c = s.icmpCodes.lo; c <= s.icmpCodes.hi; c++) icmps.push({ type: t, code: c });
        }
      }
    }
    for (const icmp of icmps) for (const cidr of cidrs) out.push({ protocol, ports, icmp, cidr });
    // A box spanning many protocols is better said another way (or refused): stop early.
    if (out.length > 256) return null;
  }
  return out;
}

function shapesForAll(slices: readonly Slice[], family: 4 | 6): Shape[] | null {
  const out: Shape[] = [];
  for (const s of slices) {
    const shapes = shapesFor(s, family);
    if (shapes === null) return null;
    out.push(...shapes);
  }
  return out;
}

/** The entry an inserted entry becomes once created, for judging the ACL after the plan. */
export function asEntry(e: InsertedEntry): NetworkAclEntryChange {
  return {
    kind: "network-acl-entry",
    networkAclId: e.networkAclId,
    ruleNumber: e.ruleNumber,
    egress: e.egress,
    ruleAction: e.ruleAction,
    protocol: e.protocol,
    ports: e.ports,
    icmp: e.icmp,
    cidr: parseCidr(e.cidr),
    operation: "state",
  };
}

/** The ACL after the plan's steps (pure; for checks and tests). */
export function applyPlan(
  entries: readonly NetworkAclEntryChange[],
  plan: Pick<NaclPlan, "steps">,
): NetworkAclEntryChange[] {
  const deleted = new Set(plan.steps.flatMap((s) => (s.type === "delete" ? [s.entry] : [])));
  const inserted = plan.steps.flatMap((s) => (s.type === "insert" ? s.entries.map(asEntry) : []));
  return [...entries.filter((e) => !deleted.has(e)), ...inserted];
}

/** Deny and allow boxes that, placed directly before an entry, deny exactly its forbidden part. */
interface Candidate {
  readonly allows: readonly Shape[];
  readonly denies: readonly Shape[];
}

const keyOfList = (networkAclId: string, l: AclList) =>
  `${networkAclId} ${l.egress ? "egress" : "ingress"}/${l.family}`;

/**
 * The ways to deny exactly `bad` (inside `own`, the entry's effective slices) with entries
 * placed directly before the entry, each checked by construction:
 * - `exact`: deny the forbidden boxes themselves;
 * - `punched`: deny each forbidden traffic for the entry's whole block, with allows ahead for
 *   the permitted blocks the deny would otherwise catch;
 * - `whole`: deny the entry's whole traffic, with the same allows ahead.
 * A candidate whose allows cannot cover what its denies catch wrongly is dropped.
 */
function candidates(
  entry: NetworkAclEntryChange,
  own: readonly Slice[],
  forbiddenPart: readonly Slice[],
  allowBlocks: readonly string[],
): Candidate[] | null {
  const family = familyOf(entry.cidr);
  const box = entrySlice(entry);
  const out: Candidate[] = [];
  const bad = disjointSlices(forbiddenPart);
  const exact = shapesForAll(mergeSlices(bad), family);
  if (exact !== null) out.push({ allows: [], denies: exact });
  const hulls = [mergeSlices(bad.map((s) => ({ ...s, addresses: box.addresses }))), [box]];
  // Clipped to the entry's block (CIDR blocks nest, so the clip is one block): an allow must
  // never reach a packet the entry does not match.
  const allowBoxes = allowBlocks
    .flatMap(
      (cidr) => intersection({ ...box, addresses: addressRangeOf(parseCidr(cidr)) }, box) ?? [],
    )
    .filter((a) => !bad.some((b) => intersects(a, b)));
  for (const denies of hulls) {
    const caught = own.flatMap((o) => denies.flatMap((d) => intersection(o, d) ?? []));
    let wrong = subtractAll(caught, bad);
    const allows: Slice[] = [];
    for (const a of allowBoxes) {
      if (wrong.length === 0) break;
      if (!wrong.some((w) => intersects(w, a))) continue;
      allows.push(a);
      wrong = subtractAll(wrong, [a]);
    }
    if (wrong.length > 0) continue;
    const denyShapes = shapesForAll(denies, family);
    const allowShapes = shapesForAll(allows, family);
    if (denyShapes === null || allowShapes === null) continue;
    out.push({ allows: allowShapes, denies: denyShapes });
  }
  return out.length === 0 ? null : out;
}

/**
 * Plans, per ACL, direction and IP version, the remediation of the forbidden slices of each
 * allow entry (`forbidden`: a subset of the entry's effective slices, from the policy), then
 * checks the plan (see {@link checkNaclPlan}).
 *
 * @example
 * const plan = planNetworkAcl(entries, new Map([[allow0to1023, [tcp25Slice]]]));
 * plan.steps // [{ type: "insert", before: allow0to1023, entries: [deny tcp 25 at 99] }]
 */
export function planNetworkAcl(
  entries: readonly NetworkAclEntryChange[],
  forbidden: ReadonlyMap<NetworkAclEntryChange, readonly Slice[]>,
  options: NaclPlanOptions = {},
): NaclPlan {
  const max = options.maxInsertedEntries ?? DEFAULT_MAX_INSERTED_ENTRIES;
  const quota = options.entryQuota ?? DEFAULT_ENTRY_QUOTA;
  const steps: NaclPlanStep[] = [];
  const refused: NaclRefusal[] = [];
  const effective = new Map(effectiveEntries(entries).map((e) => [e.entry, e.slices]));
  // Rule numbers are unique per ACL and direction, whatever the IP version.
  const used = new Map<string, Set<number>>();
  for (const e of entries) {
    const key = `${e.networkAclId} ${e.egress}`;
    const set = used.get(key) ?? new Set<number>();
    set.add(e.ruleNumber);
    used.set(key, set);
  }
  const lists = [...aclLists(entries).values()];
  const badOf = (e: NetworkAclEntryChange) =>
    e.ruleAction === "allow" ? (forbidden.get(e) ?? []) : [];
  // Deletes first, across every list: a deleted entry's number is free for the inserts of any
  // finding in its direction.
  const deleted = new Set<NetworkAclEntryChange>();
  for (const list of lists) {
    // Last entry first: whether a later allow stays, to take an earlier entry's packets, is
    // decided before the earlier entry is (else planning again could delete what this refused).
    for (let i = list.length - 1; i >= 0; i--) {
      const entry = list[i] as NetworkAclEntryChange;
      const bad = badOf(entry);
      if (bad.length === 0) continue;
      const own = effective.get(entry) ?? [];
      // Deleting lets the entry's packets fall through: only when every one is forbidden and
      // no later allow of its list that stays could take them.
      const laterAllows = list
        .slice(i + 1)
        .filter((l) => l.ruleAction === "allow" && !deleted.has(l))
        .map(entrySlice);
      const laterTouch = own.some((s) => laterAllows.some((a) => intersects(s, a)));
      if (subtractAll(own, bad).length === 0 && !laterTouch) {
        steps.push({ type: "delete", entry });
        deleted.add(entry);
        used.get(`${entry.networkAclId} ${entry.egress}`)?.delete(entry.ruleNumber);
      }
    }
  }
  for (const list of lists) {
    let count = list.filter((e) => !deleted.has(e)).length + 1;
    for (const entry of list) {
      const bad = badOf(entry);
      if (bad.length === 0 || deleted.has(entry)) continue;
      const own = effective.get(entry) ?? [];
      const found = candidates(entry, own, bad, options.allowBlocks?.(entry) ?? []);
      if (found === null) {
        refused.push({
          entry,
          reason: "not-expressible",
          detail:
            "no list of entries matches exactly the forbidden traffic (ICMPv6 in an IPv4 entry matches every type and code)",
        });
        continue;
      }
      const size = (c: Candidate) => c.allows.length + c.denies.length;
      const best = found.reduce((a, b) => (size(b) < size(a) ? b : a));
      const n = size(best);
      if (n > max) {
        refused.push({
          entry,
          reason: "max-inserted-entries",
          detail: `the plan needs ${n} entries, more than remediation.maxInsertedEntries (${max})`,
        });
        continue;
      }
      if (count + n > quota) {
        refused.push({
          entry,
          reason: "entry-quota",
          detail: `${n} more entries would make ${count + n} in the list (the * entry counted), over the quota of ${quota}`,
        });
        continue;
      }
      const taken = used.get(`${entry.networkAclId} ${entry.egress}`) as Set<number>;
      // Only entries of the same list must not sit between the inserts and the entry; the other
      // IP version's numbers are skipped over.
      const below = list
        .filter((e) => !deleted.has(e) && e.ruleNumber < entry.ruleNumber)
        .map((e) => e.ruleNumber);
      const floor = below.length > 0 ? Math.max(...below) : 0;
      const numbers: number[] = [];
      for (let k = entry.ruleNumber - 1; k > floor && numbers.length < n; k--) {
        if (!taken.has(k)) numbers.push(k);
      }
      if (numbers.length < n) {
        refused.push({
          entry,
          reason: "no-free-rule-numbers",
          detail: `${n} entries needed between rule ${floor} and rule ${entry.ruleNumber}, ${numbers.length} free`,
        });
        continue;
      }
      numbers.sort((a, b) => a - b);
      const ordered = [
        ...best.allows.map((s) => ({ ...s, ruleAction: "allow" as const })),
        ...best.denies.map((s) => ({ ...s, ruleAction: "deny" as const })),
      ];
      const inserted = ordered.map((shape, k) => ({
        networkAclId: entry.networkAclId,
        ruleNumber: numbers[k] as number,
        egress: entry.egress,
        ...shape,
      }));
      for (const k of numbers) taken.add(k);
      count += n;
      steps.push({ type: "insert", before: entry, entries: inserted });
    }
  }
  const check = checkNaclPlan(entries, forbidden, { steps, refused });
  if (check.exact) return { steps, refused, check };
  // Never carry out a plan that fails its own check: notify for every finding instead.
  const all = [...forbidden.entries()].filter(([e, s]) => e.ruleAction === "allow" && s.length);
  return {
    steps: [],
    refused: all.map(([entry]) => ({ entry, reason: "check-failed", detail: check.detail })),
    check,
  };
}

/** The packets the entries of one list allow, as disjoint boxes. */
function allowedOf(entries: readonly NetworkAclEntryChange[]): Map<string, Slice[]> {
  const out = new Map<string, Slice[]>();
  for (const e of effectiveEntries(entries)) {
    if (e.entry.ruleAction !== "allow") continue;
    const key = keyOfList(e.entry.networkAclId, listOf(e.entry));
    out.set(key, [...(out.get(key) ?? []), ...e.slices]);
  }
  return out;
}

/**
 * The plan's own check, by the slice algebra of `nacl.ts`: in every list, the packets allowed
 * after the plan are exactly those allowed before minus the forbidden packets of the entries
 * the plan remediates (refused entries keep all of theirs), and every inserted entry has a rule
 * number of its own.
 *
 * @example
 * checkNaclPlan(entries, forbidden, plan) // { exact: true, detail: "..." }
 */
export function checkNaclPlan(
  entries: readonly NetworkAclEntryChange[],
  forbidden: ReadonlyMap<NetworkAclEntryChange, readonly Slice[]>,
  plan: Pick<NaclPlan, "steps" | "refused">,
): NaclPlanCheck {
  const after = applyPlan(entries, plan);
  const numbers = new Set<string>();
  for (const e of after) {
    const key = `${e.networkAclId} ${e.egress} ${e.ruleNumber}`;
    if (numbers.has(key) || e.ruleNumber < 1 || e.ruleNumber > MAX_NETWORK_ACL_RULE_NUMBER) {
      return { exact: false, detail: `rule number ${e.ruleNumber} taken twice or out of range` };
    }
    numbers.add(key);
  }
  const refused = new Set(plan.refused.map((r) => r.entry));
  const closing = new Map<string, Slice[]>();
  let closed = 0;
  for (const [entry, slices] of forbidden) {
    if (entry.ruleAction !== "allow" || refused.has(entry) || slices.length === 0) continue;
    const key = keyOfList(entry.networkAclId, listOf(entry));
    closing.set(key, [...(closing.get(key) ?? []), ...slices]);
    closed += 1;
  }
  const before = allowedOf(entries);
  const now = allowedOf(after);
  for (const key of new Set([...before.keys(), ...now.keys()])) {
    const want = subtractAll(before.get(key) ?? [], closing.get(key) ?? []);
    const got = now.get(key) ?? [];
    const lost = subtractAll(disjointSlices(want), got);
    const gained = subtractAll(disjointSlices(got), want);
    if (lost.length > 0 || gained.length > 0) {
      return {
        exact: false,
        detail: `${key}: ${lost.length} compliant box(es) no longer allowed, ${gained.length} forbidden or new box(es) allowed`,
      };
    }
  }
  const inserted = plan.steps.reduce((n, s) => n + (s.type === "insert" ? s.entries.length : 0), 0);
  const deletes = plan.steps.length - plan.steps.filter((s) => s.type === "insert").length;
  return {
    exact: true,
    detail: `checked: the forbidden traffic of ${closed} entr${closed === 1 ? "y is" : "ies are"} denied and every other packet keeps its verdict (${deletes} delete${deletes === 1 ? "" : "s"}, ${inserted} inserted entr${inserted === 1 ? "y" : "ies"})`,
  };
}
