import { MetricUnit } from "@aws-lambda-powertools/metrics";
import {
  attributeCaller,
  type Decision,
  type FlapCount,
  type FlapVerdict,
  type FlapView,
  flapRuleText,
  flapVerdict,
  METRICS,
  reopenedRules,
  UNKNOWN_CALLER,
} from "@guardrail/core";
import type { RemediationDeps } from "../deps";

/** A decision after the flap guard, and whether to announce it. */
export interface Guarded {
  readonly decision: Decision;
  readonly verdict: FlapVerdict;
}

/**
 * The flap guard of one decision, after its revokes (it never holds one back): counts each rule
 * the event re-opened in its window, then decides whether the decision is an ordinary alert, the
 * window's one escalation (with who re-opens the rule, through what, and where to fix it), or
 * folded into that escalation (recorded, not announced). When the counter cannot be read the
 * decision is an ordinary alert: an unsure guard never silences one.
 */
export async function guardFlaps(decision: Decision, deps: RemediationDeps): Promise<Guarded> {
  const settings = deps.config.policy.flapGuard;
  const event = decision.event;
  const alert: Guarded = { decision, verdict: "alert" };
  if (!settings.enabled || event === null) return alert;
  const rules = reopenedRules(decision);
  if (rules.size === 0) return alert;
  let counts: FlapCount[];
  try {
    counts = await Promise.all(
      [...rules.keys()].map(async (key): Promise<FlapCount> => {
        const c = await deps.audit.countReopening({
          ruleKey: key,
          eventId: decision.id,
          eventTime: event.time,
          windowHours: settings.windowHours,
        });
        let escalatedBy = c.escalatedBy;
        if (c.count > settings.threshold && (escalatedBy === null || escalatedBy === decision.id)) {
          escalatedBy = await deps.audit.claimEscalation(key, decision.id, c.windowStart);
        }
        return {
          key,
          count: c.count,
          windowStart: c.windowStart,
          escalates: escalatedBy === decision.id,
          escalatedBy,
        };
      }),
    );
  } catch (error) {
    deps.logger.warn("flap guard: could not count the re-opening; alerting as usual", {
      decisionId: decision.id,
      error,
    });
    return alert;
  }
  const verdict = flapVerdict(decision, counts);
  if (verdict === "alert") return alert;
  const relevant = counts.filter((c) => (verdict === "escalate" ? c.escalates : true));
  const top = relevant.reduce((a, b) => (b.count > a.count ? b : a));
  const tags = verdict === "escalate" ? await resourceTags(decision, deps) : {};
  const flap: FlapView = {
    state: verdict === "escalate" ? "escalated" : "folded",
    rules: relevant.flatMap((c) => {
      const change = rules.get(c.key);
      return change ? [flapRuleText(change)] : [];
    }),
    count: top.count,
    threshold: settings.threshold,
    windowHours: settings.windowHours,
    windowStart: top.windowStart,
    attribution: attributeCaller(event.actor ?? UNKNOWN_CALLER, tags, settings),
    ...(verdict === "fold" && top.escalatedBy !== null ? { escalationId: top.escalatedBy } : {}),
  };
  const details = {
    decisionId: decision.id,
    rules: flap.rules,
    count: flap.count,
    through: flap.attribution.label,
  };
  if (verdict === "escalate") deps.logger.warn("revoke loop escalated", details);
  else deps.logger.info("revoke folded into its loop's escalation", details);
  deps.metrics.addMetric(
    verdict === "escalate" ? METRICS.revokeLoops : METRICS.foldedRevokes,
    MetricUnit.Count,
    1,
  );
  return { decision: { ...decision, flap }, verdict };
}

/**
 * The security group's tags, for the stack or workspace they name. Only for the escalation (one
 * look-up per window), and a failed look-up only costs the escalation its stack or workspace.
 */
async function resourceTags(
  decision: Decision,
  deps: RemediationDeps,
): Promise<Record<string, string>> {
  if (decision.resource.type !== "security-group") return {};
  try {
    return await deps.ec2.tagsOf(decision.resource.id);
  } catch (error) {
    deps.logger.warn("flap guard: could not read the group's tags; escalating without them", {
      groupId: decision.resource.id,
      error,
    });
    return {};
  }
}
