import { SSMProvider } from "@aws-lambda-powertools/parameters/ssm";
import type { SSMClient } from "@aws-sdk/client-ssm";
import { SLACK_WEBHOOK_MAX_AGE_SECONDS } from "@guardrail/core";
import { checkWebhook } from "../config";
import { AwsCallError, awsErrorCode, errorMessage } from "../errors";

/** Reads a secret when asked, from a cache that lives as long as the execution environment. */
export type SecretSource = () => Promise<string>;

export interface WebhookSourceOptions {
  /** An SSM client to use (the sandbox's endpoint, tests); default: the SDK's default client. */
  readonly client?: SSMClient;
  /** Seconds a read value is kept before SSM is asked again. */
  readonly maxAgeSeconds?: number;
}

/**
 * The Slack webhook URL from an SSM SecureString parameter, through Powertools Parameters'
 * cache: read once and then again only after `maxAgeSeconds`, so a rotated URL is picked up
 * without a deploy. The value never leaves this closure except to the Slack adapter; errors
 * name the parameter, never its value.
 *
 * @throws AwsCallError when SSM cannot be read (SNS then retries the delivery);
 *   ConfigurationError when the parameter does not hold an https URL.
 */
export function createWebhookSource(
  parameterName: string,
  options: WebhookSourceOptions = {},
): SecretSource {
  const provider = new SSMProvider(
    options.client === undefined ? {} : { awsSdkV3Client: options.client },
  );
  const maxAge = options.maxAgeSeconds ?? SLACK_WEBHOOK_MAX_AGE_SECONDS;
  // One read at a time: the cold-start read and a first post racing it share the call.
  let inFlight: Promise<string> | null = null;
  const read = async (): Promise<string> => {
    let value: string | undefined;
    try {
      value = await provider.get(parameterName, { decrypt: true, maxAge });
    } catch (error) {
      const cause = (error as { cause?: unknown }).cause ?? error;
      throw new AwsCallError(
        "ssm:GetParameter",
        awsErrorCode(cause),
        `cannot read the Slack webhook parameter ${parameterName}: ${errorMessage(cause, 200)}`,
        { cause: error },
      );
    }
    if (typeof value !== "string" || value.trim() === "") {
      throw new AwsCallError(
        "ssm:GetParameter",
        "EmptyParameter",
        `the Slack webhook parameter ${parameterName} is empty`,
      );
    }
    return checkWebhook(value.trim(), `the parameter ${parameterName}`);
  };
  return () => {
    inFlight ??= read().finally(() => {
      inFlight = null;
    });
    return inFlight;
  };
}
