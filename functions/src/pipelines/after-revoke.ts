import { recordsOf } from "@guardrail/aws/tag-records";
import {
  type Action,
  type ActionOutcome,
  buildDecision,
  type ChangeView,
  DELIVERY_ATTEMPTS,
  type Evaluation,
  type EventMeta,
  evaluate,
  groupsNeedingTags,
  type PolicyEvaluationContext,
  planRemediation,
  type RemediationContext,
  type RuleChange,
  ruleResourceId,
  ruleStateKey,
} from "@guardrail/core";
import type { RemediationDeps } from "../deps";
import { RemediationFailedError } from "../errors";
import type { DecideInput, FlowResult } from "./decide";
import { guardFlaps } from "./flap-guard";
import { countFailures } from "./metrics";
import { recordAndNotify } from "./record";
import { reportToSecurityHub } from "./security-hub";

/**
 * What `decide` judged before the revoke, and the outcomes of its actions.
 */
export interface Acted {
  readonly evaluation: Evaluation;
  readonly ctx: PolicyEvaluationContext & RemediationContext;
  readonly actions: readonly Action[];
  readonly outcomes: readonly ActionOutcome[];
}

/**
 * Everything after the revoke (its own chunk, so that a cold start does not load it before the
 * revoke): the exemption status of findings no revoke depended on, the decision, the flap
 * guard, the record and the message, the Security Hub export. Throws RemediationFailedError
 * after recording and notifying when a revoke failed.
 */
export async function reportDecision(
  input: DecideInput,
  acted: Acted,
  deps: RemediationDeps,
): Promise<FlowResult> {
  const { event } = input;
  const { logger } = deps;
  const { actions, outcomes } = acted;
  let evaluation = acted.evaluation;
  if (!input.withoutActor) {
    // Tags no revoke depended on, read now only to report each finding's exemption (planned
    // again for the report only: the actions are taken).
    const after = await judgeTagsAfterRevoke(input.changes, acted.ctx, deps);
    if (after) {
      const view = planRemediation(after, deps.config.policy, acted.ctx).evaluation;
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
  return orIfFailed(
    () => deps.audit.countAttempt(id),
    DELIVERY_ATTEMPTS,
    (error) =>
      deps.logger.error("could not count the failed attempt; alerting as if it were the last", {
        decisionId: id,
        error,
      }),
  );
}

/**
 * What `read` answers, or `fallback` when it fails, the failure passed to `log`: after the
 * revoke, a look-up that only shapes the report never fails an invocation whose revoke is done.
 */
async function orIfFailed<T>(
  read: () => Promise<T>,
  fallback: T,
  log: (error: unknown) => void,
): Promise<T> {
  try {
    return await read();
  } catch (error) {
    log(error);
    return fallback;
  }
}

/**
 * After the revoke: the tags (and their records) of the groups whose findings a tag could waive
 * but that could not change what was revoked (`groupsDecidingRevoke` left them out), so that
 * each finding reports its exemption exactly as if they had been read first. The actions are
 * already taken and cannot differ: every such rule has an enforce finding no tag may waive.
 * Null when nothing is left to read. A failed read is logged, and the decision is reported as
 * judged before the revoke (the waivable findings then show as counted, which they were for
 * the revoke), rather than failing an invocation whose revoke is done.
 */
export async function judgeTagsAfterRevoke(
  changes: readonly RuleChange[],
  ctx: PolicyEvaluationContext,
  deps: RemediationDeps,
): Promise<Evaluation | null> {
  const policy = deps.config.policy;
  const read = new Set(Object.keys(ctx.groupTags ?? {}));
  const ids = groupsNeedingTags(evaluate(changes, policy, ctx), policy).filter(
    (id) => !read.has(id),
  );
  if (ids.length === 0) return null;
  return orIfFailed(
    async () => {
      const tags = Object.fromEntries(
        await Promise.all(ids.map(async (id) => [id, await deps.ec2.tagsOf(id)] as const)),
      );
      const records = await recordsOf(tags, ctx, deps);
      return evaluate(changes, policy, {
        ...ctx,
        groupTags: { ...ctx.groupTags, ...tags },
        ...(records || ctx.tagRecords ? { tagRecords: { ...ctx.tagRecords, ...records } } : {}),
      });
    },
    null,
    (error) =>
      deps.logger.warn("tags read after the revoke failed; findings reported as judged before it", {
        groups: ids,
        error,
      }),
  );
}

/**
 * The sweep's last state of one resource, as a `previous` function for the alert. A failed
 * look-up says "unknown" rather than failing an alert that is already late.
 */
export async function previousFromState(
  deps: RemediationDeps,
  event: EventMeta,
  resourceId: string,
): Promise<(c: RuleChange) => ChangeView | "unknown"> {
  const rules: Readonly<Record<string, ChangeView>> = await orIfFailed(
    async () =>
      (await deps.audit.resourceState(event.account, event.region, resourceId))?.rules ?? {},
    {},
    (error) =>
      deps.logger.warn("could not read the last state; previous shown as unknown", {
        resourceId,
        error,
      }),
  );
  return (c) => {
    const key = ruleStateKey(c);
    return (key !== null ? rules[key] : undefined) ?? "unknown";
  };
}

/**
 * A change that replaced a rule in place: every security-group rule of a
 * ModifySecurityGroupRules event, a ReplaceNetworkAclEntry's entry. Only these show what they
 * replaced.
 */
function replacesRule(change: RuleChange): boolean {
  if (ruleResourceId(change) === null) return false;
  return (
    change.kind === "security-group-rule" ||
    (change.kind === "network-acl-entry" && change.operation === "replace")
  );
}

/**
 * `previous: "from-state"`: the prior content of each replaced rule, from the sweep's last
 * state of its resource (each resource read once, in parallel).
 */
export async function previousOf(
  changes: readonly RuleChange[],
  event: EventMeta,
  deps: RemediationDeps,
): Promise<(c: RuleChange) => ChangeView | "unknown" | undefined> {
  const ids = [...new Set(changes.filter(replacesRule).map((c) => ruleResourceId(c) as string))];
  const states = new Map(
    await Promise.all(
      ids.map(async (id) => [id, await previousFromState(deps, event, id)] as const),
    ),
  );
  return (c) => {
    const id = ruleResourceId(c);
    return replacesRule(c) && id !== null ? states.get(id)?.(c) : undefined;
  };
}
