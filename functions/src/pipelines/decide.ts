import { createHash } from "node:crypto";
import {
  type Action,
  type ActionOutcome,
  buildDecision,
  buildInvalidDecision,
  DELIVERY_ATTEMPTS,
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
import { forTarget, type RemediationDeps } from "../deps";
import { RemediationFailedError } from "../errors";
import { field } from "../field";
import { judgeTagsAfterRevoke } from "./after-revoke";
import { notCovered } from "./coverage";
import { guardFlaps } from "./flap-guard";
import { groupRuleCounts } from "./group-rule-counts";
import { eventLookups, type Prefetched, prefetch, previousOf } from "./lookups";
import { countFailures } from "./metrics";
import { recordAndNotify } from "./record";
import { reportToSecurityHub } from "./security-hub";
import { exemptionsFromTrail } from "./trail";

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

/**
 * The id of an unreadable event: its CloudTrail eventID if that much could be read, else the
 * EventBridge envelope id (the same on redelivery), else a digest of the payload.
 */
export function invalidEventId(raw: unknown, event: Partial<EventMeta>): string {
  if (event.eventId) return event.eventId;
  const envelope = field(raw, "id");
  if (typeof envelope === "string" && envelope !== "") return `envelope:${envelope}`;
  let text: string;
  try {
    text = typeof raw === "string" ? raw : (JSON.stringify(raw) ?? String(raw));
  } catch {
    text = String(raw);
  }
  return `sha256:${createHash("sha256").update(text).digest("hex")}`;
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

/** An unreadable event: logged, counted, recorded and sent as a `high` alert; never dropped. */
export async function reportInvalid(
  raw: unknown,
  result: Extract<NormaliseResult, { status: "invalid" }>,
  deps: RemediationDeps,
): Promise<FlowResult> {
  const id = invalidEventId(raw, result.event);
  deps.logger.error("unreadable event", {
    decisionId: id,
    error: { code: result.error.code, path: result.error.path, detail: result.error.detail },
  });
  const decision = buildInvalidDecision({
    id,
    event: result.event,
    error: { code: result.error.code, message: result.error.message, path: result.error.path },
    decidedAt: deps.clock(),
    guardrailVersion: deps.config.version,
    policyId: deps.config.policyId,
  });
  const settled = await recordAndNotify(decision, deps);
  return {
    status: "invalid",
    eventId: id,
    reason: result.error.message,
    result: "invalid",
    ...settled,
  };
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
  if (input.withoutActor) {
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
  let evaluation = judged.evaluation;
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
  const outcomes = [...(input.outcomes ?? []), ...(await act(actions, deps, input))];
  if (!input.withoutActor) {
    // Tags no revoke depended on, read now only to report each finding's exemption (planned
    // again for the report only: the actions are taken).
    const after = await judgeTagsAfterRevoke(input.changes, judged.ctx, deps);
    if (after) {
      const view = planRemediation(after, deps.config.policy, judged.ctx).evaluation;
      evaluation = {
        ...view,
        findings: [...view.findings, ...(input.extraFindings ?? [])],
        ...((input.extraFindings?.length ?? 0) > 0 ? { outcome: "violation" as const } : {}),
      };
    }
  }
  const previous =
    input.previous === "from-state" ? await previousOf(input.changes, event, deps) : undefined;
  const decision = buildDecision({
    source: "event",
    event,
    evaluation,
    outcomes,
    ...(input.resource ? { resource: input.resource } : {}),
    ...(previous ? { previous } : {}),
    decidedAt: deps.clock(),
    guardrailVersion: deps.config.version,
    policyId: deps.config.policyId,
  });
  if (!decision) return { status: "compliant", eventId: event.eventId };
  const failed = outcomes.filter((o) => o.status === "failed");
  const attempt = decision.result === "failed" ? await failedAttempt(decision.id, deps) : null;
  const final = attempt === null || attempt >= DELIVERY_ATTEMPTS;
  // Only a failure no retry will follow is one: a throttle the next attempt absorbs is not.
  if (final) countFailures(failed, deps);
  const log =
    decision.result === "failed" && final ? logger.error.bind(logger) : logger.warn.bind(logger);
  log("policy violation", {
    eventId: event.eventId,
    eventName: event.eventName,
    result: decision.result,
    findings: decision.findings.map((f) => ({
      rule: f.rule,
      mode: f.mode,
      result: f.result,
      change: f.change.text,
    })),
    exposureSeconds: decision.exposureSeconds,
    ...(attempt !== null ? { attempt, attempts: DELIVERY_ATTEMPTS } : {}),
  });
  // After the revokes: the flap guard only decides how the decision is announced.
  const guarded = await guardFlaps(decision, deps);
  const settled = await recordAndNotify(guarded.decision, deps, {
    publish: guarded.verdict !== "fold",
    defer: !final,
  });
  await reportToSecurityHub([guarded.decision], event, "event", deps);
  if (decision.result === "failed") {
    const codes = failed.map((f) => f.error?.code).join(", ");
    throw new RemediationFailedError(
      decision.id,
      final
        ? `revoke failed for ${decision.resource.id} (${codes}): the exposure persists`
        : `revoke failed for ${decision.resource.id} (${codes}) on attempt ${attempt} of ${DELIVERY_ATTEMPTS}: Lambda retries it`,
    );
  }
  return {
    status: "decided",
    eventId: event.eventId,
    result: decision.result,
    actions: actions.length,
    ...(guarded.verdict !== "alert" ? { flap: guarded.verdict } : {}),
    ...settled,
  };
}

/**
 * Which attempt of this event failed to remediate (1 for the first), from its counter in the
 * audit table. A counter that cannot be written answers "last": when unsure, alert.
 */
async function failedAttempt(id: string, deps: RemediationDeps): Promise<number> {
  try {
    return await deps.audit.countAttempt(id);
  } catch (error) {
    deps.logger.error("could not count the failed attempt; alerting as if it were the last", {
      decisionId: id,
      error,
    });
    return DELIVERY_ATTEMPTS;
  }
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

/** `begin`, and the first change of the kind the pipeline handles (undefined when none). */
export async function beginWith<C extends RuleChange>(
  raw: unknown,
  hubDeps: RemediationDeps,
  is: (change: RuleChange) => change is C,
): Promise<{ readonly exit: FlowResult } | (Begun & { readonly change: C | undefined })> {
  const begun = await begin(raw, hubDeps);
  if (begun.exit) return begun;
  return { ...begun, change: begun.changes.find(is) };
}
