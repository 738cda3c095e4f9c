import { type Document, isNode, LineCounter, parseDocument } from "yaml";
import { type PolicyIssue, PolicyValidationError } from "../errors";
import { parsePolicy } from "./schema";
import type { Policy } from "./types";

/**
 * Reads a policy from YAML (JSON is YAML too), validates it and applies defaults. Syntax errors
 * and validation issues carry line numbers.
 *
 * @throws PolicyValidationError with one issue per problem: `rules[2].mode`, `networks.trusted[1]`.
 * @example
 * const policy = loadPolicy(DEFAULT_POLICY_YAML);
 * policy.rules.map((r) => r.id); // ["blocked-sources", "admin-ports", ...]
 */
export function loadPolicy(text: string): Policy {
  const lines = new LineCounter();
  const doc = parseDocument(text, { lineCounter: lines });
  if (doc.errors.length > 0) {
    throw new PolicyValidationError(
      doc.errors.map((e) => {
        const at = e.linePos?.[0];
        // The parser's message ends with its own position and a code frame; keep the sentence.
        const what = (e.message.split("\n")[0] ?? "").replace(/ at line \d+, column \d+:?$/, "");
        return {
          path: "$",
          message: `YAML syntax error${at ? ` at line ${at.line}, column ${at.col}` : ""}: ${what}`,
        };
      }),
    );
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
    located.sort((a, b) => a.line - b.line);
    throw new PolicyValidationError(
      located.map(({ path, message }) => ({ path, message })),
      { cause: error },
    );
  }
}

/** Appends the line of the nearest existing node on the issue's path. */
function withLine(
  issue: PolicyIssue,
  doc: Document,
  lines: LineCounter,
): PolicyIssue & { line: number } {
  const segments = parsePath(issue.path);
  for (let n = segments.length; n >= 0; n--) {
    const node = n === 0 ? doc.contents : doc.getIn(segments.slice(0, n), true);
    if (isNode(node) && node.range) {
      const { line } = lines.linePos(node.range[0]);
      return { path: issue.path, message: `${issue.message} (line ${line})`, line };
    }
  }
  return { ...issue, line: 0 };
}

function parsePath(path: string): (string | number)[] {
  if (path === "$") return [];
  const out: (string | number)[] = [];
  for (const m of path.matchAll(/([^.[\]]+)|\[(\d+)\]/g)) {
    out.push(m[2] !== undefined ? Number(m[2]) : (m[1] as string));
  }
  return out;
}
