import {
  ConfigurationError,
  checkParameterName,
  checkSlackChannel,
  readSwitch,
  SLACK_ENDPOINT_KINDS,
  type SlackEndpointKind,
  slackSigningSecretParameterName,
  slackTokenParameterName,
} from "@guardrail/core";

/** Deploy settings of the Slack app (all optional: without `GUARDRAIL_SLACK_APP=on`, no app). */
export const SLACK_APP_DEPLOY_ENV = {
  enabled: "GUARDRAIL_SLACK_APP",
  channel: "GUARDRAIL_SLACK_CHANNEL",
  /** `function-url` (default) or `api-gateway`, for organisations whose SCPs forbid public URLs. */
  endpoint: "GUARDRAIL_SLACK_ENDPOINT",
  tokenParameter: "GUARDRAIL_SLACK_TOKEN_PARAMETER",
  signingSecretParameter: "GUARDRAIL_SLACK_SIGNING_SECRET_PARAMETER",
} as const;

export interface SlackAppSettings {
  readonly channel: string;
  readonly endpoint: SlackEndpointKind;
  /** SecureString parameter names; the values are put there by the operator, never by the deploy. */
  readonly tokenParameter: string;
  readonly signingSecretParameter: string;
}

type Env = Readonly<Record<string, string | undefined>>;

/**
 * Reads the Slack app's deploy settings; null when the app is off (the notifier then posts to
 * the incoming webhook alone). The channel and the parameter names are checked with the rules
 * the functions apply at cold start (core's `settings.ts`).
 *
 * @throws ConfigurationError for a bad switch, a missing or malformed channel id, an unknown
 *   endpoint kind, or a parameter name SSM would refuse.
 */
export function readSlackAppSettings(stage: string, env: Env): SlackAppSettings | null {
  if (!readSwitch(env, SLACK_APP_DEPLOY_ENV.enabled, false)) return null;
  const channel = checkSlackChannel(
    env[SLACK_APP_DEPLOY_ENV.channel]?.trim() ?? "",
    SLACK_APP_DEPLOY_ENV.channel,
  );
  const endpoint = (env[SLACK_APP_DEPLOY_ENV.endpoint]?.trim() ||
    "function-url") as SlackEndpointKind;
  if (!SLACK_ENDPOINT_KINDS.includes(endpoint)) {
    throw new ConfigurationError(
      `${SLACK_APP_DEPLOY_ENV.endpoint} must be one of ${SLACK_ENDPOINT_KINDS.join(", ")}, got "${endpoint}"`,
    );
  }
  return {
    channel,
    endpoint,
    tokenParameter: checkParameterName(
      env[SLACK_APP_DEPLOY_ENV.tokenParameter]?.trim() || slackTokenParameterName(stage),
      SLACK_APP_DEPLOY_ENV.tokenParameter,
      "the token",
    ),
    signingSecretParameter: checkParameterName(
      env[SLACK_APP_DEPLOY_ENV.signingSecretParameter]?.trim() ||
        slackSigningSecretParameterName(stage),
      SLACK_APP_DEPLOY_ENV.signingSecretParameter,
      "the signing secret",
    ),
  };
}
