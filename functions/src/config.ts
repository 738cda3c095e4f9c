import { existsSync, readFileSync } from "node:fs";
import { dirname, isAbsolute, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { readExternalId } from "@guardrail/aws/secrets";
import {
  AWS_PATTERNS,
  BUILT_IN_POLICY_SOURCE,
  BUNDLED_POLICY_FILE,
  ConfigurationError,
  checkParameterName,
  DEFAULT_POLICY_YAML,
  FUNCTION_ENV,
  FUNCTION_SIZING,
  type GuardrailFunction,
  ORG_FUNCTION_ENV,
  type OrganizationConfig,
  type Policy,
  PolicyArtefactError,
  PolicyValidationError,
  parseRegionSetting,
  policyId,
  readCompiledPolicy,
  readList,
  readOrganizationEnv,
  readSweepRate,
  readSwitch,
  SECURITY_HUB_FUNCTION_ENV,
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
  /**
   * `policyId` of the policy's source text: the same id the deploy printed and the CLI shows
   * (a compiled policy carries it).
   */
  readonly policyId: string;
  /** Organisation (hub) mode settings; null in single-account mode. */
  readonly organization: OrganizationConfig | null;
  /** Whether findings are imported into Security Hub (`GUARDRAIL_SECURITY_HUB`, default off). */
  readonly securityHub: boolean;
  /**
   * The covered Regions, the function's own (home) first: events from any other Region are
   * reported as not covered, and the sweep visits each of them. Empty when neither
   * GUARDRAIL_REGIONS nor AWS_REGION is set (local runs): then every Region's event is acted on.
   */
  readonly regions: readonly string[];
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
  /** Directories searched for `policy.compiled.json` when GUARDRAIL_POLICY_FILE is unset. */
  readonly handlerDirs: readonly string[];
  /**
   * How to read a policy given as source text (YAML or JSON): core's `loadPolicy`. Tests and
   * the sandbox pass it. The functions' bundles do not: they load only the policy compiled at
   * deploy, so the YAML parser and the schema stay out of their cold start, and a bundle that
   * carries source text instead fails its init, naming the file.
   */
  readonly parseSource?: (text: string) => Policy;
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

/**
 * The partition and account of an own role ARN, already checked against
 * `AWS_PATTERNS.roleOrSessionArn`: a reading of its parts, not a check.
 */
const OWN_ARN_PARTITION_ACCOUNT = /^arn:(aws[a-z-]*):(?:iam|sts)::(\d{12}):/;

/** @throws ConfigurationError when `name` is unset or blank. */
export function required(env: Env, name: string): string {
  const value = env[name]?.trim();
  if (!value) throw new ConfigurationError(`${name} is not set`);
  return value;
}

function optional(env: Env, name: string, fallback: string): string {
  const value = env[name]?.trim();
  return value ? value : fallback;
}

function roleArns(env: Env): string[] {
  return readList(env, FUNCTION_ENV.ownRoleArns, AWS_PATTERNS.roleOrSessionArn, "an IAM role ARN");
}

/**
 * Organisation mode settings, or null when GUARDRAIL_ORG_ID is unset (single-account mode).
 * The sweep's accounts come from AWS Organizations every run (GUARDRAIL_ACCOUNTS and
 * GUARDRAIL_DENY_ACCOUNTS narrow them); the Regions default to the function's own.
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
  const { orgId, accounts, denyAccounts, organizationsRoleArn } = read;
  const memberRoleName = required(env, ORG_FUNCTION_ENV.memberRoleName);
  const { value, source } = readExternalId(env);
  const ownRegion = env.AWS_REGION?.trim();
  const region = ownRegion && AWS_PATTERNS.region.test(ownRegion) ? ownRegion : undefined;
  // Every own role lives in the hub's account; its ARN also gives the partition.
  const own = OWN_ARN_PARTITION_ACCOUNT.exec(ownRoleArns[0] ?? "");
  const regions = coveredRegionsOf(env);
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
    denyAccounts,
    regions,
    organizationsRoleArn,
  };
}

/**
 * GUARDRAIL_REGIONS (the deploy writes the resolved list), with the function's own Region
 * first; AWS_REGION alone when unset; empty when neither is known.
 *
 * @throws ConfigurationError for a malformed list.
 */
export function coveredRegionsOf(env: Env): string[] {
  const own = env.AWS_REGION?.trim();
  const home = own && AWS_PATTERNS.region.test(own) ? own : undefined;
  const setting = parseRegionSetting(env[ORG_FUNCTION_ENV.regions], ORG_FUNCTION_ENV.regions);
  const listed = setting.kind === "list" ? setting.regions : [];
  if (home === undefined) return [...listed];
  return [home, ...listed.filter((r) => r !== home)];
}

/**
 * The loop guard in organisation mode: the hub's revokes in member accounts are made by the
 * member role's sessions, in every account, so its name is an own principal everywhere.
 */
export function memberRolePattern(org: OrganizationConfig): string {
  return `arn:${org.partition}:iam::*:role/${org.memberRoleName}`;
}

/** Policy source text next to the handler: read only with `PolicyFiles.parseSource`. */
const SOURCE_POLICY_FILE = "policy.yaml";

/**
 * Finds the policy: GUARDRAIL_POLICY_FILE when set (it must exist); otherwise
 * `policy.compiled.json`, then `policy.yaml`, next to the handler; core's default policy
 * (source text) only when none is set nor present.
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
  for (const name of [BUNDLED_POLICY_FILE, SOURCE_POLICY_FILE]) {
    for (const dir of files.handlerDirs) {
      const path = join(dir, name);
      if (files.exists(path)) return { text: files.read(path), source: path };
    }
  }
  return { text: DEFAULT_POLICY_YAML, source: BUILT_IN_POLICY_SOURCE };
}

/** A policy file's name when it holds a compiled policy (core's `compilePolicy`). */
const COMPILED = ".compiled.json";

/**
 * The policy in `text`. A compiled policy is verified (format, payload hash, source hash against
 * GUARDRAIL_POLICY_SHA256) and used as is. Source text is validated only through
 * `files.parseSource`; without it (the functions' bundles) it is refused rather than parsed.
 *
 * @throws PolicyArtefactError for a corrupt or mismatched compiled policy, or source text
 *   where only a compiled policy is read.
 * @throws PolicyValidationError (paths prefixed with `source`) for invalid source text.
 */
function policyOf(
  text: string,
  source: string,
  env: Env,
  files: PolicyFiles,
): { policy: Policy; id: string } {
  if (source.endsWith(COMPILED)) {
    const compiled = readCompiledPolicy(text, source, {
      sourceSha256: env[FUNCTION_ENV.policySha256],
    });
    return { policy: compiled.policy, id: compiled.policyId };
  }
  if (files.parseSource === undefined) {
    throw new PolicyArtefactError(
      source,
      `this function loads only a policy compiled at deploy (${BUNDLED_POLICY_FILE}, which \`sst deploy\` writes into every bundle), and does not parse policy source text at cold start`,
    );
  }
  try {
    return { policy: files.parseSource(text), id: policyId(text) };
  } catch (error) {
    if (error instanceof PolicyValidationError) {
      throw new PolicyValidationError(
        error.issues.map((i) => ({ ...i, path: `${source}: ${i.path}` })),
        { cause: error },
      );
    }
    throw error;
  }
}

/**
 * Reads and checks every setting of a remediation function or the sweep.
 *
 * @throws ConfigurationError for a missing or malformed setting.
 * @throws PolicyArtefactError for a corrupt or mismatched compiled policy (see `policyOf`).
 * @throws PolicyValidationError (message prefixed with the policy's source) for a bad policy.
 */
export function loadConfig(
  fn: GuardrailFunction,
  env: Env = process.env,
  files: PolicyFiles = defaultPolicyFiles(env),
): GuardrailConfig {
  const tableName = required(env, FUNCTION_ENV.tableName);
  if (!AWS_PATTERNS.tableName.test(tableName)) {
    throw new ConfigurationError(
      `${FUNCTION_ENV.tableName}="${tableName}" is not a DynamoDB table name`,
    );
  }
  const topicArn = required(env, FUNCTION_ENV.topicArn);
  if (!AWS_PATTERNS.topicArn.test(topicArn)) {
    throw new ConfigurationError(`${FUNCTION_ENV.topicArn}="${topicArn}" is not an SNS topic ARN`);
  }
  const ownRoleArns = roleArns(env);
  const { text, source } = readPolicy(env, files);
  const { policy, id } = policyOf(text, source, env, files);
  const organization = readOrganization(fn, env, ownRoleArns);
  const own = organization ? [...ownRoleArns, memberRolePattern(organization)] : ownRoleArns;
  return {
    function: fn,
    tableName,
    topicArn,
    ownRoleArns,
    stage: optional(env, FUNCTION_ENV.stage, "default"),
    version: optional(env, FUNCTION_ENV.version, "unversioned"),
    sweepRateMinutes: readSweepRate(env),
    functionTimeoutMs: FUNCTION_SIZING[fn].timeoutSeconds * 1000,
    policy: withOwnPrincipals(policy, own),
    policySource: source,
    policyId: id,
    organization,
    securityHub: securityHubSetting(env),
    regions: coveredRegionsOf(env),
  };
}

/**
 * `GUARDRAIL_SECURITY_HUB`: `on` imports the findings into Security Hub, `off` (the default)
 * does not.
 *
 * @throws ConfigurationError for any other value.
 */
export function securityHubSetting(env: Env): boolean {
  return readSwitch(env, SECURITY_HUB_FUNCTION_ENV.enabled, false);
}

/**
 * Reads the Slack notifier's settings: the name of the webhook parameter, never the URL.
 *
 * @throws ConfigurationError when GUARDRAIL_SLACK_WEBHOOK_PARAMETER is unset or not a name.
 */
export function loadSlackConfig(env: Env = process.env): SlackConfig {
  const webhookParameter = checkParameterName(
    required(env, SLACK_WEBHOOK_PARAMETER_ENV),
    SLACK_WEBHOOK_PARAMETER_ENV,
    "the URL",
  );
  return {
    webhookParameter,
    stage: optional(env, FUNCTION_ENV.stage, "default"),
    version: optional(env, FUNCTION_ENV.version, "unversioned"),
  };
}
