import { MetricUnit } from "@aws-lambda-powertools/metrics";
import { METRICS, TRAIL_DELIVERY_MAX_AGE_SECONDS } from "@guardrail/core";
import type { RemediationDeps } from "../deps";
import { errorMessage } from "../errors";

/** One trail as GetTrailStatus describes it. */
export interface TrailStatus {
  /** The name or full ARN asked about (an organisation trail needs its full ARN). */
  readonly trail: string;
  readonly isLogging: boolean;
  /** Last successful delivery of log files (absent: never delivered). */
  readonly latestDeliveryTime?: Date;
  /** The last delivery error CloudTrail reports, if any. */
  readonly latestDeliveryError?: string;
}

/** One EventBridge rule as DescribeRule describes it. */
export interface RuleStatus {
  readonly rule: string;
  readonly state: string;
}

/** Reads the trails and rules the event path depends on (the adapter calls AWS). */
export interface EventPathProbe {
  trails(): Promise<TrailStatus[]>;
  rules(): Promise<RuleStatus[]>;
}

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

/**
 * The AWS adapter: GetTrailStatus for each trail (name or full ARN: an organisation trail seen
 * from a member or delegated account needs the ARN) and DescribeRule for each rule (`bus|rule`
 * or a rule on the default bus). Clients load on first use.
 */
export function awsEventPathProbe(
  trails: readonly string[],
  rules: readonly string[],
): EventPathProbe {
  return {
    async trails() {
      if (trails.length === 0) return [];
      const { CloudTrailClient, GetTrailStatusCommand } = await import(
        "@aws-sdk/client-cloudtrail"
      );
      const client = new CloudTrailClient({ retryMode: "standard" });
      return Promise.all(
        trails.map(async (trail) => {
          const out = await client.send(new GetTrailStatusCommand({ Name: trail }));
          return {
            trail,
            isLogging: out.IsLogging === true,
            ...(out.LatestDeliveryTime ? { latestDeliveryTime: out.LatestDeliveryTime } : {}),
            ...(out.LatestDeliveryError ? { latestDeliveryError: out.LatestDeliveryError } : {}),
          };
        }),
      );
    },
    async rules() {
      if (rules.length === 0) return [];
      const { EventBridgeClient, DescribeRuleCommand } = await import(
        "@aws-sdk/client-eventbridge"
      );
      const client = new EventBridgeClient({ retryMode: "standard" });
      return Promise.all(
        rules.map(async (spec) => {
          const [bus, name] = spec.includes("|") ? spec.split("|", 2) : [undefined, spec];
          const out = await client.send(
            new DescribeRuleCommand({ Name: name, ...(bus ? { EventBusName: bus } : {}) }),
          );
          return { rule: spec, state: out.State ?? "UNKNOWN" };
        }),
      );
    },
  };
}

/** Comma-separated list of an environment value. */
export function listOf(value: string | undefined): string[] {
  return (value ?? "")
    .split(",")
    .map((s) => s.trim())
    .filter((s) => s !== "");
}
