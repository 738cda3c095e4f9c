import * as v from "valibot";
import { type PolicyIssue, PolicyValidationError } from "../errors";
import type { Mode } from "../model";
import { choice, cidr, date, integer, list, nonEmptyText, RULE_ID, strict } from "./fields";
import { getRuleKind, RULE_KIND_IDS } from "./kinds";
import type { ExemptionEntry, ExemptionSet, Policy, PolicyRule, Severity } from "./types";

const MODES = ["enforce", "notify", "off"] as const satisfies readonly Mode[];
const SEVERITIES = ["critical", "high", "medium", "low"] as const satisfies readonly Severity[];

const pattern = (re: RegExp, what: string, hint = "") =>
  v.pipe(
    nonEmptyText(what),
    v.regex(re, (issue) => `expected ${what}, got ${JSON.stringify(issue.input)}${hint}`),
  );

const GROUP_ID = /^sg-[0-9a-f]{8,17}$/;
const ACCOUNT_ID = /^\d{12}$/;
const REGION = /^[a-z]{2}(-[a-z]+)+-\d+$/;
/** An ARN pattern: `*` matches any run of characters (including `/` and `:`), `?` one character. */
const ARN_PATTERN = /^arn:\S+$/;

const principalPattern = () =>
  pattern(ARN_PATTERN, "an ARN pattern starting with arn: (* and ? are wildcards)");

/**
 * An exemption entry: a bare value, or `{ <key>: value, reason, expires }`. Numbers are read as
 * text so that an unquoted account id gets a useful message instead of a type error. Issues of
 * a bare value point at the list item itself, not at a key the user never wrote.
 */
function entry(key: string, value: v.GenericSchema<unknown, string>) {
  const full = strict({
    [key]: value,
    reason: v.optional(nonEmptyText("a reason")),
    expires: v.optional(date()),
  });
  type Entry = v.InferOutput<typeof full>;
  return v.pipe(
    v.unknown(),
    v.rawTransform<unknown, Entry>(({ dataset, addIssue, NEVER }) => {
      const input = typeof dataset.value === "number" ? String(dataset.value) : dataset.value;
      const bare = typeof input === "string";
      const result = v.safeParse(full, bare ? { [key]: input } : input);
      if (result.success) return result.output;
      for (const issue of result.issues) {
        addIssue({ message: issue.message, path: bare ? undefined : issue.path });
      }
      return NEVER;
    }),
  );
}

const exemptionSet = () =>
  v.optional(
    strict({
      groups: v.optional(list(entry("id", pattern(GROUP_ID, "a security-group id (sg-…)"))), []),
      principals: v.optional(list(entry("pattern", principalPattern())), []),
      accounts: v.optional(
        list(
          entry(
            "id",
            pattern(
              ACCOUNT_ID,
              "a 12-digit account id",
              " (quote account ids in YAML so leading zeros survive)",
            ),
          ),
        ),
        [],
      ),
      regions: v.optional(list(entry("name", pattern(REGION, "a region name (eu-west-1)"))), []),
      tagKey: v.optional(
        v.pipe(
          nonEmptyText("a tag key"),
          v.maxLength(128, "expected a tag key of at most 128 characters"),
          v.check(
            (k) => !k.toLowerCase().startsWith("aws:"),
            "tag keys starting with aws: are reserved",
          ),
        ),
      ),
    }),
    {},
  );

const ruleSchema = strict({
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
});

const policySchema = strict({
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
  rules: v.pipe(list(ruleSchema, "a list of rules"), v.minLength(1, "expected at least one rule")),
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

function toEntries(
  raw: readonly Record<string, string | undefined>[],
  key: string,
): ExemptionEntry[] {
  return raw.map((e) => ({
    value: e[key] as string,
    ...(e.reason !== undefined ? { reason: e.reason } : {}),
    ...(e.expires !== undefined ? { expires: e.expires } : {}),
  }));
}

function toExemptions(raw: RawExemptions): ExemptionSet {
  return {
    groups: toEntries(raw.groups, "id"),
    principals: toEntries(raw.principals, "pattern"),
    accounts: toEntries(raw.accounts, "id"),
    regions: toEntries(raw.regions, "name"),
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
        message: `unknown rule kind "${kindId}" (known: ${RULE_KIND_IDS.join(", ")})`,
      });
      return;
    }
    const options = v.safeParse(kind.schema, (raw as { options?: unknown }).options ?? {});
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
    rules,
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
