import { EC2Client } from "@aws-sdk/client-ec2";
import type { SNSClient } from "@aws-sdk/client-sns";
import type { SQSClient } from "@aws-sdk/client-sqs";
import type { STSClient } from "@aws-sdk/client-sts";
import { type AwsClientSettings, clientOverrides, lazyClient, tracked } from "./client-settings";
import { ec2RetryStrategy } from "./ec2-retry";

// Its own module, so that a function that uses only DynamoDB bundles no other client.
export { documentClient } from "./dynamo-client";

/**
 * The EC2 client, made at once: it is on the path to the revoke. Throttles are absorbed inside
 * the invocation (see ec2RetryStrategy).
 */
export function ec2Client(settings: AwsClientSettings = {}): EC2Client {
  return tracked(
    settings,
    new EC2Client({ retryStrategy: ec2RetryStrategy(), ...clientOverrides(settings, "ec2") }),
  );
}

/**
 * How long one SNS Publish attempt may take. Three attempts (standard retries) fit well inside
 * the 30 s timeout of the event functions.
 */
export const NOTIFY_REQUEST_TIMEOUT_MS = 5_000;

/**
 * Settings of the SNS client. A hung connection must fail the publish (which releases the
 * notification claim for the retry) well inside the function's timeout, rather than hold the
 * invocation until Lambda kills it. The SDK only logs a warning for a request over
 * `requestTimeout` unless `throwOnRequestTimeout` is set.
 */
export function notifyClientOptions(requestTimeout = NOTIFY_REQUEST_TIMEOUT_MS) {
  return {
    retryMode: "standard",
    requestHandler: { requestTimeout, throwOnRequestTimeout: true },
  } as const;
}

/** The SNS client, made on first use (its module loads then, not during a cold start). */
export function snsClient(settings: AwsClientSettings = {}): () => Promise<SNSClient> {
  return lazyClient(settings, "sns", async (overrides) => {
    const { SNSClient } = await import("./sdk/sns");
    return new SNSClient({ ...notifyClientOptions(), ...overrides });
  });
}

/** The STS client that assumes member and Organizations roles, made on first use. */
export function stsClient(settings: AwsClientSettings = {}): () => Promise<STSClient> {
  return lazyClient(settings, "sts", async (overrides) => {
    const { STSClient } = await import("./sdk/sts");
    return new STSClient({ retryMode: "standard", maxAttempts: 5, ...overrides });
  });
}

/** The chain queue's SQS client, made on first use (its module loads then). */
export function sqsClient(settings: AwsClientSettings = {}): () => Promise<SQSClient> {
  return lazyClient(settings, "sqs", async (overrides) => {
    const { SQSClient } = await import("./sdk/sqs");
    return new SQSClient({ retryMode: "standard", ...overrides });
  });
}
