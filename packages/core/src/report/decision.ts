import type {
  Action,
  Actor,
  Evaluation,
  EventMeta,
  Exemption,
  Finding,
  RuleChange,
} from "../model";
import { EVENT_SPECS } from "../registry";
import { exposureSeconds } from "./exposure";
import type { FlapView } from "./flap";
import {
  type ActionView,
  actionCovers,
  type ChangeView,
  type ResourceRef,
  resourceOf,
  viewAction,
  viewChange,
} from "./view";

/**
 * What carrying out one action came to. `failed` means the exposure persists. `not-taken`: AWS
 * answered that the action cannot be taken as planned without collateral (a narrowing whose
 * remainder the group's rule quota refuses: `RulesPerSecurityGroupLimitExceeded`); nothing was
 * revoked, and the finding notifies, saying why, as when the planner itself refuses.
 */
export interface ActionOutcome {
  readonly action: Action;
  readonly status: "revoked" | "already-gone" | "failed" | "not-taken";
  /**
   * The AWS error code and message when `failed` or `not-taken` (never credentials or request
   * signatures).
   */
  readonly error?: ErrorView;
  /** ISO time the call returned: the revoke is confirmed (or the rule was found gone). */
  readonly confirmedAt?: string;
}

export interface ErrorView {
  readonly code: string;
  readonly message: string;
}

/** What happened to one finding. */
export type FindingResult = "revoked" | "already-gone" | "failed" | "notify-only" | "exempt";

/** What happened to a whole decision (the most significant finding result, or `invalid`). */
export type DecisionResult = FindingResult | "invalid";

/** Severity of a message. `info` is for messages about no finding (a sweep with nothing found). */
export type MessageSeverity = Finding["severity"] | "info";

export interface FindingView {
  readonly rule: string;
  readonly mode: Finding["mode"];
  readonly severity: Finding["severity"];
  readonly reason: string;
  readonly change: ChangeView;
  /**
   * What the rule was before a ReplaceNetworkAclEntry or ModifySecurityGroupRules, from the
   * sweep's last state; `unknown` when the sweep never saw it. Absent for other events.
   */
  readonly previous?: ChangeView | "unknown";
  /** The remediation attempted for this finding (enforce mode only). */
  readonly action?: ActionView;
  readonly result: FindingResult;
  readonly error?: ErrorView;
  readonly exemption?: Exemption;
}

/**
 * The actor as shown in messages and audit records: the event's actor as read, which carries no
 * access key ids. A field added to `Actor` is a field of the message.
 */
export type ActorView = Actor;

export interface EventView {
  readonly id: string;
  readonly name: string;
  readonly time: string;
  readonly actor: ActorView | null;
}

/**
 * One decision of the guardrail that found something to report: the single model behind the SNS
 * message, the audit record and the Slack message.
 */
export interface Decision {
  /** Idempotency key: the CloudTrail `eventID`, or `sweep:<run>:<resource>` for the sweep. */
  readonly id: string;
  readonly source: "event" | "sweep";
  /** The CloudTrail event, null for the sweep (current state has no event). */
  readonly event: EventView | null;
  readonly account: string;
  readonly region: string;
  readonly resource: ResourceRef;
  readonly outcome: "violation" | "exempt" | "invalid";
  readonly result: DecisionResult;
  readonly severity: MessageSeverity;
  /** Counted findings first, then waived ones. */
  readonly findings: readonly FindingView[];
  /** Event time → last revoke confirmed; null unless something was revoked. */
  readonly exposureSeconds: number | null;
  /** Set when the remediation failed or the event could not be read. */
  readonly error?: ErrorView;
  /** Set by the flap guard: the window's escalation, or a revoke folded into it. */
  readonly flap?: FlapView;
  readonly decidedAt: string;
  readonly guardrailVersion: string;
  /** `policyId` of the policy text that made the decision. */
  readonly policyId: string;
}

export interface DecisionInput {
  readonly source: "event" | "sweep";
  /** Defaults to the event id. Required for the sweep. */
  readonly id?: string;
  readonly event?: EventMeta;
  /** Required when there is no event. */
  readonly account?: string;
  readonly region?: string;
  readonly evaluation: Evaluation;
  readonly outcomes: readonly ActionOutcome[];
  /** Defaults to the resource of the first finding. */
  readonly resource?: ResourceRef;
  /** Prior state of a replaced/modified rule, looked up by the caller. */
  readonly previous?: (change: RuleChange) => ChangeView | "unknown" | undefined;
  readonly decidedAt: Date;
  readonly guardrailVersion: string;
  readonly policyId: string;
}

/** Ordering used by the idempotent audit write: a better-informed result may replace a worse one. */
export const RESULT_RANK: Record<DecisionResult, number> = {
  failed: 1,
  invalid: 2,
  exempt: 2,
  "notify-only": 2,
  "already-gone": 3,
  revoked: 4,
};

const SEVERITY_ORDER: readonly MessageSeverity[] = ["critical", "high", "medium", "low", "info"];

function mostSevere(values: readonly MessageSeverity[]): MessageSeverity {
  for (const s of SEVERITY_ORDER) if (values.includes(s)) return s;
  return "info";
}

/** Severity order, most severe first (`critical` → 0). */
export function severityRank(s: MessageSeverity): number {
  return SEVERITY_ORDER.indexOf(s);
}

/** The event a message is about, as messages and audit records show it. */
export function viewEvent(
  event: Pick<EventMeta, "eventId" | "eventName" | "eventTime" | "actor">,
): EventView {
  return {
    id: event.eventId,
    name: event.eventName,
    time: event.eventTime,
    actor: viewActor(event.actor),
  };
}

export function viewActor(actor: Actor): ActorView {
  return {
    arn: actor.arn,
    type: actor.type,
    accountId: actor.accountId,
    sessionIssuerArn: actor.sessionIssuerArn,
    invokedBy: actor.invokedBy,
    sourceIp: actor.sourceIp,
    userAgent: actor.userAgent,
    console: actor.console,
  };
}

function findingView(
  finding: Finding,
  outcomes: readonly ActionOutcome[],
  previous: DecisionInput["previous"],
): FindingView {
  const prior = previous?.(finding.change);
  const base = {
    rule: finding.rule,
    mode: finding.mode,
    severity: finding.severity,
    reason: finding.reason,
    change: viewChange(finding.change),
    ...(prior !== undefined ? { previous: prior } : {}),
  };
  if (finding.exemption) return { ...base, result: "exempt", exemption: finding.exemption };
  if (finding.mode === "notify") return { ...base, result: "notify-only" };
  const outcome = outcomes.find((o) => actionCovers(o.action, finding.change));
  // An enforce finding the plan did not act on (no rule id, unknown group) is reported, not guessed at.
  if (!outcome) return { ...base, result: "notify-only" };
  if (outcome.status === "not-taken") {
    return {
      ...base,
      reason: `${base.reason}; not narrowed: ${outcome.error?.message ?? "AWS refused the remainder"} (${outcome.error?.code ?? "error"}), and revoking it whole would remove compliant traffic, so notify`,
      action: viewAction(outcome.action),
      result: "notify-only",
      ...(outcome.error ? { error: outcome.error } : {}),
    };
  }
  return {
    ...base,
    action: viewAction(outcome.action),
    result: outcome.status,
    ...(outcome.error ? { error: outcome.error } : {}),
  };
}

function overallResult(findings: readonly FindingView[]): FindingResult {
  const order: FindingResult[] = ["failed", "revoked", "already-gone", "notify-only", "exempt"];
  for (const r of order) if (findings.some((f) => f.result === r)) return r;
  return "exempt";
}

/**
 * Builds the decision for an evaluation with findings and the outcomes of its actions.
 * Returns null when there is nothing to report (no finding, counted or waived).
 *
 * @example
 * const d = buildDecision({ source: "event", event, evaluation, outcomes, decidedAt: new Date(), guardrailVersion: "1.0.0", policyId: "3f2a9c81d0e4" });
 * d?.result // "revoked"
 */
export function buildDecision(input: DecisionInput): Decision | null {
  const all = [...input.evaluation.findings, ...input.evaluation.waived];
  const first = all[0];
  if (!first) return null;
  const findings = all.map((f) => findingView(f, input.outcomes, input.previous));
  // Outcomes no finding claims (a plan that grouped changes differently) still count.
  const orphan = input.outcomes.filter((o) => !all.some((f) => actionCovers(o.action, f.change)));
  const result = orphan.some((o) => o.status === "failed") ? "failed" : overallResult(findings);
  const counted = findings.filter((f) => f.result !== "exempt");
  // An exemption is a security event: a decision whose findings were all waived is announced
  // at the severity of what was waived, not as information.
  const severity: MessageSeverity =
    result === "failed"
      ? "critical"
      : mostSevere((counted.length === 0 ? findings : counted).map((f) => f.severity));
  const event = input.event;
  const account = event?.account ?? input.account;
  const region = event?.region ?? input.region;
  if (account === undefined || region === undefined) {
    throw new TypeError("buildDecision needs an event or an account and a region");
  }
  const id = input.id ?? event?.eventId;
  if (id === undefined) throw new TypeError("buildDecision needs an id or an event");
  const revokedAt = input.outcomes
    .filter((o) => o.status === "revoked" && o.confirmedAt !== undefined)
    .map((o) => o.confirmedAt as string)
    .sort();
  const lastRevoke = revokedAt[revokedAt.length - 1];
  const failure = input.outcomes.find((o) => o.status === "failed" && o.error)?.error ?? undefined;
  return {
    id,
    source: input.source,
    event: event ? viewEvent(event) : null,
    account,
    region,
    resource: input.resource ?? resourceOf(first.change),
    outcome: counted.length === 0 ? "exempt" : "violation",
    result,
    severity,
    findings: [
      ...findings.filter((f) => f.result !== "exempt"),
      ...findings.filter((f) => f.result === "exempt"),
    ],
    exposureSeconds:
      event && lastRevoke !== undefined ? exposureSeconds(event.eventTime, lastRevoke) : null,
    ...(failure ? { error: failure } : {}),
    decidedAt: input.decidedAt.toISOString(),
    guardrailVersion: input.guardrailVersion,
    policyId: input.policyId,
  };
}

export interface InvalidDecisionInput {
  /** The CloudTrail eventID when readable, else the envelope id, else a digest of the payload. */
  readonly id: string;
  readonly event: Partial<EventMeta>;
  readonly error: { readonly code: string; readonly message: string; readonly path?: string };
  readonly decidedAt: Date;
  readonly guardrailVersion: string;
  readonly policyId: string;
}

/**
 * The decision for an event that could not be read. Reported (severity `high`) rather than
 * dropped: an unreadable event may hide a change nobody evaluated.
 *
 * @example
 * buildInvalidDecision({ id: "e-1", event: {}, error: { code: "INVALID_EVENT", message: "detail: missing" }, decidedAt: new Date(), guardrailVersion: "1", policyId: "3f2a9c81d0e4" }).result
 * // "invalid"
 */
export function buildInvalidDecision(input: InvalidDecisionInput): Decision {
  const e = input.event;
  return {
    id: input.id,
    source: "event",
    event: {
      id: e.eventId ?? input.id,
      name: e.eventName ?? "unknown",
      time: e.eventTime ?? input.decidedAt.toISOString(),
      actor: e.actor ? viewActor(e.actor) : null,
    },
    account: e.account ?? "unknown",
    region: e.region ?? "unknown",
    resource: { type: resourceTypeOf(e.eventName), id: "unknown" },
    outcome: "invalid",
    result: "invalid",
    severity: "high",
    findings: [],
    exposureSeconds: null,
    error: { code: input.error.code, message: input.error.message },
    decidedAt: input.decidedAt.toISOString(),
    guardrailVersion: input.guardrailVersion,
    policyId: input.policyId,
  };
}

function resourceTypeOf(eventName: string | undefined): ResourceRef["type"] {
  if (eventName !== undefined && Object.hasOwn(EVENT_SPECS, eventName)) {
    return EVENT_SPECS[eventName as keyof typeof EVENT_SPECS].resource;
  }
  return "unknown";
}
