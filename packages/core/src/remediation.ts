import type { Action, Evaluation, Finding, NaclEntrySpec, NetworkAclEntryChange } from "./model";
import {
  addressRangeOf,
  describeSlices,
  disjointSlices,
  effectiveEntries,
  entrySlice,
  familyOf,
  rangeToCidrs,
  type Slice,
} from "./nacl";
import { mergeSlices, type NaclPlan, type NaclRefusal, planNetworkAcl } from "./nacl-plan";
import { parseCidr } from "./net/cidr";
import { clippedRanges, flaggedForEnforce, forbiddenSlices } from "./packet-classes";
import { planActions } from "./plan";
import type { PolicyEvaluationContext } from "./policy/evaluate";
import type { Policy } from "./policy/types";
import { planNarrowing } from "./sg-narrow";

/**
 * Remediation without collateral, for every path (the event flows, the sweep, `scan --fix`):
 * one function turns an evaluation into the actions to carry out, so no path can remediate
 * what another would only notify about.
 *
 * For network ACLs, the packets each allow entry decides that the policy forbids are computed
 * (see {@link forbiddenTraffic}) and handed to the one planner (`planNetworkAcl`). A packet is
 * forbidden when an enforce finding of an unexempted rule flags the entry that decides it, the
 * rule's traffic holds the packet, and the packet's address is of a class the rule names: the
 * peer class (public, wide, narrow, special-purpose) is the entry's CIDR's, while trusted,
 * office and blocked membership is judged on the packet's own address.
 */

const sameEntry = (a: NetworkAclEntryChange, b: NetworkAclEntryChange) =>
  a.networkAclId === b.networkAclId && a.egress === b.egress && a.ruleNumber === b.ruleNumber;

/**
 * The forbidden part of each allow entry of one ACL (as disjoint boxes), from the enforce
 * findings of an evaluation of that ACL's entries (with `networkAcls` holding the ACL).
 *
 * @example
 * const evaluation = evaluate(allows, policy, { now, event, networkAcls: { [id]: acl }, naclPlanned: true });
 * forbiddenTraffic(acl, evaluation, policy).get(allow0to1023) // [tcp 22 from everything but the office]
 */
export function forbiddenTraffic(
  acl: readonly NetworkAclEntryChange[],
  evaluation: Evaluation,
  policy: Policy,
): Map<NetworkAclEntryChange, Slice[]> {
  const effective = new Map(effectiveEntries(acl).map((e) => [e.entry, e.slices]));
  const out = new Map<NetworkAclEntryChange, Slice[]>();
  for (const entry of acl) {
    if (entry.ruleAction !== "allow") continue;
    const rules = evaluation.findings
      .filter(
        (f) =>
          f.mode === "enforce" &&
          !f.exemption &&
          f.change.kind === "network-acl-entry" &&
          sameEntry(f.change, entry),
      )
      .map((f) => policy.rules.find((r) => r.id === f.rule))
      .filter((r) => r !== undefined);
    if (rules.length === 0) continue;
    const own = effective.get(entry) ?? [];
    const bad = forbiddenSlices(entry, entry.cidr, own, rules, policy);
    if (bad.length > 0) out.set(entry, disjointSlices(bad));
  }
  return out;
}

/**
 * The trusted and office blocks inside an entry that an allow may be inserted for: blocks no
 * rule of the policy would flag as an allow entry of their own (else planning again would find
 * something to do).
 */
function allowBlocksFor(policy: Policy) {
  return (entry: NetworkAclEntryChange): string[] => {
    const family = familyOf(entry.cidr);
    const out: string[] = [];
    for (const r of clippedRanges(
      [...policy.networks.trusted, ...policy.networks.office],
      entry.cidr,
    )) {
      // CIDR blocks nest: the part of one inside another is one block.
      const [cidr] = rangeToCidrs(r, family);
      if (cidr === undefined || out.includes(cidr)) continue;
      const candidate: NetworkAclEntryChange = { ...entry, cidr: parseCidr(cidr) };
      if (!flaggedForEnforce(candidate, candidate.cidr, entrySlice(candidate), policy))
        out.push(cidr);
    }
    return out;
  };
}

/** Options for {@link planRemediation}: what the caller read besides the evaluation. */
export interface RemediationContext {
  /** The network ACLs as read, by id (the evaluation's `networkAcls`). */
  readonly networkAcls?: PolicyEvaluationContext["networkAcls"];
  /** "Rules per network ACL" of the account (AWS default 20, up to 40). */
  readonly naclEntryQuota?: number;
  /**
   * The rules of each security group the evaluation names, by group id, for narrowing (rules
   * of the other direction and IP version count toward nothing).
   */
  readonly groupRuleCounts?: Readonly<Record<string, GroupRuleCounts>>;
  /** "Inbound or outbound rules per security group" of the account (AWS default 60). */
  readonly groupRuleQuota?: number;
}

/** How many rules a security group holds, per direction and IP version. */
export interface GroupRuleCounts {
  readonly ingress: { readonly 4: number; readonly 6: number };
  readonly egress: { readonly 4: number; readonly 6: number };
}

/** The actions of an evaluation, with the findings the plan could not remediate downgraded. */
export interface Remediation {
  readonly evaluation: Evaluation;
  readonly actions: readonly Action[];
  /** Each ACL's plan, by ACL id, for reports (the plan's check). */
  readonly naclPlans: ReadonlyMap<string, NaclPlan>;
}

function words(entry: NetworkAclEntryChange, slices: readonly Slice[]): string {
  return describeSlices(slices, addressRangeOf(entry.cidr), familyOf(entry.cidr));
}

/** `3 entries inserted before it deny tcp 22, still allowed from 10.0.0.0/8 and 192.0.2.0/24`. */
function insertWords(
  entry: NetworkAclEntryChange,
  bad: readonly Slice[],
  inserted: readonly NaclEntrySpec[],
): string {
  const n = inserted.length;
  const head = `${n} entr${n === 1 ? "y" : "ies"} inserted before it deny`;
  const kept = inserted.filter((e) => e.ruleAction === "allow").map((e) => e.cidr);
  if (kept.length === 0) return `${head} exactly ${words(entry, bad)}`;
  const own = addressRangeOf(entry.cidr);
  const traffic = describeSlices(
    mergeSlices(bad.map((s) => ({ ...s, addresses: own }))),
    own,
    familyOf(entry.cidr),
  );
  return `${head} ${traffic}, still allowed from ${kept.join(", ")}`;
}

function refusalWords(r: NaclRefusal): string {
  const what = {
    "no-free-rule-numbers": "no free rule numbers before the entry",
    "entry-quota": "the ACL's entry quota would be exceeded",
    "max-inserted-entries": "the plan needs more entries than remediation.maxInsertedEntries",
    "not-expressible": "no entries can deny exactly the forbidden traffic",
    "check-failed": "the plan failed its own check",
  }[r.reason];
  return `${what} (${r.detail})`;
}

/**
 * The remediation of an evaluation: network-ACL findings through the one NACL planner (for
 * every ACL in `ctx.networkAcls`), security-group findings of rules with `remediation.narrow`
 * through the narrowing planner, everything else through `planActions`. Findings the planners
 * cannot remediate exactly become `notify`, and say why; findings they remediate say how.
 *
 * @example
 * const { actions, evaluation: judged } = planRemediation(evaluation, policy, { networkAcls });
 */
export function planRemediation(
  evaluation: Evaluation,
  policy: Policy,
  ctx: RemediationContext = {},
): Remediation {
  const acls = ctx.networkAcls ?? {};
  const planned = new Set<Finding>();
  const rewrites = new Map<Finding, Finding>();
  const actions: Action[] = [];
  const naclPlans = new Map<string, NaclPlan>();
  const aclIds = new Set(
    evaluation.findings.flatMap((f) =>
      f.mode === "enforce" &&
      f.change.kind === "network-acl-entry" &&
      Object.hasOwn(acls, f.change.networkAclId)
        ? [f.change.networkAclId]
        : [],
    ),
  );
  for (const id of aclIds) {
    const acl = acls[id] as readonly NetworkAclEntryChange[];
    const forbidden = forbiddenTraffic(acl, evaluation, policy);
    const plan = planNetworkAcl(acl, forbidden, {
      maxInsertedEntries: policy.remediation.maxInsertedEntries,
      ...(ctx.naclEntryQuota !== undefined ? { entryQuota: ctx.naclEntryQuota } : {}),
      allowBlocks: allowBlocksFor(policy),
    });
    naclPlans.set(id, plan);
    for (const step of plan.steps) {
      if (step.type === "delete") {
        actions.push({
          type: "delete-network-acl-entry",
          networkAclId: id,
          ruleNumber: step.entry.ruleNumber,
          egress: step.entry.egress,
        });
      } else {
        actions.push({
          type: "insert-network-acl-entries",
          networkAclId: id,
          egress: step.before.egress,
          before: step.before.ruleNumber,
          entries: step.entries,
          check: plan.check.detail,
        });
      }
    }
    for (const f of evaluation.findings) {
      if (f.mode !== "enforce" || f.change.kind !== "network-acl-entry") continue;
      if (f.change.networkAclId !== id) continue;
      planned.add(f);
      const change = f.change;
      const entry = acl.find((e) => sameEntry(e, change));
      const bad = entry ? forbidden.get(entry) : undefined;
      const refusal = plan.refused.find((r) => sameEntry(r.entry, change));
      const step = plan.steps.find((s) =>
        sameEntry(s.type === "delete" ? s.entry : s.before, change),
      );
      if (entry === undefined || bad === undefined) {
        rewrites.set(f, {
          ...f,
          mode: "notify",
          reason: `${f.reason}; nothing it decides is forbidden once trusted and office addresses are set apart, so notify`,
        });
      } else if (refusal) {
        rewrites.set(f, {
          ...f,
          mode: "notify",
          reason: `${f.reason}; cannot be remediated without collateral: ${refusalWords(refusal)}, so notify`,
        });
      } else if (step?.type === "insert") {
        rewrites.set(f, { ...f, reason: `${f.reason}; ${insertWords(entry, bad, step.entries)}` });
      }
    }
  }
  const narrowing = planNarrowing(evaluation, policy, ctx);
  for (const [f, rewrite] of narrowing.rewrites) {
    planned.add(f);
    rewrites.set(f, rewrite);
  }
  actions.push(...narrowing.actions);
  const rest = evaluation.findings.filter((f) => !planned.has(f));
  actions.unshift(...planActions({ ...evaluation, findings: rest }));
  const findings = evaluation.findings.map((f) => rewrites.get(f) ?? f);
  return { evaluation: { ...evaluation, findings }, actions, naclPlans };
}
