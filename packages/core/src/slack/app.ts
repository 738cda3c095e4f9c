import { FUNCTION_EC2_ACTIONS, type LambdaSizing, NOTIFIERS } from "../registry";

/**
 * The Slack app's load-bearing facts, shared by the functions, the infra, the sandbox and the
 * manifest in docs/slack.md (a test holds the manifest to these).
 */

/** Slack Web API methods the guardrail calls, and the bot scope each needs. */
export const SLACK_WEB_API_SCOPES = {
  "chat.postMessage": "chat:write",
  "chat.update": "chat:write",
  // views.open needs no scope: the trigger_id of a press is the permission.
  "views.open": null,
  "usergroups.users.list": "usergroups:read",
} as const satisfies Record<string, string | null>;
export type SlackWebApiMethod = keyof typeof SLACK_WEB_API_SCOPES;

/** The bot scopes the app needs: exactly those of the methods it calls. */
export function slackBotScopes(): string[] {
  const scopes: readonly (string | null)[] = Object.values(SLACK_WEB_API_SCOPES);
  return [...new Set(scopes.filter((s): s is string => s !== null))].sort();
}

/**
 * Environment of the Slack app's functions. The token and the signing secret are never in the
 * environment: these name the SSM SecureString parameters that hold them.
 */
export const SLACK_APP_ENV = {
  tokenParameter: NOTIFIERS["slack-app"].secret.env,
  signingSecretParameter: "GUARDRAIL_SLACK_SIGNING_SECRET_PARAMETER",
  /** The channel id the notifier posts to with the bot token. */
  channel: "GUARDRAIL_SLACK_CHANNEL",
  /** The Web API's base URL (the sandbox's local Slack); default Slack's. */
  apiUrl: "GUARDRAIL_SLACK_API_URL",
  /** The worker the endpoint hands presses to (asynchronous Lambda invoke). */
  workerFunction: "GUARDRAIL_SLACK_WORKER_FUNCTION",
} as const;

export const SLACK_API_URL = "https://slack.com/api";

/**
 * Default name of the signing secret's SecureString parameter (the bot token's is the
 * `slack-app` channel's, `slackTokenParameterName`).
 *
 * @example
 * slackSigningSecretParameterName("prod") // "/network-guardrail/prod/slack-signing-secret"
 */
export function slackSigningSecretParameterName(stage: string): string {
  return `/network-guardrail/${stage}/slack-signing-secret`;
}

/** The app's two functions: the signed endpoint Slack calls, and the worker that acts. */
export const SLACK_APP_FUNCTIONS = ["slack-interactions", "slack-actions"] as const;
export type SlackAppFunction = (typeof SLACK_APP_FUNCTIONS)[number];

/**
 * How the app's functions are sized. The endpoint must answer within Slack's 3 seconds
 * (Slack: "Handling user interaction", acknowledgment response): it verifies, records the
 * nonce, opens a modal or hands over, and returns; the worker does the slow part.
 */
export const SLACK_APP_SIZING: Record<SlackAppFunction, LambdaSizing> = {
  "slack-interactions": { memoryMb: 512, timeoutSeconds: 10 },
  "slack-actions": { memoryMb: 512, timeoutSeconds: 90 },
};

/** How Slack reaches the endpoint: a Lambda function URL, or API Gateway (HTTP API). */
export const SLACK_ENDPOINT_KINDS = ["function-url", "api-gateway"] as const;
export type SlackEndpointKind = (typeof SLACK_ENDPOINT_KINDS)[number];

/** The path of the interactivity request URL under the endpoint's base URL. */
export const SLACK_INTERACTIONS_PATH = "/slack/interactions";

/**
 * EC2 actions of the worker: "Remediate now" reads one resource's current state and revokes
 * through the sweep's planner, so it needs the sweep's actions. `ec2:CreateTags` is granted
 * apart, limited by `aws:TagKeys` and `aws:RequestTag/<key>` to the exemption tag keys.
 */
export const SLACK_WORKER_EC2_ACTIONS: readonly string[] = FUNCTION_EC2_ACTIONS.sweep;

/** The deploy output naming the interactivity request URL to give Slack. */
export const SLACK_APP_OUTPUT = "slackInteractionsUrl";
