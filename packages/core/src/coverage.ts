import { ConfigurationError } from "./errors";
import type { Policy } from "./policy/types";
import { AWS_PATTERNS } from "./settings";

/**
 * Which Regions and which accounts the guardrail covers, as plain data: the covered-Region
 * setting, the decision "this event's Region is covered", and the sweep's account targets from
 * what AWS Organizations lists. The callers read AWS; nothing here does.
 */

/**
 * An AWS Region name (`us-east-1`, `eu-central-2`, `us-gov-west-1`, `ap-southeast-7`). The one
 * pattern the settings, the functions and the infra check Region names with.
 */
export const REGION_NAME: RegExp = AWS_PATTERNS.region;

/** Whether `value` is shaped like a Region name. */
export function isRegionName(value: string): boolean {
  return REGION_NAME.test(value);
}

/** `all`: every Region enabled in the account when the stack is deployed. */
export const ALL_REGIONS = "all";

/** The covered-Region setting as configured: every enabled Region, or a list. */
export type RegionSetting =
  | { readonly kind: "all" }
  | { readonly kind: "list"; readonly regions: readonly string[] };

/**
 * Reads the covered-Region setting: unset, empty or `all` → every enabled Region; otherwise a
 * comma-separated or JSON list of Region names (duplicates dropped, order kept).
 *
 * @throws ConfigurationError naming `variable` for a malformed list or Region name.
 * @example
 * parseRegionSetting("eu-west-1, us-east-1", "GUARDRAIL_REGIONS")
 * // { kind: "list", regions: ["eu-west-1", "us-east-1"] }
 * parseRegionSetting(undefined, "GUARDRAIL_REGIONS") // { kind: "all" }
 */
export function parseRegionSetting(raw: string | undefined, variable: string): RegionSetting {
  const text = raw?.trim() ?? "";
  if (text === "" || text.toLowerCase() === ALL_REGIONS) return { kind: "all" };
  let items: unknown;
  if (text.startsWith("[")) {
    try {
      items = JSON.parse(text);
    } catch (error) {
      throw new ConfigurationError(`${variable} is not valid JSON`, { cause: error });
    }
  } else {
    items = text.split(",");
  }
  if (!Array.isArray(items) || !items.every((i) => typeof i === "string")) {
    throw new ConfigurationError(`${variable} must be "${ALL_REGIONS}" or a list of Region names`);
  }
  const regions = [...new Set(items.map((i) => i.trim()).filter((i) => i !== ""))];
  const bad = regions.find((r) => !isRegionName(r));
  if (bad !== undefined) {
    throw new ConfigurationError(`${variable}: "${bad}" is not an AWS Region name`);
  }
  if (regions.length === 0) return { kind: "all" };
  return { kind: "list", regions };
}

/**
 * The Regions a deploy covers: the home Region first, then the others in the order given. With
 * `all`, every enabled Region; with a list, the list (the home Region added when missing: the
 * functions and the audit table live there). A listed Region that is not enabled is refused:
 * the stack could not deploy a rule there, and a Region that looks covered but is not would be
 * a silent gap.
 *
 * @throws ConfigurationError for a listed Region that is not enabled.
 * @example
 * coveredRegions("us-east-1", { kind: "all" }, ["eu-west-1", "us-east-1"])
 * // ["us-east-1", "eu-west-1"]
 */
export function coveredRegions(
  home: string,
  setting: RegionSetting,
  enabled: readonly string[],
): string[] {
  if (setting.kind === "all") return [home, ...[...enabled].sort().filter((r) => r !== home)];
  const disabled = setting.regions.filter((r) => r !== home && !enabled.includes(r));
  if (disabled.length > 0) {
    throw new ConfigurationError(
      `Region(s) ${disabled.join(", ")} are not enabled in this account: enable them or remove them from the covered Regions`,
    );
  }
  return [home, ...setting.regions.filter((r) => r !== home)];
}

/** Whether one event's Region is covered, and when not, why (for the report). */
export type RegionVerdict =
  | { readonly covered: true }
  | { readonly covered: false; readonly reason: string };

/**
 * Whether an event from `region` is the guardrail's to remediate. An uncovered Region's event
 * is reported as not covered, never acted on: the functions' roles may not act there, and a
 * refused revoke would page on-call with a "failed" alert for a Region nobody asked to cover.
 *
 * @example
 * regionVerdict("ap-south-2", ["us-east-1", "eu-west-1"])
 * // { covered: false, reason: "ap-south-2 is not among the covered Regions (us-east-1, eu-west-1)" }
 */
export function regionVerdict(region: string, covered: readonly string[]): RegionVerdict {
  if (covered.includes(region)) return { covered: true };
  return {
    covered: false,
    reason: `${region} is not among the covered Regions (${covered.join(", ")})`,
  };
}

/**
 * Regions enabled in the account now but not covered by the deploy (enabled since): the sweep
 * reports them until the next deploy covers them. Sorted.
 *
 * @example
 * enabledNotCovered(["us-east-1", "eu-west-1", "ap-south-2"], ["us-east-1", "eu-west-1"])
 * // ["ap-south-2"]
 */
export function enabledNotCovered(
  enabled: readonly string[],
  covered: readonly string[],
): string[] {
  return [...new Set(enabled)].filter((r) => !covered.includes(r)).sort();
}

/** One account as AWS Organizations lists it. */
export interface OrganizationAccount {
  readonly id: string;
  readonly name?: string;
  /**
   * `State` (ACTIVE, SUSPENDED, PENDING_CLOSURE, CLOSED, PENDING_ACTIVATION) or, from older
   * answers, the retiring `Status` (ACTIVE, SUSPENDED, PENDING_CLOSURE).
   */
  readonly state: string;
}

/** Configured narrowing of the accounts the sweep visits, on top of what Organizations lists. */
export interface AccountFilter {
  /** When non-empty, only these accounts (the former GUARDRAIL_ACCOUNTS list). */
  readonly allow: readonly string[];
  /** Never these accounts. */
  readonly deny: readonly string[];
}

/** Why an account listed by Organizations is not swept. */
export type AccountSkipReason = "not-active" | "denied" | "not-allowed";

export interface AccountTargets {
  /** Accounts to sweep, in the order Organizations listed them. */
  readonly accounts: readonly string[];
  readonly skipped: readonly {
    readonly account: string;
    readonly reason: AccountSkipReason;
    readonly state: string;
  }[];
  /** Allowed accounts that Organizations did not list (a typo, or an account that left). */
  readonly unknownAllowed: readonly string[];
}

/**
 * The sweep's accounts from what Organizations lists this run: active accounts only (a
 * suspended or closing account cannot be acted in and is skipped, not failed), minus the deny
 * list, and only the allow list when one is configured.
 *
 * @example
 * accountTargets(
 *   [{ id: "111111111111", state: "ACTIVE" }, { id: "222222222222", state: "SUSPENDED" }],
 *   { allow: [], deny: [] },
 * ).accounts // ["111111111111"]
 */
export function accountTargets(
  listed: readonly OrganizationAccount[],
  filter: AccountFilter,
): AccountTargets {
  const accounts: string[] = [];
  const skipped: AccountTargets["skipped"][number][] = [];
  const seen = new Set<string>();
  for (const a of listed) {
    if (seen.has(a.id)) continue;
    seen.add(a.id);
    const state = a.state.toUpperCase();
    if (state !== "ACTIVE") skipped.push({ account: a.id, reason: "not-active", state });
    else if (filter.deny.includes(a.id)) skipped.push({ account: a.id, reason: "denied", state });
    else if (filter.allow.length > 0 && !filter.allow.includes(a.id))
      skipped.push({ account: a.id, reason: "not-allowed", state });
    else accounts.push(a.id);
  }
  return {
    accounts,
    skipped,
    unknownAllowed: filter.allow.filter((id) => !seen.has(id)),
  };
}

/**
 * The OUs whose accounts the sweep needs to list, when every enabled rule of the policy is
 * scoped to OUs: the union of those OUs (their sub-OUs included by the caller). Null when some
 * enabled rule applies outside any OU scope: then every account of the organisation is listed.
 *
 * @example
 * sweptOrganizationalUnits(policyWithEveryRuleScopedTo(["ou-ab12-11111111"]))
 * // ["ou-ab12-11111111"]
 */
export function sweptOrganizationalUnits(policy: Policy): string[] | null {
  const enabled = policy.rules.filter((r) => r.mode !== "off");
  if (enabled.length === 0) return null;
  const ous = new Set<string>();
  for (const rule of enabled) {
    const scoped = rule.scope?.organizationalUnits;
    if (scoped === null || scoped === undefined) return null;
    for (const ou of scoped) ous.add(ou);
  }
  return [...ous].sort();
}
