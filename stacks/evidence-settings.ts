import { AUDIT_RETENTION_DAYS, ConfigurationError } from "@guardrail/core";

/** Deploy settings of the audit evidence (the chain's S3 copy). */
export const EVIDENCE_DEPLOY_ENV = {
  /** `COMPLIANCE` (required in production stages), `GOVERNANCE` or `NONE` (development). */
  lockMode: "GUARDRAIL_EVIDENCE_LOCK_MODE",
  /** Days each S3 object is locked and each chain entry kept (default: the audit retention). */
  retentionDays: "GUARDRAIL_EVIDENCE_RETENTION_DAYS",
} as const;

export interface EvidenceSettings {
  readonly lockMode: "COMPLIANCE" | "GOVERNANCE" | "NONE";
  readonly retentionDays: number;
}

/**
 * Production stages lock every object in compliance mode: no one, the root user included, can
 * delete or overwrite it before its retention ends, and the retention cannot be shortened.
 * Development stages default to no lock (so `sst remove` can empty the bucket) and may choose
 * governance mode to rehearse. S3 caps a retention at 100 years (36,500 days).
 * https://docs.aws.amazon.com/AmazonS3/latest/userguide/object-lock.html
 *
 * @throws ConfigurationError for another mode, a production stage without compliance, or a
 *   retention outside 1..36500 days.
 */
export function readEvidenceSettings(
  production: boolean,
  env: Readonly<Record<string, string | undefined>>,
): EvidenceSettings {
  const raw = env[EVIDENCE_DEPLOY_ENV.lockMode]?.trim().toUpperCase();
  const lockMode = raw || (production ? "COMPLIANCE" : "NONE");
  if (lockMode !== "COMPLIANCE" && lockMode !== "GOVERNANCE" && lockMode !== "NONE") {
    throw new ConfigurationError(
      `${EVIDENCE_DEPLOY_ENV.lockMode}="${raw}": use COMPLIANCE, GOVERNANCE or NONE`,
    );
  }
  if (production && lockMode !== "COMPLIANCE") {
    throw new ConfigurationError(
      `${EVIDENCE_DEPLOY_ENV.lockMode}="${lockMode}" in a production stage: the audit copy of a production stage is locked in COMPLIANCE mode`,
    );
  }
  const days = env[EVIDENCE_DEPLOY_ENV.retentionDays]?.trim();
  const retentionDays = days ? Number(days) : AUDIT_RETENTION_DAYS;
  if (!Number.isInteger(retentionDays) || retentionDays < 1 || retentionDays > 36_500) {
    throw new ConfigurationError(
      `${EVIDENCE_DEPLOY_ENV.retentionDays}="${days}": a whole number of days from 1 to 36500`,
    );
  }
  return { lockMode, retentionDays };
}
