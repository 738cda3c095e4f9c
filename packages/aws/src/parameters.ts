import { SSMProvider } from "@aws-lambda-powertools/parameters/ssm";
import { SSMClient } from "@aws-sdk/client-ssm";
import { checkWebhook, SLACK_WEBHOOK_MAX_AGE_SECONDS } from "@guardrail/core";
import { type AwsClientSettings, clientOverrides, tracked } from "./client-settings";
import { AwsCallError, awsErrorCode, errorMessage } from "./errors";

/** Reads a secret when asked, from a cache that lives as long as the execution environment. */
export type SecretSource = () => Promise<string>;

export interface WebhookSourceOptions {
  /** An SSM client to use (tests); default: one made from `aws`. */
  readonly client?: SSMClient;
  /** Where the client made calls (a local stack's endpoint); default: Powertools' own client. */
  readonly aws?: AwsClientSettings;
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
  const client = options.client ?? localClient(options.aws ?? {});
  const provider = new SSMProvider(client === undefined ? {} : { awsSdkV3Client: client });
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

function localClient(aws: AwsClientSettings): SSMClient | undefined {
  const own = clientOverrides(aws, "ssm");
  return Object.keys(own).length === 0 ? undefined : tracked(aws, new SSMClient(own));
}
