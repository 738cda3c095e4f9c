import { ConfigurationError } from "@guardrail/core";

/**
 * The part of IAM policy evaluation the multi-account flow needs, over real policy documents
 * (the spoke template's trust and permission policies are fed in unchanged):
 *
 * - `Effect` Allow/Deny, an explicit Deny winning; nothing is allowed without an Allow.
 * - `Action`/`NotAction` with `*` and `?` wildcards, case-insensitive like IAM.
 * - `Principal` `"*"`, `{ AWS: … }` (account id, `:root`, role, user or assumed-role ARNs) and
 *   `{ Service: … }`.
 * - `Condition` with `StringEquals`, `StringNotEquals`, `StringLike`, `StringNotLike` (and their
 *   `IfExists` forms) on the keys in `CONDITION_KEYS`.
 *
 * `Resource` is not evaluated: the sandbox models no resource ARNs (and CloudFormation
 * templates carry `Fn::Sub` objects there). Anything else (another operator, an unknown key,
 * `NotPrincipal`) is refused when the policy is loaded, never ignored: a check that silently
 * passed would make the tests prove nothing.
 */

export const CONDITION_KEYS = [
  "sts:ExternalId",
  "aws:PrincipalOrgID",
  "aws:PrincipalAccount",
  "aws:PrincipalArn",
  "aws:SourceAccount",
  "aws:RequestedRegion",
] as const;
export type ConditionKey = (typeof CONDITION_KEYS)[number];

const OPERATORS = ["StringEquals", "StringNotEquals", "StringLike", "StringNotLike"] as const;
type Operator = (typeof OPERATORS)[number];

interface Condition {
  readonly operator: Operator;
  readonly ifExists: boolean;
  readonly key: ConditionKey;
  readonly values: readonly string[];
}

type PrincipalMatcher =
  | { readonly kind: "any" }
  | { readonly kind: "aws"; readonly values: readonly string[] }
  | { readonly kind: "service"; readonly values: readonly string[] };

interface Statement {
  readonly effect: "Allow" | "Deny";
  readonly actions: readonly string[];
  readonly notActions: boolean;
  readonly principal: PrincipalMatcher | null;
  readonly conditions: readonly Condition[];
}

/** A parsed policy document. */
export interface Policy {
  readonly statements: readonly Statement[];
}

/** Who asks and what the request carries, as IAM's request context. */
export interface RequestContext {
  readonly action: string;
  /** The ARNs the caller is known by: a role session is known by its session and its role. */
  readonly principalArns: readonly string[];
  readonly principalAccount: string;
  readonly principalService?: string;
  readonly values: Partial<Record<ConditionKey, string>>;
}

const asList = (value: unknown, where: string): string[] => {
  const list = Array.isArray(value) ? value : [value];
  if (list.length === 0 || list.some((v) => typeof v !== "string")) {
    throw new ConfigurationError(`${where}: expected a string or a list of strings`);
  }
  return list as string[];
};

function parseConditions(raw: unknown, where: string): Condition[] {
  if (raw === undefined) return [];
  if (typeof raw !== "object" || raw === null || Array.isArray(raw)) {
    throw new ConfigurationError(`${where}: expected a mapping`);
  }
  const out: Condition[] = [];
  for (const [op, body] of Object.entries(raw)) {
    const ifExists = op.endsWith("IfExists");
    const operator = (ifExists ? op.slice(0, -"IfExists".length) : op) as Operator;
    if (!OPERATORS.includes(operator)) {
      throw new ConfigurationError(
        `${where}: condition operator ${op} is not supported (${OPERATORS.join(", ")})`,
      );
    }
    if (typeof body !== "object" || body === null || Array.isArray(body)) {
      throw new ConfigurationError(`${where}.${op}: expected a mapping of condition keys`);
    }
    for (const [key, values] of Object.entries(body)) {
      const known = CONDITION_KEYS.find((k) => k.toLowerCase() === key.toLowerCase());
      if (known === undefined) {
        throw new ConfigurationError(
          `${where}.${op}: condition key ${key} is not supported (${CONDITION_KEYS.join(", ")})`,
        );
      }
      out.push({ operator, ifExists, key: known, values: asList(values, `${where}.${op}.${key}`) });
    }
  }
  return out;
}

function parsePrincipal(raw: unknown, where: string): PrincipalMatcher | null {
  if (raw === undefined) return null;
  if (raw === "*") return { kind: "any" };
  if (typeof raw !== "object" || raw === null || Array.isArray(raw)) {
    throw new ConfigurationError(`${where}: expected "*" or a mapping`);
  }
  const entries = Object.entries(raw);
  if (entries.length !== 1) {
    throw new ConfigurationError(`${where}: expected exactly one of AWS, Service`);
  }
  const [kind, values] = entries[0] as [string, unknown];
  if (kind === "AWS") {
    const list = asList(values, `${where}.AWS`);
    return list.includes("*") ? { kind: "any" } : { kind: "aws", values: list };
  }
  if (kind === "Service") return { kind: "service", values: asList(values, `${where}.Service`) };
  throw new ConfigurationError(`${where}: principal type ${kind} is not supported (AWS, Service)`);
}

/**
 * Parses a policy document (an object, or its JSON text).
 *
 * @throws ConfigurationError naming what the sandbox cannot evaluate.
 */
export function parsePolicyDocument(document: unknown, name = "policy"): Policy {
  const doc = typeof document === "string" ? (JSON.parse(document) as unknown) : document;
  if (typeof doc !== "object" || doc === null || Array.isArray(doc)) {
    throw new ConfigurationError(`${name}: expected a policy document`);
  }
  const raw = (doc as { Statement?: unknown }).Statement;
  const list = Array.isArray(raw) ? raw : raw === undefined ? [] : [raw];
  if (list.length === 0) throw new ConfigurationError(`${name}: no Statement`);
  const statements = list.map((st, i): Statement => {
    const where = `${name}.Statement[${i}]`;
    if (typeof st !== "object" || st === null) throw new ConfigurationError(`${where}: not a map`);
    const s = st as Record<string, unknown>;
    if (s.NotPrincipal !== undefined) {
      throw new ConfigurationError(`${where}: NotPrincipal is not supported`);
    }
    if (s.Effect !== "Allow" && s.Effect !== "Deny") {
      throw new ConfigurationError(`${where}.Effect: expected Allow or Deny`);
    }
    const notActions = s.NotAction !== undefined;
    if (notActions === (s.Action !== undefined)) {
      throw new ConfigurationError(`${where}: expected exactly one of Action, NotAction`);
    }
    return {
      effect: s.Effect,
      actions: asList(notActions ? s.NotAction : s.Action, `${where}.Action`),
      notActions,
      principal: parsePrincipal(s.Principal, `${where}.Principal`),
      conditions: parseConditions(s.Condition, `${where}.Condition`),
    };
  });
  return { statements };
}

const globCache = new Map<string, RegExp>();

/** IAM wildcards: `*` any run, `?` one character. */
function glob(pattern: string, value: string, ignoreCase: boolean): boolean {
  const key = `${ignoreCase ? "i" : "c"}${pattern}`;
  let re = globCache.get(key);
  if (re === undefined) {
    const body = pattern
      .split("")
      .map((c) => (c === "*" ? ".*" : c === "?" ? "." : c.replace(/[.+^${}()|[\]\\]/g, "\\$&")))
      .join("");
    re = new RegExp(`^${body}$`, ignoreCase ? "is" : "s");
    globCache.set(key, re);
  }
  return re.test(value);
}

function actionMatches(s: Statement, action: string): boolean {
  const hit = s.actions.some((p) => glob(p, action, true));
  return s.notActions ? !hit : hit;
}

/** `123456789012`, `arn:aws:iam::123456789012:root`: every principal of the account. */
function accountOf(principal: string): string | undefined {
  if (/^\d{12}$/.test(principal)) return principal;
  return /^arn:[^:]+:iam::(\d{12}):root$/.exec(principal)?.[1];
}

function principalMatches(m: PrincipalMatcher | null, ctx: RequestContext): boolean {
  if (m === null) return true;
  if (m.kind === "any") return true;
  if (m.kind === "service") {
    return ctx.principalService !== undefined && m.values.includes(ctx.principalService);
  }
  return m.values.some((p) => {
    const account = accountOf(p);
    if (account !== undefined) return account === ctx.principalAccount;
    return ctx.principalArns.includes(p);
  });
}

function conditionHolds(c: Condition, ctx: RequestContext): boolean {
  const value = ctx.values[c.key];
  const negated = c.operator === "StringNotEquals" || c.operator === "StringNotLike";
  if (value === undefined) return c.ifExists || negated;
  // String conditions compare case-sensitively, as IAM's String operators do.
  const match =
    c.operator === "StringLike" || c.operator === "StringNotLike"
      ? c.values.some((p) => glob(p, value, false))
      : c.values.includes(value);
  return negated ? !match : match;
}

/** `allow` only when some Allow statement applies and no Deny does. */
export function evaluatePolicies(
  policies: readonly Policy[],
  ctx: RequestContext,
): "allow" | "explicit-deny" | "implicit-deny" {
  let allowed = false;
  for (const policy of policies) {
    for (const s of policy.statements) {
      if (!actionMatches(s, ctx.action)) continue;
      if (!principalMatches(s.principal, ctx)) continue;
      if (!s.conditions.every((c) => conditionHolds(c, ctx))) continue;
      if (s.effect === "Deny") return "explicit-deny";
      allowed = true;
    }
  }
  return allowed ? "allow" : "implicit-deny";
}
