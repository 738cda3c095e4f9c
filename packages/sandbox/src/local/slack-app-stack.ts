import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import type { LogLevel } from "@aws-lambda-powertools/logger/types";
import type { EC2Client } from "@aws-sdk/client-ec2";
import type { SSMClient } from "@aws-sdk/client-ssm";
import type { DynamoDBDocumentClient } from "@aws-sdk/lib-dynamodb";
import {
  createExemptionTagger,
  createInteractionStore,
  createSlackSecretSource,
  createSlackWebApi,
  createWebhookSource,
} from "@guardrail/aws";
import {
  FUNCTION_ENV,
  type GuardrailFunction,
  SLACK_APP_ENV,
  SLACK_FUNCTION_ENV,
  SLACK_INTERACTIONS_PATH,
  slackSigningSecretParameterName,
  slackTokenParameterName,
} from "@guardrail/core";
import {
  createSlackEndpointHandler,
  createSlackWorkerHandler,
  type Env,
  type HttpResponse,
  loadConfig,
  type PolicyFiles,
  type RemediationDeps,
  type SlackJob,
  slackAppNotifier,
} from "@guardrail/functions";
import type { Context } from "aws-lambda";
import { readBody } from "../http";
import { lambdaContext } from "./lambda-context";
import { localObservability } from "./observability";
import type { SlackReceiver } from "./slack";
import type { LocalSsm } from "./ssm";

/** The sandbox Slack app's bot token and signing secret (local only, in the local SSM). */
export const LOCAL_SLACK_TOKEN = "xoxb-local-sandbox-token";
export const LOCAL_SLACK_SIGNING_SECRET = "local-sandbox-signing-secret";
/** The channel the sandbox's bot posts to. */
export const LOCAL_SLACK_CHANNEL = "C0SANDBOX01";

export interface LocalSlackAppStack {
  /** The interactivity request URL (the local endpoint). */
  readonly interactionsUrl: string;
  /** The notifier's Slack wiring in app mode. */
  readonly notifier: NonNullable<ReturnType<typeof slackAppNotifier>>;
  /** Resolves when every job handed to the worker so far has finished. */
  idle(): Promise<void>;
  close(): Promise<void>;
}

/**
 * The Slack app in the sandbox, wired as deployed: the token and signing secret as SecureString
 * parameters in the local SSM, the notifier posting with the token, the endpoint behind a local
 * HTTP server (as a function URL delivers requests), and the worker run asynchronously, as the
 * endpoint's `InvocationType: Event` invoke would.
 */
export async function startLocalSlackAppStack(input: {
  readonly host: string;
  readonly stage: string;
  readonly accountId: string;
  readonly region: string;
  readonly slack: SlackReceiver;
  readonly ssm: LocalSsm;
  readonly ssmClient: SSMClient;
  readonly documentClient: DynamoDBDocumentClient;
  readonly env: Env;
  readonly files: PolicyFiles;
  readonly webhookParameter: string;
  /** The worker's remediation deps (the sweep's: it reads and revokes any rule). */
  readonly workerDeps: () => RemediationDeps;
  /** An EC2 client signed as the worker's (approver) role. */
  readonly workerEc2: EC2Client;
  readonly functionNames: Readonly<Record<"slack-interactions" | "slack-actions", string>>;
  readonly logLevel: LogLevel;
}): Promise<LocalSlackAppStack> {
  const { slack, ssm } = input;
  if (slack.app === undefined || slack.apiUrl === undefined) {
    throw new Error("the local Slack was started without the app");
  }
  const tokenParameter = slackTokenParameterName(input.stage);
  const secretParameter = slackSigningSecretParameterName(input.stage);
  ssm.put({ name: tokenParameter, value: LOCAL_SLACK_TOKEN, type: "SecureString" });
  ssm.put({ name: secretParameter, value: LOCAL_SLACK_SIGNING_SECRET, type: "SecureString" });
  const appEnv: Env = {
    [SLACK_APP_ENV.tokenParameter]: tokenParameter,
    [SLACK_APP_ENV.signingSecretParameter]: secretParameter,
    [SLACK_APP_ENV.channel]: LOCAL_SLACK_CHANNEL,
    [SLACK_APP_ENV.apiUrl]: slack.apiUrl,
    [SLACK_FUNCTION_ENV.webhookParameter]: input.webhookParameter,
    [FUNCTION_ENV.stage]: input.stage,
    [FUNCTION_ENV.version]: "sandbox",
  };
  const secret = (name: string) => createSlackSecretSource(name, { client: input.ssmClient });
  const notifierObservability = localObservability("slack-notifier", input.stage, input.logLevel);
  const notifier = slackAppNotifier(appEnv, notifierObservability.logger, {
    secret,
    webhook: (name) => createWebhookSource(name, { client: input.ssmClient }),
  });
  if (notifier === null) throw new Error("the Slack app configuration did not load");

  const api = createSlackWebApi({ token: secret(tokenParameter), apiUrl: slack.apiUrl });
  const store = createInteractionStore(
    loadConfig("security-group-change", input.env, input.files).tableName,
    async () => input.documentClient,
  );
  const worker = createSlackWorkerHandler({
    ...input.workerDeps(),
    ...localObservability("slack-actions" as GuardrailFunction, input.stage, input.logLevel),
    slack: api,
    interactions: store,
    tagger: createExemptionTagger(input.workerEc2),
  });
  const context = (fn: "slack-interactions" | "slack-actions"): Context =>
    lambdaContext(fn, input.functionNames[fn], {
      accountId: input.accountId,
      region: input.region,
    });
  const pending = new Set<Promise<unknown>>();
  const endpointObservability = localObservability(
    "slack-interactions" as GuardrailFunction,
    input.stage,
    input.logLevel,
  );
  const endpoint = createSlackEndpointHandler({
    ...endpointObservability,
    policy: loadConfig("security-group-change", input.env, input.files).policy,
    signingSecret: secret(secretParameter),
    slack: api,
    store,
    // As an asynchronous invoke: queued, answered at once, run after.
    dispatch: async (job: SlackJob) => {
      const copy = JSON.parse(JSON.stringify(job)) as SlackJob;
      const run = new Promise<void>((r) => setImmediate(r))
        .then(() => worker(copy, context("slack-actions")))
        .catch(() => undefined)
        .finally(() => pending.delete(run));
      pending.add(run);
    },
    clock: () => new Date(),
    version: "sandbox",
  });

  const server: Server = createServer((req, res) => {
    void (async () => {
      if (req.method !== "POST" || req.url !== SLACK_INTERACTIONS_PATH) {
        res.writeHead(404).end();
        return;
      }
      const body = await readBody(req, 1024 * 1024);
      const headers: Record<string, string> = {};
      for (const [k, v] of Object.entries(req.headers)) if (typeof v === "string") headers[k] = v;
      let response: HttpResponse;
      try {
        response = (await endpoint(
          { headers, body, requestContext: { http: { sourceIp: req.socket.remoteAddress ?? "" } } },
          context("slack-interactions"),
        )) as HttpResponse;
      } catch (error) {
        endpointObservability.logger.error("the endpoint failed", { error });
        response = { statusCode: 500, body: "internal error" };
      }
      res.writeHead(response.statusCode, response.headers ?? {});
      res.end(response.body);
    })();
  });
  await new Promise<void>((resolve) => server.listen(0, input.host, () => resolve()));
  const { port } = server.address() as AddressInfo;
  const interactionsUrl = `http://${input.host}:${port}${SLACK_INTERACTIONS_PATH}`;
  slack.app.connectInteractions(interactionsUrl);
  return {
    interactionsUrl,
    notifier,
    async idle() {
      while (pending.size > 0) await Promise.allSettled([...pending]);
    },
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}
