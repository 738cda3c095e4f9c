import {
  BUNDLED_POLICY_FILE,
  FUNCTION_ENV,
  type GuardrailFunction,
  METRICS,
  metricServiceName,
  SLACK_APP_ENV,
  SLACK_APP_SIZING,
  SLACK_FUNCTION_ENV,
  SLACK_INTERACTIONS_PATH,
  type SlackAppFunction,
} from "@guardrail/core";
import {
  APP_NAME,
  componentName,
  exemptionTagKeys,
  parameterArn,
  roleArn,
  roleName,
  SLACK_SECRET_READ_ACTIONS,
  slackAppStatements,
} from "@guardrail/templates";
import { type GuardrailLambda, LAMBDA_TRUST_POLICY, SST_NODEJS } from "./functions";
import type { PreparedPolicy } from "./policy-file";
import type { DeploySettings } from "./settings";
import type { SlackAppSettings } from "./slack-app-settings";

/** Role name of a Slack app function (the worker's is the approver role the SCP must allow). */
export function slackAppRoleName(settings: DeploySettings, fn: SlackAppFunction): string {
  return roleName(APP_NAME, settings.stage, settings.region, fn as unknown as GuardrailFunction);
}

export interface SlackAppInputs {
  readonly settings: DeploySettings;
  readonly app: SlackAppSettings;
  readonly policy: PreparedPolicy;
  readonly partition: $util.Output<string>;
  readonly accountId: $util.Output<string>;
  readonly ownRoleArns: $util.Output<string[]>;
  readonly table: aws.dynamodb.Table;
  readonly topic: aws.sns.Topic;
  readonly topicKey: aws.kms.Key;
  readonly deadLetterQueue: aws.sqs.Queue;
  readonly notifier: GuardrailLambda;
}

/**
 * The Slack app: the worker (the approver role), the signed interaction endpoint behind a
 * function URL or an API Gateway HTTP API, and the notifier's read of the bot token. The token
 * and the signing secret stay in Parameter Store: the functions get the parameters' names.
 */
export function createSlackApp(inputs: SlackAppInputs) {
  const { settings, app } = inputs;
  const shared = {
    [FUNCTION_ENV.tableName]: inputs.table.name,
    [FUNCTION_ENV.topicArn]: inputs.topic.arn,
    [FUNCTION_ENV.ownRoleArns]: inputs.ownRoleArns.apply((arns) => arns.join(",")),
    [FUNCTION_ENV.policyFile]: BUNDLED_POLICY_FILE,
    [FUNCTION_ENV.policySha256]: inputs.policy.sha256,
    [FUNCTION_ENV.stage]: settings.stage,
    [FUNCTION_ENV.version]: settings.version,
    [SLACK_APP_ENV.tokenParameter]: app.tokenParameter,
    POWERTOOLS_SERVICE_NAME: metricServiceName(settings.stage),
    POWERTOOLS_METRICS_NAMESPACE: METRICS.namespace,
  };
  const scopeOf = (workerArn: $util.Input<string>) =>
    $resolve([
      inputs.partition,
      inputs.accountId,
      inputs.table.arn,
      inputs.topic.arn,
      inputs.topicKey.arn,
      inputs.deadLetterQueue.arn,
      workerArn,
    ]).apply(([partition, accountId, tableArn, topicArn, topicKeyArn, dlq, worker]) => ({
      partition,
      region: settings.region,
      accountId,
      tableArn,
      topicArn,
      topicKeyArn,
      deadLetterQueueArn: dlq,
      slackWebhookParameterArn: parameterArn(
        partition,
        settings.region,
        accountId,
        settings.slackWebhookParameter,
      ),
      slackTokenParameterArn: parameterArn(
        partition,
        settings.region,
        accountId,
        app.tokenParameter,
      ),
      slackSigningSecretParameterArn: parameterArn(
        partition,
        settings.region,
        accountId,
        app.signingSecretParameter,
      ),
      workerFunctionArn: worker,
      exemptionTagKeys: exemptionTagKeys(inputs.policy.policy),
    }));

  const make = (
    fn: SlackAppFunction,
    environment: Record<string, $util.Input<string>>,
    workerArn: $util.Input<string>,
    url: boolean,
  ) =>
    new sst.aws.Function(componentName(fn as unknown as GuardrailFunction), {
      description: `Network guardrail (${settings.stage}): ${fn}`,
      handler: `functions/src/handlers/${fn}.handler`,
      runtime: "nodejs22.x",
      architecture: "arm64",
      memory: `${SLACK_APP_SIZING[fn].memoryMb} MB`,
      timeout: `${SLACK_APP_SIZING[fn].timeoutSeconds} seconds`,
      environment: { ...shared, ...environment },
      permissions: scopeOf(workerArn).apply((scope) => slackAppStatements(fn, scope)),
      link: [],
      // Slack signs the request; the endpoint verifies it before reading anything. IAM auth
      // would need Slack to sign with AWS credentials, which it cannot.
      ...(url ? { url: { authorization: "none" as const } } : {}),
      copyFiles: [{ from: inputs.policy.file, to: BUNDLED_POLICY_FILE }],
      nodejs: { ...SST_NODEJS, esbuild: { ...SST_NODEJS.esbuild } },
      logging: { retention: settings.protection ? "1 year" : "1 month" },
      transform: {
        role: {
          name: slackAppRoleName(settings, fn),
          assumeRolePolicy: JSON.stringify(LAMBDA_TRUST_POLICY),
        },
      },
    });

  const worker = make("slack-actions", {}, "", false);
  // The endpoint invokes the worker asynchronously; Lambda retries a failed job twice, which a
  // press must not be: one attempt, and the worker records and shows its own failures.
  new aws.lambda.FunctionEventInvokeConfig("SlackActionsInvokeConfig", {
    functionName: worker.nodes.function.name,
    qualifier: "$LATEST",
    maximumRetryAttempts: 0,
    destinationConfig: { onFailure: { destination: inputs.deadLetterQueue.arn } },
  });
  const endpoint = make(
    "slack-interactions",
    {
      [SLACK_APP_ENV.signingSecretParameter]: app.signingSecretParameter,
      [SLACK_APP_ENV.workerFunction]: worker.nodes.function.name,
    },
    worker.nodes.function.arn,
    app.endpoint === "function-url",
  );

  // The notifier posts with the bot token: it may read that parameter too.
  new aws.iam.RolePolicy(
    "SlackNotifierTokenRead",
    {
      role: roleName(APP_NAME, settings.stage, settings.region, "slack-notifier"),
      policy: $resolve([inputs.partition, inputs.accountId]).apply(([partition, accountId]) =>
        JSON.stringify({
          Version: "2012-10-17",
          Statement: [
            {
              Effect: "Allow",
              Action: [...SLACK_SECRET_READ_ACTIONS],
              Resource: [parameterArn(partition, settings.region, accountId, app.tokenParameter)],
            },
          ],
        }),
      ),
    },
    { dependsOn: [inputs.notifier.fn] },
  );

  let url: $util.Output<string>;
  if (app.endpoint === "api-gateway") {
    const api = new sst.aws.ApiGatewayV2("SlackInteractionsApi");
    api.route(`POST ${SLACK_INTERACTIONS_PATH}`, endpoint.arn);
    url = api.url.apply((base) => `${base.replace(/\/$/, "")}${SLACK_INTERACTIONS_PATH}`);
  } else {
    url = endpoint.url.apply((base) => `${base.replace(/\/$/, "")}${SLACK_INTERACTIONS_PATH}`);
  }
  const workerRoleArn = $resolve([inputs.partition, inputs.accountId]).apply(([p, account]) =>
    roleArn(p, account, slackAppRoleName(settings, "slack-actions")),
  );
  return { endpoint, worker, url, workerRoleArn };
}

/** The notifier's environment in app mode: the token parameter's name and the channel. */
export function slackNotifierEnvironment(app: SlackAppSettings, settings: DeploySettings) {
  return {
    [SLACK_APP_ENV.tokenParameter]: app.tokenParameter,
    [SLACK_APP_ENV.channel]: app.channel,
    [SLACK_FUNCTION_ENV.webhookParameter]: settings.slackWebhookParameter,
  };
}
