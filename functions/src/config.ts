import { existsSync, readFileSync } from "node:fs";
import { dirname, isAbsolute, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import {
  BUNDLED_POLICY_FILE,
  ConfigurationError,
  DEFAULT_POLICY_YAML,
  DEFAULT_SWEEP_RATE_MINUTES,
  FUNCTION_ENV,
  type GuardrailFunction,
  loadPolicy,
  type Policy,
  PolicyValidationError,
  SLACK_WEBHOOK_SECRET,
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
  /** The validated policy, with the deployment's own role ARNs added to its own principals. */
  readonly policy: Policy;
  /** Where the policy came from: a file path, or `(default policy)`. */
  readonly policySource: string;
}

/** Settings of the Slack notifier. The webhook URL is a secret: never log it. */
export interface SlackConfig {
  readonly webhookUrl: string;
  /** Which variable held the URL, for logs (the name, never the value). */
  readonly webhookSource: string;
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

export const SLACK_WEBHOOK_ENV = "GUARDRAIL_SLACK_WEBHOOK_URL";
/** What SST sets for a linked secret: JSON `{"value": "..."}`. */
export const SLACK_WEBHOOK_SST_ENV = `SST_RESOURCE_${SLACK_WEBHOOK_SECRET}`;

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
  return { text: DEFAULT_POLICY_YAML, source: "(default policy)" };
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
  return {
    function: fn,
    tableName,
    topicArn,
    ownRoleArns,
    stage: optional(env, FUNCTION_ENV.stage, "default"),
    version: optional(env, FUNCTION_ENV.version, "unversioned"),
    sweepRateMinutes: sweepRate(env),
    policy: withOwnPrincipals(policy, ownRoleArns),
    policySource: source,
  };
}

function checkWebhook(url: string, from: string): string {
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    // The value is a secret: the error names the variable, never the value.
    throw new ConfigurationError(`${from} does not hold a URL`);
  }
  const local = parsed.hostname === "127.0.0.1" || parsed.hostname === "localhost";
  if (parsed.protocol !== "https:" && !(local && parsed.protocol === "http:")) {
    throw new ConfigurationError(`${from} must be an https URL`);
  }
  return url;
}

/**
 * Reads the Slack webhook URL from GUARDRAIL_SLACK_WEBHOOK_URL or from SST's linked secret
 * (`SST_RESOURCE_SlackWebhookUrl`, JSON `{"value": ...}`); the SST runtime is not needed.
 *
 * @throws ConfigurationError when neither holds an https URL.
 */
export function loadSlackConfig(env: Env = process.env): SlackConfig {
  const base = {
    stage: optional(env, FUNCTION_ENV.stage, "default"),
    version: optional(env, FUNCTION_ENV.version, "unversioned"),
  };
  const direct = env[SLACK_WEBHOOK_ENV]?.trim();
  if (direct) {
    return {
      ...base,
      webhookUrl: checkWebhook(direct, SLACK_WEBHOOK_ENV),
      webhookSource: SLACK_WEBHOOK_ENV,
    };
  }
  const linked = env[SLACK_WEBHOOK_SST_ENV]?.trim();
  if (linked) {
    let value: unknown;
    try {
      value = (JSON.parse(linked) as { value?: unknown }).value;
    } catch (error) {
      throw new ConfigurationError(`${SLACK_WEBHOOK_SST_ENV} is not JSON`, { cause: error });
    }
    if (typeof value !== "string" || value.trim() === "") {
      throw new ConfigurationError(`${SLACK_WEBHOOK_SST_ENV} has no "value"`);
    }
    return {
      ...base,
      webhookUrl: checkWebhook(value.trim(), SLACK_WEBHOOK_SST_ENV),
      webhookSource: SLACK_WEBHOOK_SST_ENV,
    };
  }
  throw new ConfigurationError(
    `the Slack webhook URL is not set: set ${SLACK_WEBHOOK_ENV} or link the ${SLACK_WEBHOOK_SECRET} secret`,
  );
}
