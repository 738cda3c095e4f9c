import { createHash } from "node:crypto";
import type { Evaluation, Finding, RuleChange } from "./model";
import { asEntry } from "./nacl-plan";
import { canonicalRules, ruleStateKey } from "./report/audit";
import { type ActionOutcome, buildDecision, type Decision } from "./report/decision";
import { actionCovers, type ChangeView, type ResourceRef, viewChange } from "./report/view";
import { ruleResourceId } from "./trail";

/**
 * The sweep's memory: the last state it saw of each security group and network ACL, so that a
 * run records and announces only what changed since the previous one.
 */
export interface ResourceState {
  readonly resource: ResourceRef;
  /** `stateFingerprint(rules)`. */
  readonly fingerprint: string;
  /** By `ruleStateKey`. */
  readonly rules: Readonly<Record<string, ChangeView>>;
  readonly seenAt: string;
}

/**
 * sha256 of a resource's rules in canonical order: equal for equal rules, whatever order they
 * were read in.
 */
export function stateFingerprint(rules: Readonly<Record<string, ChangeView>>): string {
  return createHash("sha256").update(canonicalRules(rules)).digest("hex");
}

/**
 * The state to keep for each resource read: its rules as read, minus those the run just
 * removed (an outcome that did not fail). A resource with no rule left keeps an empty state.
 */
export function statesOf(
  changes: readonly RuleChange[],
  resources: ReadonlyMap<string, ResourceRef>,
  outcomes: readonly ActionOutcome[],
  seenAt: string,
): Map<string, ResourceState> {
  // Inserted entries leave the entry they precede in place (the next sweep reads them).
  const removed = outcomes.filter(
    (o) =>
      (o.status === "revoked" || o.status === "already-gone") &&
      o.action.type !== "insert-network-acl-entries",
  );
  const rules = new Map<string, Record<string, ChangeView>>();
  for (const id of resources.keys()) rules.set(id, {});
  for (const change of changes) {
    const id = ruleResourceId(change);
    const key = ruleStateKey(change);
    if (id === null || key === null) continue;
    if (removed.some((o) => actionCovers(o.action, change))) continue;
    const map = rules.get(id) ?? {};
    map[key] = viewChange(change);
    rules.set(id, map);
  }
  // ...and the entries it inserted are in the ACL now, as the next read will list them.
  for (const o of outcomes) {
    if (o.status !== "revoked" || o.action.type !== "insert-network-acl-entries") continue;
    const map = rules.get(o.action.networkAclId) ?? {};
    for (const e of o.action.entries) {
      const change = asEntry(e);
      const key = ruleStateKey(change);
      if (key !== null) map[key] = viewChange(change);
    }
    rules.set(o.action.networkAclId, map);
  }
  const states = new Map<string, ResourceState>();
  for (const [id, r] of rules) {
    const resource = resources.get(id) ?? { type: "security-group" as const, id };
    states.set(id, { resource, rules: r, seenAt, fingerprint: stateFingerprint(r) });
  }
  return states;
}

/** What changed between the stored states and this run's. */
export interface StateDiff {
  /** States to write: new, or with another fingerprint. */
  readonly puts: readonly ResourceState[];
  /** Resources stored but no longer there. */
  readonly deletes: readonly string[];
  /** Ids of the resources written. */
  readonly changed: ReadonlySet<string>;
}

/** Compares this run's states with the stored fingerprints (resource id → fingerprint). */
export function diffStates(
  states: ReadonlyMap<string, ResourceState>,
  stored: ReadonlyMap<string, string>,
): StateDiff {
  const puts: ResourceState[] = [];
  const changed = new Set<string>();
  for (const [id, s] of states) {
    if (stored.get(id) !== s.fingerprint) {
      changed.add(id);
      puts.push(s);
    }
  }
  const deletes = [...stored.keys()].filter((id) => !states.has(id));
  return { puts, deletes, changed };
}

function byResource(findings: readonly Finding[]): Map<string, Finding[]> {
  const map = new Map<string, Finding[]>();
  for (const f of findings) {
    const id = ruleResourceId(f.change);
    if (id === null) continue;
    const list = map.get(id);
    if (list) list.push(f);
    else map.set(id, [f]);
  }
  return map;
}

/** What a run over current state needs to build its decisions. */
export interface StateDecisionsInput {
  readonly runId: string;
  readonly account: string;
  readonly region: string;
  readonly evaluation: Evaluation;
  readonly outcomes: readonly ActionOutcome[];
  /** Read once per decision. */
  readonly clock: () => Date;
  readonly guardrailVersion: string;
  readonly policyId: string;
}

/**
 * One decision per resource with findings or waivers (`sweep:<run>:<resource>`), each with the
 * outcomes of the actions that touched its rules.
 */
export function stateDecisions(input: StateDecisionsInput): Decision[] {
  const findings = byResource(input.evaluation.findings);
  const waived = byResource(input.evaluation.waived);
  const decisions: Decision[] = [];
  for (const id of new Set([...findings.keys(), ...waived.keys()])) {
    const f = findings.get(id) ?? [];
    const w = waived.get(id) ?? [];
    const mine = input.outcomes.filter((o) =>
      [...f, ...w].some((x) => actionCovers(o.action, x.change)),
    );
    const decision = buildDecision({
      source: "sweep",
      id: `sweep:${input.runId}:${id}`,
      account: input.account,
      region: input.region,
      evaluation: { outcome: f.length > 0 ? "violation" : "exempt", findings: f, waived: w },
      outcomes: mine,
      decidedAt: input.clock(),
      guardrailVersion: input.guardrailVersion,
      policyId: input.policyId,
    });
    if (decision) decisions.push(decision);
  }
  return decisions;
}
