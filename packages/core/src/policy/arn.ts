import type { Actor } from "../model";

/**
 * ARN patterns with the semantics of IAM's `ArnLike` condition operator: "each of the six
 * colon-delimited components of the ARN is checked separately and each can include
 * multi-character match wildcards (*) or single-character match wildcards (?)" (IAM User Guide,
 * "IAM JSON policy elements: Condition operators", ARN condition operators). Case-sensitive.
 *
 * The six components are `arn`, partition, service, region, account and resource; the resource
 * is everything after the fifth colon (it may hold colons and slashes of its own). Matching part
 * by part is what keeps `*` in the account from swallowing `:user/x` and reaching into the
 * resource: with one glob over the whole text, `arn:aws:iam::*:role/admin` would also match
 * `arn:aws:iam::111122223333:user/x:role/admin`, an IAM user whose path is `/x:role/`.
 */

const PARTS = 6;
const compiled = new Map<string, RegExp>();

/** The six components of an ARN (or pattern), or null when it has fewer than six. */
export function arnParts(text: string): readonly string[] | null {
  const parts: string[] = [];
  let rest = text;
  for (let i = 0; i < PARTS - 1; i++) {
    const colon = rest.indexOf(":");
    if (colon < 0) return null;
    parts.push(rest.slice(0, colon));
    rest = rest.slice(colon + 1);
  }
  parts.push(rest);
  return parts;
}

function partRegex(part: string): RegExp {
  let re = compiled.get(part);
  if (!re) {
    const body = part
      .split("")
      .map((c) => (c === "*" ? ".*" : c === "?" ? "." : c.replace(/[.+^${}()|[\]\\]/g, "\\$&")))
      .join("");
    re = new RegExp(`^${body}$`, "s");
    compiled.set(part, re);
  }
  return re;
}

/**
 * Why a principal pattern can never match anything, or null when it is well formed: it must
 * start with `arn:` and have six colon-separated components.
 *
 * @example
 * arnPatternProblem("arn:aws:iam::*") // "an ARN has six colon-separated parts (arn:partition:service:region:account:resource); this has 4"
 */
export function arnPatternProblem(pattern: string): string | null {
  if (!pattern.startsWith("arn:")) return "an ARN pattern starts with arn:";
  const parts = arnParts(pattern);
  if (parts === null) {
    return `an ARN has six colon-separated parts (arn:partition:service:region:account:resource); this has ${pattern.split(":").length}`;
  }
  if (parts[5] === "") return "the resource part (after the fifth colon) is empty";
  return null;
}

/**
 * True when `arn` matches `pattern` as IAM's `ArnLike` decides: component by component, `*`
 * any run of characters and `?` one character within a component. This is the one matcher for
 * every principal pattern the guardrail checks (own principals, principal exemptions, tag
 * exemption approvers). An ARN or pattern with fewer than six components matches nothing.
 *
 * @example
 * arnMatches("arn:aws:iam::*:role/break-glass*", "arn:aws:iam::111122223333:role/break-glass-ops") // true
 * arnMatches("arn:aws:iam::*:role/admin", "arn:aws:iam::111122223333:user/x:role/admin") // false
 */
export function arnMatches(pattern: string, arn: string): boolean {
  const want = arnParts(pattern);
  const got = arnParts(arn);
  if (want === null || got === null) return false;
  for (let i = 0; i < PARTS; i++) {
    if (!partRegex(want[i] as string).test(got[i] as string)) return false;
  }
  return true;
}

/**
 * The first pattern the actor's ARN or its session issuer (the role behind a session) matches,
 * with `arnMatches`; undefined when none does.
 *
 * @example
 * principalMatches(event.actor, ["arn:aws:iam::*:role/break-glass"]) // "arn:aws:iam::*:role/break-glass"
 */
export function principalMatches(actor: Actor, patterns: readonly string[]): string | undefined {
  const arns = [actor.arn, actor.sessionIssuerArn].filter((a): a is string => a !== null);
  for (const p of patterns) if (arns.some((a) => arnMatches(p, a))) return p;
  return undefined;
}
