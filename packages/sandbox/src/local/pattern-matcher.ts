import { GuardrailError } from "@guardrail/core";

/**
 * A small EventBridge event-pattern matcher, so that the deployed rule patterns can be checked
 * against real CloudTrail events offline (`TestEventPattern` needs an AWS account), and so that
 * the local stack routes sandbox events with the very patterns the infra deploys.
 *
 * Semantics follow EventBridge's documented content filtering:
 * - Every key of the pattern must match; a pattern object descends into the event object.
 * - A pattern leaf is an array of matchers, any one of which may match (OR).
 * - Exact values (string, number, boolean, null) compare by equality; numbers by value.
 * - `prefix`, `suffix`, `equals-ignore-case`, `wildcard` apply to strings only.
 * - `anything-but` takes a value, a list of values, or a `prefix`/`suffix`/`equals-ignore-case`/
 *   `wildcard` object; it never matches a missing field.
 * - `numeric` takes comparison pairs (`[">", 0, "<=", 5]`) or `["=", n]`; numbers only.
 * - `exists: true` matches a present leaf (including `null`), `exists: false` a missing one.
 * - A field absent from the event fails every matcher except `exists: false`. A pattern that
 *   descends into a missing or non-object field sees its leaves as missing.
 * - When the event value is an array, the leaf matches if any element matches. An empty array
 *   has no element, so only `exists: false` matches it (an assumption: AWS does not document it).
 */

/** A malformed event pattern. `path` names the offending part (`$.detail.eventName[0]`). */
export class InvalidPatternError extends GuardrailError {
  readonly path: string;
  constructor(path: string, message: string) {
    super("PATTERN_INVALID", `${path}: ${message}`);
    this.path = path;
  }
}

export type EventPattern = { [key: string]: EventPattern | readonly unknown[] };

const isObject = (v: unknown): v is Record<string, unknown> =>
  typeof v === "object" && v !== null && !Array.isArray(v);

/** Whether `event` matches `pattern`. Throws InvalidPatternError for a malformed pattern. */
export function matchesPattern(pattern: unknown, event: unknown): boolean {
  if (!isObject(pattern)) throw new InvalidPatternError("$", "a pattern must be an object");
  return matchObject(pattern, isObject(event) ? event : undefined, "$");
}

function matchObject(
  pattern: Record<string, unknown>,
  value: Record<string, unknown> | undefined,
  path: string,
): boolean {
  let ok = true;
  // Every key is checked (not short-circuited) so that a malformed pattern always throws.
  for (const [key, sub] of Object.entries(pattern)) {
    const at = `${path}.${key}`;
    const present = value !== undefined && Object.hasOwn(value, key);
    const child = present ? value[key] : undefined;
    if (Array.isArray(sub)) {
      if (!matchLeaf(sub, present, child, at)) ok = false;
    } else if (isObject(sub)) {
      if (!matchObject(sub, isObject(child) ? child : undefined, at)) ok = false;
    } else {
      throw new InvalidPatternError(at, "must be an array of matchers or an object");
    }
  }
  return ok;
}

function matchLeaf(matchers: unknown[], present: boolean, value: unknown, path: string): boolean {
  if (matchers.length === 0) throw new InvalidPatternError(path, "an empty matcher list");
  const values: unknown[] = !present ? [] : Array.isArray(value) ? value : [value];
  const exists = values.length > 0;
  let ok = false;
  matchers.forEach((matcher, i) => {
    if (matchOne(matcher, exists, values, `${path}[${i}]`)) ok = true;
  });
  return ok;
}

function matchOne(matcher: unknown, exists: boolean, values: unknown[], path: string): boolean {
  if (matcher === null || ["string", "number", "boolean"].includes(typeof matcher)) {
    return values.some((v) => v === matcher);
  }
  if (!isObject(matcher)) throw new InvalidPatternError(path, "unsupported matcher");
  const keys = Object.keys(matcher);
  if (keys.length !== 1) throw new InvalidPatternError(path, "a matcher has exactly one operator");
  const op = keys[0] as string;
  const arg = matcher[op];
  switch (op) {
    case "exists":
      if (typeof arg !== "boolean") throw new InvalidPatternError(path, "exists takes a boolean");
      return arg ? exists && values.some((v) => !isObject(v)) : !exists;
    case "prefix":
    case "suffix":
    case "equals-ignore-case":
    case "wildcard": {
      const test = stringTest(op, arg, path);
      return values.some((v) => typeof v === "string" && test(v));
    }
    case "anything-but":
      return exists && values.some((v) => !isObject(v) && !anythingButExcludes(arg, v, path));
    case "numeric": {
      const test = numericTest(arg, path);
      return values.some((v) => typeof v === "number" && test(v));
    }
    default:
      throw new InvalidPatternError(path, `unsupported operator "${op}"`);
  }
}

function stringTest(op: string, arg: unknown, path: string): (v: string) => boolean {
  if (typeof arg !== "string") throw new InvalidPatternError(path, `${op} takes a string`);
  switch (op) {
    case "prefix":
      return (v) => v.startsWith(arg);
    case "suffix":
      return (v) => v.endsWith(arg);
    case "equals-ignore-case":
      return (v) => v.toLowerCase() === arg.toLowerCase();
    default: {
      const source = arg
        .split("*")
        .map((part) => part.replace(/[.+?^${}()|[\]\\]/g, "\\$&"))
        .join(".*");
      const re = new RegExp(`^${source}$`, "s");
      return (v) => re.test(v);
    }
  }
}

/** Whether `anything-but: arg` excludes the value `v`. */
function anythingButExcludes(arg: unknown, v: unknown, path: string): boolean {
  if (Array.isArray(arg)) {
    if (arg.length === 0)
      throw new InvalidPatternError(path, "anything-but takes a non-empty list");
    return arg.some((excluded) => excluded === v);
  }
  if (isObject(arg)) {
    const keys = Object.keys(arg);
    const op = keys[0];
    if (keys.length !== 1 || op === undefined) {
      throw new InvalidPatternError(path, "anything-but takes one operator");
    }
    if (!["prefix", "suffix", "equals-ignore-case", "wildcard"].includes(op)) {
      throw new InvalidPatternError(path, `anything-but does not take "${op}"`);
    }
    const test = stringTest(op, arg[op], path);
    return typeof v === "string" && test(v);
  }
  return arg === v;
}

function numericTest(arg: unknown, path: string): (v: number) => boolean {
  if (!Array.isArray(arg) || arg.length === 0 || arg.length % 2 !== 0 || arg.length > 4) {
    throw new InvalidPatternError(path, "numeric takes one or two [operator, number] pairs");
  }
  const checks: ((v: number) => boolean)[] = [];
  for (let i = 0; i < arg.length; i += 2) {
    const op = arg[i];
    const n = arg[i + 1];
    if (typeof n !== "number") throw new InvalidPatternError(path, "numeric compares to numbers");
    switch (op) {
      case "=":
        checks.push((v) => v === n);
        break;
      case ">":
        checks.push((v) => v > n);
        break;
      case ">=":
        checks.push((v) => v >= n);
        break;
      case "<":
        checks.push((v) => v < n);
        break;
      case "<=":
        checks.push((v) => v <= n);
        break;
      default:
        throw new InvalidPatternError(path, `unsupported numeric operator "${String(op)}"`);
    }
  }
  return (v) => checks.every((check) => check(v));
}
