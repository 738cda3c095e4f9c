import {
  type GuardrailFunction,
  policyNarrows,
  SLACK_APP_ENV,
  SLACK_APP_SIZING,
  SLACK_INTERACTIONS_PATH,
  type SlackAppFunction,
} from "@guardrail/core";
import {
  APP_NAME,
  exemptionTagKeys,
  parameterArn,
  roleArn,
  roleName,
  slackAppStatements,
} from "@guardrail/templates";
import {
  type AccountResources,
  baseEnvironment,
  guardrailFunction,
  resolvedScope,
} from "./functions";
import type { DeploySettings } from "./settings";
import type { SlackAppSettings } from "./slack-app-settings";

/** Role name of a Slack app function (the worker's is the approver role the SCP must allow). */
export function slackAppRoleName(settings: DeploySettings, fn: SlackAppFunction): string {
  return roleName(APP_NAME, settings.stage, settings.region, fn as unknown as GuardrailFunction);
}

export interface SlackAppInputs extends AccountResources {
  readonly app: SlackAppSettings;
}

/**
 * The Slack app: the worker (the approver role) and the signed interaction endpoint behind a
 * function URL or an API Gateway HTTP API. The signing secret stays in Parameter Store: the
 * endpoint gets the parameter's name. The notifier's read of the bot token is the `slack-app`
 * channel's (stacks/notifiers.ts).
 */
export function createSlackApp(inputs: SlackAppInputs) {
  const { settings, app } = inputs;
  const shared = {
    ...baseEnvironment(inputs),
    [SLACK_APP_ENV.tokenParameter]: app.tokenParameter,
  };
  const make = (
    fn: SlackAppFunction,
    environment: Record<string, $util.Input<string>>,
    workerArn: $util.Input<string>,
    url: boolean,
  ) =>
    guardrailFunction(inputs, fn, SLACK_APP_SIZING[fn], {
      environment: { ...shared, ...environment },
      permissions: resolvedScope(inputs, { workerFunctionArn: workerArn }).apply((scope) =>
        slackAppStatements(fn, {
          ...scope,
          slackTokenParameterArn: parameterArn(
            scope.partition,
            settings.region,
            scope.accountId,
            app.tokenParameter,
          ),
          slackSigningSecretParameterArn: parameterArn(
            scope.partition,
            settings.region,
            scope.accountId,
            app.signingSecretParameter,
          ),
          exemptionTagKeys: exemptionTagKeys(inputs.policy.policy),
          narrowing: policyNarrows(inputs.policy.policy),
        }),
      ),
      roleName: slackAppRoleName(settings, fn),
      // Slack signs the request; the endpoint verifies it before reading anything. IAM auth
      // would need Slack to sign with AWS credentials, which it cannot.
      ...(url ? { url: { authorization: "none" as const } } : {}),
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

/** The notifier's environment in app mode besides its channels' parameters: the channel id. */
export function slackNotifierEnvironment(app: SlackAppSettings) {
  return { [SLACK_APP_ENV.channel]: app.channel };
}
