import { ConfigurationError } from "./errors";

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
  /** Accounts the sweep visits; empty for the event-driven functions when not set. */
  readonly accounts: readonly string[];
  /** Regions the sweep visits in each account. */
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
