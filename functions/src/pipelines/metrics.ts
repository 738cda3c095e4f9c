import { MetricUnit } from "@aws-lambda-powertools/metrics";
import {
  type ActionOutcome,
  type Decision,
  METRICS,
  type PutDecisionResult,
} from "@guardrail/core";
import type { RemediationDeps } from "../deps";

/**
 * Counts a recorded decision: violations once (by the writer that created the record), the rules
 * revoked and their exposure by every writer that recorded a revoke.
 */
export function countDecision(
  decision: Decision,
  put: PutDecisionResult,
  { metrics }: Pick<RemediationDeps, "metrics">,
): void {
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

/** Counts the remediations that failed for good (no retry will follow). */
export function countFailures(
  failed: readonly ActionOutcome[],
  { metrics }: Pick<RemediationDeps, "metrics">,
): void {
  if (failed.length > 0)
    metrics.addMetric(METRICS.remediationFailures, MetricUnit.Count, failed.length);
}
