import * as v from "valibot";
import { type PolicyIssue, PolicyValidationError } from "../errors";
import type { Mode } from "../model";
import { DEFAULT_MAX_INSERTED_ENTRIES } from "../nacl-plan";
import { DEFAULT_FLAP_GUARD } from "../report/flap";
import { AWS_PATTERNS } from "../settings";
import { arnPatternProblem } from "./arn";
import {
  boolean,
  choice,
  cidr,
  date,
  didYouMean,
  integer,
  list,
  nonEmptyText,
  RULE_ID,
  shaped,
  show,
  strict,
} from "./fields";
import { kindOptionsSchema } from "./kind-options";
import { getRuleKind, RULE_KIND_IDS } from "./kinds";
import type {
  ExemptionEntry,
  ExemptionSet,
  Policy,
  PolicyRule,
  Scope,
  Severity,
  TagExemptionEntry,
  TagMatch,
} from "./types";

/** Longest an exemption tag may run when the policy does not say (`tagExemptions.maxDays`). */
export const DEFAULT_TAG_MAX_DAYS = 30;

const MODES = ["enforce", "notify", "off"] as const satisfies readonly Mode[];
const SEVERITIES = ["critical", "high", "medium", "low"] as const satisfies readonly Severity[];

const pattern = (re: RegExp, what: string, hint = "") =>
  v.pipe(
    nonEmptyText(what),
    v.regex(re, (issue) => `expected ${what}, got ${JSON.stringify(issue.input)}${hint}`),
  );

const GROUP_ID = /^sg-[0-9a-f]{8,17}$/;
const { accountId: ACCOUNT_ID, region: REGION } = AWS_PATTERNS;
/** Slack member ids start with U (or W in Enterprise Grid), user group ids with S. */
const SLACK_ID = /^[UWS][A-Z0-9]{2,20}$/;
/** As AWS Organizations spells OU ids: `ou-` + root suffix + `-` + OU suffix. */
const OU_ID = /^ou-[0-9a-z]{4,32}-[0-9a-z]{8,32}$/;
/**
 * An ARN pattern, matched as IAM's ArnLike does: six colon-separated parts, each matched on its
 * own, `*` and `?` wildcards within a part.
 */
const ARN_PATTERN_MESSAGE = (value: unknown) =>
  `expected an ARN pattern (arn:partition:service:region:account:resource, * and ? wildcards within a part), got ${JSON.stringify(value)}: ${typeof value === "string" ? arnPatternProblem(value) : "not text"}`;
const principalPattern = () =>
  v.pipe(
    nonEmptyText("an ARN pattern"),
    // The same rule as arnPatternProblem, as a regex so that the JSON Schema carries it too.
    v.regex(/^arn:(?:[^:]*:){4}.+$/, (issue) => ARN_PATTERN_MESSAGE(issue.input)),
    v.rawCheck(({ dataset, addIssue }) => {
      if (!dataset.typed) return;
      const problem = arnPatternProblem(dataset.value);
      if (problem !== null) {
        addIssue({ message: ARN_PATTERN_MESSAGE(dataset.value) });
      }
    }),
  );

/** Numbers are read as text so that an unquoted account id gets the hint, not a type error. */
const accountId = () =>
  v.pipe(
    shaped({
      anyOf: [
        { type: "string", pattern: ACCOUNT_ID.source },
        { type: "integer", minimum: 100_000_000_000, maximum: 999_999_999_999 },
      ],
      description: "A 12-digit account id (quote it so that leading zeros survive)",
    }),
    v.transform((input) => (typeof input === "number" ? String(input) : input)),
    pattern(
      ACCOUNT_ID,
      "a 12-digit account id",
      " (quote account ids in YAML so leading zeros survive)",
    ),
  );
const regionName = () => pattern(REGION, "a region name (eu-west-1)");
const ouId = () => pattern(OU_ID, "an OU id (ou-ab12-34cd56ef)");

const tagKey = () =>
  v.pipe(
    shaped({ type: "string", minLength: 1, maxLength: 128, not: { pattern: "^[aA][wW][sS]:" } }),
    nonEmptyText("a tag key"),
    v.maxLength(128, "expected a tag key of at most 128 characters"),
    v.check((k) => !k.toLowerCase().startsWith("aws:"), "tag keys starting with aws: are reserved"),
  );

type PathItem = NonNullable<v.BaseIssue<unknown>["path"]>[number];

function pathItem(input: unknown, key: string | number, value: unknown): PathItem {
  return typeof key === "number"
    ? { type: "array", origin: "value", input: input as unknown[], key, value }
    : { type: "object", origin: "value", input: input as Record<string, unknown>, key, value };
}

/**
 * Tags to match: `{ env: prod }` or `{ env: [prod, staging] }`. Values must be strings: YAML
 * reads `tier: 1` as a number and `critical: yes` as a boolean, and AWS tag values are text,
 * so an unquoted one is an error with a hint rather than a guess.
 */
const tagMatch = () =>
  v.pipe(
    shaped({
      type: "object",
      minProperties: 1,
      propertyNames: { minLength: 1, maxLength: 128, not: { pattern: "^[aA][wW][sS]:" } },
      additionalProperties: {
        anyOf: [
          { type: "string", maxLength: 256 },
          { type: "array", minItems: 1, items: { type: "string", maxLength: 256 } },
        ],
      },
      description: "Tags to match: { env: prod } or { env: [prod, staging] }",
    }),
    v.rawTransform<unknown, TagMatch>(({ dataset, addIssue, NEVER }) => {
      const input = dataset.value;
      if (typeof input !== "object" || input === null || Array.isArray(input)) {
        addIssue({ message: `expected a mapping of tag keys to values, got ${show(input)}` });
        return NEVER;
      }
      const out: Record<string, string[]> = {};
      let ok = true;
      const entries = Object.entries(input);
      if (entries.length === 0) {
        addIssue({ message: "expected at least one tag (an empty mapping matches everything)" });
        return NEVER;
      }
      for (const [rawKey, raw] of entries) {
        const key = v.safeParse(tagKey(), rawKey);
        if (!key.success) {
          ok = false;
          for (const issue of key.issues) {
            addIssue({ message: issue.message, path: [pathItem(input, rawKey, raw)] });
          }
          continue;
        }
        const values = Array.isArray(raw) ? raw : [raw];
        if (values.length === 0) {
          ok = false;
          addIssue({
            message: "expected at least one tag value",
            path: [pathItem(input, rawKey, raw)],
          });
          continue;
        }
        values.forEach((value, i) => {
          const path: [PathItem, ...PathItem[]] = Array.isArray(raw)
            ? [pathItem(input, rawKey, raw), pathItem(raw, i, value)]
            : [pathItem(input, rawKey, raw)];
          if (typeof value !== "string") {
            ok = false;
            const hint =
              typeof value === "number" || typeof value === "boolean"
                ? " (quote tag values in YAML: tag values are text)"
                : "";
            addIssue({ message: `expected a tag value, got ${show(value)}${hint}`, path });
          } else if (value.length > 256) {
            ok = false;
            addIssue({ message: "expected a tag value of at most 256 characters", path });
          }
        });
        out[key.output] = values as string[];
      }
      return ok ? out : NEVER;
    }),
  );

const scopeList = <S extends v.GenericSchema<unknown, string>>(item: S, what: string) =>
  v.pipe(
    list(item, `a list of ${what}`),
    v.minLength(1, `expected at least one of ${what} (leave the key out to mean every one)`),
  );

/** Every key of a scope, in the order it is written out; a key of `Scope` left out fails to compile. */
const SCOPE_KEYS = Object.keys({
  accounts: true,
  regions: true,
  organizationalUnits: true,
  accountTags: true,
  ouTags: true,
} satisfies Record<keyof Scope, true>) as (keyof Scope)[];

/** Where a rule or an exemption entry applies. At least one key; absent keys match everything. */
const scopeSchema = () => {
  const entries = {
    accounts: v.optional(scopeList(accountId(), "account ids")),
    regions: v.optional(scopeList(regionName(), "region names")),
    organizationalUnits: v.optional(scopeList(ouId(), "OU ids")),
    accountTags: v.optional(tagMatch()),
    ouTags: v.optional(tagMatch()),
  };
  return v.pipe(
    shaped(v.pipe(v.strictObject(entries), v.minEntries(1))),
    strict(entries),
    v.check(
      (s) => SCOPE_KEYS.some((k) => (s as Record<string, unknown>)[k] !== undefined),
      `expected at least one of ${SCOPE_KEYS.join(", ")} (leave scope out to mean everywhere)`,
    ),
  );
};

type RawScope = v.InferOutput<ReturnType<typeof scopeSchema>>;

/** Every scope key, in this order, with null for the ones left out (null matches everything). */
function toScope(raw: RawScope): Scope {
  return Object.fromEntries(SCOPE_KEYS.map((k) => [k, raw[k] ?? null])) as unknown as Scope;
}

/**
 * An exemption entry: a bare value, or `{ <key>: value, reason, expires, scope }`. Numbers are
 * read as text so that an unquoted account id gets a useful message instead of a type error.
 * Issues of a bare value point at the list item itself, not at a key the user never wrote.
 */
function entry(key: string, value: v.GenericSchema<unknown, string>) {
  const full = strict({
    [key]: value,
    reason: v.optional(nonEmptyText("a reason")),
    expires: v.optional(date()),
    scope: v.optional(scopeSchema()),
  });
  type Entry = RawDetails & { readonly value: string };
  return v.pipe(
    shaped(v.union([value, full])),
    v.rawTransform<unknown, Entry>(({ dataset, addIssue, NEVER }) => {
      const input = typeof dataset.value === "number" ? String(dataset.value) : dataset.value;
      const bare = typeof input === "string";
      const result = v.safeParse(full, bare ? { [key]: input } : input);
      if (result.success) {
        const { [key]: value, ...rest } = result.output;
        return { value: value as string, ...(rest as RawDetails) };
      }
      for (const issue of result.issues) {
        addIssue({ message: issue.message, path: bare ? undefined : issue.path });
      }
      return NEVER;
    }),
  );
}

/** `{ tags: { env: sandbox }, reason, expires, scope }`: there is no bare form. */
const tagEntry = () =>
  strict({
    tags: tagMatch(),
    reason: v.optional(nonEmptyText("a reason")),
    expires: v.optional(date()),
    scope: v.optional(scopeSchema()),
  });

const exemptionSet = () =>
  v.optional(
    strict({
      groups: v.optional(list(entry("id", pattern(GROUP_ID, "a security-group id (sg-…)"))), []),
      principals: v.optional(list(entry("pattern", principalPattern())), []),
      accounts: v.optional(list(entry("id", accountId())), []),
      regions: v.optional(list(entry("name", regionName())), []),
      organizationalUnits: v.optional(list(entry("id", ouId())), []),
      accountTags: v.optional(list(tagEntry()), []),
      ouTags: v.optional(list(tagEntry()), []),
      tagKey: v.optional(tagKey()),
    }),
    {},
  );

export const ruleSchema = strict({
  id: pattern(RULE_ID, "a rule id of lower-case letters, digits and dashes"),
  kind: nonEmptyText("a rule kind"),
  description: nonEmptyText("a description"),
  label: v.optional(nonEmptyText("a label")),
  mode: v.optional(choice(MODES, "a mode"), "notify"),
  whenBroad: v.optional(choice(MODES, "a mode")),
  whenTargeted: v.optional(choice(MODES, "a mode")),
  severity: v.optional(choice(SEVERITIES, "a severity"), "high"),
  options: v.optional(v.unknown(), {}),
  exemptions: exemptionSet(),
  tagExemptable: v.optional(
    v.boolean((issue) => `expected true or false, got ${show(issue.input)}`),
    false,
  ),
  scope: v.optional(scopeSchema()),
  remediation: v.optional(strict({ narrow: v.optional(boolean(), false) }), {}),
});

export const policySchema = strict({
  version: v.optional(
    v.literal(1, (issue) => `expected version 1, got ${JSON.stringify(issue.input)}`),
    1,
  ),
  networks: v.optional(
    strict({
      trusted: v.optional(list(cidr(), "a list of CIDRs"), []),
      office: v.optional(list(cidr(), "a list of CIDRs"), []),
      blocked: v.optional(list(cidr(), "a list of CIDRs"), []),
    }),
    {},
  ),
  thresholds: v.optional(
    strict({
      wideIpv4Prefix: v.optional(integer(0, 32), 24),
      wideIpv6Prefix: v.optional(integer(0, 128), 48),
      broadPortCount: v.optional(integer(1, 65536), 1024),
    }),
    {},
  ),
  guardrail: v.optional(
    strict({ ownPrincipals: v.optional(list(principalPattern(), "a list of ARN patterns"), []) }),
    {},
  ),
  exemptions: exemptionSet(),
  tagExemptions: v.optional(
    strict({
      // The default is the shipped policy's: a month, then someone must look again.
      maxDays: v.optional(integer(1, 366), DEFAULT_TAG_MAX_DAYS),
      approvers: v.optional(list(principalPattern(), "a list of ARN patterns"), []),
    }),
    {},
  ),
  slack: v.optional(
    strict({
      approvers: v.optional(
        v.pipe(
          list(
            strict({
              id: pattern(
                SLACK_ID,
                "a Slack user id (U…, W…) or user group id (S…)",
                " (Slack shows a member's id under Profile → Copy member ID)",
              ),
              name: nonEmptyText("an approver name"),
            }),
            "a list of Slack approvers ({ id, name })",
          ),
          v.check(
            (items) => new Set(items.map((i) => i.id)).size === items.length,
            "a Slack id is listed twice",
          ),
        ),
        [],
      ),
    }),
    {},
  ),
  rules: v.pipe(list(ruleSchema, "a list of rules"), v.minLength(1, "expected at least one rule")),
  remediation: v.optional(
    strict({
      // AWS counts at most 40 entries per ACL, direction and IP version, the `*` entry included.
      maxInsertedEntries: v.optional(integer(1, 39), DEFAULT_MAX_INSERTED_ENTRIES),
    }),
    {},
  ),
  flapGuard: v.optional(
    strict({
      enabled: v.optional(boolean(), true),
      threshold: v.optional(integer(1, 1000), DEFAULT_FLAP_GUARD.threshold),
      windowHours: v.optional(integer(1, 720), DEFAULT_FLAP_GUARD.windowHours),
      // Tag keys (any case, including `aws:`-prefixed ones a tool may write): not `tagKey()`.
      workspaceTags: v.optional(list(nonEmptyText("a tag key"), "a list of tag keys"), [
        ...DEFAULT_FLAP_GUARD.workspaceTags,
      ]),
      repositoryTags: v.optional(list(nonEmptyText("a tag key"), "a list of tag keys"), [
        ...DEFAULT_FLAP_GUARD.repositoryTags,
      ]),
    }),
    {},
  ),
});

type RawExemptions = v.InferOutput<ReturnType<typeof exemptionSet>>;

/** A path as the policy file spells it: `rules[2].mode`, `networks.trusted[1]`. */
export function formatPath(segments: readonly (string | number)[]): string {
  let out = "";
  for (const s of segments) out += typeof s === "number" ? `[${s}]` : out ? `.${s}` : s;
  return out || "$";
}

function issuesOf(
  issues: readonly v.BaseIssue<unknown>[],
  prefix: readonly (string | number)[],
): PolicyIssue[] {
  return issues.map((issue) => ({
    path: formatPath([...prefix, ...(issue.path ?? []).map((p) => p.key as string | number)]),
    message: issue.message,
  }));
}

interface RawDetails {
  readonly reason?: string | undefined;
  readonly expires?: string | undefined;
  readonly scope?: RawScope | undefined;
}

function details(e: RawDetails) {
  return {
    ...(e.reason !== undefined ? { reason: e.reason } : {}),
    ...(e.expires !== undefined ? { expires: e.expires } : {}),
    ...(e.scope !== undefined ? { scope: toScope(e.scope) } : {}),
  };
}

function toEntries(raw: readonly (RawDetails & { readonly value: string })[]) {
  return raw.map((e): ExemptionEntry => ({ value: e.value, ...details(e) }));
}

function toTagEntries(raw: readonly (RawDetails & { tags: TagMatch })[]) {
  return raw.map((e): TagExemptionEntry => ({ tags: e.tags, ...details(e) }));
}

function toExemptions(raw: RawExemptions): ExemptionSet {
  return {
    groups: toEntries(raw.groups),
    principals: toEntries(raw.principals),
    accounts: toEntries(raw.accounts),
    regions: toEntries(raw.regions),
    organizationalUnits: toEntries(raw.organizationalUnits),
    accountTags: toTagEntries(raw.accountTags),
    ouTags: toTagEntries(raw.ouTags),
    tagKey: raw.tagKey ?? null,
  };
}

/**
 * Validates a policy object (already read from YAML or JSON) and applies every default.
 * Reports every problem at once, each with the path of the offending field.
 *
 * @throws PolicyValidationError listing each issue (`rules[2].mode: expected a mode ...`).
 * @example
 * const policy = parsePolicy({
 *   networks: { trusted: ["10.0.0.0/8"] },
 *   rules: [{ id: "admin-ports", kind: "security-group-ports", description: "No SSH",
 *             mode: "enforce", options: { ports: ["tcp/22"] } }],
 * });
 */
export function parsePolicy(input: unknown): Policy {
  if (input === null || input === undefined) {
    throw new PolicyValidationError([{ path: "$", message: "the policy is empty" }]);
  }
  const result = v.safeParse(policySchema, input);
  const issues: PolicyIssue[] = result.success ? [] : issuesOf(result.issues, []);
  // Rules are checked one by one even when the top level failed, so every problem shows at once.
  const rawRules = Array.isArray((input as { rules?: unknown }).rules)
    ? ((input as { rules: unknown[] }).rules as unknown[])
    : [];
  const rules: PolicyRule[] = [];
  const seen = new Map<string, number>();
  rawRules.forEach((raw, index) => {
    const parsed = v.safeParse(ruleSchema, raw);
    const kindId = (raw as { kind?: unknown } | null)?.kind;
    const id = (raw as { id?: unknown } | null)?.id;
    if (typeof id === "string") {
      const first = seen.get(id);
      if (first !== undefined) {
        issues.push({
          path: `rules[${index}].id`,
          message: `duplicate rule id "${id}" (first used by rules[${first}])`,
        });
      } else seen.set(id, index);
    }
    if (typeof kindId !== "string") return;
    const kind = getRuleKind(kindId.trim());
    if (!kind) {
      issues.push({
        path: `rules[${index}].kind`,
        message: `unknown rule kind "${kindId}" (known: ${RULE_KIND_IDS.join(", ")})${didYouMean(kindId.trim(), RULE_KIND_IDS)}`,
      });
      return;
    }
    const options = v.safeParse(
      kindOptionsSchema(kind),
      (raw as { options?: unknown }).options ?? {},
    );
    if (!options.success) {
      issues.push(...issuesOf(options.issues, ["rules", index, "options"]));
      return;
    }
    if (!parsed.success) return;
    const r = parsed.output;
    rules.push({
      id: r.id,
      kind: kind.id,
      description: r.description,
      label: r.label ?? r.id,
      mode: r.mode,
      whenBroad: r.whenBroad ?? null,
      whenTargeted: r.whenTargeted ?? null,
      severity: r.severity,
      options: options.output,
      exemptions: toExemptions(r.exemptions),
      tagExemptable: r.tagExemptable,
      remediation: { narrow: r.remediation.narrow },
      ...(r.scope !== undefined ? { scope: toScope(r.scope) } : {}),
    });
  });
  if (!result.success || issues.length > 0) throw new PolicyValidationError(dedupe(issues));
  const p = result.output;
  return {
    version: 1,
    networks: p.networks,
    thresholds: p.thresholds,
    guardrail: { ownPrincipals: p.guardrail.ownPrincipals },
    exemptions: toExemptions(p.exemptions),
    tagExemptions: {
      maxDays: p.tagExemptions.maxDays,
      approvers: p.tagExemptions.approvers,
    },
    slack: { approvers: p.slack.approvers },
    rules,
    remediation: { maxInsertedEntries: p.remediation.maxInsertedEntries },
    flapGuard: p.flapGuard,
  };
}

/** The top-level pass and the per-rule pass can report the same field twice. */
function dedupe(issues: readonly PolicyIssue[]): PolicyIssue[] {
  const seen = new Set<string>();
  return issues.filter((i) => {
    const key = `${i.path}\u0000${i.message}`;
    if (seen.has(key)) return false;
    seen.add(key);
    return true;
  });
}
