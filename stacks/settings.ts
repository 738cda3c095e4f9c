// Subpath imports keep app() light: it runs before anything else and needs none of core's
// dependencies.
import { parseRegionSetting, type RegionSetting } from "@guardrail/core/coverage";
import { ConfigurationError } from "@guardrail/core/errors";
import {
  EXTERNAL_ID_SECRET,
  FUNCTION_ENV,
  NOTIFIERS,
  notifierParameterName,
  ORG_FUNCTION_ENV,
  SECURITY_HUB_FUNCTION_ENV,
} from "@guardrail/core/registry";
import {
  AWS_PATTERNS,
  checkParameterName,
  readOrganizationEnv,
  readSweepRate,
  readSwitch,
  readWholeNumber,
} from "@guardrail/core/settings";
import { APP_NAME, DEFAULT_REGION } from "@guardrail/templates/naming";

/**
 * Deploy-time settings, read from the environment of `sst deploy`. Pure: no globals, so the
 * tests and `scripts/sst-install.mjs` can call it outside SST.
 */

/**
 * Stages taken as production when GUARDRAIL_PRODUCTION is not set. A stage with another name
 * is marked production with GUARDRAIL_PRODUCTION=on.
 */
export const PRODUCTION_STAGES: readonly string[] = ["prod", "production"];
/**
 * `@pulumi/aws` version that `sst install` fetches. Pinned so that an install is reproducible
 * and the type-check sees the same provider as the deploy.
 */
export const AWS_PROVIDER_VERSION = "7.20.0";

/** The environment variables a deploy reads (all optional). */
export const DEPLOY_ENV = {
  region: "GUARDRAIL_REGION",
  /** Passed on to the functions under the same name. */
  sweepRateMinutes: FUNCTION_ENV.sweepRateMinutes,
  provisionedConcurrency: "GUARDRAIL_PROVISIONED_CONCURRENCY",
  reservedConcurrency: "GUARDRAIL_RESERVED_CONCURRENCY",
  alertEmail: "GUARDRAIL_ALERT_EMAIL",
  version: FUNCTION_ENV.version,
  /** `on`/`off`: this stage is production (default: on for PRODUCTION_STAGES only). */
  production: "GUARDRAIL_PRODUCTION",
  /**
   * `on`/`off`: deletion protection of the audit table, data retained on `sst remove`, `protect`,
   * a 30-day key deletion window and a year of logs. Default: on for a production stage.
   */
  protection: "GUARDRAIL_PROTECTION",
  /** SecureString parameter with the Slack webhook URL (default `slackWebhookParameterName`). */
  slackWebhookParameter: NOTIFIERS.slack.secret.deployEnv,
} as const;

/**
 * Organisation (hub) mode, read from the same variables the functions read (ORG_FUNCTION_ENV),
 * so that one set of names configures the deploy and the functions.
 */
export interface OrganizationSettings {
  readonly orgId: string;
  /** Default `network-guardrail-<stage>-member` (`memberRoleName` in naming.ts). */
  readonly memberRoleName: string;
  /**
   * GUARDRAIL_EXTERNAL_ID when set at deploy (then in the functions' environment); null: the
   * SST secret `GuardrailExternalId`, linked to the functions that assume the member role.
   */
  readonly externalId: string | null;
  /** Optional allow list: the sweep visits only these of the accounts Organizations lists. */
  readonly accounts: readonly string[];
  /** Accounts the sweep never visits. */
  readonly denyAccounts: readonly string[];
  readonly organizationsRoleArn: string | null;
}

export interface DeploySettings {
  readonly stage: string;
  /** The user marked this stage production (GUARDRAIL_PRODUCTION, or its name by default). */
  readonly production: boolean;
  /** Deletion protection, retention and `protect` (GUARDRAIL_PROTECTION; default `production`). */
  readonly protection: boolean;
  /** Name of the SSM SecureString parameter holding the Slack webhook URL. */
  readonly slackWebhookParameter: string;
  readonly region: string;
  readonly sweepRateMinutes: number;
  /** Provisioned concurrency of `security-group-change`; 0 = off (the default). */
  readonly provisionedConcurrency: number;
  /** Whether FUNCTION_SIZING's reserved concurrency is applied (off for tiny new accounts). */
  readonly reservedConcurrency: boolean;
  readonly alertEmail: string | undefined;
  readonly version: string;
  /**
   * The covered Regions as configured (GUARDRAIL_REGIONS): every Region enabled at deploy time
   * (`all`, the default), or a list. The deploy resolves it (`coveredRegions`).
   */
  readonly regions: RegionSetting;
  /** Null in single-account mode (GUARDRAIL_ORG_ID unset). */
  readonly organization: OrganizationSettings | null;
  /** Findings imported into Security Hub (GUARDRAIL_SECURITY_HUB, default off). */
  readonly securityHub: boolean;
}

type Env = Readonly<Record<string, string | undefined>>;

/**
 * Whether the user marked the stage production: GUARDRAIL_PRODUCTION when set, else whether the
 * stage is one of PRODUCTION_STAGES.
 *
 * @throws ConfigurationError for a value other than on/off.
 */
export function isProductionStage(stage: string, env: Env = {}): boolean {
  return readSwitch(env, DEPLOY_ENV.production, PRODUCTION_STAGES.includes(stage));
}

/**
 * Whether the stage's data and resources are protected: GUARDRAIL_PROTECTION when set, else
 * whether the stage is production. Turning it off for production is allowed but explicit.
 */
export function isProtectedStage(stage: string, env: Env = {}): boolean {
  return readSwitch(env, DEPLOY_ENV.protection, isProductionStage(stage, env));
}

/** What `$config`'s `app()` returns for a stage. */
export function appConfig(stage: string, env: Env) {
  const protection = isProtectedStage(stage, env);
  return {
    name: APP_NAME,
    home: "aws" as const,
    removal: protection ? ("retain" as const) : ("remove" as const),
    protect: protection,
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
  const slackWebhookParameter = checkParameterName(
    notifierParameterName(NOTIFIERS.slack.secret, stage, env),
    DEPLOY_ENV.slackWebhookParameter,
    "the URL",
  );
  return {
    stage,
    production: isProductionStage(stage, env),
    protection: isProtectedStage(stage, env),
    slackWebhookParameter,
    region: readRegion(env),
    sweepRateMinutes: readSweepRate(env),
    provisionedConcurrency: readWholeNumber(env, DEPLOY_ENV.provisionedConcurrency, {
      fallback: 0,
      min: 0,
      max: 100,
    }),
    reservedConcurrency: readSwitch(env, DEPLOY_ENV.reservedConcurrency, true),
    alertEmail: readEmail(env),
    version: nonEmpty(env[DEPLOY_ENV.version]) ?? packageVersion,
    regions: parseRegionSetting(env[ORG_FUNCTION_ENV.regions], ORG_FUNCTION_ENV.regions),
    organization: readOrganizationSettings(stage, env),
    securityHub: readSwitch(env, SECURITY_HUB_FUNCTION_ENV.enabled, false),
  };
}

/**
 * Organisation mode settings, or null without GUARDRAIL_ORG_ID. The sweep reads its accounts
 * from AWS Organizations every run; GUARDRAIL_ACCOUNTS and GUARDRAIL_DENY_ACCOUNTS narrow them.
 *
 * @throws ConfigurationError naming the variable (never the external id's value).
 */
export function readOrganizationSettings(stage: string, env: Env): OrganizationSettings | null {
  const read = readOrganizationEnv(env);
  if (read === null) return null;
  const externalId = read.externalId ?? null;
  if (externalId !== null && !AWS_PATTERNS.externalId.test(externalId)) {
    throw new ConfigurationError(
      `${ORG_FUNCTION_ENV.externalId} must be 2 to 1224 characters of [\\w+=,.@:/-] (or use the ${EXTERNAL_ID_SECRET} secret)`,
    );
  }
  return {
    orgId: read.orgId,
    memberRoleName: read.memberRoleName ?? `${APP_NAME}-${stage}-member`,
    externalId,
    accounts: read.accounts,
    denyAccounts: read.denyAccounts,
    organizationsRoleArn: read.organizationsRoleArn,
  };
}

function readRegion(env: Env): string {
  const region = nonEmpty(env[DEPLOY_ENV.region]) ?? DEFAULT_REGION;
  if (!AWS_PATTERNS.region.test(region)) {
    throw new ConfigurationError(`${DEPLOY_ENV.region}="${region}" is not an AWS Region name`);
  }
  return region;
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
