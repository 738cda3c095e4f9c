import { lazy } from "./lazy";

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

/**
 * The AWS adapter: GetTrailStatus for each trail (name or full ARN: an organisation trail seen
 * from a member or delegated account needs the ARN) and DescribeRule for each rule (`bus|rule`
 * or a rule on the default bus), all at once. Each client (and its module) loads on first use:
 * not at all when there is nothing to ask.
 */
export function awsEventPathProbe(
  trails: readonly string[],
  rules: readonly string[],
): EventPathProbe {
  const cloudTrail = lazy(async () => {
    const { CloudTrailClient } = await import("./sdk/cloudtrail");
    return new CloudTrailClient({ retryMode: "standard" });
  });
  const eventBridge = lazy(async () => {
    const { EventBridgeClient } = await import("./sdk/eventbridge");
    return new EventBridgeClient({ retryMode: "standard" });
  });
  return {
    trails: () =>
      Promise.all(
        trails.map(async (trail) => {
          const { GetTrailStatusCommand } = await import("./sdk/cloudtrail");
          const out = await (await cloudTrail()).send(new GetTrailStatusCommand({ Name: trail }));
          return {
            trail,
            isLogging: out.IsLogging === true,
            ...(out.LatestDeliveryTime ? { latestDeliveryTime: out.LatestDeliveryTime } : {}),
            ...(out.LatestDeliveryError ? { latestDeliveryError: out.LatestDeliveryError } : {}),
          };
        }),
      ),
    rules: () =>
      Promise.all(
        rules.map(async (rule) => {
          const { DescribeRuleCommand } = await import("./sdk/eventbridge");
          const [bus, name] = rule.includes("|") ? rule.split("|", 2) : [undefined, rule];
          const out = await (await eventBridge()).send(
            new DescribeRuleCommand({ Name: name, ...(bus ? { EventBusName: bus } : {}) }),
          );
          return { rule, state: out.State ?? "UNKNOWN" };
        }),
      ),
  };
}
