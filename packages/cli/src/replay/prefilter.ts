import { EVENT_SPECS } from "@guardrail/core/runtime";

/**
 * The pre-filter of `guardrail replay`: most of a CloudTrail trail is traffic the guardrail never
 * sees (EventBridge only delivers the handled event names to its functions), so by default replay
 * lists only records whose event name is one it handles, and finds them in the decompressed bytes
 * of a log file before any `JSON.parse`. A record is parsed only when its bytes could hold such a
 * name; the rest are counted.
 *
 * Why the scan cannot miss one: a JSON string equal to a handled name (letters and digits only)
 * is written either literally, `"AuthorizeSecurityGroupIngress"`, or with at least one `\u`
 * escape (the other escapes, `\"`, `\\`, `\/`, `\b`..., decode to characters no name has). So a
 * record whose bytes hold neither a quoted handled name nor a `\u` cannot have a handled
 * `eventName`, wherever that key is and however it is spelt.
 */

/** The event names replay lists by default: every event the guardrail's functions handle. */
export const HANDLED_EVENT_NAMES: readonly string[] = Object.keys(EVENT_SPECS);

for (const name of HANDLED_EVENT_NAMES) {
  // A name with another character could be hidden by an escape the scan does not look for.
  if (!/^[A-Za-z0-9]+$/.test(name)) {
    throw new Error(`replay's pre-filter only knows event names of letters and digits: ${name}`);
  }
}

type Obj = Record<string, unknown>;
const isObj = (v: unknown): v is Obj => typeof v === "object" && v !== null && !Array.isArray(v);
const own = (o: Obj, k: string): unknown => (Object.hasOwn(o, k) ? o[k] : undefined);

/**
 * True when replay lists this record by default: its `eventName` (the EventBridge envelope's
 * `detail.eventName`, or the record's own) is a handled event name, exactly as the normaliser
 * reads it. A value that is not an object is listed too: it is an invalid event, and replay says
 * so. Every other record is only counted.
 */
export function isListed(value: unknown): boolean {
  if (!isObj(value)) return true;
  let record: Obj = value;
  if (Object.hasOwn(value, "detail") || Object.hasOwn(value, "detail-type")) {
    const detail = own(value, "detail");
    if (!isObj(detail)) return false;
    record = detail;
  }
  const name = own(record, "eventName");
  return typeof name === "string" && Object.hasOwn(EVENT_SPECS, name);
}

/** A record of a log file that may be listed: its position among the records, and its bytes. */
export interface Candidate {
  readonly index: number;
  readonly start: number;
  readonly end: number;
}

/** What the scan of one CloudTrail log file found. */
export interface LogScan {
  /** Records in the file. */
  readonly total: number;
  /** The records to parse, in file order; every other record is certainly not listed. */
  readonly candidates: readonly Candidate[];
}

const encoder = new TextEncoder();
const NAMES = HANDLED_EVENT_NAMES.map((n) => encoder.encode(n));
const MAX_NAME = Math.max(...NAMES.map((n) => n.length));
/** Names by length: a string is compared only with the names of its own length. */
const BY_LENGTH: Uint8Array[][] = Array.from({ length: MAX_NAME + 1 }, (_, len) =>
  NAMES.filter((n) => n.length === len),
);
/** `{"Records":[`, the way CloudTrail writes every log file (whitespace allowed between). */
const PREFIX = ["{", '"Records"', ":", "["].map((t) => encoder.encode(t));

const QUOTE = 0x22;
const BACKSLASH = 0x5c;
const U = 0x75;

const isSpace = (c: number | undefined) => c === 0x20 || c === 0x0a || c === 0x0d || c === 0x09;

function skipSpace(b: Uint8Array, i: number): number {
  while (isSpace(b[i])) i++;
  return i;
}

function isName(b: Uint8Array, start: number, len: number): boolean {
  const names = BY_LENGTH[len];
  if (names === undefined || names.length === 0) return false;
  for (const n of names) {
    let k = 0;
    while (k < len && b[start + k] === n[k]) k++;
    if (k === len) return true;
  }
  return false;
}

/**
 * Scans the decompressed bytes of a CloudTrail log file (`{"Records":[{...},...]}`) for the
 * records that may be listed: those holding a string equal to a handled event name, or a `\u`
 * escape. It tracks strings and nesting only, so it reads each byte once and allocates nothing
 * per record. Returns null for anything else (another layout, JSON Lines, a truncated or
 * malformed file): the caller then parses the whole file, which reports what is wrong.
 */
export function scanLogFile(b: Uint8Array): LogScan | null {
  const n = b.length;
  let i = 0;
  for (const token of PREFIX) {
    i = skipSpace(b, i);
    for (let k = 0; k < token.length; k++, i++) if (b[i] !== token[k]) return null;
  }
  i = skipSpace(b, i);
  const candidates: Candidate[] = [];
  let total = 0;
  if (b[i] === 0x5d) i++;
  else {
    for (;;) {
      if (b[i] !== 0x7b) return null;
      const start = i;
      let depth = 0;
      let flagged = false;
      for (; i < n; i++) {
        const c = b[i];
        if (c === QUOTE) {
          const from = ++i;
          for (; i < n; i++) {
            const d = b[i];
            if (d === QUOTE) break;
            if (d === BACKSLASH) {
              i++;
              if (b[i] === U) flagged = true;
            }
          }
          if (i >= n) return null;
          const len = i - from;
          if (!flagged && len <= MAX_NAME && isName(b, from, len)) flagged = true;
        } else if (c === 0x7b || c === 0x5b) depth++;
        else if (c === 0x7d || c === 0x5d) {
          depth--;
          if (depth === 0) break;
        }
      }
      if (i >= n) return null;
      i++;
      if (flagged) candidates.push({ index: total, start, end: i });
      total++;
      i = skipSpace(b, i);
      if (b[i] === 0x2c) {
        i = skipSpace(b, i + 1);
        continue;
      }
      if (b[i] !== 0x5d) return null;
      i++;
      break;
    }
  }
  i = skipSpace(b, i);
  if (b[i] !== 0x7d) return null;
  if (skipSpace(b, i + 1) !== n) return null;
  return { total, candidates };
}
