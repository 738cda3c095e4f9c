import {
  channelsOf,
  type GuardrailFunction,
  isNotifierFunction,
  type NotifierChannel,
  notifierEnabled,
  notifierParameterName,
  topicNotifiers,
} from "@guardrail/core";
import {
  APP_NAME,
  componentName,
  NOTIFIER_SECRET_READ_ACTIONS,
  parameterArn,
  roleName,
} from "@guardrail/templates";
import type { GuardrailLambda } from "./functions";
import type { DeployTarget } from "./target";

/*
 * The notification channels of NOTIFIERS (core/notifiers.ts) as infrastructure: each topic
 * channel's secret parameter, its function's environment, the function's topic subscription,
 * and the read of a switched-on channel's secret. A channel added to the table is wired here
 * without an edit.
 */

type Env = Readonly<Record<string, string | undefined>>;

/** The secret parameter's name of each channel on at this deploy (topic channels only). */
export type NotifierParameters = Partial<Record<NotifierChannel, string>>;

/** The channels on at this deploy and their secret parameters' names. */
export function readNotifierParameters(stage: string, env: Env): NotifierParameters {
  return Object.fromEntries(
    topicNotifiers()
      .filter(([, spec]) => notifierEnabled(spec, env))
      .map(([channel, spec]) => [channel, notifierParameterName(spec.secret, stage, env)]),
  );
}

/** The ARNs of the channels' secret parameters, under their `PermissionScope` keys. */
export function notifierParameterArns(
  partition: string,
  region: string,
  accountId: string,
  parameters: NotifierParameters,
): Record<string, string> {
  const arns: Record<string, string> = {};
  for (const [channel, spec] of topicNotifiers()) {
    const name = parameters[channel];
    if (name !== undefined) {
      arns[spec.secret.scopeKey] = parameterArn(partition, region, accountId, name);
    }
  }
  return arns;
}

export interface NotifierWiringInputs extends DeployTarget {
  readonly notifierParameters: NotifierParameters;
  readonly topic: aws.sns.Topic;
  readonly lambdas: Record<GuardrailFunction, GuardrailLambda>;
}

/**
 * Subscribes each notifier function to the topic (SNS may invoke exactly it, from that topic),
 * and grants each switched-on channel's secret read as a role policy of its own.
 */
export function wireNotifiers(inputs: NotifierWiringInputs): void {
  const { settings, topic } = inputs;
  for (const [fn, lambda] of Object.entries(inputs.lambdas) as [
    GuardrailFunction,
    GuardrailLambda,
  ][]) {
    if (!isNotifierFunction(fn)) continue;
    const id = componentName(fn);
    const permission = new aws.lambda.Permission(`${id}TopicPermission`, {
      action: "lambda:InvokeFunction",
      function: lambda.fn.name,
      qualifier: lambda.qualifier,
      principal: "sns.amazonaws.com",
      sourceArn: topic.arn,
    });
    new aws.sns.TopicSubscription(
      `${id}Subscription`,
      { topic: topic.arn, protocol: "lambda", endpoint: lambda.invokeArn },
      { dependsOn: [permission] },
    );
    for (const [channel, spec] of channelsOf(fn)) {
      const name = inputs.notifierParameters[channel];
      if (spec.switch === null || name === undefined) continue;
      const secret = spec.secret.name.charAt(0).toUpperCase() + spec.secret.name.slice(1);
      new aws.iam.RolePolicy(
        `${id}${secret}Read`,
        {
          role: roleName(APP_NAME, settings.stage, settings.region, fn),
          policy: $resolve([inputs.partition, inputs.accountId]).apply(([partition, accountId]) =>
            JSON.stringify({
              Version: "2012-10-17",
              Statement: [
                {
                  Effect: "Allow",
                  Action: [...NOTIFIER_SECRET_READ_ACTIONS],
                  Resource: [parameterArn(partition, settings.region, accountId, name)],
                },
              ],
            }),
          ),
        },
        { dependsOn: [lambda.fn] },
      );
    }
  }
}
