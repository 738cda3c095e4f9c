import { NEVER_FOLDED_RESULTS, NEVER_FOLDED_SEVERITIES } from "../reliability";
import { DECISION_MESSAGE_SCHEMA } from "./message";
import type { SlackMessage } from "./slack";

/** What a digest window folded: how many messages, by decision result. */
export interface FoldedWindow {
  /** Window start, epoch seconds. */
  readonly windowStart: number;
  readonly windowSeconds: number;
  readonly byResult: Readonly<Record<string, number>>;
}

/**
 * The decision result of a message the Slack notifier may fold into a digest, or null when it
 * must be posted on its own. Folded: event decisions whose exposure is closed (`revoked`,
 * `already-gone`) whatever the finding's severity, and non-critical ones left in place. Never
 * folded: a failed remediation (critical: the exposure persists), a critical finding left open
 * (notify-only, exempt), an unreadable event, sweep summaries (one per run), alarms and anything
 * unrecognised.
 *
 * @example
 * foldableResult({ schema: "guardrail.decision/v1", severity: "critical", result: "revoked" }); // "revoked"
 * foldableResult({ schema: "guardrail.decision/v1", severity: "critical", result: "failed" }); // null
 * foldableResult({ schema: "guardrail.decision/v1", severity: "critical", result: "notify-only" }); // null
 */
export function foldableResult(message: unknown): string | null {
  if (message === null || typeof message !== "object") return null;
  const m = message as Record<string, unknown>;
  if (m.schema !== DECISION_MESSAGE_SCHEMA) return null;
  if (typeof m.severity !== "string" || typeof m.result !== "string") return null;
  if (NEVER_FOLDED_RESULTS.includes(m.result)) return null;
  const closed = CLOSED_RESULTS.includes(m.result);
  if (!closed && NEVER_FOLDED_SEVERITIES.includes(m.severity)) return null;
  return m.result;
}

/** Results whose exposure is closed: the rule is gone. */
const CLOSED_RESULTS: readonly string[] = ["revoked", "already-gone"];

const NOUN: Record<string, [string, string]> = {
  revoked: ["revocation", "revocations"],
  "already-gone": ["rule already gone", "rules already gone"],
  "notify-only": ["notify-only finding", "notify-only findings"],
  exempt: ["exempted change", "exempted changes"],
};

/**
 * The one Slack message that stands for the messages folded in a window, with the audit query
 * that lists them.
 *
 * @example
 * renderSlackDigest({ windowStart: 1_700_000_040, windowSeconds: 60, byResult: { revoked: 37 } }).text;
 * // "37 more revocations in the last minute (not posted one by one: over the rate limit)"
 */
export function renderSlackDigest(w: FoldedWindow): SlackMessage {
  const parts = Object.entries(w.byResult)
    .filter(([, n]) => n > 0)
    .sort((a, b) => b[1] - a[1])
    .map(([result, n]) => {
      const [one, many] = NOUN[result] ?? [`${result} decision`, `${result} decisions`];
      return `${n} more ${n === 1 ? one : many}`;
    });
  const span = w.windowSeconds === 60 ? "the last minute" : `the last ${w.windowSeconds} s`;
  const text = `${parts.join(", ") || "0 more decisions"} in ${span} (not posted one by one: over the rate limit)`;
  const since = new Date(w.windowStart * 1000).toISOString();
  const until = new Date((w.windowStart + w.windowSeconds) * 1000).toISOString();
  return {
    text,
    blocks: [
      { type: "section", text: { type: "mrkdwn", text: `:package: ${text}` } },
      {
        type: "context",
        elements: [
          {
            type: "mrkdwn",
            text: `Every one is in the audit table and on the SNS topic: \`guardrail audit --since ${since} --until ${until}\``,
          },
        ],
      },
    ],
  };
}
