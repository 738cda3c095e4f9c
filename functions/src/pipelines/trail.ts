import { LookupFailedError, mapLimit } from "@guardrail/aws";
import {
  type Actor,
  type ChangeView,
  type Decision,
  type Evaluation,
  type EventMeta,
  type Exemption,
  evaluate,
  type Finding,
  type Policy,
  type PolicyEvaluationContext,
  type RuleChange,
  viewChange,
} from "@guardrail/core";
import type { RemediationDeps } from "../deps";

/** How many of a resource's latest event decisions are searched for the one about a rule. */
export const TRAIL_DEPTH = 25;
const TRAIL_CONCURRENCY = 4;

/** What `exemptionsFromTrail` came to. */
export interface TrailResult {
  readonly evaluation: Evaluation;
  /** Resources whose decisions could not be read; their enforce findings now only notify. */
  readonly unreadable: readonly { readonly resourceId: string; readonly error: unknown }[];
}

function resourceIdOf(change: RuleChange): string | null {
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

function outcomeOf(
  findings: readonly Finding[],
  waived: readonly Finding[],
): Evaluation["outcome"] {
  return findings.length > 0 ? "violation" : waived.length > 0 ? "exempt" : "compliant";
}

/**
 * Principal exemptions for changes judged without their author: the sweep (current state has
 * no actor) and the prefix-list function (the actor edited the list, not the rules). Before an
 * enforce finding is acted on, the audit trail says who made the rule: when the newest event
 * decision about it waived it for its principal, and the policy still exempts that principal,
 * the finding is waived again instead of revoked.
 *
 * Bounded: nothing is read unless the policy has principal exemptions for the finding's rule,
 * and then one by-resource look-up per resource with enforce findings. A trail that cannot be
 * read makes those findings notify-only (never a revoke on a guess), or throws when `onUnreadable`
 * is `throw` (an event function, whose retry reads it again).
 *
 * @throws LookupFailedError when a trail cannot be read and `onUnreadable` is `throw`.
 */
export async function exemptionsFromTrail(
  evaluation: Evaluation,
  ctx: PolicyEvaluationContext,
  deps: RemediationDeps,
  { onUnreadable }: { readonly onUnreadable: "notify" | "throw" },
): Promise<TrailResult> {
  const policy = deps.config.policy;
  const read = deps.audit.recentEventDecisions.bind(deps.audit);
  const candidates = evaluation.findings.filter(
    (f) =>
      f.mode === "enforce" &&
      resourceIdOf(f.change) !== null &&
      principalExemptionsFor(policy, f.rule),
  );
  if (candidates.length === 0) return { evaluation, unreadable: [] };
  const resources = [...new Set(candidates.map((f) => resourceIdOf(f.change) as string))];
  const trails = new Map<string, readonly Decision[]>();
  const unreadable: { resourceId: string; error: unknown }[] = [];
  await mapLimit(resources, TRAIL_CONCURRENCY, async (id) => {
    try {
      trails.set(id, await read(id, TRAIL_DEPTH));
    } catch (error) {
      unreadable.push({ resourceId: id, error });
    }
  });
  if (unreadable.length > 0 && onUnreadable === "throw") {
    const first = unreadable[0];
    throw new LookupFailedError(
      `the audit trail of ${unreadable.map((u) => u.resourceId).join(", ")} could not be read to check principal exemptions`,
      { cause: first?.error },
    );
  }
  const blind = new Set(unreadable.map((u) => u.resourceId));
  const findings: Finding[] = [];
  const waived: Finding[] = [...evaluation.waived];
  for (const f of evaluation.findings) {
    const id = resourceIdOf(f.change);
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
  for (const u of unreadable) {
    deps.logger.error("audit trail unreadable: its enforce findings only notify", {
      resourceId: u.resourceId,
      error: u.error,
    });
  }
  return { evaluation: { outcome: outcomeOf(findings, waived), findings, waived }, unreadable };
}
