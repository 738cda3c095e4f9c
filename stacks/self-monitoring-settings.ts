import { ConfigurationError, type GuardrailFunction, RELIABILITY_ENV } from "@guardrail/core";
import { APP_NAME } from "@guardrail/templates";

/** Deploy-time variables of the self-monitoring (read with the other deploy settings). */
export const SELF_MONITORING_ENV = {
  /** An HTTPS endpoint (PagerDuty, Opsgenie) subscribed to the plain alarm topic. */
  alarmEndpoint: "GUARDRAIL_ALARM_HTTPS_ENDPOINT",
  /** Trails the event path depends on (names or full ARNs), checked by the sweep. */
  trails: RELIABILITY_ENV.trails,
  /** The Slack notifier's messages per minute before it folds (default SLACK_DIGEST). */
  slackMaxPerMinute: RELIABILITY_ENV.slackMaxPerMinute,
} as const;

export interface SelfMonitoringSettings {
  /** Email subscription of the alarm topic (GUARDRAIL_ALERT_EMAIL). */
  readonly email: string | undefined;
  readonly httpsEndpoint: string | undefined;
  readonly trails: readonly string[];
  readonly slackMaxPerMinute: string | undefined;
}

/**
 * The self-monitoring settings. In a production stage the alarm topic must reach a person
 * without Slack and without the notification topic's KMS key: an email or HTTPS subscription is
 * required, else the deploy stops.
 *
 * @throws ConfigurationError
 */
export function readSelfMonitoring(
  env: Readonly<Record<string, string | undefined>>,
  production: boolean,
  email: string | undefined,
): SelfMonitoringSettings {
  const https = env[SELF_MONITORING_ENV.alarmEndpoint]?.trim() || undefined;
  if (https !== undefined && !/^https:\/\/[^\s/]+/.test(https)) {
    throw new ConfigurationError(
      `${SELF_MONITORING_ENV.alarmEndpoint} must be an https:// URL, not "${https}"`,
    );
  }
  if (production && email === undefined && https === undefined) {
    throw new ConfigurationError(
      `a production stage needs GUARDRAIL_ALERT_EMAIL or ${SELF_MONITORING_ENV.alarmEndpoint}: ` +
        "the alarms about a broken key, topic or notifier must reach someone without them",
    );
  }
  const trails = (env[SELF_MONITORING_ENV.trails] ?? "")
    .split(",")
    .map((t) => t.trim())
    .filter((t) => t !== "");
  const rate = env[SELF_MONITORING_ENV.slackMaxPerMinute]?.trim() || undefined;
  return { email, httpsEndpoint: https, trails, slackMaxPerMinute: rate };
}

/**
 * The name of an event rule, fixed so that the sweep can check it is enabled (DescribeRule).
 *
 * @example
 * eventRuleName("prod", "security-group-change"); // "network-guardrail-prod-security-group-change"
 */
export function eventRuleName(stage: string, fn: GuardrailFunction): string {
  return `${APP_NAME}-${stage}-${fn}`;
}
