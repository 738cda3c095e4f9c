import type { RetryStrategyV2 } from "@smithy/types";
import { lazy } from "./lazy";

/** The services the functions call, by the name their endpoint is configured under. */
export type AwsService = "ec2" | "sns" | "dynamodb" | "ssm" | "sts" | "s3" | "sfn" | "sqs";

/**
 * Where and as whom the functions' SDK clients call AWS. Empty in production (the SDK's
 * defaults: the Lambda's Region and role); a local stack sets endpoints, credentials and a short
 * retry strategy, and keeps every client made so that it can destroy them.
 */
export interface AwsClientSettings {
  readonly endpoints?: Readonly<Partial<Record<AwsService, string>>>;
  readonly region?: string;
  readonly credentials?: { readonly accessKeyId: string; readonly secretAccessKey: string };
  /** Replaces each client's retry strategy. */
  readonly retryStrategy?: () => RetryStrategyV2;
  /** Receives every client made, for its owner to destroy. */
  readonly track?: (client: { destroy(): void }) => void;
}

export function clientOverrides(settings: AwsClientSettings, service: AwsService) {
  const endpoint = settings.endpoints?.[service];
  return {
    ...(endpoint === undefined ? {} : { endpoint }),
    ...(settings.region === undefined ? {} : { region: settings.region }),
    ...(settings.credentials === undefined ? {} : { credentials: { ...settings.credentials } }),
    ...(settings.retryStrategy === undefined ? {} : { retryStrategy: settings.retryStrategy() }),
  };
}

export function tracked<C extends { destroy(): void }>(settings: AwsClientSettings, client: C): C {
  settings.track?.(client);
  return client;
}

/**
 * A client of `service`, made on first use: `make` imports the client's module then (not during
 * a cold start) and builds it with the settings' overrides.
 */
export function lazyClient<C extends { destroy(): void }>(
  settings: AwsClientSettings,
  service: AwsService,
  make: (overrides: ReturnType<typeof clientOverrides>) => Promise<C>,
): () => Promise<C> {
  return lazy(async () => tracked(settings, await make(clientOverrides(settings, service))));
}
