import { ConfigurationError } from "./errors";
import { ORG_FUNCTION_ENV } from "./registry";

/** An environment as a plain record (the caller passes its own; core reads nothing itself). */
export type EnvRecord = Readonly<Record<string, string | undefined>>;

/** The shapes of AWS identifiers, shared by every reader of settings, policies and input. */
export const AWS_PATTERNS = {
  accountId: /^\d{12}$/,
  region: /^[a-z]{2}(-[a-z]+)+-\d+$/,
  /** `o-` and 10 to 32 lower-case letters or digits. */
  orgId: /^o-[a-z0-9]{10,32}$/,
  /** IAM role names: at most 64 of `[\w+=,.@-]`. */
  roleName: /^[\w+=,.@-]{1,64}$/,
  roleArn: /^arn:aws[a-z-]*:iam::\d{12}:role\/[\w+=,.@/-]+$/,
  /** STS external ids: 2 to 1224 of `[\w+=,.@:/-]`. */
  externalId: /^[\w+=,.@:/-]{2,1224}$/,
} as const;

/** Where one function invocation acts: an account and a Region. */
export interface AccountTarget {
  readonly account: string;
  readonly region: string;
}

/** Settings of organisation (hub) mode. The external id is a shared value: never log it. */
export interface OrganizationConfig {
  readonly orgId: string;
  readonly memberRoleName: string;
  readonly externalId: string;
  /** Which variable held the external id, for logs (the name, never the value). */
  readonly externalIdSource: string;
  /** Partition of the hub's roles (`aws`), used for member role ARNs. */
  readonly partition: string;
  /**
   * The hub's own account and Region, where the function's own role acts; null when unknown
   * (the member role is then assumed everywhere).
   */
  readonly hub: AccountTarget | null;
  /**
   * Optional allow list: when non-empty, the sweep visits only these of the accounts AWS
   * Organizations lists as active.
   */
  readonly accounts: readonly string[];
  /** Accounts the sweep never visits. */
  readonly denyAccounts: readonly string[];
  /** Regions the sweep visits in each account (the covered Regions, the hub's first). */
  readonly regions: readonly string[];
  /** Role to read account tags and OUs with; null: the function's own role. */
  readonly organizationsRoleArn: string | null;
}

/**
 * The webhook URL, checked: https (or http on the loopback). Errors name `from`, never the value.
 *
 * @example
 * checkWebhook("https://hooks.example.com/T/B/x", "the parameter /slack") // the URL
 * checkWebhook("http://hooks.example.com/x", "the parameter /slack")      // throws ConfigurationError
 */
export function checkWebhook(url: string, from: string): string {
  const parsed = parseUrl(url, from);
  const local = parsed.hostname === "127.0.0.1" || parsed.hostname === "localhost";
  if (parsed.protocol !== "https:" && !(local && parsed.protocol === "http:")) {
    throw new ConfigurationError(`${from} must be an https URL`);
  }
  return url;
}

function parseUrl(url: string, from: string) {
  try {
    return new URL(url);
  } catch {
    // The value is a secret: the error names the variable, never the value.
    throw new ConfigurationError(`${from} does not hold a URL`);
  }
}

/**
 * The organisation-mode variables (ORG_FUNCTION_ENV) as set, each checked. The deploy
 * (`stacks/settings.ts`) and the functions (`functions/src/config.ts`) read them with this one
 * reader and add only their own defaults: the deploy names the member role after the stage and
 * may take the external id from a secret; the functions need both set.
 */
export interface OrganizationEnv {
  readonly orgId: string;
  readonly memberRoleName: string | undefined;
  /** Unchecked here: each reader checks it where it found it (a variable or a secret). */
  readonly externalId: string | undefined;
  readonly accounts: readonly string[];
  readonly denyAccounts: readonly string[];
  /** Empty for `all` (every Region enabled at deploy time, resolved by the deploy). */
  readonly regions: readonly string[];
  readonly organizationsRoleArn: string | null;
}

/** A setting, trimmed; blank or unset reads as "". */
function setting(env: EnvRecord, name: string): string {
  return env[name]?.trim() ?? "";
}

function matching(env: EnvRecord, name: string, pattern: RegExp, what: string): string {
  const value = setting(env, name);
  if (value !== "" && !pattern.test(value)) {
    throw new ConfigurationError(`${name}="${value}" is not ${what}`);
  }
  return value;
}

/**
 * A comma-separated or JSON list, trimmed, without blanks and repeats, each matching `pattern`.
 * With `all`, the word `all` reads as the empty list (every Region, resolved by the deploy).
 */
function list(
  env: EnvRecord,
  name: string,
  pattern: RegExp,
  what: string,
  { all = false } = {},
): string[] {
  const raw = setting(env, name);
  if (raw === "" || (all && raw.toLowerCase() === "all")) return [];
  let items: unknown;
  if (raw.startsWith("[")) {
    try {
      items = JSON.parse(raw);
    } catch {
      throw new ConfigurationError(`${name} is not valid JSON`);
    }
  } else {
    items = raw.split(",");
  }
  if (!Array.isArray(items) || !items.every((a) => typeof a === "string")) {
    throw new ConfigurationError(`${name} must be a list of ${what}s`);
  }
  const values = [...new Set(items.map((a) => a.trim()).filter((a) => a !== ""))];
  const bad = values.find((a) => !pattern.test(a));
  if (bad !== undefined) throw new ConfigurationError(`${name}: "${bad}" is not ${what}`);
  return values;
}

const E = ORG_FUNCTION_ENV;

/**
 * Reads the organisation-mode variables from `env`; null without GUARDRAIL_ORG_ID (single-account
 * mode). Blank values count as unset.
 *
 * @throws ConfigurationError naming the first bad variable (never an external id's value).
 * @example
 * readOrganizationEnv({ GUARDRAIL_ORG_ID: "o-a1b2c3d4e5", GUARDRAIL_ACCOUNTS: "111111111111" })
 * // { orgId: "o-a1b2c3d4e5", accounts: ["111111111111"], regions: [], memberRoleName: undefined, … }
 */
export function readOrganizationEnv(env: EnvRecord): OrganizationEnv | null {
  if (!env[E.orgId]?.trim()) return null;
  // Checked in this order, so the first bad variable is the one reported.
  const orgId = matching(env, E.orgId, AWS_PATTERNS.orgId, "an organisation id (o-a1b2c3d4e5)");
  const memberRoleName = matching(env, E.memberRoleName, AWS_PATTERNS.roleName, "an IAM role name");
  const externalId = setting(env, E.externalId);
  const accounts = list(env, E.accounts, AWS_PATTERNS.accountId, "a 12-digit account id");
  const denyAccounts = list(env, E.denyAccounts, AWS_PATTERNS.accountId, "a 12-digit account id");
  const organizationsRoleArn = matching(
    env,
    E.organizationsRoleArn,
    AWS_PATTERNS.roleArn,
    "an IAM role ARN",
  );
  const regions = list(env, E.regions, AWS_PATTERNS.region, "a region name", { all: true });
  return {
    orgId,
    memberRoleName: memberRoleName || undefined,
    externalId: externalId || undefined,
    accounts,
    denyAccounts,
    regions,
    organizationsRoleArn: organizationsRoleArn || null,
  };
}
