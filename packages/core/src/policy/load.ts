import { type Document, isMap, isNode, isScalar, LineCounter, parseDocument } from "yaml";
import { type PolicyIssue, PolicyValidationError } from "../errors";
import { DEFAULT_POLICY_YAML } from "./default-policy";
import { parsePolicy } from "./schema";
import type { Policy } from "./types";

/** How to read a policy's text. `auto`: JSON when it starts with `{` and parses as JSON. */
export type PolicyFormat = "yaml" | "json" | "auto";

export interface LoadPolicyOptions {
  /** `json` for a `.json` file: its syntax errors are then reported as JSON errors. */
  readonly format?: PolicyFormat;
}

/**
 * Reads a policy from YAML or JSON, validates it and applies defaults. Every issue carries the
 * line and column of the field it is about, so a caller can show the source around it.
 *
 * A syntax error is reported alone: the first one, since the errors after it are usually the
 * parser losing its place (one bad indent in YAML gives a dozen messages).
 *
 * @throws PolicyValidationError with one issue per problem: `rules[2].mode`, `networks.trusted[1]`.
 * @example
 * const policy = loadPolicy(DEFAULT_POLICY_YAML);
 * policy.rules.map((r) => r.id); // ["blocked-sources", "admin-ports", ...]
 */
export function loadPolicy(text: string, options: LoadPolicyOptions = {}): Policy {
  const format = options.format ?? "auto";
  const lines = new LineCounter();
  const json = format === "json" || (format === "auto" && /^\s*\{/.test(text));
  if (json) {
    const error = jsonSyntaxError(text);
    // `auto` falls back to YAML for a flow mapping that is not JSON (unquoted keys).
    if (error && (format === "json" || parseDocument(text).errors.length > 0)) {
      throw new PolicyValidationError([error]);
    }
  }
  const doc = parseDocument(text, { lineCounter: lines, prettyErrors: true });
  const first = doc.errors[0];
  if (first) {
    const at = first.linePos?.[0];
    // The parser's message ends with its own position and a code frame; keep the sentence.
    const what = (first.message.split("\n")[0] ?? "").replace(/ at line \d+, column \d+:?$/, "");
    throw new PolicyValidationError([
      {
        path: "$",
        message: `YAML syntax error${at ? ` at line ${at.line}, column ${at.col}` : ""}: ${what}`,
        ...(at ? { line: at.line, column: at.col } : {}),
      },
    ]);
  }
  let value: unknown;
  try {
    value = doc.toJS();
  } catch (error) {
    // yaml refuses alias expansions that look like a resource-exhaustion attack.
    throw new PolicyValidationError(
      [{ path: "$", message: `cannot read the YAML: ${(error as Error).message}` }],
      { cause: error },
    );
  }
  try {
    return parsePolicy(value);
  } catch (error) {
    if (!(error instanceof PolicyValidationError)) throw error;
    // In file order, so the list reads top to bottom like the file.
    const located = error.issues.map((issue) => withLine(issue, doc, lines));
    located.sort((a, b) => (a.line ?? 0) - (b.line ?? 0) || (a.column ?? 0) - (b.column ?? 0));
    throw new PolicyValidationError(located, { cause: error });
  }
}

/** The JSON syntax error in `text`, placed by line and column, or null when it parses. */
function jsonSyntaxError(text: string): PolicyIssue | null {
  try {
    JSON.parse(text);
    return null;
  } catch (error) {
    const message = (error as Error).message;
    // V8 names the offset ("at position 42"); line and column are computed from it.
    const m = /position (\d+)/.exec(message);
    const offset = m ? Number(m[1]) : text.length;
    const before = text.slice(0, offset).split("\n");
    const line = before.length;
    const column = (before[before.length - 1]?.length ?? 0) + 1;
    const what = message
      .replace(/\s*\(line \d+ column \d+\)$/, "")
      .replace(/ in JSON at position \d+$/, "");
    return {
      path: "$",
      message: `JSON syntax error at line ${line}, column ${column}: ${what}`,
      line,
      column,
    };
  }
}

/** A 1-based line and column in a policy's text. */
export interface SourcePosition {
  readonly line: number;
  readonly column: number;
}

/**
 * Where the field at `path` (`networks.office[0]`, as issues and warnings name it) is written
 * in a policy's text: the nearest existing node on the path, or null when the text has none.
 *
 * @example
 * locateInPolicy(DEFAULT_POLICY_YAML, "rules[1].mode") // { line: …, column: 11 }
 */
export function locateInPolicy(text: string, path: string): SourcePosition | null {
  const lines = new LineCounter();
  const doc = parseDocument(text, { lineCounter: lines });
  if (doc.errors.length > 0) return null;
  const at = nodeAt(doc, lines, path);
  return at ? { line: at.line, column: at.col } : null;
}

function nodeAt(doc: Document, lines: LineCounter, path: string, atKey = false) {
  const segments = parsePath(path);
  const last = segments[segments.length - 1];
  if (atKey && typeof last === "string") {
    // An unknown key has no meaning of its own: point at the key, not at its value.
    const parent = segments.length === 1 ? doc.contents : doc.getIn(segments.slice(0, -1), true);
    const pair = isMap(parent)
      ? parent.items.find((p) => isScalar(p.key) && p.key.value === last)
      : undefined;
    if (pair && isNode(pair.key) && pair.key.range) return lines.linePos(pair.key.range[0]);
  }
  for (let n = segments.length; n >= 0; n--) {
    const node = n === 0 ? doc.contents : doc.getIn(segments.slice(0, n), true);
    if (isNode(node) && node.range) return lines.linePos(node.range[0]);
  }
  return null;
}

/** Appends the line of the nearest existing node on the issue's path, and records its place. */
function withLine(issue: PolicyIssue, doc: Document, lines: LineCounter): PolicyIssue {
  const at = nodeAt(doc, lines, issue.path, issue.message.startsWith("unknown key"));
  if (!at) return issue;
  return {
    path: issue.path,
    message: `${issue.message} (line ${at.line})`,
    line: at.line,
    column: at.col,
  };
}

function parsePath(path: string): (string | number)[] {
  if (path === "$") return [];
  const out: (string | number)[] = [];
  for (const m of path.matchAll(/([^.[\]]+)|\[(\d+)\]/g)) {
    out.push(m[2] !== undefined ? Number(m[2]) : (m[1] as string));
  }
  return out;
}

let cached: Policy | undefined;

/**
 * The shipped default policy, parsed once.
 *
 * @example
 * evaluate(changes, defaultPolicy(), { now: new Date() });
 */
export function defaultPolicy(): Policy {
  cached ??= loadPolicy(DEFAULT_POLICY_YAML);
  return cached;
}
