import { createHash, randomUUID } from "node:crypto";
import { MetricUnit } from "@aws-lambda-powertools/metrics";
import { NOTIFICATION, type PutDecisionResult } from "@guardrail/aws";
import {
  type Action,
  type ActionOutcome,
  auditItem,
  buildDecision,
  buildInvalidDecision,
  type ChangeView,
  DELIVERY_ATTEMPTS,
  type Decision,
  type DecisionResult,
  decisionPublication,
  type Evaluation,
  type EventMeta,
  evaluate,
  exemptionTagKeys,
  type Finding,
  groupsNeedingTags,
  isOwnPrincipal,
  METRICS,
  type NormaliseResult,
  needsGroupTags,
  normalise,
  type PolicyEvaluationContext,
  planActions,
  type ResourceRef,
  type RuleChange,
  ruleStateKey,
  UNRESOLVED_PREFIX_LIST_RULE,
} from "@guardrail/core";
import { forTarget, type RemediationDeps } from "../deps";
import { RemediationFailedError } from "../errors";
import { field } from "../field";
import { guardFlaps } from "./flap-guard";
import { exemptionsFromTrail } from "./trail";

/** What one invocation came to (the Lambda return value; EventBridge ignores it, tests read it). */
export interface FlowResult {
  readonly status: "invalid" | "ignored" | "compliant" | "decided";
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

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

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

/** The account's tags and OUs (organisation mode), as `AccountDirectory.context` reads them. */
type AccountContext = Pick<PolicyEvaluationContext, "accountTags" | "organizationalUnits">;

/**
 * Look-ups that do not depend on the pipeline's own (rule read-back, prefix-list entries), so
 * they are started before them and run in parallel: the critical path to the revoke stays one
 * round trip.
 */
export interface Prefetched {
  /** The account's context from AWS Organizations; `{}` when the policy needs none. */
  readonly account: Promise<AccountContext>;
  /** Tags of the groups the event's own content already shows a finding on, by group id. */
  readonly tags: ReadonlyMap<string, Promise<Record<string, string>>>;
}

/**
 * Starts the look-ups `decide` would otherwise make after the pipeline's own. The account's
 * context is read whenever the policy needs it (as before, just earlier; it is cached). Group
 * tags are read early only when they would be read anyway: the event's content, judged without
 * the look-ups, has a finding that a tag could waive (a prefix-list peer, unresolved until its
 * entries are read, does not count), and no account context is pending that could still put
 * the rule out of scope or exempt it. The one case where the early read is wasted: a rule read
 * back (ModifySecurityGroupRules, a late event) that was made compliant since the event.
 */
export function prefetch(
  event: EventMeta,
  changes: readonly RuleChange[],
  deps: RemediationDeps,
  { tags: withTags = true }: { readonly tags?: boolean } = {},
): Prefetched {
  const account: Promise<AccountContext> = deps.directory
    ? deps.directory.context(event.account)
    : Promise.resolve({});
  const tags = new Map<string, Promise<Record<string, string>>>();
  const policy = deps.config.policy;
  if (!withTags || deps.directory || !needsGroupTags(policy)) return { account, tags };
  let preliminary: Evaluation;
  try {
    preliminary = evaluate(changes, policy, {
      now: deps.clock(),
      event,
      unknownDirection: "evaluate-both",
    });
  } catch {
    // Whatever cannot be judged yet is judged after the look-ups, tags then read as before.
    return { account, tags };
  }
  const counted = {
    ...preliminary,
    findings: preliminary.findings.filter((f) => f.rule !== UNRESOLVED_PREFIX_LIST_RULE),
  };
  for (const id of groupsNeedingTags(counted, policy)) {
    const read = deps.ec2.groupTags(id);
    // A failure surfaces where the tags are used; unused, it must not be an unhandled rejection.
    read.catch(() => {});
    tags.set(id, read);
  }
  return { account, tags };
}

/**
 * Evaluates, and when a finding exists and some tag exemption is configured, describes the
 * groups concerned (usually the one group of the event) and evaluates again with their tags.
 */
export async function evaluateWithTags(
  changes: readonly RuleChange[],
  ctx: PolicyEvaluationContext,
  deps: RemediationDeps,
): Promise<Evaluation> {
  return (await judge(changes, ctx, deps)).evaluation;
}

/** `evaluateWithTags`, using tags already being read, and answering the context it used. */
async function judge(
  changes: readonly RuleChange[],
  ctx: PolicyEvaluationContext,
  deps: RemediationDeps,
  early: Prefetched["tags"] = new Map(),
): Promise<{ evaluation: Evaluation; ctx: PolicyEvaluationContext }> {
  const policy = deps.config.policy;
  const first = evaluate(changes, policy, ctx);
  if (first.findings.length === 0 || !needsGroupTags(policy)) return { evaluation: first, ctx };
  const ids = groupsNeedingTags(first, policy);
  if (ids.length === 0) return { evaluation: first, ctx };
  const tags = await Promise.all(
    ids.map(async (id) => [id, await (early.get(id) ?? deps.ec2.groupTags(id))] as const),
  );
  const groupTags = Object.fromEntries(tags);
  const tagRecords = await recordsOf(groupTags, ctx, deps);
  const tagged = { ...ctx, groupTags, ...(tagRecords ? { tagRecords } : {}) };
  return { evaluation: evaluate(changes, policy, tagged), ctx: tagged };
}

/**
 * The recorded taggings of the groups that carry an exemption tag: a tag is honoured only
 * against its record. Read only when such a tag exists (one Query per group), so a group
 * without one costs nothing more.
 */
export async function recordsOf(
  groupTags: Readonly<Record<string, Readonly<Record<string, string>>>>,
  ctx: PolicyEvaluationContext,
  deps: RemediationDeps,
): Promise<PolicyEvaluationContext["tagRecords"]> {
  const account = ctx.event?.account ?? ctx.account;
  const region = ctx.event?.region ?? ctx.region;
  if (account === undefined || region === undefined) return undefined;
  const keys = exemptionTagKeys(deps.config.policy);
  const tagged = Object.entries(groupTags)
    .filter(([, t]) => keys.some((k) => t[k] !== undefined))
    .map(([id]) => id);
  if (tagged.length === 0) return undefined;
  const read = await Promise.all(
    tagged.map(async (id) => {
      const found = (await deps.audit.tagRecords(account, region, id))[id] ?? {};
      return [id, Object.fromEntries(keys.map((k) => [k, found[k] ?? null]))] as const;
    }),
  );
  return Object.fromEntries(read);
}

/**
 * Carries out the actions, in parallel (they name different groups or entries). `settled`
 * answers for actions a look-up already decided (a rule EC2 says no longer exists).
 */
export async function act(
  actions: readonly Action[],
  deps: RemediationDeps,
  settled?: (action: Action) => ActionOutcome | undefined,
): Promise<ActionOutcome[]> {
  const results = await Promise.all(
    actions.map(async (a) => {
      const known = settled?.(a);
      return known ? [known] : deps.ec2.execute(a);
    }),
  );
  return results.flat();
}

/**
 * Records the decision (once per id) and publishes it when this delivery won the write.
 *
 * Why the write comes after the revoke: revoking twice is harmless (the second call answers
 * NotFound, "already gone"), so no idempotency round trip is needed before the revoke. The
 * conditional put then decides which delivery records and publishes: exactly one of any number
 * of concurrent deliveries. A `revoked` result may replace an `already-gone` one written by a
 * racing delivery (the audit then tells the truth) without a second message; a delivery that
 * found the rule already gone first waits `settleMs` so that the one that revoked usually
 * writes first and the single message says "revoked".
 *
 * The record says where its notification stands: `claimed` (with `claimedAt`) while a writer
 * publishes, `published` once SNS took the message, `failed` when it did not. A claim older
 * than the function's timeout belongs to an invocation that died between the write and the
 * publish (killed at its timeout, out of memory): the next delivery takes it over and publishes
 * the recorded decision, so a crash there cannot lose the alert.
 */
export async function recordAndNotify(
  decision: Decision,
  deps: RemediationDeps,
  { publish = true, defer = false }: { publish?: boolean; defer?: boolean } = {},
): Promise<{ recorded: PutDecisionResult["status"]; published: boolean }> {
  const { logger } = deps;
  if (defer) {
    // A failed attempt Lambda will retry: recorded, announced by the retry that settles it.
    const put = await deps.audit.putDecision(auditItem(decision), randomUUID(), { defer: true });
    if (put.status === "created") countDecision(decision, put, deps);
    return { recorded: put.status, published: false };
  }
  if (publish && decision.result === "already-gone" && deps.settleMs > 0)
    await sleep(deps.settleMs);
  const claim = randomUUID();
  const publication = decisionPublication(decision);
  const markPublished = async (id: string) => {
    try {
      await deps.audit.markPublished(id);
    } catch (error) {
      // The message went out; at worst a much later redelivery announces it once more.
      logger.warn("could not mark the notification published", { decisionId: id, error });
    }
  };
  /** Publishes; when that fails, gives the turn back so that a retry can publish. */
  const publishOrRelease = async (p: typeof publication, id: string) => {
    try {
      await deps.notifier.publish(p);
    } catch (error) {
      await deps.audit.markNotifyFailed(id, claim).catch((markError: unknown) =>
        logger.error("could not release the notification claim", {
          decisionId: id,
          error: markError,
        }),
      );
      throw error;
    }
    await markPublished(id);
  };
  const now = deps.clock();
  let put: PutDecisionResult;
  try {
    put = await deps.audit.putDecision(
      auditItem(decision),
      claim,
      publish
        ? {
            takeOver: true,
            claimedAt: now.toISOString(),
            staleBefore: new Date(now.getTime() - deps.config.functionTimeoutMs).toISOString(),
          }
        : { notify: false },
    );
  } catch (error) {
    // Without the idempotency record the message matters more than its uniqueness: send it,
    // then fail so that the retry writes the record (and may send it again).
    logger.error("audit write failed; notifying anyway", { decisionId: decision.id, error });
    if (publish) await deps.notifier.publish(publication);
    throw error;
  }
  if (put.status === "duplicate") {
    logger.info("decision already recorded by another delivery", { decisionId: decision.id });
    return { recorded: put.status, published: false };
  }
  if (put.status === "taken-over") {
    // An earlier delivery recorded a better decision (it revoked), then could not publish it
    // (it failed, or died before it could): that decision is the truth, so it is the one
    // announced, not this delivery's "already gone".
    logger.info("publishing the recorded decision an earlier delivery could not publish", {
      decisionId: decision.id,
      recorded: put.stored.result,
      result: decision.result,
    });
    await publishOrRelease(decisionPublication(put.stored), put.stored.id);
    return { recorded: put.status, published: true };
  }
  countDecision(decision, put, deps);
  const shouldPublish =
    publish &&
    (put.status === "created" ||
      put.previous.notification === NOTIFICATION.failed ||
      put.previous.staleClaim ||
      put.previous.result === "failed");
  if (!shouldPublish) {
    logger.info("decision record corrected; already notified", {
      decisionId: decision.id,
      previous: put.status === "replaced" ? put.previous.result : undefined,
      result: decision.result,
    });
    // The put claimed the record; it was announced already, so say so again.
    if (put.status === "replaced" && put.previous.notification === NOTIFICATION.published) {
      await markPublished(decision.id);
    }
    return { recorded: put.status, published: false };
  }
  await publishOrRelease(publication, decision.id);
  return { recorded: put.status, published: true };
}

function countDecision(decision: Decision, put: PutDecisionResult, deps: RemediationDeps): void {
  const { metrics } = deps;
  if (decision.result === "invalid") {
    if (put.status === "created") metrics.addMetric(METRICS.invalidEvents, MetricUnit.Count, 1);
    return;
  }
  const counted = decision.findings.filter((f) => f.result !== "exempt").length;
  if (put.status === "created" && counted > 0) {
    metrics.addMetric(METRICS.violations, MetricUnit.Count, counted);
  }
  // Several policy rules may flag one rule: count the rules revoked, not the findings.
  const revoked = new Set(
    decision.findings
      .filter((f) => f.result === "revoked")
      .map((f) => `${f.change.resourceId} ${f.change.text}`),
  ).size;
  if (revoked > 0) {
    metrics.addMetric(METRICS.remediations, MetricUnit.Count, revoked);
    if (decision.exposureSeconds !== null) {
      metrics.addMetric(METRICS.exposureSeconds, MetricUnit.Seconds, decision.exposureSeconds);
    }
  }
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

/** Options of one event-driven run after normalising. */
export interface DecideInput {
  readonly event: EventMeta;
  readonly changes: readonly RuleChange[];
  readonly ctx?: Partial<PolicyEvaluationContext>;
  readonly resource?: ResourceRef;
  /** Outcomes decided without an AWS call (see `act`). */
  readonly settled?: (action: Action) => ActionOutcome | undefined;
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
  /** Look up prior state after the revoke (Replace/Modify events). */
  readonly previousFor?: (
    changes: readonly RuleChange[],
  ) => Promise<(c: RuleChange) => ChangeView | "unknown" | undefined>;
}

/**
 * evaluate → plan → act → record → notify for one handled event. Throws
 * RemediationFailedError after recording and notifying when a revoke failed.
 */
export async function decide(input: DecideInput, deps: RemediationDeps): Promise<FlowResult> {
  const { event } = input;
  const { logger, metrics } = deps;
  const early = input.prefetched ?? prefetch(event, input.changes, deps, { tags: false });
  // Tags and OUs of the account, when the policy scopes by them (organisation mode).
  const account = await early.account;
  const who = input.withoutActor ? { account: event.account, region: event.region } : { event };
  const judged = await judge(
    input.changes,
    { now: deps.clock(), ...who, ...account, ...input.ctx },
    deps,
    early.tags,
  );
  let evaluation = judged.evaluation;
  if (input.withoutActor) {
    evaluation = (
      await exemptionsFromTrail(evaluation, judged.ctx, deps, { onUnreadable: "throw" })
    ).evaluation;
  }
  if (input.extraFindings && input.extraFindings.length > 0) {
    evaluation = {
      outcome: "violation",
      findings: [...evaluation.findings, ...input.extraFindings],
      waived: evaluation.waived,
    };
  }
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
  const actions = planActions(evaluation);
  const outcomes = await act(actions, deps, input.settled);
  const previous = input.previousFor ? await input.previousFor(input.changes) : undefined;
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
  if (failed.length > 0 && final)
    metrics.addMetric(METRICS.remediationFailures, MetricUnit.Count, failed.length);
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

/**
 * A `previous` function from a stored resource state, for Replace/Modify events. A failed
 * look-up says "unknown" rather than failing an alert that is already late.
 */
export async function previousFromState(
  deps: RemediationDeps,
  event: EventMeta,
  resourceId: string,
): Promise<(c: RuleChange) => ChangeView | "unknown"> {
  let rules: Readonly<Record<string, ChangeView>> = {};
  try {
    rules = (await deps.audit.resourceState(event.account, event.region, resourceId))?.rules ?? {};
  } catch (error) {
    deps.logger.warn("could not read the last state; previous shown as unknown", {
      resourceId,
      error,
    });
  }
  return (c) => {
    const key = ruleStateKey(c);
    return (key !== null ? rules[key] : undefined) ?? "unknown";
  };
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
  // Look-ups and revokes happen where the change was made (the member role in organisation mode).
  const deps = await forTarget(hubDeps, result.event);
  return { event: result.event, changes: result.changes, deps };
}
