import type { Policy, Scope, TagMatch } from "./types";

/** One OU above an account, as the caller read it from AWS Organizations. */
export interface OrganizationalUnit {
  /** `ou-ab12-34cd56ef`. */
  readonly id: string;
  /** The OU's tags; absent when the caller did not read them (then `ouTags` is unknown). */
  readonly tags?: Readonly<Record<string, string>>;
}

/**
 * What a scope is matched against. Account and region come from the event (or the sweep's
 * target); tags and OUs only from the caller. `undefined` means "not known", which is not the
 * same as "none": an account known to have no tags is `{}`.
 */
export interface ScopeSubject {
  readonly account: string | undefined;
  readonly region: string | undefined;
  readonly accountTags: Readonly<Record<string, string>> | undefined;
  /** The OUs above the account, root side first, the account's parent last. */
  readonly organizationalUnits: readonly OrganizationalUnit[] | undefined;
}

/**
 * `in` and `out` are definite. `unknown` lists what the caller did not supply; no field that
 * was known ruled the subject out.
 */
export type ScopeMatch =
  | { readonly status: "in" }
  | { readonly status: "out" }
  | { readonly status: "unknown"; readonly missing: readonly string[] };

const IN: ScopeMatch = { status: "in" };
const OUT: ScopeMatch = { status: "out" };

/**
 * True when every key of `match` is in `tags` with one of its values (exact, case-sensitive).
 *
 * @example
 * tagsMatch({ env: ["prod", "staging"] }, { env: "prod", team: "payments" }) // true
 */
export function tagsMatch(match: TagMatch, tags: Readonly<Record<string, string>>): boolean {
  return Object.entries(match).every(([key, values]) => {
    const actual = Object.hasOwn(tags, key) ? tags[key] : undefined;
    return actual !== undefined && values.includes(actual);
  });
}

/**
 * The tags an account inherits from its OUs: for each key, the value of the nearest OU that
 * carries it. Undefined when some OU's tags were not read: a missing OU could hold the
 * deciding value.
 *
 * @example
 * effectiveOuTags([{ id: "ou-a", tags: { env: "prod" } }, { id: "ou-b", tags: { env: "dev" } }])
 * // { env: "dev" }
 */
export function effectiveOuTags(
  units: readonly OrganizationalUnit[] | undefined,
): Readonly<Record<string, string>> | undefined {
  if (units === undefined) return undefined;
  const out: Record<string, string> = {};
  for (const unit of units) {
    if (unit.tags === undefined) return undefined;
    Object.assign(out, unit.tags);
  }
  return out;
}

type FieldMatch = boolean | string;

/**
 * Matches a scope against an account and region. Every field must match; a field whose input
 * the caller did not supply is unknown, and the result is `out` as soon as one known field
 * rules the subject out, whatever else is unknown.
 *
 * @example
 * matchScope(
 *   { accounts: null, regions: ["eu-west-1"], organizationalUnits: null,
 *     accountTags: { env: ["prod"] }, ouTags: null },
 *   { account: "111122223333", region: "eu-west-1", accountTags: { env: "prod" },
 *     organizationalUnits: undefined },
 * ); // { status: "in" }
 */
export function matchScope(scope: Scope, subject: ScopeSubject): ScopeMatch {
  const fields: FieldMatch[] = [];
  if (scope.accounts !== null) {
    fields.push(
      subject.account === undefined ? "the account" : scope.accounts.includes(subject.account),
    );
  }
  if (scope.regions !== null) {
    fields.push(
      subject.region === undefined ? "the region" : scope.regions.includes(subject.region),
    );
  }
  if (scope.organizationalUnits !== null) {
    const wanted = scope.organizationalUnits;
    fields.push(
      subject.organizationalUnits === undefined
        ? "the account's OUs"
        : subject.organizationalUnits.some((u) => wanted.includes(u.id)),
    );
  }
  if (scope.accountTags !== null) {
    fields.push(
      subject.accountTags === undefined
        ? "the account's tags"
        : tagsMatch(scope.accountTags, subject.accountTags),
    );
  }
  if (scope.ouTags !== null) {
    const inherited = effectiveOuTags(subject.organizationalUnits);
    fields.push(inherited === undefined ? "the OU tags" : tagsMatch(scope.ouTags, inherited));
  }
  if (fields.includes(false)) return OUT;
  const missing = fields.filter((f): f is string => typeof f === "string");
  return missing.length > 0 ? { status: "unknown", missing } : IN;
}

/**
 * A tag match as text for reasons and notes.
 *
 * @example
 * describeTags({ env: ["prod", "staging"], team: ["payments"] }) // "env=prod|staging, team=payments"
 */
export function describeTags(match: TagMatch): string {
  return Object.entries(match)
    .map(([key, values]) => `${key}=${values.join("|")}`)
    .join(", ");
}

/**
 * What the caller must read from AWS Organizations for this policy, so that an account whose
 * policy never mentions tags or OUs costs no Organizations call.
 *
 * @example
 * organizationContextNeeded(defaultPolicy()); // { accountTags: false, organizationalUnits: false, ouTags: false }
 */
export function organizationContextNeeded(policy: Policy): {
  readonly accountTags: boolean;
  readonly organizationalUnits: boolean;
  readonly ouTags: boolean;
} {
  const scopes: Scope[] = [];
  const sets = [policy.exemptions, ...policy.rules.map((r) => r.exemptions)];
  for (const rule of policy.rules) if (rule.scope) scopes.push(rule.scope);
  let accountTags = false;
  let organizationalUnits = false;
  let ouTags = false;
  for (const set of sets) {
    const entries = [
      ...set.groups,
      ...set.principals,
      ...set.accounts,
      ...set.regions,
      ...(set.organizationalUnits ?? []),
      ...(set.accountTags ?? []),
      ...(set.ouTags ?? []),
    ];
    for (const e of entries) if (e.scope) scopes.push(e.scope);
    if ((set.organizationalUnits ?? []).length > 0) organizationalUnits = true;
    if ((set.accountTags ?? []).length > 0) accountTags = true;
    if ((set.ouTags ?? []).length > 0) ouTags = true;
  }
  for (const s of scopes) {
    if (s.accountTags !== null) accountTags = true;
    if (s.organizationalUnits !== null) organizationalUnits = true;
    if (s.ouTags !== null) ouTags = true;
  }
  // OU tags are read per OU, so whoever needs them also needs the OU path.
  return { accountTags, organizationalUnits: organizationalUnits || ouTags, ouTags };
}
