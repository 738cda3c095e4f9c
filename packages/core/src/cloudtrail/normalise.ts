import { InvalidEventError } from "../errors";
import type { Actor, EventMeta, IgnoreReason, NormaliseResult } from "../model";
import { EVENT_SPECS, type KnownEventName } from "../registry";
import { isPermissive } from "./context";
import {
  asObject,
  asString,
  describe,
  fail,
  field,
  fieldAnyCase,
  isObject,
  type JsonObject,
  join,
  optBoolean,
  optObject,
  optString,
  readField,
  toEventError,
} from "./json";
import { EVENT_PARSERS } from "./parsers";

// `§N`: sections of docs/cloudtrail-shapes.md, the CloudTrail shapes read here.

/** Where the CloudTrail record sits in the input. */
export interface Located {
  readonly record: JsonObject;
  /** JSON path of the record: `detail` in an EventBridge event, `""` for a bare record. */
  readonly base: string;
  readonly envelope: JsonObject | null;
}

/** Keys that make an object recognisably a bare CloudTrail record. */
const RECORD_KEYS = [
  "eventName",
  "eventSource",
  "eventID",
  "eventVersion",
  "userIdentity",
  "requestParameters",
  "errorCode",
];

/** User agents of console sessions (older events; newer ones carry the browser's). */
const CONSOLE_AGENTS = new Set([
  "console.ec2.amazonaws.com",
  "console.amazonaws.com",
  "signin.amazonaws.com",
]);

export function locate(input: unknown): Located {
  let value = input;
  if (typeof value === "string") {
    try {
      value = JSON.parse(value.replace(/^\uFEFF/, ""));
    } catch (error) {
      throw new InvalidEventError("$", `not valid JSON (${(error as Error).message})`, {
        cause: error,
      });
    }
  }
  if (!isObject(value)) {
    fail("$", `expected an EventBridge event or a CloudTrail record, got ${describe(value)}`);
  }
  if (Object.hasOwn(value, "detail") || Object.hasOwn(value, "detail-type")) {
    return { record: asObject(field(value, "detail"), "detail"), base: "detail", envelope: value };
  }
  if (Object.hasOwn(value, "Records")) {
    fail("Records", "a CloudTrail log file holds many records: normalise them one at a time");
  }
  if (RECORD_KEYS.some((key) => Object.hasOwn(value, key))) {
    return { record: value, base: "", envelope: null };
  }
  fail(
    "detail",
    "missing: expected an EventBridge event with a detail object, or a bare CloudTrail record",
  );
}

function readActor({ record, base }: Located): Actor {
  // SIEM round-trips lower-case userIdentity keys (§12.18); reading either costs nothing.
  const uiPath = join(base, "userIdentity");
  const ui = optObject(fieldAnyCase(record, "userIdentity"), uiPath) ?? {};
  const scPath = join(uiPath, "sessionContext");
  const sc = optObject(fieldAnyCase(ui, "sessionContext"), scPath) ?? {};
  const siPath = join(scPath, "sessionIssuer");
  const si = optObject(fieldAnyCase(sc, "sessionIssuer"), siPath) ?? {};
  const invokedBy = optString(fieldAnyCase(ui, "invokedBy"), join(uiPath, "invokedBy"));
  const userAgent = readField(record, "userAgent", base, optString);
  // A string "true" when set, absent otherwise (§12.13).
  const fromConsole = readField(record, "sessionCredentialFromConsole", base, optBoolean);
  return {
    arn: optString(fieldAnyCase(ui, "arn"), join(uiPath, "arn")),
    type: optString(fieldAnyCase(ui, "type"), join(uiPath, "type")),
    accountId: optString(fieldAnyCase(ui, "accountId"), join(uiPath, "accountId")),
    sessionIssuerArn: optString(fieldAnyCase(si, "arn"), join(siPath, "arn")),
    invokedBy,
    sourceIp: readField(record, "sourceIPAddress", base, optString),
    userAgent,
    console:
      fromConsole === true ||
      (userAgent !== null && CONSOLE_AGENTS.has(userAgent)) ||
      invokedBy === "signin.amazonaws.com",
  };
}

/** Top-level field, falling back to the envelope (`recipientAccountId` is absent in old events). */
function withFallback(loc: Located, key: string, envelopeKey: string): string {
  const path = join(loc.base, key);
  const own = optString(field(loc.record, key), path);
  if (own !== null) return own;
  const fromEnvelope = loc.envelope
    ? optString(field(loc.envelope, envelopeKey), envelopeKey)
    : null;
  if (fromEnvelope === null) fail(path, `missing, and no envelope ${envelopeKey} to fall back on`);
  return fromEnvelope;
}

export function readMeta(loc: Located, eventName: string): EventMeta {
  return {
    eventId: asString(field(loc.record, "eventID"), join(loc.base, "eventID")),
    eventName,
    eventTime: asString(field(loc.record, "eventTime"), join(loc.base, "eventTime")),
    account: withFallback(loc, "recipientAccountId", "account"),
    region: withFallback(loc, "awsRegion", "region"),
    actor: readActor(loc),
  };
}

function lenient<T>(read: () => T): T | undefined {
  try {
    return read();
  } catch {
    return undefined;
  }
}

/** Whatever metadata can be read, for logs of ignored and invalid events. Never throws. */
export function partialMeta(loc: Located): Partial<EventMeta> {
  const text = (key: string) =>
    lenient(() => {
      const v = field(loc.record, key);
      return typeof v === "string" && v !== "" ? v : undefined;
    });
  const entries = {
    eventId: text("eventID"),
    eventName: text("eventName"),
    eventTime: text("eventTime"),
    account: lenient(() => withFallback(loc, "recipientAccountId", "account")),
    region: lenient(() => withFallback(loc, "awsRegion", "region")),
    actor: lenient(() => readActor(loc)),
  };
  return Object.fromEntries(
    Object.entries(entries).filter(([, v]) => v !== undefined),
  ) as Partial<EventMeta>;
}

/** `Client.UnauthorizedOperation` → `UnauthorizedOperation`: the Query API's own codes (§10). */
export function errorCodeWithoutPrefix(code: string): string {
  return code.replace(/^(Client|Server)\./, "");
}

function ignored(reason: IgnoreReason, detail: string, event: Partial<EventMeta>): NormaliseResult {
  return { status: "ignored", reason, detail, event };
}

function isFalse(value: unknown): boolean {
  return value === false || value === "false";
}

function classify(loc: Located, event: Partial<EventMeta>): NormaliseResult {
  const { record, base } = loc;
  // Failed calls changed nothing and carry `responseElements: null`: decided before reading
  // anything else, so that no part of a failed call is ever parsed (§12.1).
  const errorCode = field(record, "errorCode");
  // Some exports write `errorCode: ""` (or null) on successful calls: that is no error.
  if (errorCode !== undefined && errorCode !== null && errorCode !== "") {
    const code = typeof errorCode === "string" ? errorCode : describe(errorCode);
    const plain = errorCodeWithoutPrefix(code);
    const shown = plain === code ? code : `${plain} (${code})`;
    return ignored("failed-call", `the call failed with ${shown}; nothing changed`, event);
  }
  const readOnly = field(record, "readOnly");
  if (readOnly === true || readOnly === "true") {
    return ignored("read-only", "a read-only call changes no rule", event);
  }
  const eventName = readField(record, "eventName", base, asString);
  const source = readField(record, "eventSource", base, optString);
  if (source !== null && source !== "ec2.amazonaws.com") {
    return ignored("unhandled-event", `events from ${source} are not evaluated`, event);
  }
  if (!Object.hasOwn(EVENT_SPECS, eventName)) {
    return ignored(
      "unhandled-event",
      `${eventName} changes no rule the guardrail evaluates`,
      event,
    );
  }
  if (!isPermissive(eventName)) {
    const spec = EVENT_SPECS[eventName as KnownEventName];
    return ignored("restrictive", `${eventName} can only remove access (${spec.resource})`, event);
  }
  const response = field(record, "responseElements");
  if (
    isObject(response) &&
    (isFalse(field(response, "_return")) || isFalse(field(response, "return")))
  ) {
    return ignored("no-change", "the call returned false: nothing changed", event);
  }
  const meta = readMeta(loc, eventName);
  const changes = EVENT_PARSERS[eventName]({
    eventName,
    request: { value: field(record, "requestParameters"), path: join(base, "requestParameters") },
    response: { value: response, path: join(base, "responseElements") },
  });
  if (changes.length === 0) {
    return ignored("no-change", `${eventName} changed no rule or entry`, meta);
  }
  return { status: "handled", event: meta, changes };
}

/**
 * Reads one CloudTrail event about security groups, network ACLs or prefix lists into
 * single-source rule changes. Accepts an EventBridge event (`detail` holds the record), a bare
 * CloudTrail record, or either as a JSON string.
 *
 * It never throws: unreadable input comes back as `invalid` with an {@link InvalidEventError}
 * naming the JSON path; failed, read-only, unhandled, restrictive and no-op calls come back as
 * `ignored` with a reason.
 *
 * @example
 * const result = normalise(eventBridgeEvent);
 * if (result.status === "handled") {
 *   for (const change of result.changes) console.log(change.kind, change);
 * } else if (result.status === "invalid") {
 *   console.error(result.error.path, result.error.detail);
 *   // e.g. "detail.requestParameters.ipPermissions.items[0].ipRanges.items[1].cidrIp"
 * }
 */
export function normalise(input: unknown): NormaliseResult {
  let event: Partial<EventMeta> = {};
  try {
    const loc = locate(input);
    event = partialMeta(loc);
    return classify(loc, event);
  } catch (error) {
    return { status: "invalid", error: toEventError(error), event };
  }
}
