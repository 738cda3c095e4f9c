import type { S3Client } from "@aws-sdk/client-s3";
import {
  AUDIT_TABLE,
  type ChainEntry,
  type ChainHead,
  chainEntryKey,
  chainEntryOf,
  chainHeadKey,
  chainId,
  chainObjectBody,
  chainObjectKey,
  chainObjectPrefix,
  type StoredEntry,
  seqOfKey,
} from "@guardrail/core";
import { allItems, lookupFailed, sender, sortKeyPrefix, type TableStore, writeIf } from "./dynamo";
import { AuditWriteError, awsErrorCode, errorMessage, LookupFailedError } from "./errors";
import { lazy } from "./lazy";
import type { ToolClientConfig } from "./tool-clients";
import { tracedOnFirstUse } from "./trace";

/** The head item as stored: the last entry's position and hashes. */
export interface StoredHead extends ChainHead {
  readonly recordHash: string;
  readonly decisionId: string;
}

/** The chain's items in the audit table (`CHAIN#<account>#<region>`). */
export interface ChainStore {
  head(account: string, region: string): Promise<StoredHead | null>;
  /** Writes an entry at its position once; false when that position is taken. */
  putEntry(entry: ChainEntry): Promise<boolean>;
  entry(account: string, region: string, seq: number): Promise<ChainEntry | null>;
  /** Moves the head from `from` (null: no head yet) to `to`; false when it was not at `from`. */
  advanceHead(
    account: string,
    region: string,
    from: number | null,
    to: ChainEntry,
  ): Promise<boolean>;
  /** Every entry still stored, by position. */
  entries(account: string, region: string): Promise<StoredEntry[]>;
  /** Every chain (`<account>#<region>`) with a head. */
  chains(): Promise<string[]>;
}

export const createChainStore: TableStore<ChainStore> = (tableName, client) => {
  const send = sender(client);
  const get = (label: string, Key: Record<string, unknown>) =>
    send(
      label,
      async (ddb, { GetCommand }) =>
        (await ddb.send(new GetCommand({ TableName: tableName, Key, ConsistentRead: true }))).Item,
      { fail: lookupFailed },
    );
  return {
    async head(account, region) {
      const i = await get("GetItem chain head", chainHeadKey(account, region));
      if (!i) return null;
      return {
        seq: Number(i.seq),
        hash: String(i.hash),
        recordedAt: String(i.recordedAt),
        expiresAt: Number(i.headExpiresAt),
        recordHash: String(i.recordHash),
        decisionId: String(i.decisionId),
      };
    },

    putEntry(entry) {
      const [account = "", region = ""] = entry.chain.split("#");
      return writeIf(
        send,
        `PutItem chain entry ${entry.chain} #${entry.seq}`,
        (ddb, { PutCommand }) =>
          ddb.send(
            new PutCommand({
              TableName: tableName,
              Item: {
                ...chainEntryKey(account, region, entry.seq),
                type: "chain-entry",
                entry,
                [AUDIT_TABLE.ttlAttribute]: entry.expiresAt,
              },
              ConditionExpression: "attribute_not_exists(#pk)",
              ExpressionAttributeNames: { "#pk": AUDIT_TABLE.partitionKey },
            }),
          ),
      );
    },

    async entry(account, region, seq) {
      const i = await get("GetItem chain entry", chainEntryKey(account, region, seq));
      return i ? chainEntryOf(i.entry) : null;
    },

    advanceHead(account, region, from, to) {
      return writeIf(send, `PutItem chain head ${to.chain}`, (ddb, { PutCommand }) =>
        ddb.send(
          new PutCommand({
            TableName: tableName,
            Item: {
              ...chainHeadKey(account, region),
              type: "chain-head",
              chain: to.chain,
              seq: to.seq,
              hash: to.hash,
              recordedAt: to.recordedAt,
              // Not the TTL attribute: the head outlives the entries.
              headExpiresAt: to.expiresAt,
              recordHash: to.recordHash,
              decisionId: to.decisionId,
            },
            ConditionExpression: from === null ? "attribute_not_exists(#pk)" : "#seq = :from",
            ExpressionAttributeNames:
              from === null ? { "#pk": AUDIT_TABLE.partitionKey } : { "#seq": "seq" },
            ...(from === null ? {} : { ExpressionAttributeValues: { ":from": from } }),
          }),
        ),
      );
    },

    async entries(account, region) {
      const key = chainEntryKey(account, region, 0);
      const items = await send(
        `Query of the chain ${chainId(account, region)}`,
        (ddb, { QueryCommand }) =>
          allItems((start) =>
            ddb.send(
              new QueryCommand({
                TableName: tableName,
                ...sortKeyPrefix(key.pk, "SEQ#"),
                ExclusiveStartKey: start,
              }),
            ),
          ),
        { fail: lookupFailed },
      );
      const out: StoredEntry[] = [];
      for (const i of items) {
        const entry = chainEntryOf(i.entry);
        const position = seqOfKey(String(i[AUDIT_TABLE.sortKey]));
        if (entry && position !== null) out.push({ position, entry });
      }
      return out;
    },

    async chains() {
      const items = await send(
        "Scan for chains",
        (ddb, { ScanCommand }) =>
          allItems((start) =>
            ddb.send(
              new ScanCommand({
                TableName: tableName,
                FilterExpression: "#sk = :head AND begins_with(#pk, :chain)",
                ExpressionAttributeNames: {
                  "#pk": AUDIT_TABLE.partitionKey,
                  "#sk": AUDIT_TABLE.sortKey,
                },
                ExpressionAttributeValues: { ":head": "HEAD", ":chain": "CHAIN#" },
                ProjectionExpression: "#pk",
                ExclusiveStartKey: start,
              }),
            ),
          ),
        { fail: lookupFailed },
      );
      return items.map((i) => String(i.pk).slice("CHAIN#".length)).sort();
    },
  };
};

/** How the S3 copy is locked: compliance in production stages, governance or none elsewhere. */
export interface ObjectLockSettings {
  readonly mode: "COMPLIANCE" | "GOVERNANCE" | "NONE";
  readonly retentionDays: number;
}

/** The immutable copy of the chain in S3. */
export interface ChainArchive {
  /** @throws AuditWriteError */
  put(entry: ChainEntry): Promise<void>;
  /** Every entry of one account and Region, by the position in its key. */
  entries(account: string, region: string): Promise<StoredEntry[]>;
  /** Every chain (`<account>#<region>`) with objects in the bucket. */
  chains(): Promise<string[]>;
}

/**
 * One object per entry (`chainObjectKey`). With Object Lock, each object carries its retention:
 * `x-amz-object-lock-mode` and `x-amz-object-lock-retain-until-date` (the entry's time plus the
 * retention), so no one, root included, can delete or overwrite it before then in compliance
 * mode. S3 requires an integrity checksum on such a PUT (Content-MD5 or an
 * `x-amz-sdk-checksum-algorithm`): SHA-256 is sent.
 * https://docs.aws.amazon.com/AmazonS3/latest/userguide/object-lock-managing.html
 */
export function createChainArchive(
  bucket: string,
  lock: ObjectLockSettings,
  untraced: () => Promise<S3Client>,
): ChainArchive {
  const client = tracedOnFirstUse(untraced);
  const s3 = lazy(() => import("./sdk/s3"));
  /** Every object key under `prefix`, page after page. */
  async function listKeys(prefix: string): Promise<string[]> {
    const { ListObjectsV2Command } = await s3();
    const c = await client();
    const keys: string[] = [];
    let token: string | undefined;
    do {
      const page = await c.send(
        new ListObjectsV2Command({ Bucket: bucket, Prefix: prefix, ContinuationToken: token }),
      );
      for (const o of page.Contents ?? []) if (o.Key) keys.push(o.Key);
      token = page.IsTruncated ? page.NextContinuationToken : undefined;
    } while (token);
    return keys;
  }
  return {
    async put(entry) {
      const { PutObjectCommand } = await s3();
      const retainUntil = new Date(Date.parse(entry.recordedAt) + lock.retentionDays * 86_400_000);
      try {
        await (await client()).send(
          new PutObjectCommand({
            Bucket: bucket,
            Key: chainObjectKey(entry),
            Body: chainObjectBody(entry),
            ContentType: "application/json",
            ChecksumAlgorithm: "SHA256",
            ...(lock.mode === "NONE"
              ? {}
              : { ObjectLockMode: lock.mode, ObjectLockRetainUntilDate: retainUntil }),
          }),
        );
      } catch (error) {
        throw new AuditWriteError(
          `PutObject ${chainObjectKey(entry)}: ${awsErrorCode(error)}: ${errorMessage(error)}`,
          { cause: error },
        );
      }
    },

    async chains() {
      let keys: string[];
      try {
        keys = await listKeys("chain/");
      } catch (error) {
        throw new LookupFailedError(`Listing s3://${bucket}/chain/: ${awsErrorCode(error)}`, {
          cause: error,
        });
      }
      const found = new Set<string>();
      for (const key of keys) {
        const m = /^chain\/account=([^/]+)\/region=([^/]+)\//.exec(key);
        if (m) found.add(chainId(m[1] ?? "", m[2] ?? ""));
      }
      return [...found].sort();
    },

    async entries(account, region) {
      const { GetObjectCommand } = await s3();
      const c = await client();
      try {
        const keys = await listKeys(chainObjectPrefix(account, region));
        // Keys sort by date then position; the position orders the chain.
        const positioned = keys
          .map((key) => ({ key, position: seqOfKey(key) }))
          .filter((k): k is { key: string; position: number } => k.position !== null)
          .sort((a, b) => a.position - b.position);
        const out: StoredEntry[] = [];
        for (const { key, position } of positioned) {
          const obj = await c.send(new GetObjectCommand({ Bucket: bucket, Key: key }));
          const text = (await obj.Body?.transformToString()) ?? "";
          const entry = chainEntryOf(JSON.parse(text));
          if (entry) out.push({ position, entry });
        }
        return out;
      } catch (error) {
        throw new LookupFailedError(
          `Reading the S3 copy of ${chainId(account, region)}: ${awsErrorCode(error)}: ${errorMessage(error)}`,
          { cause: error },
        );
      }
    },
  };
}

/** The evidence bucket's S3 client, made on first use. */
export function evidenceS3Client(): () => Promise<S3Client> {
  return lazy(async () => {
    const { S3Client } = await import("./sdk/s3");
    return new S3Client({ retryMode: "standard" });
  });
}

/** The S3 copy of the chain for the CLI (`guardrail audit --verify --bucket`). */
export function toolChainArchive(
  bucket: string,
  config: ToolClientConfig,
): { readonly archive: ChainArchive; destroy(): void } {
  let made: S3Client | undefined;
  const archive = createChainArchive(bucket, { mode: "NONE", retentionDays: 1 }, async () => {
    const { S3Client } = await import("./sdk/s3");
    // A local endpoint (the sandbox, a test server) answers path-style requests.
    made ??= new S3Client({
      ...config,
      maxAttempts: 5,
      ...(config.endpoint ? { forcePathStyle: true } : {}),
    });
    return made;
  });
  return { archive, destroy: () => made?.destroy() };
}
