import { existsSync, readFileSync } from "node:fs";
import { dirname, isAbsolute, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { readExternalId } from "@guardrail/aws";
import {
  AWS_PATTERNS,
  BUILT_IN_POLICY_SOURCE,
  BUNDLED_POLICY_FILE,
  ConfigurationError,
  DEFAULT_POLICY_YAML,
  DEFAULT_SWEEP_RATE_MINUTES,
  FUNCTION_ENV,
  FUNCTION_SIZING,
  type GuardrailFunction,
  loadPolicy,
  ORG_FUNCTION_ENV,
  type OrganizationConfig,
  type Policy,
  PolicyValidationError,
  policyId,
  readOrganizationEnv,
  SLACK_FUNCTION_ENV,
  withOwnPrincipals,
} from "@guardrail/core";

export type Env = Readonly<Record<string, string | undefined>>;

/** Settings of the remediation functions and the sweep, read once at cold start. */
export interface GuardrailConfig {
  readonly function: GuardrailFunction;
  readonly tableName: string;
  readonly topicArn: string;
  readonly ownRoleArns: readonly string[];
  readonly stage: string;
  readonly version: string;
  readonly sweepRateMinutes: number;
  /**
   * The function's Lambda timeout (`FUNCTION_SIZING`, which the infra deploys). A notification
   * claimed longer ago than this belongs to an invocation that is no longer running.
   */
  readonly functionTimeoutMs: number;
  /** The validated policy, with the deployment's own role ARNs added to its own principals. */
  readonly policy: Policy;
  /** Where the policy came from: a file path, or `built-in default`. */
  readonly policySource: string;
  /** `policyId` of the policy text: the same id the deploy printed and the CLI shows. */
  readonly policyId: string;
  /** Organisation (hub) mode settings; null in single-account mode. */
  readonly organization: OrganizationConfig | null;
}

/**
 * Settings of the Slack notifier. The webhook URL is a secret and is not among them: the
 * notifier reads it from this SSM SecureString parameter (see `createWebhookSource`).
 */
export interface SlackConfig {
  /** Name of the SecureString parameter holding the webhook URL. */
  readonly webhookParameter: string;
  readonly stage: string;
  readonly version: string;
}

/** File access used to find the policy; injectable in tests. */
export interface PolicyFiles {
  readonly exists: (path: string) => boolean;
  readonly read: (path: string) => string;
  /** Directories searched for `policy.yaml` when GUARDRAIL_POLICY_FILE is unset. */
  readonly handlerDirs: readonly string[];
}

/** The Lambda task root, then the directory of this module (the bundle's). */
export function defaultPolicyFiles(env: Env = process.env): PolicyFiles {
  const dirs: string[] = [];
  if (env.LAMBDA_TASK_ROOT) dirs.push(env.LAMBDA_TASK_ROOT);
  try {
    dirs.push(dirname(fileURLToPath(import.meta.url)));
  } catch {
    // Not an ES module file URL (a CommonJS bundle): the task root alone is searched.
  }
  return {
    exists: existsSync,
    read: (path) => readFileSync(path, "utf8"),
    handlerDirs: [...new Set(dirs)],
  };
}

export const SLACK_WEBHOOK_PARAMETER_ENV = SLACK_FUNCTION_ENV.webhookParameter;

const TABLE_NAME = /^[a-zA-Z0-9_.-]{3,255}$/;
const TOPIC_ARN = /^arn:aws[a-z-]*:sns:[a-z0-9-]+:\d{12}:[A-Za-z0-9_-]{1,256}(\.fifo)?$/;
const ROLE_ARN =
  /^arn:aws[a-z-]*:(iam::\d{12}:role\/[\w+=,.@/-]+|sts::\d{12}:assumed-role\/[\w+=,.@/-]+)$/;

function required(env: Env, name: string): string {
  const value = env[name]?.trim();
  if (!value) throw new ConfigurationError(`${name} is not set`);
  return value;
}

function optional(env: Env, name: string, fallback: string): string {
  const value = env[name]?.trim();
  return value ? value : fallback;
}

function roleArns(env: Env): string[] {
  const raw = env[FUNCTION_ENV.ownRoleArns]?.trim();
  if (!raw) return [];
  let list: unknown;
  if (raw.startsWith("[")) {
    try {
      list = JSON.parse(raw);
    } catch (error) {
      throw new ConfigurationError(`${FUNCTION_ENV.ownRoleArns} is not valid JSON`, {
        cause: error,
      });
    }
  } else {
    list = raw.split(",").map((s) => s.trim());
  }
  if (!Array.isArray(list) || !list.every((a) => typeof a === "string")) {
    throw new ConfigurationError(`${FUNCTION_ENV.ownRoleArns} must be a list of role ARNs`);
  }
  const arns = list.filter((a) => a !== "");
  const bad = arns.find((a) => !ROLE_ARN.test(a));
  if (bad !== undefined) {
    throw new ConfigurationError(`${FUNCTION_ENV.ownRoleArns}: "${bad}" is not an IAM role ARN`);
  }
  return arns;
}

/**
 * Organisation mode settings, or null when GUARDRAIL_ORG_ID is unset (single-account mode).
 * The sweep needs the accounts to visit; the Regions default to the function's own.
 *
 * @throws ConfigurationError for a missing or malformed setting.
 */
export function readOrganization(
  fn: GuardrailFunction,
  env: Env,
  ownRoleArns: readonly string[],
): OrganizationConfig | null {
  const read = readOrganizationEnv(env);
  if (read === null) return null;
  const { orgId, accounts, organizationsRoleArn } = read;
  const memberRoleName = required(env, ORG_FUNCTION_ENV.memberRoleName);
  const { value, source } = readExternalId(env);
  const ownRegion = env.AWS_REGION?.trim();
  const region = ownRegion && AWS_PATTERNS.region.test(ownRegion) ? ownRegion : undefined;
  // Every own role lives in the hub's account; its ARN also gives the partition.
  const own = /^arn:(aws[a-z-]*):(?:iam|sts)::(\d{12}):/.exec(ownRoleArns[0] ?? "");
  const regions = read.regions.length === 0 && region !== undefined ? [region] : read.regions;
  if (fn === "sweep" && accounts.length === 0) {
    throw new ConfigurationError(
      `${ORG_FUNCTION_ENV.accounts} is not set: the sweep needs the accounts to visit in organisation mode`,
    );
  }
  if (fn === "sweep" && regions.length === 0) {
    throw new ConfigurationError(
      `${ORG_FUNCTION_ENV.regions} is not set and AWS_REGION is unknown: the sweep needs the Regions to visit`,
    );
  }
  return {
    orgId,
    memberRoleName,
    externalId: value,
    externalIdSource: source,
    partition: own?.[1] ?? "aws",
    hub: own?.[2] !== undefined && region !== undefined ? { account: own[2], region } : null,
    accounts,
    regions,
    organizationsRoleArn,
  };
}

/**
 * The loop guard in organisation mode: the hub's revokes in member accounts are made by the
 * member role's sessions, in every account, so its name is an own principal everywhere.
 */
export function memberRolePattern(org: OrganizationConfig): string {
  return `arn:${org.partition}:iam::*:role/${org.memberRoleName}`;
}

function sweepRate(env: Env): number {
  const raw = env[FUNCTION_ENV.sweepRateMinutes]?.trim();
  if (!raw) return DEFAULT_SWEEP_RATE_MINUTES;
  const n = Number(raw);
  if (!/^\d+$/.test(raw) || n < 1 || n > 1440) {
    throw new ConfigurationError(
      `${FUNCTION_ENV.sweepRateMinutes}="${raw}" must be a whole number of minutes, 1 to 1440`,
    );
  }
  return n;
}

/**
 * Finds the policy: GUARDRAIL_POLICY_FILE when set (it must exist); otherwise `policy.yaml` next
 * to the handler; core's default policy only when neither is set nor present.
 */
export function readPolicy(env: Env, files: PolicyFiles): { text: string; source: string } {
  const configured = env[FUNCTION_ENV.policyFile]?.trim();
  if (configured) {
    const base = files.handlerDirs[0] ?? process.cwd();
    const path = isAbsolute(configured) ? configured : resolve(base, configured);
    if (!files.exists(path)) {
      throw new ConfigurationError(
        `${FUNCTION_ENV.policyFile}="${configured}": no such file (looked at ${path})`,
      );
    }
    return { text: files.read(path), source: path };
  }
  for (const dir of files.handlerDirs) {
    const path = join(dir, BUNDLED_POLICY_FILE);
    if (files.exists(path)) return { text: files.read(path), source: path };
  }
  return { text: DEFAULT_POLICY_YAML, source: BUILT_IN_POLICY_SOURCE };
}

/**
 * Reads and checks every setting of a remediation function or the sweep.
 *
 * @throws ConfigurationError for a missing or malformed setting.
 * @throws PolicyValidationError (message prefixed with the policy's source) for a bad policy.
 */
export function loadConfig(
  fn: GuardrailFunction,
  env: Env = process.env,
  files: PolicyFiles = defaultPolicyFiles(env),
): GuardrailConfig {
  const tableName = required(env, FUNCTION_ENV.tableName);
  if (!TABLE_NAME.test(tableName)) {
    throw new ConfigurationError(
      `${FUNCTION_ENV.tableName}="${tableName}" is not a DynamoDB table name`,
    );
  }
  const topicArn = required(env, FUNCTION_ENV.topicArn);
  if (!TOPIC_ARN.test(topicArn)) {
    throw new ConfigurationError(`${FUNCTION_ENV.topicArn}="${topicArn}" is not an SNS topic ARN`);
  }
  const ownRoleArns = roleArns(env);
  const { text, source } = readPolicy(env, files);
  let policy: Policy;
  try {
    policy = loadPolicy(text);
  } catch (error) {
    if (error instanceof PolicyValidationError) {
      throw new PolicyValidationError(
        error.issues.map((i) => ({ ...i, path: `${source}: ${i.path}` })),
        { cause: error },
      );
    }
    throw error;
  }
  const organization = readOrganization(fn, env, ownRoleArns);
  const own = organization ? [...ownRoleArns, memberRolePattern(organization)] : ownRoleArns;
  return {
    function: fn,
    tableName,
    topicArn,
    ownRoleArns,
    stage: optional(env, FUNCTION_ENV.stage, "default"),
    version: optional(env, FUNCTION_ENV.version, "unversioned"),
    sweepRateMinutes: sweepRate(env),
    functionTimeoutMs: FUNCTION_SIZING[fn].timeoutSeconds * 1000,
    policy: withOwnPrincipals(policy, own),
    policySource: source,
    policyId: policyId(text),
    organization,
  };
}

/**
 * Reads the Slack notifier's settings: the name of the webhook parameter, never the URL.
 *
 * @throws ConfigurationError when GUARDRAIL_SLACK_WEBHOOK_PARAMETER is unset or not a name.
 */
export function loadSlackConfig(env: Env = process.env): SlackConfig {
  const webhookParameter = required(env, SLACK_WEBHOOK_PARAMETER_ENV);
  if (!/^[\w.\-/]{1,2048}$/.test(webhookParameter)) {
    // Not echoed: a URL pasted here by mistake is the secret itself.
    throw new ConfigurationError(
      `${SLACK_WEBHOOK_PARAMETER_ENV} is not an SSM parameter name (it names the parameter; the URL goes in the parameter)`,
    );
  }
  return {
    webhookParameter,
    stage: optional(env, FUNCTION_ENV.stage, "default"),
    version: optional(env, FUNCTION_ENV.version, "unversioned"),
  };
}
