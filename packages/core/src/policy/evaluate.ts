import type {
  Actor,
  Evaluation,
  EvaluationContext,
  EventMeta,
  Finding,
  Mode,
  RuleChange,
  SecurityGroupRuleChange,
} from "../model";
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
): Finding[] {
  const peers = peersOf(change, ctx, policy);
  const broad = isBroad(change, policy.thresholds);
  const findings: Finding[] = [];
  const unresolved: PolicyRule[] = [];
  const blocker = unremediable(report);
  for (const rule of policy.rules) {
    const kind = getRuleKind(rule.kind);
    if (!kind || kind.target !== change.kind) continue;
    const mode = effectiveMode(rule, broad);
    if (mode === "off") continue;
    const scope = scopes(rule);
    if (scope.status === "out") continue;
    const match = kind.evaluate(change, { options: rule.options, peers });
    if (!match) continue;
    if (match.peer.unresolved) {
      unresolved.push(rule);
      continue;
    }
    let reason = `${subject(change, match.peer)} (${match.peer.label}) — ${rule.label}`;
    if (match.detail) reason += ` (${match.detail})`;
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
    findings.push({
      rule: rule.id,
      mode: finalMode,
      severity: rule.severity,
      reason,
      change: report,
    });
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

function stricter(a: Finding, b: Finding): Finding {
  if (a.mode !== b.mode) return a.mode === "enforce" ? a : b;
  return SEVERITY_RANK[b.severity] > SEVERITY_RANK[a.severity] ? b : a;
}

function findingsFor(
  change: RuleChange,
  policy: Policy,
  ctx: PolicyEvaluationContext,
  scopes: RuleScopes,
): Finding[] {
  // A prefix-list change has no findings of its own: the prefix-list function evaluates the
  // rules that reference the list, with the new entries in ctx.prefixLists.
  if (change.kind === "prefix-list") return [];
  if (change.kind === "network-acl-entry") {
    return findingsForConcrete(change, change, policy, ctx, scopes);
  }
  if (change.direction !== "unknown") {
    return findingsForConcrete(change as ConcreteChange, change, policy, ctx, scopes);
  }
  const known = change.ruleId === null ? undefined : ctx.ruleDirections?.[change.ruleId];
  if (known !== undefined) {
    const resolved: SecurityGroupRuleChange = { ...change, direction: known };
    return findingsForConcrete(resolved as ConcreteChange, resolved, policy, ctx, scopes);
  }
  if (ctx.unknownDirection !== "evaluate-both") {
    throw new RuleDirectionUnknownError(change.groupId, change.ruleId);
  }
  // Replay: nobody can look the rule up. Both readings are evaluated, the stricter wins per
  // policy rule, and the finding keeps the unknown direction (its action's direction is null).
  const byRule = new Map<string, Finding>();
  for (const direction of ["ingress", "egress"] as const) {
    const as = { ...change, direction } as ConcreteChange;
    for (const f of findingsForConcrete(as, change, policy, ctx, scopes)) {
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
  const scopes = ruleScopes(ctx);
  const subject = scopeSubjectOf(ctx);
  for (const change of changes) {
    for (const finding of findingsFor(change, policy, ctx, scopes)) {
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
    }
  }
  const outcome = findings.length > 0 ? "violation" : waived.length > 0 ? "exempt" : "compliant";
  return { outcome, findings, waived };
}
