import {
  type Action,
  type ActionOutcome,
  type DecisionResult,
  type Evaluation,
  type EventMeta,
  type Finding,
  groupsNarrowed,
  isOwnPrincipal,
  judge,
  type NormaliseResult,
  normalise,
  type PolicyEvaluationContext,
  type PutDecisionResult,
  planRemediation,
  type RemediationContext,
  type ResourceRef,
  type RuleChange,
  sameAction,
} from "@guardrail/core";
import type { RemediationDeps } from "../deps";
import { forTarget } from "../for-target";
import { loadLater } from "../load-later";
import { notCovered } from "./coverage";
import { groupRuleCounts } from "./group-rule-counts";
import { eventLookups, type Prefetched, prefetch } from "./lookups";

/** What one invocation came to (the Lambda return value; EventBridge ignores it, tests read it). */
export interface FlowResult {
  readonly status: "invalid" | "ignored" | "compliant" | "decided" | "not-covered";
  readonly eventId?: string;
  readonly reason?: string;
  readonly result?: DecisionResult;
  /** How the audit write went: `duplicate` for a redelivery that changed nothing. */
  readonly recorded?: PutDecisionResult["status"];
  readonly published?: boolean;
  readonly actions?: number;
  /** The flap guard's verdict when it escalated or folded the decision. */
  readonly flap?: "escalate" | "fold";
}

/** Outcomes a flow already knows, so that its actions are not carried out again. */
export interface Settled {
  /** Security-group rule ids EC2 said no longer exist: a revoke of only those is already gone. */
  readonly gone?: ReadonlySet<string>;
  /** Actions already carried out (a NACL delete before the ACL was read again). */
  readonly known?: readonly ActionOutcome[];
}

/** What `settled` says about `action`, or undefined when it must be carried out. */
function settledOutcome(
  action: Action,
  { gone, known }: Settled,
  clock: () => Date,
): ActionOutcome | undefined {
  const done = known?.find((o) => sameAction(o.action, action));
  if (done) return done;
  if (
    gone !== undefined &&
    action.type === "revoke-security-group-rules" &&
    action.ruleIds.every((id) => gone.has(id))
  ) {
    return { action, status: "already-gone", confirmedAt: clock().toISOString() };
  }
  return undefined;
}

/**
 * Carries out the actions, in parallel (they name different groups or entries), except those
 * `settled` already answers for.
 */
export async function act(
  actions: readonly Action[],
  deps: RemediationDeps,
  settled: Settled = {},
): Promise<ActionOutcome[]> {
  const results = await Promise.all(
    actions.map(async (a) => {
      const known = settledOutcome(a, settled, deps.clock);
      return known ? [known] : deps.ec2.execute(a);
    }),
  );
  return results.flat();
}

/**
 * An unreadable event: logged, counted, recorded and sent as a `high` alert; never dropped
 * (see `report-invalid.ts`, loaded only when an event is unreadable).
 */
export async function reportInvalid(
  raw: unknown,
  result: Extract<NormaliseResult, { status: "invalid" }>,
  deps: RemediationDeps,
): Promise<FlowResult> {
  return (await loadLater()).reportInvalid(raw, result, deps);
}

/** One event-driven run after normalising: what to judge, and what the pipeline already knows. */
export interface DecideInput extends Settled {
  readonly event: EventMeta;
  readonly changes: readonly RuleChange[];
  readonly ctx?: Partial<PolicyEvaluationContext>;
  readonly resource?: ResourceRef;
  /**
   * Judge the changes without the event's actor: the prefix-list function's rules were made by
   * someone else than the list's editor. Principal exemptions then come from the audit trail
   * (`exemptionsFromTrail`).
   */
  readonly withoutActor?: boolean;
  /** Look-ups the pipeline started before its own (see `prefetch`); started here otherwise. */
  readonly prefetched?: Prefetched;
  /** Findings the pipeline made itself (notify-only), reported with the evaluation's. */
  readonly extraFindings?: readonly Finding[];
  /**
   * Replace/Modify events: the alert shows what each replaced rule was, from the sweep's last
   * state of its resource (read after the revoke).
   */
  readonly previous?: "from-state";
  /** Writes the pipeline already made (before a re-read), reported with this decision's. */
  readonly outcomes?: readonly ActionOutcome[];
}

/** The evaluation of one event: judged with its look-ups, the trail, and the pipeline's own findings. */
async function judgeEvent(
  input: DecideInput,
  deps: RemediationDeps,
): Promise<{
  evaluation: Evaluation;
  ctx: PolicyEvaluationContext & RemediationContext;
  actions: readonly Action[];
}> {
  const { event } = input;
  const early = input.prefetched ?? prefetch(event, input.changes, deps, { tags: false });
  // The audit trail's principal exemptions are read only without the actor (prefix lists).
  const trail = input.withoutActor ? loadLater() : undefined;
  // Tags and OUs of the account, when the policy scopes by them (organisation mode).
  const account = await early.account;
  const who = input.withoutActor ? { account: event.account, region: event.region } : { event };
  const judged = await judge(
    input.changes,
    deps.config.policy,
    { now: deps.clock(), ...who, ...account, ...input.ctx },
    eventLookups(deps, early.tags),
    // Tags are read before the revoke only where they could change it; the audit trail's
    // principal exemptions (withoutActor) are judged on the whole evaluation, so read them all.
    { only: input.withoutActor ? "all" : "deciding" },
  );
  let evaluation = judged.evaluation;
  if (trail) {
    const { exemptionsFromTrail } = await trail;
    evaluation = (
      await exemptionsFromTrail(evaluation, judged.ctx, deps, { onUnreadable: "throw" })
    ).evaluation;
  }
  // One planner for every path (event flows, sweep, scan --fix): see `planRemediation`.
  let ctx: PolicyEvaluationContext & RemediationContext = judged.ctx;
  let planned = planRemediation(evaluation, deps.config.policy, ctx);
  // A narrowing is planned again with its groups' rule counts: a remainder the group's rule
  // quota would refuse is never authorized (nor the rule revoked), the finding notifies.
  const narrowed = groupsNarrowed(planned.actions);
  if (narrowed.length > 0) {
    ctx = { ...ctx, groupRuleCounts: await groupRuleCounts(narrowed, deps) };
    planned = planRemediation(evaluation, deps.config.policy, ctx);
  }
  evaluation = planned.evaluation;
  if (input.extraFindings && input.extraFindings.length > 0) {
    evaluation = {
      outcome: "violation",
      findings: [...evaluation.findings, ...input.extraFindings],
      waived: evaluation.waived,
    };
  }
  return { evaluation, ctx, actions: planned.actions };
}

/**
 * judge → plan → act → record → notify for one handled event. Throws
 * RemediationFailedError after recording and notifying when a revoke failed.
 */
export async function decide(input: DecideInput, deps: RemediationDeps): Promise<FlowResult> {
  const { event } = input;
  const { logger } = deps;
  const judged = await judgeEvent(input, deps);
  const evaluation = judged.evaluation;
  if (evaluation.outcome === "ignored") {
    logger.info("change by the guardrail's own principal: not evaluated", {
      eventId: event.eventId,
    });
    return { status: "ignored", eventId: event.eventId, reason: "own-principal" };
  }
  if (evaluation.findings.length === 0 && evaluation.waived.length === 0) {
    logger.info("compliant", {
      eventId: event.eventId,
      eventName: event.eventName,
      changes: input.changes.length,
    });
    return { status: "compliant", eventId: event.eventId };
  }
  const actions = judged.actions;
  const acting = act(actions, deps, input);
  // What follows the revoke loads while EC2 answers it, not at init nor after the answer.
  const reporting = loadLater();
  const outcomes = [...(input.outcomes ?? []), ...(await acting)];
  return (await reporting).reportDecision(input, { ...judged, outcomes }, deps);
}

/** A handled event, ready to judge, with the deps of the account and Region it happened in. */
export interface Begun {
  readonly exit?: undefined;
  readonly event: EventMeta;
  readonly changes: readonly RuleChange[];
  readonly deps: RemediationDeps;
}

/**
 * The start every event-driven flow shares: normalise, then the early exits (invalid → reported,
 * ignored, the guardrail's own principal), then the deps of the event's account and Region.
 */
export async function begin(
  raw: unknown,
  hubDeps: RemediationDeps,
): Promise<{ readonly exit: FlowResult } | Begun> {
  const result = normalise(raw);
  if (result.status === "invalid") return { exit: await reportInvalid(raw, result, hubDeps) };
  if (result.status === "ignored") {
    hubDeps.logger.info("event ignored", {
      reason: result.reason,
      detail: result.detail,
      eventId: result.event.eventId,
    });
    return { exit: { status: "ignored", eventId: result.event.eventId, reason: result.reason } };
  }
  // The loop guard comes before any look-up: the guardrail's own revokes are never evaluated.
  if (isOwnPrincipal(result.event.actor, hubDeps.config.policy)) {
    hubDeps.logger.info("change by the guardrail's own principal: not evaluated", {
      eventId: result.event.eventId,
    });
    return { exit: { status: "ignored", eventId: result.event.eventId, reason: "own-principal" } };
  }
  const outside = notCovered(result.event, hubDeps);
  if (outside) return { exit: outside };
  // Look-ups and revokes happen where the change was made (the member role in organisation mode).
  const deps = await forTarget(hubDeps, result.event);
  return { event: result.event, changes: result.changes, deps };
}

/**
 * The flow of a pipeline that handles one kind of change: `begin`, then `flow` with the event's
 * first change of that kind (undefined when none).
 */
export function changeFlow<C extends RuleChange>(
  is: (change: RuleChange) => change is C,
  flow: (begun: Begun & { readonly change: C | undefined }) => Promise<FlowResult>,
): (raw: unknown, hubDeps: RemediationDeps) => Promise<FlowResult> {
  return async (raw, hubDeps) => {
    const begun = await begin(raw, hubDeps);
    if (begun.exit) return begun.exit;
    return flow({ ...begun, change: begun.changes.find(is) });
  };
}
