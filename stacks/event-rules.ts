import {
  EVENT_DRIVEN_FUNCTIONS,
  eventPatternFor,
  type GuardrailFunction,
  TARGET_RETRY,
} from "@guardrail/core";
import { componentName } from "@guardrail/templates";
import type { GuardrailLambda } from "./functions";
import { eventRuleName } from "./self-monitoring-settings";
import type { DeploySettings } from "./settings";

/** CloudTrail's "AWS API Call via CloudTrail" events land on the default bus. */
export const DEFAULT_BUS = "default";

/** `rate(15 minutes)`; settings keep the rate at 5 minutes or more, so the unit is plural. */
export function sweepScheduleExpression(rateMinutes: number): string {
  return `rate(${rateMinutes} minutes)`;
}

/**
 * One rule per event-driven function on the default bus, plus the sweep's schedule. Every
 * target retries (TARGET_RETRY) and then dead-letters, so an event is never silently dropped.
 * Built from `aws.cloudwatch.*` directly: SST's bus subscription cannot target the default bus
 * with a DLQ and retry policy.
 */
export function createEventRules(
  settings: DeploySettings,
  lambdas: Record<GuardrailFunction, GuardrailLambda>,
  ownRoleArns: $util.Output<string[]>,
  deadLetterQueue: aws.sqs.Queue,
): aws.cloudwatch.EventRule[] {
  const rules: aws.cloudwatch.EventRule[] = [];
  for (const name of EVENT_DRIVEN_FUNCTIONS) {
    const rule = new aws.cloudwatch.EventRule(`${componentName(name)}Rule`, {
      // A fixed name: the sweep checks that the rule is enabled (GUARDRAIL_EVENT_RULES).
      name: eventRuleName(settings.stage, name),
      description: `Network guardrail (${settings.stage}): CloudTrail events for ${name}`,
      eventBusName: DEFAULT_BUS,
      eventPattern: ownRoleArns.apply((arns) => JSON.stringify(eventPatternFor(name, arns))),
      state: "ENABLED",
    });
    target(name, rule);
    rules.push(rule);
  }

  const schedule = new aws.cloudwatch.EventRule("SweepSchedule", {
    description: `Network guardrail (${settings.stage}): periodic sweep`,
    eventBusName: DEFAULT_BUS,
    scheduleExpression: sweepScheduleExpression(settings.sweepRateMinutes),
    state: "ENABLED",
  });
  target("sweep", schedule);
  rules.push(schedule);
  return rules;

  function target(name: GuardrailFunction, rule: aws.cloudwatch.EventRule) {
    targetFunction(componentName(name), rule, DEFAULT_BUS, lambdas[name], deadLetterQueue);
  }
}

/**
 * Targets a rule at a function: Lambda lets exactly that rule invoke it, and the target retries
 * (TARGET_RETRY) and then dead-letters, so an event is never silently dropped.
 */
export function targetFunction(
  id: string,
  rule: aws.cloudwatch.EventRule,
  eventBusName: $util.Input<string>,
  lambda: GuardrailLambda,
  deadLetterQueue: aws.sqs.Queue,
): void {
  const permission = new aws.lambda.Permission(`${id}EventsPermission`, {
    action: "lambda:InvokeFunction",
    function: lambda.fn.name,
    qualifier: lambda.qualifier,
    principal: "events.amazonaws.com",
    sourceArn: rule.arn,
  });
  new aws.cloudwatch.EventTarget(
    `${id}Target`,
    {
      rule: rule.name,
      eventBusName,
      arn: lambda.invokeArn,
      retryPolicy: {
        maximumRetryAttempts: TARGET_RETRY.maximumRetryAttempts,
        maximumEventAgeInSeconds: TARGET_RETRY.maximumEventAgeSeconds,
      },
      deadLetterConfig: { arn: deadLetterQueue.arn },
    },
    { dependsOn: [permission] },
  );
}
