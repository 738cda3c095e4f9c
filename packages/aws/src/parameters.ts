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
 * A SecureString parameter through Powertools Parameters' cache: read when first asked, then
 * again only after `maxAgeSeconds`, so a rotated secret is picked up without a deploy; one read
 * at a time (the cold-start read and a first use racing it share the call). The value is
 * trimmed and passed through `check`; errors name the parameter (`what`), never its value.
 *
 * @throws AwsCallError when SSM cannot be read or the parameter is empty.
 */
export function createSecureStringSource(
  parameterName: string,
  {
    client,
    maxAgeSeconds = SLACK_WEBHOOK_MAX_AGE_SECONDS,
    what,
    check = (value) => value,
  }: {
    readonly client?: SSMClient;
    readonly maxAgeSeconds?: number;
    /** How errors name it: "the <what> <parameterName>". */
    readonly what: string;
    readonly check?: (value: string) => string;
  },
): SecretSource {
  const provider = new SSMProvider(client === undefined ? {} : { awsSdkV3Client: client });
  let inFlight: Promise<string> | null = null;
  const read = async (): Promise<string> => {
    let value: string | undefined;
    try {
      value = await provider.get(parameterName, { decrypt: true, maxAge: maxAgeSeconds });
    } catch (error) {
      const cause = (error as { cause?: unknown }).cause ?? error;
      throw new AwsCallError(
        "ssm:GetParameter",
        awsErrorCode(cause),
        `cannot read the ${what} ${parameterName}: ${errorMessage(cause, 200)}`,
        { cause: error },
      );
    }
    if (typeof value !== "string" || value.trim() === "") {
      throw new AwsCallError(
        "ssm:GetParameter",
        "EmptyParameter",
        `the ${what} ${parameterName} is empty`,
      );
    }
    return check(value.trim());
  };
  return () => {
    inFlight ??= read().finally(() => {
      inFlight = null;
    });
    return inFlight;
  };
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
  return createSecureStringSource(parameterName, {
    ...(client === undefined ? {} : { client }),
    ...(options.maxAgeSeconds === undefined ? {} : { maxAgeSeconds: options.maxAgeSeconds }),
    what: "Slack webhook parameter",
    check: (value) => checkWebhook(value, `the parameter ${parameterName}`),
  });
}

function localClient(aws: AwsClientSettings): SSMClient | undefined {
  const own = clientOverrides(aws, "ssm");
  return Object.keys(own).length === 0 ? undefined : tracked(aws, new SSMClient(own));
}
