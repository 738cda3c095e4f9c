// Subpath imports keep app() light: it runs before anything else and needs none of core's
// dependencies.
import { ConfigurationError } from "../packages/core/src/errors";
import { DEFAULT_SWEEP_RATE_MINUTES } from "../packages/core/src/registry";

/**
 * Deploy-time settings, read from the environment of `sst deploy`. Pure: no globals, so the
 * tests and `scripts/sst-install.mjs` can call it outside SST.
 */

export const APP_NAME = "network-guardrail";
export const DEFAULT_REGION = "us-east-1";
/** Stages whose data is kept and whose resources are protected from `sst remove`. */
export const PRODUCTION_STAGES: readonly string[] = ["prod", "production"];
/**
 * `@pulumi/aws` version that `sst install` fetches. Pinned so that an install is reproducible
 * and the type-check sees the same provider as the deploy.
 */
export const AWS_PROVIDER_VERSION = "7.20.0";

/** The environment variables a deploy reads (all optional). */
export const DEPLOY_ENV = {
  region: "GUARDRAIL_REGION",
  sweepRateMinutes: "GUARDRAIL_SWEEP_RATE_MINUTES",
  provisionedConcurrency: "GUARDRAIL_PROVISIONED_CONCURRENCY",
  reservedConcurrency: "GUARDRAIL_RESERVED_CONCURRENCY",
  alertEmail: "GUARDRAIL_ALERT_EMAIL",
  version: "GUARDRAIL_VERSION",
} as const;

/** Sweep rates outside this range are refused: below 5 minutes a sweep may outlive its interval. */
export const SWEEP_RATE_RANGE = { min: 5, max: 1440 } as const;

export interface DeploySettings {
  readonly stage: string;
  readonly production: boolean;
  readonly region: string;
  readonly sweepRateMinutes: number;
  /** Provisioned concurrency of `security-group-change`; 0 = off (the default). */
  readonly provisionedConcurrency: number;
  /** Whether FUNCTION_SIZING's reserved concurrency is applied (off for tiny new accounts). */
  readonly reservedConcurrency: boolean;
  readonly alertEmail: string | undefined;
  readonly version: string;
}

type Env = Readonly<Record<string, string | undefined>>;

export function isProductionStage(stage: string): boolean {
  return PRODUCTION_STAGES.includes(stage);
}

/** What `$config`'s `app()` returns for a stage. */
export function appConfig(stage: string, env: Env) {
  const production = isProductionStage(stage);
  return {
    name: APP_NAME,
    home: "aws" as const,
    removal: production ? ("retain" as const) : ("remove" as const),
    protect: production,
    providers: { aws: { region: readRegion(env), version: AWS_PROVIDER_VERSION } },
  };
}

export function readDeploySettings(
  stage: string,
  env: Env,
  packageVersion: string,
): DeploySettings {
  if (!/^[a-zA-Z][a-zA-Z0-9-]*$/.test(stage)) {
    throw new ConfigurationError(
      `stage "${stage}": use letters, digits and hyphens, starting with a letter`,
    );
  }
  return {
    stage,
    production: isProductionStage(stage),
    region: readRegion(env),
    sweepRateMinutes: readInteger(
      env,
      DEPLOY_ENV.sweepRateMinutes,
      DEFAULT_SWEEP_RATE_MINUTES,
      SWEEP_RATE_RANGE.min,
      SWEEP_RATE_RANGE.max,
    ),
    provisionedConcurrency: readInteger(env, DEPLOY_ENV.provisionedConcurrency, 0, 0, 100),
    reservedConcurrency: readSwitch(env, DEPLOY_ENV.reservedConcurrency, true),
    alertEmail: readEmail(env),
    version: nonEmpty(env[DEPLOY_ENV.version]) ?? packageVersion,
  };
}

function readRegion(env: Env): string {
  const region = nonEmpty(env[DEPLOY_ENV.region]) ?? DEFAULT_REGION;
  if (!/^[a-z]{2}(-[a-z]+)+-\d+$/.test(region)) {
    throw new ConfigurationError(`${DEPLOY_ENV.region}="${region}" is not an AWS Region name`);
  }
  return region;
}

function readInteger(env: Env, name: string, fallback: number, min: number, max: number): number {
  const raw = nonEmpty(env[name]);
  if (raw === undefined) return fallback;
  const value = Number(raw);
  if (!/^\d+$/.test(raw) || value < min || value > max) {
    throw new ConfigurationError(`${name}="${raw}" must be a whole number from ${min} to ${max}`);
  }
  return value;
}

function readSwitch(env: Env, name: string, fallback: boolean): boolean {
  const raw = nonEmpty(env[name])?.toLowerCase();
  if (raw === undefined) return fallback;
  if (["on", "true", "1"].includes(raw)) return true;
  if (["off", "false", "0"].includes(raw)) return false;
  throw new ConfigurationError(`${name}="${env[name]}" must be "on" or "off"`);
}

function readEmail(env: Env): string | undefined {
  const raw = nonEmpty(env[DEPLOY_ENV.alertEmail]);
  if (raw === undefined) return undefined;
  if (!/^[^\s@]+@[^\s@]+\.[^\s@]+$/.test(raw)) {
    throw new ConfigurationError(`${DEPLOY_ENV.alertEmail}="${raw}" is not an email address`);
  }
  return raw;
}

function nonEmpty(value: string | undefined): string | undefined {
  const trimmed = value?.trim();
  return trimmed ? trimmed : undefined;
}
