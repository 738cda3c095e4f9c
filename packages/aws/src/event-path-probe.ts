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
