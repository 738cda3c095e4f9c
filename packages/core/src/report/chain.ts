import { createHash } from "node:crypto";
import { AUDIT_KEY_PREFIX } from "../registry";
import type { AuditItem } from "./audit";

/**
 * The tamper-evident chain over decision records: one chain per account and Region, one entry
 * per version of a decision record (its first write, and each better-informed result that
 * replaced it), appended by a single writer in the order the records were written.
 *
 * `hash = sha256(prevHash + canonical(body))`, where the body names the record by its own
 * sha256 (`recordHash`) and carries its predecessor's `expiresAt`: when DynamoDB TTL removes the
 * oldest entries, the oldest entry left proves that what came before it was due to expire, so
 * the verifier accepts the gap. Anyone can recompute a sha256, so the chain is evidence only
 * against an anchor the writers of the table cannot change: the Object Lock copy in S3
 * (`chainObjectKey`) and the head item.
 */
export const CHAIN_VERSION = "guardrail.chain/v1";

/** `prevHash` of an account and Region's first entry. */
export const GENESIS_HASH = "0".repeat(64);

/**
 * Fields of a decision item that change after it is written and are not part of the decision:
 * who holds its notification and whether it went out (`AuditStore.putDecision`).
 */
export const MUTABLE_DECISION_FIELDS = ["notification", "claim", "claimedAt"] as const;

/** What the chain covers of a decision item: all of it but `MUTABLE_DECISION_FIELDS`. */
export type ChainedRecord = Readonly<Record<string, unknown>>;

/** One link of the chain: header fields hashed, plus the record itself. */
export interface ChainEntry {
  readonly v: typeof CHAIN_VERSION;
  /** `<account>#<region>`. */
  readonly chain: string;
  /** 1, 2, 3…: the position the writer gave it. */
  readonly seq: number;
  readonly decisionId: string;
  /** When the chain writer appended it (ISO, never earlier than its predecessor's). */
  readonly recordedAt: string;
  readonly prevHash: string;
  /** The predecessor's `expiresAt` (null for the first entry): what lets TTL gaps verify. */
  readonly prevExpiresAt: number | null;
  /** Epoch seconds after which TTL may remove this entry (never earlier than its predecessor's). */
  readonly expiresAt: number;
  /** sha256 of `canonicalJson(record)`. */
  readonly recordHash: string;
  readonly hash: string;
  readonly record: ChainedRecord;
}

/**
 * JSON with object keys sorted at every level and `undefined` members left out: the same record
 * gives the same text whatever order its keys were written or read in.
 *
 * @example
 * canonicalJson({ b: 1, a: { d: [2, { f: 3, e: 4 }] } }) // '{"a":{"d":[2,{"e":4,"f":3}]},"b":1}'
 */
export function canonicalJson(value: unknown): string {
  return JSON.stringify(sortKeys(value));
}

function sortKeys(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(sortKeys);
  if (value !== null && typeof value === "object") {
    const out: Record<string, unknown> = {};
    for (const k of Object.keys(value).sort()) {
      const v = (value as Record<string, unknown>)[k];
      if (v !== undefined) out[k] = sortKeys(v);
    }
    return out;
  }
  return value;
}

export function sha256Hex(text: string): string {
  return createHash("sha256").update(text, "utf8").digest("hex");
}

/** The chained part of a stored decision item (or of `auditItem(decision)`). */
export function chainedRecord(item: AuditItem | Readonly<Record<string, unknown>>): ChainedRecord {
  const out: Record<string, unknown> = { ...item };
  for (const f of MUTABLE_DECISION_FIELDS) delete out[f];
  return out;
}

/** sha256 of a record's canonical text. */
export function recordHash(record: ChainedRecord | AuditItem): string {
  return sha256Hex(canonicalJson(chainedRecord(record)));
}

/** `<account>#<region>`: one chain each. */
export function chainId(account: string, region: string): string {
  return `${account}#${region}`;
}

/** The entry hash over everything but the hash itself and the record (named by `recordHash`). */
export function entryHash(entry: Omit<ChainEntry, "hash" | "record">): string {
  const body = {
    v: entry.v,
    chain: entry.chain,
    seq: entry.seq,
    decisionId: entry.decisionId,
    recordedAt: entry.recordedAt,
    prevHash: entry.prevHash,
    prevExpiresAt: entry.prevExpiresAt,
    expiresAt: entry.expiresAt,
    recordHash: entry.recordHash,
  };
  return sha256Hex(entry.prevHash + canonicalJson(body));
}

/** The head of a chain: its last entry's position, hash, time and expiry. */
export interface ChainHead {
  readonly seq: number;
  readonly hash: string;
  readonly recordedAt: string;
  readonly expiresAt: number;
}

/**
 * The next entry of a chain. Times never go backwards along the chain (a writer clock that did
 * is held at its predecessor's), so expiries are ordered and a TTL gap can be judged by the
 * entry after it.
 *
 * @example
 * const first = appendEntry(null, { account: "111122223333", region: "eu-west-1", record, now, retentionDays: 400 });
 * first.seq // 1
 * first.prevHash === GENESIS_HASH // true
 */
export function appendEntry(
  head: ChainHead | null,
  input: {
    readonly account: string;
    readonly region: string;
    readonly record: ChainedRecord | AuditItem;
    readonly now: Date;
    readonly retentionDays: number;
  },
): ChainEntry {
  const record = chainedRecord(input.record);
  const nowMs = input.now.getTime();
  const recordedAtMs = head ? Math.max(nowMs, Date.parse(head.recordedAt)) : nowMs;
  const expiresAt = Math.max(
    Math.floor(recordedAtMs / 1000) + input.retentionDays * 86_400,
    head?.expiresAt ?? 0,
  );
  const body = {
    v: CHAIN_VERSION,
    chain: chainId(input.account, input.region),
    seq: (head?.seq ?? 0) + 1,
    decisionId: String(record.id ?? ""),
    recordedAt: new Date(recordedAtMs).toISOString(),
    prevHash: head?.hash ?? GENESIS_HASH,
    prevExpiresAt: head?.expiresAt ?? null,
    expiresAt,
    recordHash: recordHash(record),
  } as const;
  return { ...body, hash: entryHash(body), record };
}

export function headOf(entry: ChainEntry): ChainHead {
  return {
    seq: entry.seq,
    hash: entry.hash,
    recordedAt: entry.recordedAt,
    expiresAt: entry.expiresAt,
  };
}

/** Where the chain lives in the audit table: one partition per account and Region. */
export function chainEntryKey(
  account: string,
  region: string,
  seq: number,
): { pk: string; sk: string } {
  return {
    pk: `${AUDIT_KEY_PREFIX.chain}${chainId(account, region)}`,
    sk: `SEQ#${String(seq).padStart(12, "0")}`,
  };
}

/** The head item: the last entry's position and hash (no TTL: it outlives the entries). */
export function chainHeadKey(account: string, region: string): { pk: string; sk: string } {
  return { pk: `${AUDIT_KEY_PREFIX.chain}${chainId(account, region)}`, sk: "HEAD" };
}

/** The position in a chain entry's sort key or S3 object key (`…/000000000042.json`). */
export function seqOfKey(key: string): number | null {
  const m = /(\d{12})(?:\.json)?$/.exec(key);
  return m ? Number(m[1]) : null;
}

/**
 * The S3 key of an entry's immutable copy, partitioned for Athena (Hive style, which partition
 * projection reads): `chain/account=<a>/region=<r>/date=<YYYY-MM-DD>/<seq>.json`.
 *
 * @example
 * chainObjectKey(entry) // "chain/account=111122223333/region=eu-west-1/date=2026-12-06/000000000001.json"
 */
export function chainObjectKey(entry: Pick<ChainEntry, "chain" | "seq" | "recordedAt">): string {
  const [account, region] = entry.chain.split("#");
  return `${chainObjectPrefix(account ?? "", region ?? "")}date=${entry.recordedAt.slice(0, 10)}/${String(entry.seq).padStart(12, "0")}.json`;
}

/** The prefix of one account and Region's objects. */
export function chainObjectPrefix(account: string, region: string): string {
  return `chain/account=${account}/region=${region}/`;
}

/** The object body: one JSON line, so that Athena's JSON SerDe reads one row per object. */
export function chainObjectBody(entry: ChainEntry): string {
  return `${canonicalJson(entry)}\n`;
}

/** What the verifier found wrong at one position. */
export interface ChainProblem {
  readonly kind: /** An entry's own hash or its record's hash does not match its content. */
    | "altered"
    /** Entries missing before their expiry (deleted), or after the last one (truncated). */
    | "deleted"
    /** An entry stored at a position other than the one it was written at, or out of order. */
    | "reordered"
    /** An entry whose `prevHash` is not its predecessor's hash. */
    | "broken-link"
    /** A decision item whose content is not what the chain recorded of it. */
    | "decision-altered"
    /** A chain entry whose decision item is gone before its expiry. */
    | "decision-deleted"
    /** A decision item the chain has no entry for (older than the grace period). */
    | "unchained"
    /** The anchor (S3 copy or head) disagrees with the entries. */
    | "anchor-mismatch";
  readonly chain: string;
  readonly seq?: number;
  readonly decisionId?: string;
  readonly detail: string;
}

/** An entry as read, with the position its store put it at (sort key, object key, line). */
export interface StoredEntry {
  readonly position: number;
  readonly entry: ChainEntry;
}

export interface ChainVerification {
  readonly chain: string;
  readonly ok: boolean;
  /** Entries read and checked. */
  readonly checked: number;
  readonly first: number | null;
  readonly last: number | null;
  /** Positions missing because TTL removed them (accepted). */
  readonly expired: number;
  readonly problems: readonly ChainProblem[];
}

export interface VerifyChainInput {
  readonly chain: string;
  /** The entries as read, in the order the store returned them. */
  readonly entries: readonly StoredEntry[];
  readonly now: Date;
  /** The head item (or the anchor's last entry), when there is one. */
  readonly head?: ChainHead | null;
  /**
   * The current decision items of this account and Region, to check that each is what the
   * chain recorded (the latest entry of its id).
   */
  readonly decisions?: readonly (AuditItem | Readonly<Record<string, unknown>>)[];
  /** A decision younger than this (ms) may not be chained yet. Default 15 minutes. */
  readonly graceMs?: number;
}

/**
 * Walks one chain and reports every deleted, altered and reordered entry; a gap whose entries
 * had all expired (TTL) is counted, not reported.
 *
 * @example
 * verifyChain({ chain: "111122223333#eu-west-1", entries, now: new Date() }).ok // true
 */
export function verifyChain(input: VerifyChainInput): ChainVerification {
  const { chain } = input;
  const nowS = Math.floor(input.now.getTime() / 1000);
  const problems: ChainProblem[] = [];
  const at = new Map<number, ChainEntry>();
  let lastPosition = 0;
  for (const { position, entry } of input.entries) {
    if (position <= lastPosition) {
      problems.push({
        kind: "reordered",
        chain,
        seq: position,
        decisionId: entry.decisionId,
        detail: `position ${position} read after position ${lastPosition}`,
      });
    }
    lastPosition = Math.max(lastPosition, position);
    if (entry.seq !== position || entry.chain !== chain) {
      problems.push({
        kind: "reordered",
        chain,
        seq: position,
        decisionId: entry.decisionId,
        detail: `entry written as ${entry.chain} #${entry.seq} is stored at ${chain} #${position}`,
      });
    }
    if (recordHash(entry.record) !== entry.recordHash) {
      problems.push({
        kind: "altered",
        chain,
        seq: position,
        decisionId: entry.decisionId,
        detail: "the record does not match its recordHash",
      });
    } else if (entryHash(entry) !== entry.hash) {
      problems.push({
        kind: "altered",
        chain,
        seq: position,
        decisionId: entry.decisionId,
        detail: "the entry does not match its hash",
      });
    }
    at.set(position, entry);
  }
  const positions = [...at.keys()].sort((a, b) => a - b);
  let expired = 0;
  let previous: ChainEntry | null = null;
  for (const p of positions) {
    const entry = at.get(p)!;
    const missing = previous === null ? p - 1 : p - previous.seq - 1;
    if (missing > 0) {
      // Expiries never decrease along the chain: every missing entry expired no later than
      // the one just before this entry, whose expiry this entry carries.
      const dueBy = entry.prevExpiresAt;
      if (dueBy !== null && dueBy <= nowS) expired += missing;
      else {
        problems.push({
          kind: "deleted",
          chain,
          seq: p,
          detail:
            missing === 1
              ? `entry #${p - 1} is missing before its expiry`
              : `entries #${p - missing} to #${p - 1} are missing before their expiry`,
        });
      }
    } else if (previous !== null && entry.prevHash !== previous.hash) {
      problems.push({
        kind: "broken-link",
        chain,
        seq: p,
        decisionId: entry.decisionId,
        detail: `prevHash is not the hash of entry #${previous.seq}`,
      });
    }
    if (previous !== null && entry.prevExpiresAt !== null && entry.prevExpiresAt < 0) {
      problems.push({ kind: "altered", chain, seq: p, detail: "negative prevExpiresAt" });
    }
    previous = entry;
  }
  const last = previous;
  const head = input.head ?? null;
  if (head !== null) {
    if (last === null || head.seq > last.seq) {
      const from = (last?.seq ?? 0) + 1;
      // The newest entries expire last: a missing tail is a deletion unless the head itself
      // has expired (nothing was written for a whole retention period).
      if (head.expiresAt > nowS) {
        problems.push({
          kind: "deleted",
          chain,
          seq: head.seq,
          detail:
            from === head.seq
              ? `the last entry #${head.seq} is missing`
              : `the last entries #${from} to #${head.seq} are missing`,
        });
      } else expired += head.seq - from + 1;
    } else if (head.seq === last.seq && head.hash !== last.hash) {
      problems.push({
        kind: "anchor-mismatch",
        chain,
        seq: head.seq,
        detail: "the head's hash is not the last entry's hash",
      });
    } else if (head.seq < last.seq) {
      problems.push({
        kind: "anchor-mismatch",
        chain,
        seq: last.seq,
        detail: `entries after the head (#${head.seq}) were added outside the chain writer`,
      });
    }
  }
  if (input.decisions) problems.push(...checkDecisions(chain, at, input, nowS));
  return {
    chain,
    ok: problems.length === 0,
    checked: at.size,
    first: positions[0] ?? null,
    last: last?.seq ?? null,
    expired,
    problems,
  };
}

function checkDecisions(
  chain: string,
  at: ReadonlyMap<number, ChainEntry>,
  input: VerifyChainInput,
  nowS: number,
): ChainProblem[] {
  const problems: ChainProblem[] = [];
  const latest = new Map<string, ChainEntry>();
  for (const entry of at.values()) {
    const seen = latest.get(entry.decisionId);
    if (!seen || seen.seq < entry.seq) latest.set(entry.decisionId, entry);
  }
  const grace = input.graceMs ?? 15 * 60_000;
  const present = new Set<string>();
  for (const decision of input.decisions ?? []) {
    const item = decision as Readonly<Record<string, unknown>>;
    const id = String(item.id ?? "");
    present.add(id);
    const entry = latest.get(id);
    if (!entry) {
      const decidedAt = Date.parse(String(item.decidedAt ?? ""));
      const firstPresent = Math.min(...at.keys());
      // Older than what is left of the chain: its entry expired first.
      const expiredEntry =
        at.size > 0 &&
        Number.isFinite(decidedAt) &&
        decidedAt < Date.parse(at.get(firstPresent)!.recordedAt);
      if (
        !expiredEntry &&
        !(Number.isFinite(decidedAt) && input.now.getTime() - decidedAt < grace)
      ) {
        problems.push({
          kind: "unchained",
          chain,
          decisionId: id,
          detail: "no chain entry records this decision",
        });
      }
      continue;
    }
    if (recordHash(item) !== entry.recordHash) {
      problems.push({
        kind: "decision-altered",
        chain,
        seq: entry.seq,
        decisionId: id,
        detail: `the decision item differs from what entry #${entry.seq} recorded`,
      });
    }
  }
  for (const [id, entry] of latest) {
    if (present.has(id)) continue;
    const expiresAt = Number(entry.record.expiresAt ?? 0);
    if (expiresAt > nowS) {
      problems.push({
        kind: "decision-deleted",
        chain,
        seq: entry.seq,
        decisionId: id,
        detail: "the decision item is gone before its expiry",
      });
    }
  }
  return problems;
}

/** Reads an entry from JSON (an S3 object, a DynamoDB item); null when it is not one. */
export function chainEntryOf(value: unknown): ChainEntry | null {
  if (value === null || typeof value !== "object") return null;
  const v = value as Record<string, unknown>;
  if (v.v !== CHAIN_VERSION || typeof v.seq !== "number" || typeof v.hash !== "string") return null;
  if (v.record === null || typeof v.record !== "object") return null;
  return {
    v: CHAIN_VERSION,
    chain: String(v.chain),
    seq: v.seq,
    decisionId: String(v.decisionId),
    recordedAt: String(v.recordedAt),
    prevHash: String(v.prevHash),
    prevExpiresAt: typeof v.prevExpiresAt === "number" ? v.prevExpiresAt : null,
    expiresAt: Number(v.expiresAt),
    recordHash: String(v.recordHash),
    hash: v.hash,
    record: v.record as ChainedRecord,
  };
}

/** One column of the Athena table over the S3 copy. */
export interface AthenaColumn {
  readonly name: string;
  readonly type: string;
}

/** The Athena (Glue) table over the S3 copy: one row per chain entry. */
export interface ChainAthenaTable {
  readonly name: string;
  readonly location: string;
  readonly columns: readonly AthenaColumn[];
  readonly partitionKeys: readonly AthenaColumn[];
  readonly serde: string;
  /** Table properties: partition projection, so no crawler or MSCK REPAIR is needed. */
  readonly parameters: Readonly<Record<string, string>>;
}

const FINDING_TYPE =
  "struct<rule:string,mode:string,severity:string,result:string,reason:string,change:struct<text:string,resourceid:string>>";

/**
 * The Athena type of each field of a chain entry, every field once (the compiler checks it). Its
 * column is the field's name in lower case, which the SerDe matches to the JSON key.
 */
const CHAIN_ENTRY_TYPES: { readonly [K in keyof ChainEntry]: string } = {
  v: "string",
  chain: "string",
  seq: "bigint",
  decisionId: "string",
  recordedAt: "string",
  prevHash: "string",
  prevExpiresAt: "bigint",
  expiresAt: "bigint",
  recordHash: "string",
  hash: "string",
  record: `struct<id:string,source:string,eventid:string,eventname:string,eventtime:string,resourcetype:string,resourceid:string,outcome:string,result:string,severity:string,decidedat:string,guardrailversion:string,policyid:string,exposureseconds:double,findings:array<${FINDING_TYPE}>>`,
};

/**
 * The table definition of the chain's S3 copy. The OpenX JSON SerDe matches JSON keys to
 * columns case-insensitively (`decisionId` → `decisionid`) and ignores keys it has no column
 * for. Partitions are projected: `account` and `region` are injected (a query names them in its
 * WHERE clause), `date` ranges over the retention.
 * https://docs.aws.amazon.com/athena/latest/ug/partition-projection.html
 *
 * @example
 * chainAthenaTable("my-bucket", 400).location // "s3://my-bucket/chain/"
 */
export function chainAthenaTable(bucket: string, retentionDays: number): ChainAthenaTable {
  return {
    name: "guardrail_decisions",
    location: `s3://${bucket}/chain/`,
    columns: Object.entries(CHAIN_ENTRY_TYPES).map(([key, type]) => ({
      name: key.toLowerCase(),
      type,
    })),
    partitionKeys: [
      { name: "account", type: "string" },
      { name: "region", type: "string" },
      { name: "date", type: "string" },
    ],
    serde: "org.openx.data.jsonserde.JsonSerDe",
    parameters: {
      "projection.enabled": "true",
      "projection.account.type": "injected",
      "projection.region.type": "injected",
      "projection.date.type": "date",
      "projection.date.format": "yyyy-MM-dd",
      "projection.date.range": `NOW-${retentionDays}DAYS,NOW`,
      "projection.date.interval": "1",
      "projection.date.interval.unit": "DAYS",
      "storage.location.template": `s3://${bucket}/chain/account=\${account}/region=\${region}/date=\${date}/`,
      classification: "json",
    },
  };
}

/** The same table as Athena DDL (`CREATE EXTERNAL TABLE`), for docs and manual setup. */
export function chainAthenaDdl(table: ChainAthenaTable): string {
  const cols = (list: readonly AthenaColumn[]) =>
    list.map((c) => `  \`${c.name}\` ${c.type}`).join(",\n");
  const props = Object.entries(table.parameters)
    .map(([k, v]) => `  '${k}'='${v}'`)
    .join(",\n");
  return [
    `CREATE EXTERNAL TABLE IF NOT EXISTS ${table.name} (`,
    cols(table.columns),
    ")",
    "PARTITIONED BY (",
    cols(table.partitionKeys),
    ")",
    `ROW FORMAT SERDE '${table.serde}'`,
    `LOCATION '${table.location}'`,
    "TBLPROPERTIES (",
    props,
    ");",
  ].join("\n");
}
