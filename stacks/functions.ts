import {
  BUNDLED_POLICY_FILE,
  DELIVERY,
  type EvidenceFunction,
  FUNCTION_DATA_ACCESS,
  FUNCTION_EC2_ACTIONS,
  FUNCTION_ENV,
  FUNCTION_SIZING,
  GUARDRAIL_FUNCTIONS,
  type GuardrailFunction,
  METRICS,
  metricServiceName,
  notifierEnvironment,
  ORG_FUNCTION_ENV,
  policyNarrows,
  SECURITY_HUB_FUNCTION_ENV,
  type SlackAppFunction,
  type SweepFanOutFunction,
} from "@guardrail/core";
import {
  APP_NAME,
  componentName,
  functionStatements,
  roleName,
  type Statement,
} from "@guardrail/templates";
import { SST_NODEJS } from "../functions/build/esbuild.mjs";

import { type NotifierParameters, notifierParameterArns } from "./notifiers";
import { ORGANIZATION_SWEEP_TIMEOUT_SECONDS, organizationEnvironment } from "./organization";
import type { PreparedPolicy } from "./policy-file";
import type { DeploySettings } from "./settings";
import type { DeployTarget } from "./target";

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

/** The account-wide resources every function's role and environment point at. */
export interface AccountResources extends DeployTarget {
  readonly policy: PreparedPolicy;
  readonly ownRoleArns: $util.Output<string[]>;
  readonly table: aws.dynamodb.Table;
  readonly topic: aws.sns.Topic;
  readonly topicKey: aws.kms.Key;
  readonly deadLetterQueue: aws.sqs.Queue;
  /** The secret parameters of the notification channels on at this deploy (stacks/notifiers.ts). */
  readonly notifierParameters: NotifierParameters;
}

export interface FunctionInputs extends AccountResources {
  /** The chain writer's FIFO queue: the decision writers send each record there. */
  readonly chainQueue?: aws.sqs.Queue;
  /** Organisation mode without an inline external id: linked to the functions that assume. */
  readonly externalIdSecret?: sst.Secret;
  /** Whether the shipped policy scopes by account tag, OU or OU tag. */
  readonly readsOrganization: boolean;
  /** The covered Regions, the home Region first (resolved at deploy: `coveredRegions`). */
  readonly regions: readonly string[];
  /** More environment per function (the self-monitoring's settings). */
  readonly environment?: Partial<Record<GuardrailFunction, Record<string, $util.Input<string>>>>;
}

export interface GuardrailLambda {
  readonly fn: sst.aws.Function;
  /** What invokers target: the published version when provisioned concurrency is on. */
  readonly invokeArn: $util.Output<string>;
  /** The version to grant invoke permission on, or undefined for `$LATEST`. */
  readonly qualifier: $util.Output<string> | undefined;
}

export function handlerPath(fn: string): string {
  return `functions/src/handlers/${fn}.handler`;
}

/** The environment every function of the stack shares. */
export function baseEnvironment(inputs: AccountResources) {
  const { settings } = inputs;
  return {
    [FUNCTION_ENV.tableName]: inputs.table.name,
    [FUNCTION_ENV.topicArn]: inputs.topic.arn,
    [FUNCTION_ENV.ownRoleArns]: inputs.ownRoleArns.apply((arns) => arns.join(",")),
    [FUNCTION_ENV.policyFile]: BUNDLED_POLICY_FILE,
    [FUNCTION_ENV.policySha256]: inputs.policy.sha256,
    [FUNCTION_ENV.stage]: settings.stage,
    [FUNCTION_ENV.version]: settings.version,
    POWERTOOLS_SERVICE_NAME: metricServiceName(settings.stage),
    POWERTOOLS_METRICS_NAMESPACE: METRICS.namespace,
  };
}

/**
 * Where every role's grants point (templates' `PermissionScope`), resolved, with `more` ARNs of
 * the caller's own (resolved together).
 */
export function resolvedScope<const More extends Record<string, $util.Input<string>>>(
  inputs: AccountResources,
  more: More,
) {
  const { settings } = inputs;
  const keys = Object.keys(more);
  return $resolve([
    inputs.partition,
    inputs.accountId,
    inputs.table.arn,
    inputs.topic.arn,
    inputs.topicKey.arn,
    inputs.deadLetterQueue.arn,
    ...keys.map((key) => more[key] as $util.Input<string>),
  ]).apply(
    ([partition, accountId, tableArn, topicArn, topicKeyArn, deadLetterQueueArn, ...rest]) => ({
      partition,
      region: settings.region,
      accountId,
      tableArn,
      topicArn,
      topicKeyArn,
      deadLetterQueueArn,
      // The `slack` channel is always on, so notifierParameterArns sets it; left empty,
      // notifierSecretStatements refuses to grant it.
      slackWebhookParameterArn: "",
      ...notifierParameterArns(partition, settings.region, accountId, inputs.notifierParameters),
      ...(Object.fromEntries(keys.map((key, i) => [key, rest[i]])) as {
        [K in keyof More]: string;
      }),
    }),
  );
}

/** A function of the app: its handler by name, and what `sizing` gives it. */
export type AppFunction =
  | GuardrailFunction
  | EvidenceFunction
  | SweepFanOutFunction
  | SlackAppFunction;

/**
 * The arguments every Lambda of the app shares (handler, runtime, size, bundling, log
 * retention); `args` adds its environment, grants or role.
 */
export function appFunction(
  settings: DeploySettings,
  name: AppFunction,
  sizing: { readonly memoryMb: number; readonly timeoutSeconds: number },
  args: Omit<sst.aws.FunctionArgs, "handler">,
): sst.aws.Function {
  return new sst.aws.Function(componentName(name), {
    description: `Network guardrail (${settings.stage}): ${name}`,
    handler: handlerPath(name),
    runtime: "nodejs22.x",
    architecture: "arm64",
    memory: `${sizing.memoryMb} MB`,
    timeout: `${sizing.timeoutSeconds} seconds`,
    // Split chunks, the SDK schema-key rewrite and kept class names (docs/benchmarks.md).
    nodejs: { ...SST_NODEJS, esbuild: { ...SST_NODEJS.esbuild } },
    logging: { retention: settings.protection ? "1 year" : "1 month" },
    ...args,
  });
}

/**
 * SST's role also trusts the account root (for `sst dev`, which this app does not use). Only
 * Lambda may assume a role that can revoke rules: the role transform of every function that has
 * a role of its own, named `name` when given.
 */
export function lambdaRole(name?: string) {
  return {
    ...(name === undefined ? {} : { name }),
    assumeRolePolicy: JSON.stringify(LAMBDA_TRUST_POLICY),
  };
}

/**
 * One Lambda with a role of its own, loading the shipped policy, as every function of the
 * stack is built; `options` adds to SST's arguments.
 */
export function guardrailFunction(
  inputs: AccountResources,
  name: AppFunction,
  sizing: { readonly memoryMb: number; readonly timeoutSeconds: number },
  options: {
    readonly environment: Record<string, $util.Input<string>>;
    readonly permissions: $util.Output<Statement[]>;
    readonly roleName: string;
  } & Omit<sst.aws.FunctionArgs, "environment" | "permissions" | "handler">,
): sst.aws.Function {
  const { environment, permissions, roleName: role, ...more } = options;
  return appFunction(inputs.settings, name, sizing, {
    environment,
    permissions,
    // Linking a Secret adds no IAM; linking the table, topic or queue would add wildcards.
    link: [],
    copyFiles: [{ from: inputs.policy.file, to: BUNDLED_POLICY_FILE }],
    ...more,
    transform: { role: lambdaRole(role) },
  });
}

export function createFunctions(
  inputs: FunctionInputs,
): Record<GuardrailFunction, GuardrailLambda> {
  const { settings } = inputs;
  const org = settings.organization;
  const shared = {
    ...baseEnvironment(inputs),
    [FUNCTION_ENV.sweepRateMinutes]: String(settings.sweepRateMinutes),
    [ORG_FUNCTION_ENV.regions]: inputs.regions.join(","),
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
      // The parameters' names; the secrets are read from SSM at cold start, never put here.
      ...notifierEnvironment(name, inputs.notifierParameters),
      ...(settings.securityHub && FUNCTION_DATA_ACCESS[name].audit
        ? { [SECURITY_HUB_FUNCTION_ENV.enabled]: "on" }
        : {}),
      ...inputs.environment?.[name],
    };
    const manyTargets = org !== null || inputs.regions.length > 1;
    const timeoutSeconds =
      name === "sweep" && manyTargets ? ORGANIZATION_SWEEP_TIMEOUT_SECONDS : sizing.timeoutSeconds;
    const provisioned =
      name === "security-group-change" && settings.provisionedConcurrency > 0
        ? settings.provisionedConcurrency
        : undefined;
    const reserved = settings.reservedConcurrency
      ? Math.max(sizing.reservedConcurrency, provisioned ?? 0)
      : undefined;
    const permissions = resolvedScope(inputs, {
      chainQueueArn: inputs.chainQueue?.arn ?? "",
    }).apply(({ chainQueueArn, ...scope }) =>
      functionStatements(
        name,
        {
          ...scope,
          ...(chainQueueArn ? { chainQueueArn } : {}),
          narrowing: policyNarrows(inputs.policy.policy),
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

    const fn = guardrailFunction(
      inputs,
      name,
      { memoryMb: sizing.memoryMb, timeoutSeconds },
      {
        environment,
        permissions,
        roleName: roleName(APP_NAME, settings.stage, settings.region, name),
        // Only the external id secret is linked (organisation mode without
        // GUARDRAIL_EXTERNAL_ID).
        link: acting && inputs.externalIdSecret ? [inputs.externalIdSecret] : [],
        concurrency: { reserved, provisioned },
        versioning: provisioned !== undefined,
      },
    );

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
