import type { SSMClient } from "@aws-sdk/client-ssm";
import { createSecureStringSource, type SecretSource } from "./parameters";

/**
 * A Slack secret (the bot token, the signing secret) from an SSM SecureString parameter,
 * cached like the webhook (`createSecureStringSource`). Errors name the parameter, never its
 * value.
 *
 * @throws AwsCallError when SSM cannot be read or the parameter is empty.
 */
export function createSlackSecretSource(
  parameterName: string,
  options: { readonly client?: SSMClient; readonly maxAgeSeconds?: number } = {},
): SecretSource {
  return createSecureStringSource(parameterName, { ...options, what: "Slack parameter" });
}
