import { SSMProvider } from "@aws-lambda-powertools/parameters/ssm";
import type { SSMClient } from "@aws-sdk/client-ssm";
import { SLACK_WEBHOOK_MAX_AGE_SECONDS } from "@guardrail/core";
import { AwsCallError, awsErrorCode, errorMessage } from "./errors";
import type { SecretSource } from "./parameters";

/**
 * A Slack secret (the bot token, the signing secret) from an SSM SecureString parameter,
 * through Powertools Parameters' cache: read when first asked, then again only after
 * `maxAgeSeconds`, so a rotated secret is picked up without a deploy. Errors name the
 * parameter, never its value.
 *
 * @throws AwsCallError when SSM cannot be read or the parameter is empty.
 */
export function createSlackSecretSource(
  parameterName: string,
  options: { readonly client?: SSMClient; readonly maxAgeSeconds?: number } = {},
): SecretSource {
  const provider = new SSMProvider(
    options.client === undefined ? {} : { awsSdkV3Client: options.client },
  );
  const maxAge = options.maxAgeSeconds ?? SLACK_WEBHOOK_MAX_AGE_SECONDS;
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
        `cannot read the Slack parameter ${parameterName}: ${errorMessage(cause, 200)}`,
        { cause: error },
      );
    }
    if (typeof value !== "string" || value.trim() === "") {
      throw new AwsCallError(
        "ssm:GetParameter",
        "EmptyParameter",
        `the Slack parameter ${parameterName} is empty`,
      );
    }
    return value.trim();
  };
  return () => {
    inFlight ??= read().finally(() => {
      inFlight = null;
    });
    return inFlight;
  };
}
