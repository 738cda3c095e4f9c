import type {
  Actor,
  Evaluation,
  EvaluationContext,
  EventMeta,
  Finding,
  Mode,
  NetworkAclEntryChange,
  RuleChange,
  SecurityGroupRuleChange,
} from "../model";
import {
  addressRangeOf,
  describeSlices,
  type EffectiveEntry,
  effectiveEntries,
  entrySlice,
  familyOf,
  type Slice,
  sliceSize,
  subtractAll,
} from "../nacl";
import { parseCidr } from "../net/cidr";
import { principalMatches } from "./arn";
import { RuleDirectionUnknownError } from "./errors";
import { findExemption } from "./exemptions";
import { getRuleKind } from "./kinds";
import {
  type ClassifiedPeer,
  type ConcreteChange,
  classifyCidr,
  describeTraffic,
  directionOf,
  groupPeer,
  isBroad,
  unresolvedPeer,
} from "./match";
import { matchScope, type OrganizationalUnit, type ScopeMatch, type ScopeSubject } from "./scope";
import type { Policy, PolicyRule, Severity } from "./types";

/** The rule id of the one `notify` finding given to a change whose prefix list was not resolved. */
export const UNRESOLVED_PREFIX_LIST_RULE = "unresolved-prefix-list";

/**
 * What `evaluate` reads besides the changes. `event` carries the actor, account and region for
 * exemptions and the own-principal loop guard; the sweep and `scan` have no event and pass
 * `account` and `region` instead.
 *
 * `accountTags` and `organizationalUnits` describe the account the change is in, for scopes and
 * exemptions by account tag, OU or OU tag (see `organizationContextNeeded`). Leave them out when
 * not read: unknown is not "none", and a rule whose scope depends on them then only notifies.
 */
export interface PolicyEvaluationContext extends EvaluationContext {
  readonly event?: EventMeta;
  readonly account?: string;
  readonly region?: string;
  /** The account's own tags (AWS Organizations); `{}` for an account known to have none. */
  readonly accountTags?: Readonly<Record<string, string>>;
  /** The OUs above the account, root side first, the account's parent last. */
  readonly organizationalUnits?: readonly OrganizationalUnit[];
  /**
   * Every entry of each network ACL, as read now (DescribeNetworkAcls), by ACL id. An entry of
   * an ACL listed here is judged by the traffic it decides in that ACL (rule order, first match
   * wins); an entry of an ACL not listed is judged alone, and its findings say so.
   */
  readonly networkAcls?: Readonly<Record<string, readonly NetworkAclEntryChange[]>>;
  /**
   * Enforce on a NACL entry only when every packet it decides is forbidden (covered by an
   * enforce finding no exemption waived); otherwise notify, and name the traffic a delete would
   * take away. For entries the event did not write, judged because the guardrail's own deletes
   * or someone else's change made them decide more: deleting them must not remove compliant
   * access nobody touched.
   */
  readonly naclWholeDeletesOnly?: boolean;
  /**
   * The NACL planner remediates this evaluation's network-ACL findings (`planRemediation`): it
   * deletes an entry only when every packet it decides is forbidden and otherwise inserts deny
   * entries before it, so an entry a ReplaceNetworkAclEntry wrote is remediable too, and
   * `naclWholeDeletesOnly` has nothing left to guard.
   */
  readonly naclPlanned?: boolean;
}

/** The words a finding about a network-ACL entry judged without its ACL carries. */
export const JUDGED_ALONE = "judged without the rest of the ACL";

/**
 * Network-ACL entries read as state, grouped by ACL: the `networkAcls` of a sweep or a scan,
 * which read whole ACLs. ACLs in `incomplete` (an entry could not be read) are left out: judging
 * the rest in order without it could call an allow effective that the unread deny shadows, so
 * their entries are judged alone, and say so.
 *
 * @example
 * evaluate(changes, policy, { now, account, region, networkAcls: networkAclsOf(changes) });
 */
export function networkAclsOf(
  changes: readonly RuleChange[],
  incomplete: ReadonlySet<string> = new Set(),
): Record<string, NetworkAclEntryChange[]> {
  // A Map, then own properties: an id such as `__proto__` or `constructor` is data, not a key
  // of Object.prototype.
  const acls = new Map<string, NetworkAclEntryChange[]>();
  for (const c of changes) {
    if (c.kind !== "network-acl-entry" || incomplete.has(c.networkAclId)) continue;
    const list = acls.get(c.networkAclId) ?? [];
    list.push(c);
    acls.set(c.networkAclId, list);
  }
  return Object.fromEntries(acls);
}

function sameEntry(a: NetworkAclEntryChange, b: NetworkAclEntryChange): boolean {
  const x = entrySlice(a);
  const y = entrySlice(b);
  return (
    a.ruleAction === b.ruleAction &&
    familyOf(a.cidr) === familyOf(b.cidr) &&
    JSON.stringify([x.protocols, x.ports, x.icmpTypes, x.icmpCodes]) ===
      JSON.stringify([y.protocols, y.ports, y.icmpTypes, y.icmpCodes]) &&
    x.addresses.lo === y.addresses.lo &&
    x.addresses.hi === y.addresses.hi
  );
}

/** The effective slices of NACL entries, computed once per ACL for one evaluation. */
type AclSlices = (change: NetworkAclEntryChange) => readonly Slice[] | undefined;

function aclSlices(ctx: PolicyEvaluationContext): AclSlices {
  const cache = new Map<string, EffectiveEntry[]>();
  return (change) => {
    const acls = ctx.networkAcls;
    if (acls === undefined || !Object.hasOwn(acls, change.networkAclId)) return undefined;
    const entries = acls[change.networkAclId] as readonly NetworkAclEntryChange[];
    let effective = cache.get(change.networkAclId);
    if (!effective) {
      effective = effectiveEntries(entries);
      cache.set(change.networkAclId, effective);
    }
    const at = (e: NetworkAclEntryChange) =>
      e.egress === change.egress && e.ruleNumber === change.ruleNumber;
    const known = effective.find((e) => at(e.entry));
    if (known && sameEntry(known.entry, change)) return known.slices;
    // The change is not what the ACL holds at its number: judge it in its place.
    const placed = effectiveEntries([...entries.filter((e) => !at(e)), change]);
    return placed.find((e) => e.entry === change)?.slices;
  };
}

/**
 * The account and region a change is in, and what the caller knows about the account.
 *
 * @example
 * matchScope(rule.scope, scopeSubjectOf({ now, event, accountTags: { env: "prod" } }));
 */
export function scopeSubjectOf(ctx: PolicyEvaluationContext): ScopeSubject {
  return {
    account: ctx.event?.account ?? ctx.account,
    region: ctx.event?.region ?? ctx.region,
    accountTags: ctx.accountTags,
    organizationalUnits: ctx.organizationalUnits,
  };
}

/** Memoised scope matches of the rules, for one evaluation (the subject does not change). */
type RuleScopes = (rule: PolicyRule) => ScopeMatch;

function ruleScopes(ctx: PolicyEvaluationContext): RuleScopes {
  const subject = scopeSubjectOf(ctx);
  const cache = new Map<PolicyRule, ScopeMatch>();
  return (rule) => {
    if (rule.scope === undefined) return { status: "in" };
    let match = cache.get(rule);
    if (!match) {
      match = matchScope(rule.scope, subject);
      cache.set(rule, match);
    }
    return match;
  };
}

/**
 * True when the actor (or the role behind its session) is one of the guardrail's own
 * principals. Their changes are never evaluated: that is the loop guard.
 *
 * @example
 * isOwnPrincipal(event.actor, policy) // true for arn:aws:sts::1:assumed-role/guardrail-remediator/x
 */
export function isOwnPrincipal(actor: Actor, policy: Policy): boolean {
  return principalMatches(actor, policy.guardrail.ownPrincipals) !== undefined;
}

/**
 * A copy of the policy with more own-principal patterns, for the deployment's role ARNs
 * (which the policy file cannot know).
 *
 * @example
 * const policy = withOwnPrincipals(loadPolicy(text), ["arn:aws:iam::111122223333:role/guardrail-remediator"]);
 */
export function withOwnPrincipals(policy: Policy, arns: readonly string[]): Policy {
  const own = [...policy.guardrail.ownPrincipals, ...arns.filter((a) => a.trim() !== "")];
  return { ...policy, guardrail: { ...policy.guardrail, ownPrincipals: [...new Set(own)] } };
}

/**
 * True when some tag exemption is configured, so a caller with findings should describe the
 * security group's tags and evaluate again (see `groupsNeedingTags`).
 *
 * @example
 * needsGroupTags(defaultPolicy()) // true: the default policy reads the guardrail-exempt tag
 */
export function needsGroupTags(policy: Policy): boolean {
  return policy.rules.some(
    (r) =>
      r.tagExemptable &&
      !alwaysOff(r) &&
      (policy.exemptions.tagKey !== null || r.exemptions.tagKey !== null),
  );
}

/**
 * The security groups whose tags could still waive a finding of this evaluation. Empty when
 * no tags are needed: the caller then skips DescribeSecurityGroups entirely.
 *
 * @example
 * let result = evaluate(changes, policy, ctx);
 * const ids = groupsNeedingTags(result, policy);
 * if (ids.length > 0) result = evaluate(changes, policy, { ...ctx, groupTags: await describeTags(ids) });
 */
export function groupsNeedingTags(evaluation: Evaluation, policy: Policy): string[] {
  const ids = new Set<string>();
  for (const f of evaluation.findings) {
    if (f.change.kind !== "security-group-rule" || f.change.groupId === null) continue;
    const rule = policy.rules.find((r) => r.id === f.rule);
    // A rule no tag may waive is revoked without reading the group's tags.
    if (!rule?.tagExemptable) continue;
    if (policy.exemptions.tagKey !== null || rule.exemptions.tagKey !== null) {
      ids.add(f.change.groupId);
    }
  }
  return [...ids];
}

function alwaysOff(rule: PolicyRule): boolean {
  return (rule.whenBroad ?? rule.mode) === "off" && (rule.whenTargeted ?? rule.mode) === "off";
}

const SEVERITY_RANK: Record<Severity, number> = { critical: 3, high: 2, medium: 1, low: 0 };

function effectiveMode(rule: PolicyRule, broad: boolean): Mode {
  return (broad ? rule.whenBroad : rule.whenTargeted) ?? rule.mode;
}

/** Why the guardrail cannot revoke exactly this rule, or null when it can. */
function unremediable(change: RuleChange): string | null {
  if (change.kind === "network-acl-entry") {
    // ReplaceNetworkAclEntry overwrites the entry of that number in place: deleting it would
    // also delete what it replaced (the default NACL's #100 allow-all, say), and the subnet
    // would be left with only the `*` deny. The event does not carry the old entry, so nobody
    // can put it back automatically. Current state (`state`) and `create` have no such history.
    if (change.operation !== "replace") return null;
    const n = change.ruleNumber;
    return `entry ${n} replaced an earlier entry ${n}; deleting it would remove both; fix it by hand`;
  }
  if (change.kind !== "security-group-rule") return null;
  if (change.groupId === null) return "the event named the group only by name";
  if (change.ruleId !== null) return null;
  if (change.direction === "unknown") return "neither the direction nor the rule id is known";
  if ((change.protocol === "tcp" || change.protocol === "udp") && change.ports === null) {
    return "the port range is unknown";
  }
  if (change.peer.kind === "security-group" && change.peer.groupId === null) {
    return "the referenced group has no id";
  }
  return null;
}

function subject(change: ConcreteChange, peer: ClassifiedPeer): string {
  const traffic = describeTraffic(change);
  if (change.kind === "security-group-rule") {
    return `${change.direction === "egress" ? "egress " : ""}${traffic} open to ${peer.text}`;
  }
  const dir = directionOf(change);
  return `NACL ${change.networkAclId} entry ${change.ruleNumber} allows ${dir} ${traffic} ${dir === "ingress" ? "from" : "to"} ${peer.text}`;
}

function peersOf(change: ConcreteChange, ctx: PolicyEvaluationContext, policy: Policy) {
  if (change.kind === "network-acl-entry") return [classifyCidr(change.cidr, policy)];
  const peer = change.peer;
  if (peer.kind === "cidr") return [classifyCidr(peer.cidr, policy)];
  if (peer.kind === "security-group") return [groupPeer(peer.groupId, peer.groupName)];
  const entries = ctx.prefixLists?.[peer.prefixListId];
  if (entries === undefined) return [unresolvedPeer(peer.prefixListId)];
  return entries.map((text, i) =>
    classifyCidr(
      parseCidr(text, `prefixLists.${peer.prefixListId}[${i}]`),
      policy,
      `prefix list ${peer.prefixListId} entry ${text}`,
    ),
  );
}

/** Findings for one change of known direction. `report` is the change the findings name. */
function findingsForConcrete(
  change: ConcreteChange,
  report: RuleChange,
  policy: Policy,
  ctx: PolicyEvaluationContext,
  scopes: RuleScopes,
  slicesOf: AclSlices,
): Finding[] {
  const peers = peersOf(change, ctx, policy);
  const nacl = change.kind === "network-acl-entry" ? change : null;
  const effective = nacl ? slicesOf(nacl) : undefined;
  const slices = nacl ? (effective ?? [entrySlice(nacl)]) : undefined;
  const broad = isBroad(change, policy.thresholds);
  const findings: Finding[] = [];
  const unresolved: PolicyRule[] = [];
  const blocker =
    ctx.naclPlanned && report.kind === "network-acl-entry" ? null : unremediable(report);
  for (const rule of policy.rules) {
    const kind = getRuleKind(rule.kind);
    if (!kind || kind.target !== change.kind) continue;
    const mode = effectiveMode(rule, broad);
    if (mode === "off") continue;
    const scope = scopes(rule);
    if (scope.status === "out") continue;
    const match = kind.evaluate(change, {
      options: rule.options,
      peers,
      ...(slices ? { slices } : {}),
    });
    if (!match) continue;
    if (match.peer.unresolved) {
      unresolved.push(rule);
      continue;
    }
    let reason = `${subject(change, match.peer)} (${match.peer.label}) — ${rule.label}`;
    if (match.detail) reason += ` (${match.detail})`;
    if (nacl && effective && match.slices) {
      reason += effectiveWords(nacl, effective, match.slices, policy);
    }
    if (nacl && effective === undefined) reason += `; ${JUDGED_ALONE}`;
    if (mode !== rule.mode) reason += `; ${broad ? "broad" : "targeted"}, so ${mode}`;
    let finalMode: Finding["mode"] = mode;
    if (scope.status === "unknown") {
      // The rule may not apply to this account at all: tell, never revoke.
      reason += `; may be outside the rule's scope (${scope.missing.join(", ")} not known)`;
      if (mode === "enforce") {
        finalMode = "notify";
        reason += ", so notify";
      }
    }
    if (finalMode === "enforce" && blocker !== null) {
      finalMode = "notify";
      reason += `; cannot be revoked safely (${blocker}), so notify`;
    }
    const finding: Finding = {
      rule: rule.id,
      mode: finalMode,
      severity: rule.severity,
      reason,
      change: report,
    };
    if (nacl && slices)
      TRAFFIC.set(finding, { decided: slices, offending: match.slices ?? slices });
    findings.push(finding);
  }
  if (unresolved.length > 0) {
    // One finding, never a revoke: nobody knows what the list holds.
    const peer = peers[0] as ClassifiedPeer;
    const worst = unresolved.reduce((a, b) =>
      SEVERITY_RANK[b.severity] > SEVERITY_RANK[a.severity] ? b : a,
    );
    findings.push({
      rule: UNRESOLVED_PREFIX_LIST_RULE,
      mode: "notify",
      severity: worst.severity,
      reason:
        `${subject(change, peer)} could not be checked: the prefix list was not resolved ` +
        `(${unresolved.map((r) => r.id).join(", ")} may apply); notify only`,
      change: report,
    });
  }
  return findings;
}

/**
 * What the reason adds when earlier entries decide part of an entry's traffic: the exact part of
 * what the entry still decides that breaks the rule. The peer class is judged on the entry's
 * CIDR, so the part named leaves out slices wholly inside trusted or office ranges, and says so
 * when nothing else is left.
 */
function effectiveWords(
  entry: NetworkAclEntryChange,
  effective: readonly Slice[],
  offending: readonly Slice[],
  policy: Policy,
): string {
  const total = effective.reduce((n, s) => n + sliceSize(s), 0n);
  if (total === sliceSize(entrySlice(entry))) return "";
  const family = familyOf(entry.cidr);
  const trusted = [...policy.networks.trusted, ...policy.networks.office]
    .filter((c) => familyOf(c) === family)
    .map(addressRangeOf);
  const shown = offending.filter(
    (s) => !trusted.some((t) => t.lo <= s.addresses.lo && s.addresses.hi <= t.hi),
  );
  if (shown.length === 0) {
    return "; every address it still lets through is in a trusted or office range, but the peer class is judged on the entry's CIDR";
  }
  return `; breaks it with ${describeSlices(shown, addressRangeOf(entry.cidr), family)}`;
}

/** What a NACL finding is about: the traffic its entry decides, and the part that breaks the rule. */
interface NaclTraffic {
  readonly decided: readonly Slice[];
  readonly offending: readonly Slice[];
}

const TRAFFIC = new WeakMap<Finding, NaclTraffic>();

/**
 * Deleting a NACL entry denies every packet it decides. Without the inserted entries that would
 * deny only part of it, an entry is deleted only when every packet it decides is forbidden (some
 * enforce finding, not waived, covers it); otherwise its enforce findings only notify, and say
 * which traffic the delete would take away.
 */
function withoutCollateral(
  findings: readonly Finding[],
  traffic: ReadonlyMap<Finding, NaclTraffic>,
): readonly Finding[] {
  const byEntry = new Map<RuleChange, Finding[]>();
  for (const f of findings) {
    if (f.mode !== "enforce" || f.change.kind !== "network-acl-entry") continue;
    byEntry.set(f.change, [...(byEntry.get(f.change) ?? []), f]);
  }
  const allowed = new Map<Finding, string>();
  for (const [change, enforced] of byEntry) {
    const entry = change as NetworkAclEntryChange;
    const known = enforced.map((f) => traffic.get(f));
    if (known.some((t) => t === undefined)) continue;
    const decided = (known[0] as NaclTraffic).decided;
    const left = subtractAll(
      decided,
      known.flatMap((t) => (t as NaclTraffic).offending),
    );
    if (left.length === 0) continue;
    const words = describeSlices(left, addressRangeOf(entry.cidr), familyOf(entry.cidr));
    for (const f of enforced) allowed.set(f, words);
  }
  if (allowed.size === 0) return findings;
  return findings.map((f) => {
    const words = allowed.get(f);
    if (words === undefined) return f;
    return {
      ...f,
      mode: "notify" as const,
      reason: `${f.reason}; deleting the entry would also deny ${words}, which the policy allows, so notify`,
    };
  });
}

function stricter(a: Finding, b: Finding): Finding {
  if (a.mode !== b.mode) return a.mode === "enforce" ? a : b;
  return SEVERITY_RANK[b.severity] > SEVERITY_RANK[a.severity] ? b : a;
}

function findingsFor(
  change: RuleChange,
  policy: Policy,
  ctx: PolicyEvaluationContext,
  scopes: RuleScopes,
  slicesOf: AclSlices,
): Finding[] {
  // A prefix-list change has no findings of its own: the prefix-list function evaluates the
  // rules that reference the list, with the new entries in ctx.prefixLists.
  if (change.kind === "prefix-list" || change.kind === "network-acl") return [];
  if (change.kind === "network-acl-entry") {
    return findingsForConcrete(change, change, policy, ctx, scopes, slicesOf);
  }
  if (change.direction !== "unknown") {
    return findingsForConcrete(change as ConcreteChange, change, policy, ctx, scopes, slicesOf);
  }
  const known = change.ruleId === null ? undefined : ctx.ruleDirections?.[change.ruleId];
  if (known !== undefined) {
    const resolved: SecurityGroupRuleChange = { ...change, direction: known };
    return findingsForConcrete(resolved as ConcreteChange, resolved, policy, ctx, scopes, slicesOf);
  }
  if (ctx.unknownDirection !== "evaluate-both") {
    throw new RuleDirectionUnknownError(change.groupId, change.ruleId);
  }
  // Replay: nobody can look the rule up. Both readings are evaluated, the stricter wins per
  // policy rule, and the finding keeps the unknown direction (its action's direction is null).
  const byRule = new Map<string, Finding>();
  for (const direction of ["ingress", "egress"] as const) {
    const as = { ...change, direction } as ConcreteChange;
    for (const f of findingsForConcrete(as, change, policy, ctx, scopes, slicesOf)) {
      const noted = { ...f, reason: `${f.reason}; direction unknown, read as ${direction}` };
      const prior = byRule.get(f.rule);
      byRule.set(f.rule, prior ? stricter(prior, noted) : noted);
    }
  }
  return [...byRule.values()];
}

/**
 * Evaluates rule changes (from an event, or current state read by the sweep or `scan`) against
 * a policy. Pure: everything it needs (tags, prefix-list entries, rule directions) comes in `ctx`.
 *
 * - Every rule matching a change gives its own finding; `off` rules give none, and neither do
 *   rules whose `scope` rules out the account or region. A rule whose scope cannot be decided
 *   (account tags or OUs not in `ctx`) only notifies.
 * - Findings waived by an exemption move to `waived`; outcome is `violation` when any finding
 *   is left, `exempt` when all were waived, `compliant` when there were none, and `ignored`
 *   for the guardrail's own principals.
 *
 * @throws RuleDirectionUnknownError for a ModifySecurityGroupRules change whose direction is not
 *   in `ctx.ruleDirections`, unless `ctx.unknownDirection` is `evaluate-both`.
 * @throws InvalidInputError for a malformed CIDR in `ctx.prefixLists`.
 * @example
 * const result = evaluate(normalised.changes, policy, { now: new Date(), event: normalised.event });
 * result.outcome; // "violation"
 * result.findings[0]?.reason; // "tcp 22 open to 0.0.0.0/0 (public, wide) — admin port"
 */
export function evaluate(
  changes: readonly RuleChange[],
  policy: Policy,
  ctx: PolicyEvaluationContext,
): Evaluation {
  if (ctx.event && isOwnPrincipal(ctx.event.actor, policy)) {
    return { outcome: "ignored", findings: [], waived: [] };
  }
  const findings: Finding[] = [];
  const waived: Finding[] = [];
  const traffic = new Map<Finding, NaclTraffic>();
  const scopes = ruleScopes(ctx);
  const slicesOf = aclSlices(ctx);
  const subject = scopeSubjectOf(ctx);
  for (const change of changes) {
    for (const finding of findingsFor(change, policy, ctx, scopes, slicesOf)) {
      const rule = policy.rules.find((r) => r.id === finding.rule);
      const sets = rule ? [policy.exemptions, rule.exemptions] : [policy.exemptions];
      const { exemption, notes, unverified } = findExemption(sets, {
        ruleId: finding.rule,
        change: finding.change,
        event: ctx.event,
        account: ctx.account,
        region: ctx.region,
        subject,
        groupTags: ctx.groupTags,
        tagRecords: ctx.tagRecords,
        policy,
        now: ctx.now,
      });
      const reason = [finding.reason, ...new Set(notes)].join("; ");
      if (exemption) waived.push({ ...finding, reason, exemption });
      else if (unverified && finding.mode === "enforce") {
        // Neither honoured nor revoked on the tag's account: someone must look at it.
        findings.push({ ...finding, mode: "notify", reason: `${reason}, so notify` });
      } else findings.push({ ...finding, reason });
      const t = TRAFFIC.get(finding);
      if (t && !exemption) traffic.set(findings.at(-1) as Finding, t);
    }
  }
  const judged =
    ctx.naclWholeDeletesOnly && !ctx.naclPlanned ? withoutCollateral(findings, traffic) : findings;
  const outcome = judged.length > 0 ? "violation" : waived.length > 0 ? "exempt" : "compliant";
  return { outcome, findings: [...judged], waived };
}
