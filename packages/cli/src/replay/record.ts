import {
  type Action,
  EVENT_SPECS,
  type Evaluation,
  type EventMeta,
  errorCodeWithoutPrefix,
  evaluate,
  type Finding,
  isOwnPrincipal,
  normalise,
  type Outcome,
  type Policy,
  planActions,
} from "@guardrail/core/runtime";

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

/** Where a finding is: the rule id, else the group; a NACL entry as `acl#direction#number`. */
export function findingResource(f: Finding): string | null {
  const c = f.change;
  switch (c.kind) {
    case "security-group-rule":
      return c.ruleId ?? c.groupId;
    case "network-acl-entry":
      return `${c.networkAclId}#${c.egress ? "egress" : "ingress"}#${c.ruleNumber}`;
    case "prefix-list":
      return c.prefixListId;
    case "network-acl":
      return c.networkAclId;
  }
}

function toFinding(f: Finding): ReplayFinding {
  return {
    rule: f.rule,
    mode: f.mode,
    severity: f.severity,
    reason: f.reason,
    resource: findingResource(f),
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
  /**
   * True when every field the normaliser reads for metadata has the shape CloudTrail writes (a
   * string or nothing, objects where objects belong, no lower-case SIEM keys). Only such records
   * take the fast path; anything odd goes through the normaliser, which says what is wrong.
   */
  readonly clean: boolean;
}

type Obj = Record<string, unknown>;

const isObj = (v: unknown): v is Obj => typeof v === "object" && v !== null && !Array.isArray(v);
/** A non-empty string, as the normaliser reads optional text; anything else is null. */
const text = (v: unknown): string | null => (typeof v === "string" && v !== "" ? v : null);
/** Absent, null or a string: what the normaliser accepts without complaint. */
const stringish = (v: unknown) => v === undefined || v === null || typeof v === "string";
const own = (o: Obj, k: string): unknown => (Object.hasOwn(o, k) ? o[k] : undefined);
/** The exact key when present; a lower-case variant instead makes the record unclean. */
const exact = (o: Obj, k: string): { v: unknown; ok: boolean } => {
  const v = own(o, k);
  return { v, ok: v !== undefined || own(o, k.toLowerCase()) === undefined };
};

/**
 * Reads the top-level fields of a CloudTrail record or an EventBridge envelope the way the
 * normaliser reads an ignored event's metadata, without validating anything else; null when the
 * value is not an object at all.
 */
export function peek(value: unknown): Peek | null {
  if (!isObj(value)) return null;
  let rec: Obj = value;
  let envelope: Obj | null = null;
  let clean = true;
  if (Object.hasOwn(value, "detail") || Object.hasOwn(value, "detail-type")) {
    const detail = own(value, "detail");
    if (!isObj(detail)) return null;
    envelope = value;
    rec = detail;
    clean = stringish(own(value, "account")) && stringish(own(value, "region"));
  }
  const ui = exact(rec, "userIdentity");
  let actor: string | null = null;
  clean &&= ui.ok;
  if (isObj(ui.v)) {
    const sc = exact(ui.v, "sessionContext");
    const si = isObj(sc.v) ? exact(sc.v, "sessionIssuer") : { v: undefined, ok: true };
    const siArn = isObj(si.v) ? exact(si.v, "arn") : { v: undefined, ok: true };
    const fields = [
      exact(ui.v, "arn"),
      exact(ui.v, "type"),
      exact(ui.v, "accountId"),
      exact(ui.v, "invokedBy"),
    ];
    clean &&=
      sc.ok &&
      si.ok &&
      siArn.ok &&
      (sc.v === undefined || sc.v === null || isObj(sc.v)) &&
      (si.v === undefined || si.v === null || isObj(si.v)) &&
      stringish(siArn.v) &&
      fields.every((f) => f.ok && stringish(f.v));
    actor = text(fields[0]?.v) ?? text(siArn.v) ?? text(fields[3]?.v);
  } else {
    clean &&= ui.v === undefined || ui.v === null;
  }
  const fromConsole = own(rec, "sessionCredentialFromConsole");
  const errorCode = own(rec, "errorCode");
  clean &&=
    stringish(own(rec, "userAgent")) &&
    stringish(own(rec, "sourceIPAddress")) &&
    stringish(own(rec, "recipientAccountId")) &&
    stringish(own(rec, "awsRegion")) &&
    stringish(errorCode) &&
    [undefined, null, true, false, "true", "false"].includes(fromConsole as string);
  const readOnly = own(rec, "readOnly");
  return {
    eventSource: text(own(rec, "eventSource")),
    eventName: text(own(rec, "eventName")),
    eventId: text(own(rec, "eventID")),
    eventTime: text(own(rec, "eventTime")),
    account: text(own(rec, "recipientAccountId")) ?? (envelope && text(own(envelope, "account"))),
    region: text(own(rec, "awsRegion")) ?? (envelope && text(own(envelope, "region"))),
    actor,
    // Some exports write `errorCode: ""` on successful calls: no failure, as the normaliser says.
    errorCode: text(errorCode),
    readOnly: readOnly === true || readOnly === "true",
    clean,
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
  if (!p.clean || p.eventSource === null || p.eventName === null) return false;
  return p.eventSource !== EC2_SOURCE || !Object.hasOwn(EVENT_SPECS, p.eventName);
}

/** The ignore reason of a record {@link isUnrelated} said to skip. */
export function unrelatedCategory(p: Peek): "failed-call" | "read-only" | "unhandled-event" {
  if (p.errorCode !== null) return "failed-call";
  if (p.readOnly) return "read-only";
  return "unhandled-event";
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
    ...pick(p),
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
  return replayEvaluation(value, source, policy).line;
}

/** `replayRecord`, with the event and evaluation behind a line that was evaluated. */
export function replayEvaluation(value: unknown, source: string, policy: Policy): Evaluated {
  try {
    return decide(value, source, policy);
  } catch (err) {
    // The core only throws typed errors, but one bad record must not end a replay of millions:
    // it is reported in place like any other invalid record.
    const p = peek(value);
    return {
      line: {
        ...(p ? { ...unreadableLine(source, ""), ...pick(p) } : unreadableLine(source, "")),
        outcome: "invalid",
        reason: err instanceof Error ? err.message : String(err),
      },
    };
  }
}

/** A replayed record: its line, and for an evaluated event the event and the evaluation. */
export interface Evaluated {
  readonly line: ReplayLine;
  readonly event?: EventMeta;
  readonly evaluation?: Evaluation;
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

/** Why replay ignores DeleteNetworkAclEntry and ReplaceNetworkAclAssociation events. */
export const REPLAY_NEEDS_ACL = "needs the ACL";

function decide(value: unknown, source: string, policy: Policy): Evaluated {
  const result = normalise(value);
  if (result.status === "invalid") {
    return line({
      ...meta(result.event),
      outcome: "invalid",
      reason: result.error.message,
      findings: [],
      actions: [],
      source,
    });
  }
  if (result.status === "ignored") {
    return line({
      ...meta(result.event),
      outcome: "ignored",
      reason: `${result.reason}: ${result.detail}`,
      findings: [],
      actions: [],
      source,
    });
  }
  const event = result.event;
  if (result.changes.every((c) => c.kind === "network-acl")) {
    // What a deleted entry or a moved subnet opens depends on the rest of the ACL, which an
    // event does not carry.
    return line({
      ...meta(event),
      outcome: "ignored",
      reason: `${REPLAY_NEEDS_ACL}: ${event.eventName} is judged on the whole ACL after the change, which the event does not show`,
      findings: [],
      actions: [],
      source,
    });
  }
  if (isOwnPrincipal(event.actor, policy)) {
    return line({
      ...meta(event),
      outcome: "ignored",
      reason: "own-principal: the guardrail's own call",
      findings: [],
      actions: [],
      source,
    });
  }
  const at = new Date(event.eventTime);
  const evaluation = evaluate(result.changes, policy, {
    now: Number.isNaN(at.getTime()) ? new Date() : at,
    unknownDirection: "evaluate-both",
    event,
  });
  return {
    line: {
      ...meta(event),
      outcome: evaluation.outcome,
      findings: [...evaluation.findings, ...evaluation.waived].map(toFinding),
      actions: planActions(evaluation),
      source,
    },
    event,
    evaluation,
  };
}

const line = (l: ReplayLine): Evaluated => ({ line: l });
