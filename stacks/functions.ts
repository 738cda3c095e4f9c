import {
  BUNDLED_POLICY_FILE,
  DELIVERY,
  FUNCTION_DATA_ACCESS,
  FUNCTION_EC2_ACTIONS,
  FUNCTION_ENV,
  FUNCTION_SIZING,
  GUARDRAIL_FUNCTIONS,
  type GuardrailFunction,
  METRICS,
  metricServiceName,
  ORG_FUNCTION_ENV,
  SECURITY_HUB_FUNCTION_ENV,
  SLACK_FUNCTION_ENV,
} from "@guardrail/core";
import {
  APP_NAME,
  componentName,
  functionStatements,
  parameterArn,
  roleName,
} from "@guardrail/templates";
import { SST_NODEJS } from "../functions/build/esbuild.mjs";

/** The functions' esbuild settings, for the Slack app's functions (stacks/slack-app.ts). */
export { SST_NODEJS };

import { ORGANIZATION_SWEEP_TIMEOUT_SECONDS, organizationEnvironment } from "./organization";
import type { PreparedPolicy } from "./policy-file";
import type { DeploySettings } from "./settings";

/** Lambda's own async retries of a failed invocation before the on-failure destination. */
export const ASYNC_RETRY_ATTEMPTS = DELIVERY.asyncRetryAttempts;

/**
 * The functions' roles trust the Lambda service and nothing else. No `aws:SourceArn` or
 * `aws:SourceAccount` condition: AWS documents the execution role's trust with the service
 * principal alone, and `aws:SourceArn` only for policies where the function is the resource
 * invoked (the rules' and the topic's invoke permissions below carry it).
 * https://docs.aws.amazon.com/lambda/latest/dg/lambda-intro-execution-role.html
 */
export const LAMBDA_TRUST_POLICY = {
  Version: "2012-10-17",
  Statement: [
    {
      Effect: "Allow",
      Principal: { Service: "lambda.amazonaws.com" },
      Action: "sts:AssumeRole",
    },
  ],
} as const;

export interface FunctionInputs {
  readonly settings: DeploySettings;
  readonly policy: PreparedPolicy;
  readonly partition: $util.Output<string>;
  readonly accountId: $util.Output<string>;
  readonly ownRoleArns: $util.Output<string[]>;
  readonly table: aws.dynamodb.Table;
  readonly topic: aws.sns.Topic;
  readonly topicKey: aws.kms.Key;
  readonly deadLetterQueue: aws.sqs.Queue;
  /** The chain writer's FIFO queue: the decision writers send each record there. */
  readonly chainQueue?: aws.sqs.Queue;
  /** Organisation mode without an inline external id: linked to the functions that assume. */
  readonly externalIdSecret?: sst.Secret;
  /** Whether the shipped policy scopes by account tag, OU or OU tag. */
  readonly readsOrganization: boolean;
  /** The covered Regions, the home Region first (resolved at deploy: `coveredRegions`). */
  readonly regions: readonly string[];
  /** More environment per function (the self-monitoring's settings). */
  readonly environment?: Partial<Record<GuardrailFunction, Record<string, string>>>;
}

export interface GuardrailLambda {
  readonly fn: sst.aws.Function;
  /** What invokers target: the published version when provisioned concurrency is on. */
  readonly invokeArn: $util.Output<string>;
  /** The version to grant invoke permission on, or undefined for `$LATEST`. */
  readonly qualifier: $util.Output<string> | undefined;
}

export function handlerPath(fn: GuardrailFunction): string {
  return `functions/src/handlers/${fn}.handler`;
}

export function createFunctions(
  inputs: FunctionInputs,
): Record<GuardrailFunction, GuardrailLambda> {
  const { settings } = inputs;
  const org = settings.organization;
  const shared = {
    [FUNCTION_ENV.tableName]: inputs.table.name,
    [FUNCTION_ENV.topicArn]: inputs.topic.arn,
    [FUNCTION_ENV.ownRoleArns]: inputs.ownRoleArns.apply((arns) => arns.join(",")),
    [FUNCTION_ENV.policyFile]: BUNDLED_POLICY_FILE,
    [FUNCTION_ENV.policySha256]: inputs.policy.sha256,
    [FUNCTION_ENV.stage]: settings.stage,
    [FUNCTION_ENV.version]: settings.version,
    [FUNCTION_ENV.sweepRateMinutes]: String(settings.sweepRateMinutes),
    [ORG_FUNCTION_ENV.regions]: inputs.regions.join(","),
    POWERTOOLS_SERVICE_NAME: metricServiceName(settings.stage),
    POWERTOOLS_METRICS_NAMESPACE: METRICS.namespace,
  };

  const entries = GUARDRAIL_FUNCTIONS.map((name) => {
    const sizing = FUNCTION_SIZING[name];
    const acting = FUNCTION_EC2_ACTIONS[name].length > 0;
    const environment = {
      ...shared,
      ...(inputs.chainQueue && FUNCTION_DATA_ACCESS[name].audit
        ? { [FUNCTION_ENV.chainQueueUrl]: inputs.chainQueue.url }
        : {}),
      ...organizationEnvironment(name, org),
      // The parameter's name; the URL is read from SSM at cold start, never put here.
      ...(name === "slack-notifier"
        ? { [SLACK_FUNCTION_ENV.webhookParameter]: settings.slackWebhookParameter }
        : {}),
      ...(settings.securityHub && FUNCTION_DATA_ACCESS[name].audit
        ? { [SECURITY_HUB_FUNCTION_ENV.enabled]: "on" }
        : {}),
      ...inputs.environment?.[name],
    };
    const manyTargets = org !== null || inputs.regions.length > 1;
    const timeoutSeconds =
      name === "sweep" && manyTargets ? ORGANIZATION_SWEEP_TIMEOUT_SECONDS : sizing.timeoutSeconds;
    const links = acting && inputs.externalIdSecret ? [inputs.externalIdSecret] : [];
    const provisioned =
      name === "security-group-change" && settings.provisionedConcurrency > 0
        ? settings.provisionedConcurrency
        : undefined;
    const reserved = settings.reservedConcurrency
      ? Math.max(sizing.reservedConcurrency, provisioned ?? 0)
      : undefined;
    const permissions = $resolve([
      inputs.partition,
      inputs.accountId,
      inputs.table.arn,
      inputs.topic.arn,
      inputs.topicKey.arn,
      inputs.deadLetterQueue.arn,
      inputs.chainQueue?.arn ?? "",
    ]).apply(
      ([
        partition,
        accountId,
        tableArn,
        topicArn,
        topicKeyArn,
        deadLetterQueueArn,
        chainQueueArn,
      ]) =>
        functionStatements(
          name,
          {
            partition,
            region: settings.region,
            accountId,
            tableArn,
            topicArn,
            topicKeyArn,
            deadLetterQueueArn,
            ...(chainQueueArn ? { chainQueueArn } : {}),
            slackWebhookParameterArn: parameterArn(
              partition,
              settings.region,
              accountId,
              settings.slackWebhookParameter,
            ),
            // In organisation mode the hub's own role acts in its home Region only; the member
            // roles act everywhere else.
            ...(org === null ? { regions: inputs.regions } : {}),
          },
          org === null
            ? null
            : {
                orgId: org.orgId,
                memberRoleName: org.memberRoleName,
                organizationsRoleArn: org.organizationsRoleArn,
                readsOrganization: inputs.readsOrganization,
              },
          settings.securityHub,
        ),
    );

    const fn = new sst.aws.Function(componentName(name), {
      description: `Network guardrail (${settings.stage}): ${name}`,
      handler: handlerPath(name),
      runtime: "nodejs22.x",
      architecture: "arm64",
      memory: `${sizing.memoryMb} MB`,
      timeout: `${timeoutSeconds} seconds`,
      environment,
      permissions,
      // Linking a Secret adds no IAM; linking the table, topic or queue would add wildcards.
      // Only the external id secret is linked (organisation mode without GUARDRAIL_EXTERNAL_ID).
      link: links,
      copyFiles: [{ from: inputs.policy.file, to: BUNDLED_POLICY_FILE }],
      // Split chunks, the SDK schema-key rewrite and kept class names (docs/benchmarks.md).
      nodejs: { ...SST_NODEJS, esbuild: { ...SST_NODEJS.esbuild } },
      concurrency: { reserved, provisioned },
      versioning: provisioned !== undefined,
      logging: { retention: settings.protection ? "1 year" : "1 month" },
      transform: {
        role: {
          name: roleName(APP_NAME, settings.stage, settings.region, name),
          // SST's role also trusts the account root (for `sst dev`, which this app does not
          // use). Only Lambda may assume a role that can revoke rules.
          assumeRolePolicy: JSON.stringify(LAMBDA_TRUST_POLICY),
        },
      },
    });

    const lambda = fn.nodes.function;
    const qualifier = provisioned === undefined ? undefined : lambda.version;
    new aws.lambda.FunctionEventInvokeConfig(`${componentName(name)}InvokeConfig`, {
      functionName: lambda.name,
      qualifier: qualifier ?? "$LATEST",
      maximumRetryAttempts: ASYNC_RETRY_ATTEMPTS,
      // Lambda's queue keeps a throttled event this long (a 10,000-event burst in one account
      // and Region drains in about 33 minutes: bench/burst.ts).
      maximumEventAgeInSeconds: DELIVERY.maximumEventAgeSeconds,
      destinationConfig: { onFailure: { destination: inputs.deadLetterQueue.arn } },
    });

    const entry: GuardrailLambda = {
      fn,
      invokeArn: provisioned === undefined ? lambda.arn : lambda.qualifiedArn,
      qualifier,
    };
    return [name, entry] as const;
  });
  return Object.fromEntries(entries) as Record<GuardrailFunction, GuardrailLambda>;
}
