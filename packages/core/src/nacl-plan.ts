import type { NetworkAclEntryChange } from "./model";
import {
  ALL_PORTS,
  ALL_PROTOCOLS,
  aclLists,
  effectiveEntries,
  entrySlice,
  familyOf,
  type Interval,
  intersects,
  rangeToCidrs,
  type Slice,
  subtractAll,
} from "./nacl";
import { parseCidr } from "./net/cidr";
import type { Protocol } from "./net/protocol";

/**
 * One remediation planner for network ACLs: for each allow entry, the packets it decides that
 * the policy forbids are denied, and nothing else changes. Either the entry is deleted (when
 * every packet it decides is forbidden and nothing after it would let them through), or deny
 * entries are inserted at free rule numbers directly before it, covering exactly the forbidden
 * slices. When that cannot be done the entry is left alone and the reason is given, to notify.
 */

/** An entry the plan creates, in the shape of CreateNetworkAclEntry. */
export interface InsertedEntry {
  readonly networkAclId: string;
  readonly ruleNumber: number;
  readonly egress: boolean;
  readonly ruleAction: "deny" | "allow";
  readonly protocol: Protocol;
  readonly ports: { readonly from: number; readonly to: number } | null;
  readonly icmp: { readonly type: number; readonly code: number } | null;
  readonly cidr: string;
}

export type NaclPlanStep =
  | { readonly type: "delete"; readonly entry: NetworkAclEntryChange }
  | {
      readonly type: "insert";
      readonly before: NetworkAclEntryChange;
      readonly entries: readonly InsertedEntry[];
    };

export interface NaclRefusal {
  readonly entry: NetworkAclEntryChange;
  readonly reason: "no-free-rule-numbers" | "entry-quota" | "max-inserted-entries";
  readonly detail: string;
}

export interface NaclPlan {
  readonly steps: readonly NaclPlanStep[];
  readonly refused: readonly NaclRefusal[];
}

export interface NaclPlanOptions {
  /** Most entries one finding may insert (policy `remediation.maxInsertedEntries`). Default 6. */
  readonly maxInsertedEntries?: number;
  /** Entries per ACL, direction and IP version, the `*` entry counted (AWS default 20). */
  readonly entryQuota?: number;
}

export const DEFAULT_MAX_INSERTED_ENTRIES = 6;
export const DEFAULT_ENTRY_QUOTA = 20;

const ALL_ICMP: Interval = { lo: 0, hi: 255 };

function full(r: Interval, all: Interval): boolean {
  return r.lo === all.lo && r.hi === all.hi;
}

/** Boxes that differ only in one adjacent dimension become one (fewer entries to insert). */
export function mergeSlices(slices: readonly Slice[]): Slice[] {
  const out = [...slices];
  let merged = true;
  const same = (a: Interval, b: Interval) => a.lo === b.lo && a.hi === b.hi;
  const dims = ["protocols", "ports", "icmpTypes", "icmpCodes"] as const;
  while (merged) {
    merged = false;
    outer: for (let i = 0; i < out.length; i++) {
      for (let j = i + 1; j < out.length; j++) {
        const a = out[i] as Slice;
        const b = out[j] as Slice;
        const sameAddr = a.addresses.lo === b.addresses.lo && a.addresses.hi === b.addresses.hi;
        for (const d of dims) {
          const others = dims.filter((x) => x !== d).every((x) => same(a[x], b[x]));
          if (!others || !sameAddr) continue;
          if (a[d].hi + 1 === b[d].lo || b[d].hi + 1 === a[d].lo) {
            out[i] = {
              ...a,
              [d]: { lo: Math.min(a[d].lo, b[d].lo), hi: Math.max(a[d].hi, b[d].hi) },
            };
            out.splice(j, 1);
            merged = true;
            break outer;
          }
        }
        const sameTraffic = dims.every((x) => same(a[x], b[x]));
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

/** The entries (without numbers) that match exactly the packets of one box. */
function entriesFor(
  s: Slice,
  family: 4 | 6,
): Omit<InsertedEntry, "networkAclId" | "ruleNumber" | "egress" | "ruleAction">[] {
  const protocols: Protocol[] = full(s.protocols, ALL_PROTOCOLS)
    ? ["all"]
    : Array.from({ length: s.protocols.hi - s.protocols.lo + 1 }, (_, i) => {
        const n = s.protocols.lo + i;
        return NAMED[n] ?? n;
      });
  const cidrs = rangeToCidrs(s.addresses, family);
  const out: Omit<InsertedEntry, "networkAclId" | "ruleNumber" | "egress" | "ruleAction">[] = [];
  for (const protocol of protocols) {
    const ports =
      (protocol === "tcp" || protocol === "udp") && !full(s.ports, ALL_PORTS)
        ? { from: s.ports.lo, to: s.ports.hi }
        : protocol === "tcp" || protocol === "udp"
          ? { from: 0, to: 65535 }
          : null;
    let icmps: ({ type: number; code: number } | null)[] = [null];
    if (protocol === "icmp" || protocol === "icmpv6") {
      if (full(s.icmpTypes, ALL_ICMP)) icmps = [{ type: -1, code: -1 }];
      else {
        icmps = [];
        for (let t = s.icmpTypes.lo; t <= s.icmpTypes.hi; t++) {
          if (full(s.icmpCodes, ALL_ICMP)) icmps.push({ type: t, code: -1 });
          else
            for (let c = s.icmpCodes.lo; c <= s.icmpCodes.hi; c++) icmps.push({ type: t, code: c });
        }
      }
    }
    for (const icmp of icmps) for (const cidr of cidrs) out.push({ protocol, ports, icmp, cidr });
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
  plan: NaclPlan,
): NetworkAclEntryChange[] {
  const deleted = new Set(plan.steps.flatMap((s) => (s.type === "delete" ? [s.entry] : [])));
  const inserted = plan.steps.flatMap((s) => (s.type === "insert" ? s.entries.map(asEntry) : []));
  return [...entries.filter((e) => !deleted.has(e)), ...inserted];
}

/**
 * Plans, per ACL, direction and IP version, the remediation of the forbidden slices of each
 * allow entry (`forbidden`: a subset of the entry's effective slices, from the policy).
 *
 * @example
 * const plan = planNetworkAcl(entries, new Map([[allow0to1023, [tcp22Slice]]]));
 * plan.steps // [{ type: "insert", before: allow0to1023, entries: [deny tcp 22 at 99] }]
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
  // Deletes first, across every list: a deleted entry's number is free for the inserts of any
  // finding in its direction (planning again on the result must find nothing more to do).
  const deleted = new Set<NetworkAclEntryChange>();
  for (const list of lists) {
    for (const [i, entry] of list.entries()) {
      const bad = forbidden.get(entry) ?? [];
      if (entry.ruleAction !== "allow" || bad.length === 0) continue;
      const own = effective.get(entry) ?? [];
      // Deleting lets the entry's packets fall through: only when every one is forbidden and
      // no later allow of its list could take them.
      const laterAllows = list
        .slice(i + 1)
        .filter((l) => l.ruleAction === "allow")
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
      const bad = mergeSlices(forbidden.get(entry) ?? []);
      if (entry.ruleAction !== "allow" || bad.length === 0 || deleted.has(entry)) continue;
      const family = familyOf(entry.cidr);
      const shapes = bad.flatMap((s) => entriesFor(s, family));
      if (shapes.length > max) {
        refused.push({
          entry,
          reason: "max-inserted-entries",
          detail: `the plan needs ${shapes.length} entries, more than maxInsertedEntries (${max})`,
        });
        continue;
      }
      if (count + shapes.length > quota) {
        refused.push({
          entry,
          reason: "entry-quota",
          detail: `${shapes.length} more entries would exceed the ACL's quota of ${quota} (with the * entry)`,
        });
        continue;
      }
      const taken = used.get(`${entry.networkAclId} ${entry.egress}`) as Set<number>;
      const below = [...taken].filter((n) => n < entry.ruleNumber);
      const floor = below.length > 0 ? Math.max(...below) : 0;
      const numbers: number[] = [];
      for (let n = entry.ruleNumber - 1; n > floor && numbers.length < shapes.length; n--) {
        numbers.push(n);
      }
      if (numbers.length < shapes.length) {
        refused.push({
          entry,
          reason: "no-free-rule-numbers",
          detail: `${shapes.length} entries needed between rule ${floor} and ${entry.ruleNumber}, ${numbers.length} free`,
        });
        continue;
      }
      numbers.sort((a, b) => a - b);
      const inserted = shapes.map((shape, k) => ({
        ...shape,
        networkAclId: entry.networkAclId,
        ruleNumber: numbers[k] as number,
        egress: entry.egress,
        ruleAction: "deny" as const,
      }));
      for (const n of numbers) taken.add(n);
      count += inserted.length;
      steps.push({ type: "insert", before: entry, entries: inserted });
    }
  }
  return { steps, refused };
}
