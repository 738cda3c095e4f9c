import type { Actor, Evaluation, EventMeta, Exemption, Finding, RuleChange } from "./model";
import { evaluate, type PolicyEvaluationContext } from "./policy/evaluate";
import type { Policy } from "./policy/types";
import type { Decision } from "./report/decision";
import { type ChangeView, viewChange } from "./report/view";

/**
 * The audit trail's pure half: principal exemptions for rules judged without their author
 * (current state has no actor; a prefix list's editor did not make the rules that reference
 * it). The caller reads each resource's latest event decisions; these functions say which
 * resources to read and what the decisions mean.
 */

/** The security group or network ACL a rule belongs to; null for a prefix list or a whole ACL. */
export function ruleResourceId(change: RuleChange): string | null {
  if (change.kind === "security-group-rule") return change.groupId;
  if (change.kind === "network-acl-entry") return change.networkAclId;
  return null;
}

/** True when some principal exemption (global or the rule's own) could waive the rule's findings. */
function principalExemptionsFor(policy: Policy, ruleId: string): boolean {
  if (policy.exemptions.principals.length > 0) return true;
  const rule = policy.rules.find((r) => r.id === ruleId);
  return rule !== undefined && rule.exemptions.principals.length > 0;
}

/**
 * The same rule: a security-group rule by its id (by content when the event carried none), a
 * network-ACL entry by number and direction.
 */
function sameRule(recorded: ChangeView, current: ChangeView): boolean {
  if (recorded.kind !== current.kind || recorded.resourceId !== current.resourceId) return false;
  if (recorded.kind === "network-acl-entry") {
    return recorded.ruleNumber === current.ruleNumber && recorded.direction === current.direction;
  }
  if (recorded.ruleId !== undefined && current.ruleId !== undefined) {
    return recorded.ruleId === current.ruleId;
  }
  return recorded.text === current.text;
}

function actorEvent(decision: Decision): EventMeta | null {
  const e = decision.event;
  if (e === null || e.actor === null) return null;
  return {
    eventId: e.id,
    eventName: e.name,
    eventTime: e.time,
    account: decision.account,
    region: decision.region,
    actor: e.actor as Actor,
  };
}

/**
 * The principal exemption a rule still has from the event that made it: the newest event
 * decision about this rule (in `decisions`, newest first) waived it for its principal, the rule
 * has not changed since, and the current policy still exempts that principal for this policy
 * rule. Undefined otherwise.
 */
function exemptionFromTrail(
  finding: Finding,
  decisions: readonly Decision[],
  policy: Policy,
  ctx: PolicyEvaluationContext,
): Exemption | undefined {
  const current = viewChange(finding.change);
  for (const decision of decisions) {
    // One table serves every account of an organisation: ids are unique, but never trust a
    // decision made somewhere else.
    if (ctx.account !== undefined && decision.account !== ctx.account) continue;
    if (ctx.region !== undefined && decision.region !== ctx.region) continue;
    const about = decision.findings.filter((f) => sameRule(f.change, current));
    if (about.length === 0) continue;
    // The newest decision about the rule decides: a later, unexempt change wins over an older
    // exempt one.
    const exempt = about.some(
      (f) => f.exemption?.kind === "principal" && f.change.text === current.text,
    );
    if (!exempt) return undefined;
    const event = actorEvent(decision);
    if (event === null) return undefined;
    // Still valid: the current policy, with that actor, waives this very finding.
    const again = evaluate([finding.change], policy, { ...ctx, event });
    const waived = again.waived.find(
      (w) => w.rule === finding.rule && w.exemption?.kind === "principal",
    );
    if (!waived?.exemption) return undefined;
    return {
      ...waived.exemption,
      reason: `${waived.exemption.reason} (${event.actor.arn ?? "the principal"} made this change, event ${event.eventId}; read from the audit trail)`,
    };
  }
  return undefined;
}

/** The evaluation's outcome for these findings and waivers. */
export function outcomeOf(
  findings: readonly Finding[],
  waived: readonly Finding[],
): Evaluation["outcome"] {
  return findings.length > 0 ? "violation" : waived.length > 0 ? "exempt" : "compliant";
}

/**
 * The enforce findings whose author might exempt them: nothing needs reading unless the policy
 * has principal exemptions for the finding's rule.
 */
export function trailCandidates(evaluation: Evaluation, policy: Policy): Finding[] {
  return evaluation.findings.filter(
    (f) =>
      f.mode === "enforce" &&
      ruleResourceId(f.change) !== null &&
      principalExemptionsFor(policy, f.rule),
  );
}

/** The resources whose audit trail the candidates need, each once. */
export function trailResources(candidates: readonly Finding[]): string[] {
  return [...new Set(candidates.map((f) => ruleResourceId(f.change) as string))];
}

/**
 * The evaluation once the trail was read: a candidate whose author's exemption still holds is
 * waived again; one on a resource whose trail could not be read (`blind`) only notifies (never
 * a revoke on a guess); every other finding is unchanged.
 *
 * @param trails each resource's latest event decisions, newest first.
 */
export function withTrailExemptions(
  evaluation: Evaluation,
  candidates: readonly Finding[],
  trails: ReadonlyMap<string, readonly Decision[]>,
  blind: ReadonlySet<string>,
  policy: Policy,
  ctx: PolicyEvaluationContext,
): Evaluation {
  const findings: Finding[] = [];
  const waived: Finding[] = [...evaluation.waived];
  for (const f of evaluation.findings) {
    const id = ruleResourceId(f.change);
    if (!candidates.includes(f) || id === null) {
      findings.push(f);
    } else if (blind.has(id)) {
      findings.push({
        ...f,
        mode: "notify",
        reason: `${f.reason}; the audit trail could not be read to check a principal exemption, so notify`,
      });
    } else {
      const exemption = exemptionFromTrail(f, trails.get(id) ?? [], policy, ctx);
      if (exemption) waived.push({ ...f, exemption });
      else findings.push(f);
    }
  }
  return { outcome: outcomeOf(findings, waived), findings, waived };
}
