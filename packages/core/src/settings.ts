import { ConfigurationError } from "./errors";
import {
  DEFAULT_SWEEP_RATE_MINUTES,
  FUNCTION_ENV,
  FUNCTION_SIZING,
  ORG_FUNCTION_ENV,
} from "./registry";

export { readSwitch } from "./switch";

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
  /** A role, or a session of one (`sts::…:assumed-role/…`): how a function's own identity reads. */
  roleOrSessionArn:
    /^arn:aws[a-z-]*:(iam::\d{12}:role\/[\w+=,.@/-]+|sts::\d{12}:assumed-role\/[\w+=,.@/-]+)$/,
  /** DynamoDB table names: 3 to 255 of `[a-zA-Z0-9_.-]`. */
  tableName: /^[a-zA-Z0-9_.-]{3,255}$/,
  /** SNS topic ARNs: a name of at most 256 of `[A-Za-z0-9_-]`, `.fifo` after a FIFO topic's. */
  topicArn: /^arn:aws[a-z-]*:sns:[a-z0-9-]+:\d{12}:[A-Za-z0-9_-]{1,256}(\.fifo)?$/,
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
 *
 * @throws ConfigurationError naming the variable and the first item that does not match.
 * @example
 * readList({ A: "111111111111, 222222222222" }, "A", AWS_PATTERNS.accountId, "an account id")
 * // ["111111111111", "222222222222"]
 */
export function readList(
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
    } catch (cause) {
      throw new ConfigurationError(`${name} is not valid JSON`, { cause });
    }
  } else {
    items = raw.split(",");
  }
  if (!Array.isArray(items) || !items.every((a) => typeof a === "string")) {
    throw new ConfigurationError(
      `${name} must be a list (comma-separated, or a JSON array of strings)`,
    );
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
  const accounts = readList(env, E.accounts, AWS_PATTERNS.accountId, "a 12-digit account id");
  const denyAccounts = readList(
    env,
    E.denyAccounts,
    AWS_PATTERNS.accountId,
    "a 12-digit account id",
  );
  const organizationsRoleArn = matching(
    env,
    E.organizationsRoleArn,
    AWS_PATTERNS.roleArn,
    "an IAM role ARN",
  );
  const regions = readList(env, E.regions, AWS_PATTERNS.region, "a region name", { all: true });
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

/*
 * One rule per setting that both the deploy (`stacks/settings.ts`, `stacks/slack-app-settings.ts`)
 * and the functions (`functions/src/config.ts`, `functions/src/slack-app-config.ts`) read: a
 * function reading a variable the deploy wrote accepts exactly what the deploy accepted, and the
 * deploy refuses what would stop a function's cold start. Hand-written rather than valibot, so
 * that the functions' cold path (`@guardrail/core/runtime`) stays without the schema library.
 */

/**
 * The sweep's interval in minutes (GUARDRAIL_SWEEP_RATE_MINUTES).
 *
 * Lower bound: the sweep's Lambda timeout (FUNCTION_SIZING, 300 s). EventBridge accepts
 * `rate(1 minute)` (https://docs.aws.amazon.com/eventbridge/latest/userguide/eb-rate-expressions.html),
 * but sweeps are meant to run one at a time: a schedule faster than one sweep may take starts
 * the next run while the previous one still works (throttled under the sweep's reserved
 * concurrency of 1, or two sweeps at once without it).
 * Upper bound: a day. The sweep-not-run alarm's period is this rate, over ALARMS.sweepMissedIntervals
 * periods; PutMetricAlarm allows Period × EvaluationPeriods up to 7 days (1 day when the period is
 * under an hour), and 2 × 1440 minutes is 2 days
 * (https://docs.aws.amazon.com/AmazonCloudWatch/latest/APIReference/API_PutMetricAlarm.html).
 */
export const SWEEP_RATE_RANGE: { readonly min: number; readonly max: number } = {
  min: Math.ceil(FUNCTION_SIZING.sweep.timeoutSeconds / 60),
  max: 1440,
};

/**
 * A whole number from `min` to `max`; `fallback` when unset or blank.
 *
 * @throws ConfigurationError naming the variable, its value and the range.
 * @example
 * readWholeNumber({ N: "3" }, "N", { fallback: 0, min: 0, max: 100 }) // 3
 * readWholeNumber({ N: "3.5" }, "N", { fallback: 0, min: 0, max: 100 }) // throws
 */
export function readWholeNumber(
  env: EnvRecord,
  name: string,
  range: { fallback: number; min: number; max: number; unit?: string },
): number {
  const raw = setting(env, name);
  if (raw === "") return range.fallback;
  const value = Number(raw);
  if (!/^\d+$/.test(raw) || value < range.min || value > range.max) {
    const of = range.unit ? ` of ${range.unit}` : "";
    throw new ConfigurationError(
      `${name}="${raw}" must be a whole number${of} from ${range.min} to ${range.max}`,
    );
  }
  return value;
}

/**
 * GUARDRAIL_SWEEP_RATE_MINUTES within SWEEP_RATE_RANGE; DEFAULT_SWEEP_RATE_MINUTES when unset.
 *
 * @throws ConfigurationError for anything else.
 * @example
 * readSweepRate({ GUARDRAIL_SWEEP_RATE_MINUTES: "60" }) // 60
 * readSweepRate({ GUARDRAIL_SWEEP_RATE_MINUTES: "1" })  // throws: below the sweep's timeout
 */
export function readSweepRate(env: EnvRecord): number {
  return readWholeNumber(env, FUNCTION_ENV.sweepRateMinutes, {
    fallback: DEFAULT_SWEEP_RATE_MINUTES,
    ...SWEEP_RATE_RANGE,
    unit: "minutes",
  });
}

/**
 * SSM parameter names, as PutParameter documents them
 * (https://docs.aws.amazon.com/systems-manager/latest/APIReference/API_PutParameter.html, and
 * https://docs.aws.amazon.com/systems-manager/latest/userguide/sysman-paramstore-su-create.html#sysman-parameter-name-constraints):
 * only `a-zA-Z0-9_.-`
 * and `/`; not prefixed with `aws` or `ssm` in any case, with or without the leading slash;
 * a hierarchy starts with `/` and is at most 15 levels deep. The name's length limit, 1011
 * characters, counts the whole parameter ARN; the name alone is held to 1011 here (the ARN's
 * prefix depends on the Region and account, which SSM checks when the parameter is created).
 */
const PARAMETER_NAME = /^(?!\/?(aws|ssm))[\w.\-/]{1,1011}$/i;
const MAX_PARAMETER_DEPTH = 15;

/**
 * Whether `name` is an SSM parameter name (see PARAMETER_NAME).
 *
 * @example
 * isParameterName("/network-guardrail/prod/slack-webhook-url") // true
 * isParameterName("/aws/reference/secretsmanager/x")           // false: reserved prefix
 * isParameterName("https://hooks.slack.com/services/T/B/x")    // false
 */
export function isParameterName(name: string): boolean {
  if (!PARAMETER_NAME.test(name)) return false;
  if (name.includes("/") && !name.startsWith("/")) return false;
  return name.split("/").length - 1 <= MAX_PARAMETER_DEPTH;
}

/**
 * The SSM parameter name `value` read from `name`, checked. The value is never echoed: a secret
 * pasted here by mistake (a webhook URL, a token) is the secret itself.
 *
 * @param holds What the parameter holds, for the message ("the URL", "the token").
 * @throws ConfigurationError when `value` is not an SSM parameter name.
 * @example
 * checkParameterName("/team/slack", "GUARDRAIL_SLACK_WEBHOOK_PARAMETER", "the URL") // "/team/slack"
 */
export function checkParameterName(value: string, name: string, holds: string): string {
  if (!isParameterName(value)) {
    throw new ConfigurationError(
      `${name} is not an SSM parameter name (it names the parameter; ${holds} goes in the parameter): use letters, digits and _.-/, at most 1011 characters, a hierarchy starting with / and at most 15 levels deep, not starting with aws or ssm`,
    );
  }
  return value;
}

/**
 * The SSM parameter name in `name`; null when unset or blank.
 *
 * @throws ConfigurationError as `checkParameterName`.
 * @example
 * readParameterName({ P: "/team/token" }, "P", "the token") // "/team/token"
 * readParameterName({}, "P", "the token")                   // null
 */
export function readParameterName(env: EnvRecord, name: string, holds: string): string | null {
  const value = setting(env, name);
  return value === "" ? null : checkParameterName(value, name, holds);
}

/**
 * The conversations the Slack app posts to: a public (`C…`) or private (`G…`) channel id, upper-
 * case letters and digits. Slack's `chat.postMessage` also takes `D…` (a direct message with
 * one person), but a guardrail's findings, and the buttons that grant exemptions, belong where
 * the team sees who pressed them; a direct message is refused.
 */
const SLACK_CHANNEL_ID = /^[CG][A-Z0-9]{2,30}$/;

/**
 * The Slack channel id in `value` (read from `name`), checked.
 *
 * @throws ConfigurationError naming the variable and the value.
 * @example
 * checkSlackChannel("C0123ABCD", "GUARDRAIL_SLACK_CHANNEL") // "C0123ABCD"
 * checkSlackChannel("#alerts", "GUARDRAIL_SLACK_CHANNEL")   // throws: a name, not an id
 */
export function checkSlackChannel(value: string, name: string): string {
  if (!SLACK_CHANNEL_ID.test(value)) {
    throw new ConfigurationError(
      `${name} must be the channel id the bot posts to (C… for a public channel, G… for a private one), got "${value}"`,
    );
  }
  return value;
}
