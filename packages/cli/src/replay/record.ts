import {
  type Action,
  EVENT_SPECS,
  type EventMeta,
  errorCodeWithoutPrefix,
  evaluate,
  type Finding,
  isOwnPrincipal,
  normalise,
  type Outcome,
  type Policy,
  planActions,
} from "@guardrail/core";

/** One line of `guardrail replay --format json`: the contract other tools read. */
export interface ReplayLine {
  readonly eventId: string | null;
  readonly eventName: string | null;
  readonly eventTime: string | null;
  readonly account: string | null;
  readonly region: string | null;
  readonly actor: string | null;
  readonly outcome: Outcome;
  /** Why an event was ignored or invalid. */
  readonly reason?: string;
  readonly findings: readonly ReplayFinding[];
  readonly actions: readonly Action[];
  /** `file#index` of the record, or `file:line` for text that could not be parsed. */
  readonly source: string;
}

export interface ReplayFinding {
  readonly rule: string;
  readonly mode: "enforce" | "notify";
  readonly severity: string;
  readonly reason: string;
  readonly resource: string | null;
  readonly exemption?: {
    readonly kind: string;
    readonly reason: string;
    readonly expires?: string;
  };
}

function resourceOf(f: Finding): string | null {
  const c = f.change;
  switch (c.kind) {
    case "security-group-rule":
      return c.ruleId ?? c.groupId;
    case "network-acl-entry":
      return `${c.networkAclId}#${c.egress ? "egress" : "ingress"}#${c.ruleNumber}`;
    case "prefix-list":
      return c.prefixListId;
  }
}

function toFinding(f: Finding): ReplayFinding {
  return {
    rule: f.rule,
    mode: f.mode,
    severity: f.severity,
    reason: f.reason,
    resource: resourceOf(f),
    ...(f.exemption
      ? {
          exemption: {
            kind: f.exemption.kind,
            reason: f.exemption.reason,
            ...(f.exemption.expires ? { expires: f.exemption.expires } : {}),
          },
        }
      : {}),
  };
}

function meta(event: Partial<EventMeta>) {
  return {
    eventId: event.eventId ?? null,
    eventName: event.eventName ?? null,
    eventTime: event.eventTime ?? null,
    account: event.account ?? null,
    region: event.region ?? null,
    actor: event.actor?.arn ?? event.actor?.sessionIssuerArn ?? event.actor?.invokedBy ?? null,
  };
}

/** The fields replay reads before deciding whether a record is worth normalising. */
export interface Peek {
  readonly eventSource: string | null;
  readonly eventName: string | null;
  readonly eventId: string | null;
  readonly eventTime: string | null;
  readonly account: string | null;
  readonly region: string | null;
  readonly actor: string | null;
  readonly errorCode: string | null;
  readonly readOnly: boolean;
}

const str = (v: unknown): string | null => (typeof v === "string" ? v : null);

/**
 * Reads the top-level fields of a CloudTrail record or an EventBridge envelope without validating
 * anything; null when the value is not an object at all.
 */
export function peek(value: unknown): Peek | null {
  if (value === null || typeof value !== "object" || Array.isArray(value)) return null;
  let rec = value as Record<string, unknown>;
  let envelope: Record<string, unknown> | null = null;
  const detail = rec.detail;
  if (detail !== null && typeof detail === "object" && "detail-type" in rec) {
    envelope = rec;
    rec = detail as Record<string, unknown>;
  }
  const who = rec.userIdentity as Record<string, unknown> | null | undefined;
  let actor: string | null = null;
  if (who !== null && typeof who === "object") {
    const session = who.sessionContext as { sessionIssuer?: { arn?: unknown } } | undefined;
    actor = str(who.arn) ?? str(session?.sessionIssuer?.arn) ?? str(who.invokedBy);
  }
  const errorCode = rec.errorCode;
  return {
    eventSource: str(rec.eventSource),
    eventName: str(rec.eventName),
    eventId: str(rec.eventID),
    eventTime: str(rec.eventTime) ?? str(envelope?.time),
    account: str(rec.recipientAccountId) ?? str(envelope?.account),
    region: str(rec.awsRegion) ?? str(envelope?.region),
    actor,
    errorCode: errorCode === undefined || errorCode === null ? null : String(errorCode),
    readOnly: rec.readOnly === true || rec.readOnly === "true",
  };
}

const EC2_SOURCE = "ec2.amazonaws.com";

/**
 * True when the record is certainly none of the EC2 calls the guardrail evaluates. Most of a real
 * trail is such traffic (S3, STS, KMS, EC2 reads), and replay answers it from {@link peek} alone,
 * about twenty times faster than normalising it. The verdict and reason are the normaliser's own
 * (a test holds the two to each other); only EC2 calls the guardrail knows go through it.
 */
export function isUnrelated(p: Peek): boolean {
  if (p.eventSource === null || p.eventName === null) return false;
  return p.eventSource !== EC2_SOURCE || !Object.hasOwn(EVENT_SPECS, p.eventName);
}

/** The normaliser's reason for a record {@link isUnrelated} said to skip, in the same order. */
function unrelatedReason(p: Peek): string {
  if (p.errorCode !== null) {
    const plain = errorCodeWithoutPrefix(p.errorCode);
    const shown = plain === p.errorCode ? p.errorCode : `${plain} (${p.errorCode})`;
    return `failed-call: the call failed with ${shown}; nothing changed`;
  }
  if (p.readOnly) return "read-only: a read-only call changes no rule";
  if (p.eventSource !== EC2_SOURCE) {
    return `unhandled-event: events from ${p.eventSource} are not evaluated`;
  }
  return `unhandled-event: ${p.eventName} changes no rule the guardrail evaluates`;
}

/** The line for a record {@link isUnrelated} said to skip. */
export function unrelatedLine(p: Peek, source: string): ReplayLine {
  return {
    eventId: p.eventId,
    eventName: p.eventName,
    eventTime: p.eventTime,
    account: p.account,
    region: p.region,
    actor: p.actor,
    outcome: "ignored",
    reason: unrelatedReason(p),
    findings: [],
    actions: [],
    source,
  };
}

/** The line for input that could not be read or parsed at all. */
export function unreadableLine(source: string, message: string): ReplayLine {
  return {
    eventId: null,
    eventName: null,
    eventTime: null,
    account: null,
    region: null,
    actor: null,
    outcome: "invalid",
    reason: message,
    findings: [],
    actions: [],
    source,
  };
}

/**
 * Replays one record through the policy, exactly as the functions would decide it, except that
 * nothing is looked up: prefix lists stay unresolved (notify only), tags are unknown, and a
 * ModifySecurityGroupRules change is evaluated as both directions, the stricter verdict winning.
 * Exemption expiry is judged at the event's own time, so a replay of last year's trail says what
 * the guardrail would have done then.
 */
export function replayRecord(value: unknown, source: string, policy: Policy): ReplayLine {
  try {
    return decide(value, source, policy);
  } catch (err) {
    // The core only throws typed errors, but one bad record must not end a replay of millions:
    // it is reported in place like any other invalid record.
    const p = peek(value);
    return {
      ...(p ? { ...unreadableLine(source, ""), ...pick(p) } : unreadableLine(source, "")),
      outcome: "invalid",
      reason: err instanceof Error ? err.message : String(err),
    };
  }
}

function pick(p: Peek) {
  return {
    eventId: p.eventId,
    eventName: p.eventName,
    eventTime: p.eventTime,
    account: p.account,
    region: p.region,
    actor: p.actor,
  };
}

function decide(value: unknown, source: string, policy: Policy): ReplayLine {
  const result = normalise(value);
  if (result.status === "invalid") {
    return {
      ...meta(result.event),
      outcome: "invalid",
      reason: result.error.message,
      findings: [],
      actions: [],
      source,
    };
  }
  if (result.status === "ignored") {
    return {
      ...meta(result.event),
      outcome: "ignored",
      reason: `${result.reason}: ${result.detail}`,
      findings: [],
      actions: [],
      source,
    };
  }
  const event = result.event;
  if (isOwnPrincipal(event.actor, policy)) {
    return {
      ...meta(event),
      outcome: "ignored",
      reason: "own-principal: the guardrail's own call",
      findings: [],
      actions: [],
      source,
    };
  }
  const at = new Date(event.eventTime);
  const evaluation = evaluate(result.changes, policy, {
    now: Number.isNaN(at.getTime()) ? new Date() : at,
    unknownDirection: "evaluate-both",
    event,
  });
  return {
    ...meta(event),
    outcome: evaluation.outcome,
    findings: [...evaluation.findings, ...evaluation.waived].map(toFinding),
    actions: planActions(evaluation),
    source,
  };
}
