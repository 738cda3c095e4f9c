import { documentClient } from "@guardrail/aws/dynamo-client";
import { createExemptionTagger } from "@guardrail/aws/exemption-tagger";
import { createInteractionStore } from "@guardrail/aws/interactions";
import { createSlackSecretSource } from "@guardrail/aws/slack-secrets";
import { createSlackWebApi } from "@guardrail/aws/slack-web";
import { createWorkerDispatch } from "@guardrail/aws/slack-worker";
import { ConfigurationError, type GuardrailFunction, SLACK_APP_ENV } from "@guardrail/core";
import type { Context } from "aws-lambda";
import { type Env, loadConfig } from "./config";
import { defaultRemediationDeps } from "./deps";
import { withObservability } from "./middleware";
import { createObservability } from "./observability";
import { runSlackJob, type SlackWorkerDeps } from "./pipelines/slack-actions";
import {
  type HttpRequest,
  handleSlackInteraction,
  type SlackEndpointDeps,
  type SlackJob,
} from "./pipelines/slack-interactions";
import { loadSlackAppConfig, type SlackAppConfig } from "./slack-app-config";

function appConfig(env: Env, needs: "endpoint" | "worker"): SlackAppConfig {
  const app = loadSlackAppConfig(env);
  if (app === null) {
    throw new ConfigurationError(`${SLACK_APP_ENV.tokenParameter} is required by the Slack app`);
  }
  if (
    needs === "endpoint" &&
    (app.signingSecretParameter === null || app.workerFunction === null)
  ) {
    throw new ConfigurationError(
      `${SLACK_APP_ENV.signingSecretParameter} and ${SLACK_APP_ENV.workerFunction} are required by the Slack endpoint`,
    );
  }
  return app;
}

const ddbClient = documentClient();

/**
 * The endpoint's production wiring: the policy from the bundle (for `slack.approvers` and
 * `maxDays`), the signing secret and the bot token from Parameter Store (read at cold start and
 * cached), the worker invoked with `InvocationType: Event` (Lambda queues it and answers 202 at
 * once, so the endpoint acknowledges within Slack's 3 seconds).
 */
export function defaultSlackEndpointDeps(env: Env = process.env): SlackEndpointDeps {
  const observability = createObservability("slack-interactions" as GuardrailFunction, env);
  const app = appConfig(env, "endpoint");
  const config = loadConfig("security-group-change", env);
  const signingSecret = createSlackSecretSource(app.signingSecretParameter as string);
  const token = createSlackSecretSource(app.tokenParameter);
  signingSecret().catch(() => undefined);
  const worker = app.workerFunction as string;
  return {
    ...observability,
    policy: config.policy,
    signingSecret,
    slack: createSlackWebApi({ token, apiUrl: app.apiUrl, timeoutMs: 2000 }),
    store: createInteractionStore(config.tableName, ddbClient),
    dispatch: createWorkerDispatch(worker),
    clock: () => new Date(),
    version: config.version,
  };
}

/** The worker's production wiring: the remediation deps of the sweep, and the app's. */
export function defaultSlackWorkerDeps(env: Env = process.env): SlackWorkerDeps {
  const app = appConfig(env, "worker");
  // The sweep's configuration (it reads and revokes any rule of the account), logged as ours.
  const deps = defaultRemediationDeps("sweep", env);
  const token = createSlackSecretSource(app.tokenParameter);
  return {
    ...deps,
    ...createObservability("slack-actions" as GuardrailFunction, env),
    slack: createSlackWebApi({ token, apiUrl: app.apiUrl }),
    interactions: createInteractionStore(deps.config.tableName, ddbClient),
    tagger: createExemptionTagger(),
  };
}

/** The endpoint Lambda handler (function URL or API Gateway HTTP API). */
export function createSlackEndpointHandler(deps: SlackEndpointDeps) {
  return withObservability(
    (event: HttpRequest, _context: Context) => handleSlackInteraction(event, deps),
    deps,
  );
}

/** The worker Lambda handler (invoked asynchronously by the endpoint). */
export function createSlackWorkerHandler(deps: SlackWorkerDeps) {
  return withObservability((job: SlackJob, _context: Context) => runSlackJob(job, deps), deps);
}
