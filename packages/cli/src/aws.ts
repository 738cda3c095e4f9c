import { ConfigurationError, GuardrailError } from "@guardrail/core/runtime";
import type { CliIo } from "./context";
import { AwsCommandError, MissingCredentialsError } from "./errors";

/** Flags every AWS-facing command takes. */
export interface AwsFlags {
  region?: string;
  endpointUrl?: string;
  profile?: string;
}

/** Client settings from the flags, then the environment (the SDK reads the rest: profiles, SSO, roles). */
export interface AwsClientConfig {
  region?: string;
  endpoint?: string;
  profile?: string;
  credentials?: { accessKeyId: string; secretAccessKey: string; sessionToken?: string };
}

/**
 * The standard credential chain, with the command's environment taking part: flags first, then
 * `AWS_REGION`/`AWS_DEFAULT_REGION`, `AWS_ENDPOINT_URL_<SERVICE>`/`AWS_ENDPOINT_URL`, and keys in
 * `AWS_ACCESS_KEY_ID`/`AWS_SECRET_ACCESS_KEY`; what is not set here the SDK resolves as usual
 * (shared config and credentials files, SSO, container and instance roles).
 */
export function awsClientConfig(
  flags: AwsFlags,
  io: CliIo,
  service: "EC2" | "DYNAMODB" | "STS" | "SNS" | "IAM" | "S3" | "ATHENA",
): AwsClientConfig {
  const env = io.env;
  const region = flags.region ?? env.AWS_REGION ?? env.AWS_DEFAULT_REGION;
  const endpoint = flags.endpointUrl ?? env[`AWS_ENDPOINT_URL_${service}`] ?? env.AWS_ENDPOINT_URL;
  if (endpoint !== undefined && !/^https?:\/\/[^\s/]+/.test(endpoint)) {
    throw new ConfigurationError(`--endpoint-url must be an http(s) URL, not "${endpoint}"`);
  }
  const profile = flags.profile ?? env.AWS_PROFILE;
  const key = env.AWS_ACCESS_KEY_ID;
  const secret = env.AWS_SECRET_ACCESS_KEY;
  return {
    ...(region ? { region } : {}),
    ...(endpoint ? { endpoint } : {}),
    ...(profile && !key ? { profile } : {}),
    ...(key && secret
      ? {
          credentials: {
            accessKeyId: key,
            secretAccessKey: secret,
            ...(env.AWS_SESSION_TOKEN ? { sessionToken: env.AWS_SESSION_TOKEN } : {}),
          },
        }
      : {}),
  };
}

function chain(error: unknown): unknown[] {
  const out: unknown[] = [];
  for (let e = error; e !== undefined && e !== null && out.length < 10; ) {
    out.push(e);
    e = (e as { cause?: unknown }).cause;
  }
  return out;
}

/**
 * Turns what the SDK throws into the CLI's typed errors: no credentials, no Region, and any other
 * AWS failure with its code. GuardrailErrors pass through unchanged, except a wrapper around a
 * credentials or Region problem.
 */
export function awsError(operation: string, error: unknown): GuardrailError {
  for (const e of chain(error)) {
    const name = (e as { name?: string }).name ?? "";
    const message = (e as { message?: string }).message ?? "";
    if (name === "CredentialsProviderError" || /Could not load credentials/i.test(message)) {
      return new MissingCredentialsError({ cause: error });
    }
    if (/Region is missing|region="" is not a valid/i.test(message)) {
      return new ConfigurationError(
        "no AWS Region: pass --region, or set AWS_REGION (or a region in your AWS profile)",
        { cause: error },
      );
    }
    if (name === "TimeoutError" || /ECONNREFUSED|ENOTFOUND|EAI_AGAIN/.test(message)) {
      return new AwsCommandError(operation, `cannot reach the endpoint: ${message}`, {
        cause: error,
      });
    }
  }
  if (error instanceof GuardrailError) return error;
  const e = error as { name?: string; message?: string };
  return new AwsCommandError(operation, `${e.name ?? "Error"}: ${e.message ?? String(error)}`, {
    cause: error,
  });
}
