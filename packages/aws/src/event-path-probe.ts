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
    trails: () =>
      askEach(
        trails,
        async () => {
          const { CloudTrailClient, GetTrailStatusCommand } = await import("./sdk/cloudtrail");
          const client = new CloudTrailClient({ retryMode: "standard" });
          return (trail: string) => client.send(new GetTrailStatusCommand({ Name: trail }));
        },
        (trail, out) => ({
          trail,
          isLogging: out.IsLogging === true,
          ...(out.LatestDeliveryTime ? { latestDeliveryTime: out.LatestDeliveryTime } : {}),
          ...(out.LatestDeliveryError ? { latestDeliveryError: out.LatestDeliveryError } : {}),
        }),
      ),
    rules: () =>
      askEach(
        rules,
        async () => {
          const { EventBridgeClient, DescribeRuleCommand } = await import("./sdk/eventbridge");
          const client = new EventBridgeClient({ retryMode: "standard" });
          return (spec: string) => {
            const [bus, name] = spec.includes("|") ? spec.split("|", 2) : [undefined, spec];
            return client.send(
              new DescribeRuleCommand({ Name: name, ...(bus ? { EventBusName: bus } : {}) }),
            );
          };
        },
        (rule, out) => ({ rule, state: out.State ?? "UNKNOWN" }),
      ),
  };
}

/** Asks about each name at once, loading the client only when there is something to ask. */
async function askEach<O, R>(
  names: readonly string[],
  load: () => Promise<(name: string) => Promise<O>>,
  status: (name: string, out: O) => R,
): Promise<R[]> {
  if (names.length === 0) return [];
  const ask = await load();
  return Promise.all(names.map(async (name) => status(name, await ask(name))));
}
