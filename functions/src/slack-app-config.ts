import {
  checkSlackChannel,
  checkWebhook,
  FUNCTION_ENV,
  readParameterName,
  SLACK_API_URL,
  SLACK_APP_ENV,
} from "@guardrail/core";
import { type Env, SLACK_WEBHOOK_PARAMETER_ENV } from "./config";

/** The Slack app's settings: names of the parameters holding its secrets, never the secrets. */
export interface SlackAppConfig {
  /** SecureString parameter holding the bot token (`xoxb-…`). */
  readonly tokenParameter: string;
  /** SecureString parameter holding the signing secret (the endpoint only). */
  readonly signingSecretParameter: string | null;
  /** Channel id the notifier posts to (the notifier only). */
  readonly channel: string | null;
  /** The incoming webhook's parameter, posted to when the bot cannot post (the notifier only). */
  readonly webhookParameter: string | null;
  readonly apiUrl: string;
  /** The worker the endpoint invokes asynchronously (the endpoint only). */
  readonly workerFunction: string | null;
  readonly stage: string;
  readonly version: string;
}

/** A parameter's name, checked; null when unset. Never echoed: a token pasted here is the secret. */
function parameter(env: Env, name: string): string | null {
  return readParameterName(env, name, "the secret");
}

/**
 * Reads the Slack app's settings; null when no bot token parameter is configured (the notifier
 * then posts to the incoming webhook alone).
 *
 * @throws ConfigurationError when a parameter name is malformed, the channel is not a channel id,
 *   or the API URL is not https.
 */
export function loadSlackAppConfig(env: Env = process.env): SlackAppConfig | null {
  const tokenParameter = parameter(env, SLACK_APP_ENV.tokenParameter);
  if (tokenParameter === null) return null;
  const named = env[SLACK_APP_ENV.channel]?.trim();
  const channel = named ? checkSlackChannel(named, SLACK_APP_ENV.channel) : null;
  const apiUrl = env[SLACK_APP_ENV.apiUrl]?.trim() || SLACK_API_URL;
  checkWebhook(apiUrl, SLACK_APP_ENV.apiUrl);
  return {
    tokenParameter,
    signingSecretParameter: parameter(env, SLACK_APP_ENV.signingSecretParameter),
    channel,
    webhookParameter: parameter(env, SLACK_WEBHOOK_PARAMETER_ENV),
    apiUrl,
    workerFunction: env[SLACK_APP_ENV.workerFunction]?.trim() || null,
    stage: env[FUNCTION_ENV.stage]?.trim() || "default",
    version: env[FUNCTION_ENV.version]?.trim() || "unversioned",
  };
}
