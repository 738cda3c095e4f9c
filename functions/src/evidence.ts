import {
  createChainArchive,
  createChainStore,
  createNotifier,
  createPostureStore,
  documentClient,
  evidenceS3Client,
  type ObjectLockSettings,
  snsClient,
} from "@guardrail/aws";
import {
  AUDIT_RETENTION_DAYS,
  ConfigurationError,
  EVIDENCE_ENV,
  FUNCTION_ENV,
} from "@guardrail/core";
import type { Env } from "./config";
import { createObservability } from "./deps";
import type { ChainWriterDeps } from "./pipelines/chain-writer";
import type { PostureDigestDeps } from "./pipelines/posture";

const LOCK_MODES = ["COMPLIANCE", "GOVERNANCE", "NONE"] as const;

function required(env: Env, name: string): string {
  const value = env[name]?.trim();
  if (!value) throw new ConfigurationError(`${name} is not set`);
  return value;
}

/** The S3 copy's lock settings from the environment. @throws ConfigurationError */
export function objectLockFromEnv(env: Env): ObjectLockSettings {
  const mode = (env[EVIDENCE_ENV.lockMode]?.trim() || "NONE").toUpperCase();
  if (!(LOCK_MODES as readonly string[]).includes(mode)) {
    throw new ConfigurationError(
      `${EVIDENCE_ENV.lockMode}="${mode}" is not one of ${LOCK_MODES.join(", ")}`,
    );
  }
  const raw = env[EVIDENCE_ENV.retentionDays]?.trim();
  const retentionDays = raw ? Number(raw) : AUDIT_RETENTION_DAYS;
  if (!Number.isInteger(retentionDays) || retentionDays < 1) {
    throw new ConfigurationError(
      `${EVIDENCE_ENV.retentionDays}="${raw}" is not a whole number of days`,
    );
  }
  return { mode: mode as ObjectLockSettings["mode"], retentionDays };
}

/** The chain writer's production wiring. @throws ConfigurationError at cold start */
export function defaultChainWriterDeps(env: Env = process.env): ChainWriterDeps {
  const tableName = required(env, FUNCTION_ENV.tableName);
  const lock = objectLockFromEnv(env);
  const bucket = env[EVIDENCE_ENV.bucket]?.trim();
  return {
    ...createObservability("chain-writer", env),
    store: createChainStore(tableName, documentClient()),
    ...(bucket
      ? {
          archive: createChainArchive(bucket, lock, evidenceS3Client()),
        }
      : {}),
    clock: () => new Date(),
    retentionDays: lock.retentionDays,
  };
}

/** The weekly digest's production wiring. @throws ConfigurationError at cold start */
export function defaultPostureDigestDeps(env: Env = process.env): PostureDigestDeps {
  const tableName = required(env, FUNCTION_ENV.tableName);
  const topicArn = required(env, FUNCTION_ENV.topicArn);
  return {
    ...createObservability("posture-digest", env),
    posture: createPostureStore(tableName, documentClient()),
    notifier: createNotifier(topicArn, snsClient()),
    clock: () => new Date(),
  };
}
