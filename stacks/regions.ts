import { coveredRegions } from "@guardrail/core";
import {
  forwardDeadLetterPolicy,
  forwardedEventPattern,
  regionId,
  serviceTrustPolicy,
} from "@guardrail/templates";
import type { DeploySettings } from "./settings";

/**
 * The Regions this deploy covers: every Region enabled in the account now (`all`), or the
 * configured list, the home Region first. A listed Region that is not enabled fails the deploy.
 */
export async function resolveCoveredRegions(settings: DeploySettings): Promise<string[]> {
  // Without `allRegions`, only the Regions enabled in the account (DescribeRegions).
  const { names } = await aws.getRegions({});
  return coveredRegions(settings.region, settings.regions, names);
}

export interface RegionForwarding {
  readonly region: string;
  readonly rule: aws.cloudwatch.EventRule;
  readonly deadLetterQueue: aws.sqs.Queue;
}

/**
 * Single-account mode: in each covered Region besides the home Region, a rule on that Region's
 * default bus forwards the handled CloudTrail events to the home Region's default bus, where the
 * functions' rules match them as if they had happened there (their `region` says where they
 * did). Each forwarding target dead-letters to a queue of its own Region (a rule's dead-letter
 * queue must be in the rule's Region). Event-bus targets take no retry policy: EventBridge
 * retries them on its own terms.
 * https://docs.aws.amazon.com/cdk/api/v2/docs/aws-cdk-lib.aws_events_targets.EventBusProps.html
 */
export function createRegionForwarding(
  settings: DeploySettings,
  covered: readonly string[],
  partition: $util.Output<string>,
  accountId: $util.Output<string>,
): RegionForwarding[] {
  const others = covered.filter((r) => r !== settings.region);
  if (others.length === 0) return [];
  const homeBusArn = $interpolate`arn:${partition}:events:${settings.region}:${accountId}:event-bus/default`;
  // IAM is global: one role lets every Region's rule put events on the home bus, and nothing else.
  const role = new aws.iam.Role("ForwarderRole", {
    description: `Network guardrail (${settings.stage}): forwards CloudTrail events to ${settings.region}`,
    assumeRolePolicy: $jsonStringify(serviceTrustPolicy("events.amazonaws.com", accountId)),
    inlinePolicies: [
      {
        name: "put-events-to-home-bus",
        policy: $jsonStringify({
          Version: "2012-10-17",
          Statement: [{ Effect: "Allow", Action: ["events:PutEvents"], Resource: [homeBusArn] }],
        }),
      },
    ],
  });
  return others.map((region) => {
    const id = regionId(region);
    const provider = new aws.Provider(`Region${id}`, { region: region as aws.Region });
    const opts = { provider };
    const deadLetterQueue = new aws.sqs.Queue(
      `ForwardDeadLetterQueue${id}`,
      { messageRetentionSeconds: 14 * 24 * 3600, sqsManagedSseEnabled: true },
      opts,
    );
    const rule = new aws.cloudwatch.EventRule(
      `ForwardRule${id}`,
      {
        description: `Network guardrail (${settings.stage}): forward ${region}'s handled CloudTrail events to ${settings.region}`,
        eventBusName: "default",
        eventPattern: JSON.stringify(forwardedEventPattern()),
        state: "ENABLED",
      },
      opts,
    );
    new aws.sqs.QueuePolicy(
      `ForwardDeadLetterQueuePolicy${id}`,
      {
        queueUrl: deadLetterQueue.url,
        policy: $jsonStringify(forwardDeadLetterPolicy(deadLetterQueue.arn, rule.arn)),
      },
      opts,
    );
    new aws.cloudwatch.EventTarget(
      `ForwardTarget${id}`,
      {
        rule: rule.name,
        eventBusName: "default",
        arn: homeBusArn,
        roleArn: role.arn,
        deadLetterConfig: { arn: deadLetterQueue.arn },
      },
      opts,
    );
    return { region, rule, deadLetterQueue };
  });
}
