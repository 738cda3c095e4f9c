import {
  createChainArchive,
  createChainStore,
  evidenceS3Client,
  type ObjectLockSettings,
} from "@guardrail/aws/chain";
import { documentClient } from "@guardrail/aws/dynamo-client";
import {
  AUDIT_RETENTION_DAYS,
  ConfigurationError,
  EVIDENCE_ENV,
  FUNCTION_ENV,
} from "@guardrail/core";
import { type Env, required } from "./config";
import { createObservability } from "./observability";
import type { ChainWriterDeps } from "./pipelines/chain-writer";

const LOCK_MODES = ["COMPLIANCE", "GOVERNANCE", "NONE"] as const;

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
