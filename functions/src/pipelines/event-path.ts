import { MetricUnit } from "@aws-lambda-powertools/metrics";
import { errorMessage } from "@guardrail/aws/errors";
import type { EventPathProbe, RuleStatus, TrailStatus } from "@guardrail/aws/event-path-probe";
import { METRICS, TRAIL_DELIVERY_MAX_AGE_SECONDS } from "@guardrail/core";
import type { RemediationDeps } from "../deps";

/** What is wrong with the event path: each problem names the trail or rule. */
export interface EventPathReport {
  readonly problems: readonly string[];
  readonly trailsChecked: number;
  readonly rulesChecked: number;
}

/**
 * Checks that the trails feeding EventBridge are logging and delivering, and that the guardrail's
 * event rules are enabled. CloudTrail → EventBridge is best effort and says nothing when it
 * stops: each problem is logged as an error and counted (`EventPathChecksFailed`, alarmed), so a
 * stopped trail or a disabled rule is found at the next sweep. A check that cannot be made counts
 * as a problem too.
 */
export async function checkEventPath(
  probe: EventPathProbe,
  deps: Pick<RemediationDeps, "logger" | "metrics" | "clock">,
): Promise<EventPathReport> {
  const problems: string[] = [];
  const now = deps.clock().getTime();
  const [trails, rules] = await Promise.all([
    probe.trails().catch((error: unknown) => {
      problems.push(`trail status unreadable: ${errorMessage(error)}`);
      return [] as TrailStatus[];
    }),
    probe.rules().catch((error: unknown) => {
      problems.push(`event rules unreadable: ${errorMessage(error)}`);
      return [] as RuleStatus[];
    }),
  ]);
  for (const t of trails) {
    if (!t.isLogging) problems.push(`trail ${t.trail} is not logging`);
    else if (
      !t.latestDeliveryTime ||
      now - t.latestDeliveryTime.getTime() > TRAIL_DELIVERY_MAX_AGE_SECONDS * 1000
    ) {
      problems.push(
        `trail ${t.trail} has not delivered for over ${TRAIL_DELIVERY_MAX_AGE_SECONDS / 60} minutes${
          t.latestDeliveryError ? ` (${t.latestDeliveryError})` : ""
        }`,
      );
    }
  }
  for (const r of rules) {
    if (r.state !== "ENABLED") problems.push(`event rule ${r.rule} is ${r.state}`);
  }
  if (problems.length > 0) {
    deps.logger.error("the event path is broken: violations reach the guardrail only by sweep", {
      problems,
    });
    deps.metrics.addMetric(METRICS.eventPathChecksFailed, MetricUnit.Count, problems.length);
  }
  return { problems, trailsChecked: trails.length, rulesChecked: rules.length };
}

/** Comma-separated list of an environment value. */
export function listOf(value: string | undefined): string[] {
  return (value ?? "")
    .split(",")
    .map((s) => s.trim())
    .filter((s) => s !== "");
}
