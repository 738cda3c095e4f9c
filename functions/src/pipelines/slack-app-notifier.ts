import type { Logger } from "@aws-lambda-powertools/logger";
import type { SecretSource } from "@guardrail/aws/parameters";
import { createSlackPoster, type SlackPoster } from "@guardrail/aws/slack";
import { createSlackWebApi, SlackApiError, type SlackWebApi } from "@guardrail/aws/slack-web";
import { ConfigurationError, renderInteractiveSlack, SLACK_APP_ENV } from "@guardrail/core";
import type { Env, SlackConfig } from "../config";
import { loadSlackAppConfig } from "../slack-app-config";

/** Slack's answers that no retry will change: the bot cannot post, so the webhook does. */
const BOT_CANNOT_POST = new Set([
  "invalid_auth",
  "not_authed",
  "account_inactive",
  "token_revoked",
  "token_expired",
  "not_in_channel",
  "channel_not_found",
  "is_archived",
  "missing_scope",
]);

/**
 * Posts with the bot token (`chat.postMessage`); when Slack says the bot cannot post (a revoked
 * token, the bot removed from the channel) and a webhook is configured, the message goes to the
 * webhook instead, so an alert is never lost to the app's configuration. Anything else (a 5xx, a
 * rate limit) is thrown so that SNS retries.
 */
export function createSlackBotPoster(
  api: SlackWebApi,
  channel: string,
  fallback: SlackPoster | null,
  logger?: Pick<Logger, "warn">,
): SlackPoster {
  return {
    async post(message) {
      try {
        await api.postMessage(channel, message);
      } catch (error) {
        if (
          fallback === null ||
          !(error instanceof SlackApiError) ||
          !BOT_CANNOT_POST.has(error.error)
        ) {
          throw error;
        }
        logger?.warn("the bot cannot post; posting to the webhook", { slackError: error.error });
        await fallback.post(message);
      }
    },
  };
}

/**
 * The notifier's wiring in app mode (a bot token parameter is configured): messages with
 * buttons, posted with `chat.postMessage` to the configured channel, the webhook as the
 * fallback. Null when the app is not configured.
 *
 * @throws ConfigurationError when the token is configured without a channel.
 */
export function slackAppNotifier(
  env: Env,
  logger: Logger,
  sources: {
    readonly secret?: (parameter: string) => SecretSource;
    readonly webhook?: (parameter: string) => SecretSource;
  } = {},
): { config: SlackConfig; slack: SlackPoster; render: typeof renderInteractiveSlack } | null {
  const app = loadSlackAppConfig(env);
  if (app === null) return null;
  if (app.channel === null) {
    throw new ConfigurationError(
      `${SLACK_APP_ENV.channel} is required with ${SLACK_APP_ENV.tokenParameter}: the channel the bot posts to`,
    );
  }
  logger.info("configuration loaded", {
    tokenParameter: app.tokenParameter,
    channel: app.channel,
    webhookParameter: app.webhookParameter,
    stage: app.stage,
  });
  const lazySource = (load: () => Promise<SecretSource>): SecretSource => {
    const source = load();
    const read = async () => (await source)();
    // A failed first read is reported by the first post (which reads again), not here.
    read().catch(() => undefined);
    return read;
  };
  const token = lazySource(async () =>
    sources.secret
      ? sources.secret(app.tokenParameter)
      : (await import("@guardrail/aws/slack-secrets")).createSlackSecretSource(app.tokenParameter),
  );
  const webhookParameter = app.webhookParameter;
  const fallback =
    webhookParameter === null
      ? null
      : createSlackPoster(
          lazySource(async () =>
            sources.webhook
              ? sources.webhook(webhookParameter)
              : (await import("@guardrail/aws/parameters")).createWebhookSource(webhookParameter),
          ),
        );
  const api = createSlackWebApi({ token, apiUrl: app.apiUrl });
  return {
    config: { webhookParameter: webhookParameter ?? "", stage: app.stage, version: app.version },
    slack: createSlackBotPoster(api, app.channel, fallback, logger),
    render: renderInteractiveSlack,
  };
}
