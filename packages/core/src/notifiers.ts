/**
 * The notification channels, as data. The infra reads this table to build each channel's
 * function, environment, topic subscription, secret grant and alarm; the sandbox reads it to
 * subscribe the same functions to its local topic. A channel's renderer lives in
 * `report/<channel>.ts` and its poster in `@guardrail/aws`; neither is named here, so that this
 * module imports nothing but the leaf switch rule (registry.ts derives the function list from it).
 */

import { readSwitch } from "./switch";

/**
 * An SSM SecureString parameter a channel's poster reads at cold start. The value never enters
 * the environment: the function gets the parameter's name.
 */
export interface NotifierSecret {
  /** The function's environment variable holding the parameter's name. */
  readonly env: string;
  /** The deploy setting that names the parameter; unset, `defaultName(stage)`. */
  readonly deployEnv: string;
  readonly defaultName: (stage: string) => string;
  /**
   * The `PermissionScope` field carrying the parameter's ARN (templates/permissions.ts), for a
   * channel that is always on: its read is part of the function's own policy.
   */
  readonly scopeKey: `${string}ParameterArn`;
  /**
   * Short name of the secret: a channel turned on by a deploy switch gets its read as a separate
   * role policy, `<Function>` + capitalised name + `Read` (`SlackNotifierTokenRead`).
   */
  readonly name: string;
}

/** A channel whose function is subscribed to the guardrail's SNS topic. */
export interface TopicNotifier {
  readonly delivery: "topic";
  /** The subscribed function (`functions/src/handlers/<function>.ts`), a key of NOTIFIER_FUNCTIONS. */
  readonly function: NotifierFunction;
  readonly secret: NotifierSecret;
  /** The deploy switch (`on`/`off`) that turns the channel on; null: always on. */
  readonly switch: string | null;
}

/**
 * A channel the deciding functions post to themselves, after the record step, when core's
 * `nextStep()` says publish (`functions/src/pipelines/record.ts` and the sweep's record step).
 */
export interface AfterRecordNotifier {
  readonly delivery: "after-record";
  /** The switch, read by both the deploy and the deciding functions (`on`/`off`). */
  readonly switch: string;
}

export type NotifierSpec = TopicNotifier | AfterRecordNotifier;

/** Sizing of a subscribed function; see FUNCTION_SIZING for the reasoning behind the numbers. */
export interface NotifierFunctionSpec {
  readonly memoryMb: number;
  readonly timeoutSeconds: number;
  readonly reservedConcurrency: number;
}

/**
 * The SNS-subscribed functions. Each is a GuardrailFunction with no EC2 action, no decision
 * record and no publish; registry.ts appends them to GUARDRAIL_FUNCTIONS.
 */
export const NOTIFIER_FUNCTIONS = {
  // Slack's Retry-After waits (SLACK_DIGEST.maxRetryAfterWaitMs) and the digest's wait for the
  // end of its window; low concurrency because Slack webhooks accept about one message per
  // second.
  "slack-notifier": { memoryMb: 256, timeoutSeconds: 180, reservedConcurrency: 5 },
} as const satisfies Record<string, NotifierFunctionSpec>;
export type NotifierFunction = keyof typeof NOTIFIER_FUNCTIONS;

/**
 * The Slack notifier's settings. The webhook URL itself is never in the environment: the
 * notifier reads it from this SSM parameter (SecureString) at cold start.
 */
export const SLACK_FUNCTION_ENV = {
  webhookParameter: "GUARDRAIL_SLACK_WEBHOOK_PARAMETER",
} as const;

/**
 * Default name of the SecureString parameter holding the Slack incoming-webhook URL.
 *
 * @example
 * slackWebhookParameterName("prod"); // "/network-guardrail/prod/slack-webhook-url"
 */
export function slackWebhookParameterName(stage: string): string {
  return `/network-guardrail/${stage}/slack-webhook-url`;
}

/**
 * Default name of the SecureString parameter holding the Slack app's bot token.
 *
 * @example
 * slackTokenParameterName("prod") // "/network-guardrail/prod/slack-bot-token"
 */
export function slackTokenParameterName(stage: string): string {
  return `/network-guardrail/${stage}/slack-bot-token`;
}

/**
 * The channels.
 * - `slack`: the topic's messages as Block Kit to an incoming webhook (`report/slack.ts`,
 *   `@guardrail/aws` `slack.ts`), folding bursts into digests (`slack-digest.ts`).
 * - `slack-app`: the same function posting with the Slack app's bot token instead, with buttons
 *   (`slack/app.ts`, `@guardrail/aws` `slack-web.ts`), when the app is on.
 * - `security-hub`: the deciding functions import their findings (`report/security-hub.ts`,
 *   `@guardrail/aws` `security-hub.ts`).
 */
export const NOTIFIERS = {
  slack: {
    delivery: "topic",
    function: "slack-notifier",
    secret: {
      env: SLACK_FUNCTION_ENV.webhookParameter,
      deployEnv: "GUARDRAIL_SLACK_WEBHOOK_PARAMETER",
      defaultName: slackWebhookParameterName,
      scopeKey: "slackWebhookParameterArn",
      name: "webhook",
    },
    switch: null,
  },
  "slack-app": {
    delivery: "topic",
    function: "slack-notifier",
    secret: {
      env: "GUARDRAIL_SLACK_TOKEN_PARAMETER",
      deployEnv: "GUARDRAIL_SLACK_TOKEN_PARAMETER",
      defaultName: slackTokenParameterName,
      scopeKey: "slackTokenParameterArn",
      name: "token",
    },
    switch: "GUARDRAIL_SLACK_APP",
  },
  "security-hub": { delivery: "after-record", switch: "GUARDRAIL_SECURITY_HUB" },
} as const satisfies Record<string, NotifierSpec>;
export type NotifierChannel = keyof typeof NOTIFIERS;

/** The channels whose function is subscribed to the topic. */
export function topicNotifiers(): [NotifierChannel, TopicNotifier][] {
  return (Object.entries(NOTIFIERS) as [NotifierChannel, NotifierSpec][]).filter(
    (entry): entry is [NotifierChannel, TopicNotifier] => entry[1].delivery === "topic",
  );
}

/** The topic channels one function posts for. */
export function channelsOf(fn: string): [NotifierChannel, TopicNotifier][] {
  return topicNotifiers().filter(([, spec]) => spec.function === fn);
}

/**
 * The name of a channel's secret parameter at deploy: its deploy setting, or the stage's default.
 *
 * @example
 * notifierParameterName(NOTIFIERS.slack.secret, "prod", {});
 * // "/network-guardrail/prod/slack-webhook-url"
 */
export function notifierParameterName(
  secret: NotifierSecret,
  stage: string,
  env: Readonly<Record<string, string | undefined>>,
): string {
  return env[secret.deployEnv]?.trim() || secret.defaultName(stage);
}

/**
 * Whether a notifier is on: always without a switch, else its switch read by the one switch rule
 * (`readSwitch`, default off), the same the deploy's settings and the functions read it with.
 *
 * @throws ConfigurationError for a switch that is neither on nor off.
 */
export function notifierEnabled(
  spec: NotifierSpec,
  env: Readonly<Record<string, string | undefined>>,
): boolean {
  return spec.switch === null || readSwitch(env, spec.switch, false);
}

/**
 * A notifier's environment: the names (never the values) of the secret parameters of its
 * channels that are on (`parameters`: channel → parameter name).
 *
 * @example
 * notifierEnvironment("slack-notifier", { slack: "/network-guardrail/prod/slack-webhook-url" });
 * // { GUARDRAIL_SLACK_WEBHOOK_PARAMETER: "/network-guardrail/prod/slack-webhook-url" }
 */
export function notifierEnvironment(
  fn: string,
  parameters: Partial<Record<NotifierChannel, string>>,
): Record<string, string> {
  const environment: Record<string, string> = {};
  for (const [channel, spec] of channelsOf(fn)) {
    const name = parameters[channel];
    if (name !== undefined) environment[spec.secret.env] = name;
  }
  return environment;
}
