import type { Decision, FindingView } from "./decision";
import { type ConsoleLinks, consoleLinks } from "./links";
import type { SweepSummary } from "./sweep";

export const DECISION_MESSAGE_SCHEMA = "guardrail.decision/v1";
export const SWEEP_MESSAGE_SCHEMA = "guardrail.sweep/v1";

/** The SNS message body of one decision: the decision, a one-line summary and console links. */
export interface DecisionMessage extends Decision {
  readonly schema: typeof DECISION_MESSAGE_SCHEMA;
  readonly summary: string;
  readonly links: ConsoleLinks;
}

/** The SNS message body of one sweep run (one per run, however many findings). */
export interface SweepMessage extends SweepSummary {
  readonly schema: typeof SWEEP_MESSAGE_SCHEMA;
  readonly summary: string;
}

/** SNS message attributes, all of DataType String, for subscription filter policies. */
export interface MessageAttributes {
  readonly severity: string;
  readonly outcome: string;
  readonly result: string;
  readonly rule: string;
  readonly account: string;
  readonly region: string;
  readonly eventName: string;
  readonly source: string;
  /** `escalated` on the flap guard's escalation only, so that a subscription can route it. */
  readonly flap?: string;
}

/** What the SNS adapter publishes: Subject (≤ 100 chars), Message (JSON) and attributes. */
export interface SnsPublication {
  readonly subject: string;
  readonly message: string;
  readonly attributes: MessageAttributes;
}

const RESULT_VERB: Record<Decision["result"], string> = {
  revoked: "Revoked",
  "already-gone": "Already gone",
  failed: "REMEDIATION FAILED, exposure persists",
  "notify-only": "Violation (notify only)",
  exempt: "Exempt",
  invalid: "Unreadable event",
};

/** One line for the decision, as a human reads it. */
export function summariseDecision(d: Decision): string {
  if (d.flap?.state === "escalated") {
    const f = d.flap;
    return `Revoke loop: ${f.rules.join("; ")} re-opened ${f.count} times since ${f.windowStart} by ${f.attribution.label}${f.attribution.principal ? ` as ${f.attribution.principal}` : ""}; revoked every time. Fix it in ${f.attribution.fixAt}`;
  }
  if (d.result === "invalid") {
    return `${RESULT_VERB.invalid}: ${d.event?.name ?? "unknown event"} ${d.event?.id ?? d.id} in ${d.account}/${d.region}: ${d.error?.message ?? "unreadable"}`;
  }
  const top = d.findings[0];
  const more = d.findings.length > 1 ? ` (+${d.findings.length - 1} more)` : "";
  const by = d.event?.actor?.arn ? ` by ${d.event.actor.arn}` : "";
  const what = top ? `${top.change.text} [${top.rule}]` : "";
  return `${RESULT_VERB[d.result]}: ${what} on ${d.resource.id}${more}${by} in ${d.account}/${d.region}`;
}

function primaryFinding(d: Decision): FindingView | undefined {
  return d.findings[0];
}

function clip(text: string, max: number): string {
  return text.length <= max ? text : `${text.slice(0, max - 1)}…`;
}

/** SNS subjects must be ASCII without control characters, at most 100 characters. */
function subjectOf(text: string): string {
  const ascii = text
    .replace(/[^\x20-\x7e]/g, "")
    .replace(/\s+/g, " ")
    .trim();
  return clip(ascii, 100).replace(/…$/, "...");
}

/**
 * The SNS message for a decision: one JSON message per decision, with attributes for filters.
 *
 * @example
 * const p = decisionPublication(decision);
 * p.attributes.severity // "critical"
 * JSON.parse(p.message).schema // "guardrail.decision/v1"
 */
export function decisionPublication(d: Decision): SnsPublication {
  const message: DecisionMessage = {
    schema: DECISION_MESSAGE_SCHEMA,
    ...d,
    summary: summariseDecision(d),
    links: consoleLinks(d.resource, d.region, d.source === "event" ? d.event?.id : undefined),
  };
  const top = primaryFinding(d);
  const escalated = d.flap?.state === "escalated";
  return {
    subject: subjectOf(
      escalated
        ? `[guardrail] Revoke loop (${d.flap?.attribution.label}) on ${d.resource.id}: ${top?.change.text ?? ""}`
        : `[guardrail] ${RESULT_VERB[d.result]}: ${top?.rule ?? d.event?.name ?? ""} on ${d.resource.id} (${d.account} ${d.region})`,
    ),
    message: JSON.stringify(message),
    attributes: {
      severity: d.severity,
      outcome: d.outcome,
      result: d.result,
      rule: top?.rule ?? "none",
      account: d.account,
      region: d.region,
      eventName: d.event?.name ?? "Sweep",
      source: d.source,
      ...(escalated ? { flap: "escalated" } : {}),
    },
  };
}

/**
 * The one SNS message of a sweep run.
 *
 * @example
 * sweepPublication(summary).attributes.eventName // "Sweep"
 */
export function sweepPublication(s: SweepSummary): SnsPublication {
  const summary = `Sweep ${s.account}/${s.region}: ${s.scanned.securityGroupRules} rules, ${s.scanned.networkAclEntries} NACL entries; revoked ${s.counts.revoked}, failed ${s.counts.failed}, notify-only ${s.counts["notify-only"]}, exempt ${s.counts.exempt}`;
  const message: SweepMessage = { schema: SWEEP_MESSAGE_SCHEMA, ...s, summary };
  const top = s.findings[0];
  return {
    subject: subjectOf(`[guardrail] ${summary}`),
    message: JSON.stringify(message),
    attributes: {
      severity: s.severity,
      outcome:
        s.counts.failed > 0 || s.counts.revoked > 0 || s.counts["notify-only"] > 0
          ? "violation"
          : "exempt",
      result: s.counts.failed > 0 ? "failed" : s.counts.revoked > 0 ? "revoked" : "notify-only",
      rule: top?.rule ?? "none",
      account: s.account,
      region: s.region,
      eventName: "Sweep",
      source: "sweep",
    },
  };
}
