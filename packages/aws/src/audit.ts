import type { DynamoDBDocumentClient, QueryCommandInput } from "@aws-sdk/lib-dynamodb";
import {
  AUDIT_TABLE,
  attemptKey,
  DELIVERY,
  type Decision,
  decisionOfItem,
  type ResourceState,
  resourceIndexKey,
  sightingsKey,
  stateKey,
  type TagRecord,
  tagRecordKey,
} from "@guardrail/core";
import { type Failure, itemReader, lookupFailed, sender, writeIf } from "./dynamo";
import { AuditWriteError, awsErrorCode, errorMessage, LookupFailedError } from "./errors";
import { createFlapCounter, type ReopeningCount, type ReopeningInput } from "./flap-counter";
import { createLedger, keptItem, type Ledger } from "./ledger";
import { mapLimit } from "./limit";
import { tracedOnFirstUse } from "./trace";

export type { PutDecisionResult, ResourceState } from "@guardrail/core";
export type { Ledger, PutDecisionOptions } from "./ledger";

/** A violation the sweep saw, to check against the event decisions at its next run. */
export interface Sighting {
  readonly resourceId: string;
  /** The rule as `viewChange(...).text` reads it (what an event decision's finding shows). */
  readonly text: string;
  readonly rule: string;
  readonly seenAt: string;
}

/** The audit table: the notification claim's ledger, the trail, the sweep's state, tag records. */
export interface AuditStore extends Ledger {
  /**
   * Decisions made on events about one resource (security group, network ACL), newest first,
   * at most `limit` (the by-resource index; the sweep's own decisions are left out): the trail
   * principal exemptions, the sweep's event-path misses and the Slack message updates read.
   * @throws LookupFailedError
   */
  recentEventDecisions(resourceId: string, limit: number): Promise<Decision[]>;
  /** @throws LookupFailedError */
  resourceState(account: string, region: string, resourceId: string): Promise<ResourceState | null>;
  /** Resource id → fingerprint of every stored state of one account and region. */
  stateFingerprints(account: string, region: string): Promise<Map<string, string>>;
  /**
   * The flap guard: counts one re-opening of a rule in its window, once per event.
   * @throws AuditWriteError
   */
  countReopening(input: ReopeningInput): Promise<ReopeningCount>;
  /**
   * Takes the window's one escalation of a rule for this event; answers who holds it (see
   * `createFlapCounter`).
   * @throws AuditWriteError
   */
  claimEscalation(ruleKey: string, eventId: string, windowStart: string): Promise<string | null>;
  /**
   * Counts one failed remediation attempt of a decision (an atomic ADD on its counter item) and
   * answers the count, this attempt included. @throws AuditWriteError
   */
  countAttempt(id: string): Promise<number>;
  /** The violations the previous sweep of this account and Region saw on changed rules. */
  sightings(account: string, region: string): Promise<Sighting[]>;
  /** Replaces them with this run's. */
  writeSightings(account: string, region: string, sightings: readonly Sighting[]): Promise<void>;
  /** Writes changed states and deletes vanished ones, 25 per batch. */
  writeStates(
    account: string,
    region: string,
    puts: readonly ResourceState[],
    deletes: readonly string[],
  ): Promise<void>;
  /**
   * The recorded taggings of exemption keys in one account and region, of one group or all.
   * @throws LookupFailedError
   */
  tagRecords(account: string, region: string, groupId?: string): Promise<TagRecords>;
  /**
   * Keeps `record` as the group's current one for its key unless a later tagging (by event
   * time, then event id) is recorded already: events may arrive out of order. `stale` when it
   * was older; `duplicate` when this very tagging was recorded.
   */
  putTagRecord(
    account: string,
    region: string,
    record: TagRecord,
  ): Promise<"written" | "stale" | "duplicate">;
  /** Writes an exemption announcement once per id; false when it was written before. */
  putExemptionNotice(item: Record<string, unknown>): Promise<boolean>;
  /**
   * Marks the record's expiry as reported, once: true only for the caller that marked it (the
   * record must still be the tagging `eventId`).
   */
  markTagExpiryReported(
    account: string,
    region: string,
    record: Pick<TagRecord, "groupId" | "key" | "eventId">,
  ): Promise<boolean>;
}

/** Tag records by group id, then tag key. */
export type TagRecords = Record<string, Record<string, TagRecord>>;

/** Milliseconds since the epoch of an ISO time, for ordering taggings; 0 when unreadable. */
function instant(iso: string): number {
  const t = Date.parse(iso);
  return Number.isNaN(t) ? 0 : t;
}

/** The tag record an item holds. */
export function tagRecordOfItem(i: Record<string, unknown>): TagRecord {
  const text = (k: string) => (typeof i[k] === "string" ? (i[k] as string) : null);
  return {
    groupId: String(i.groupId),
    key: String(i.key),
    action: i.action === "removed" ? "removed" : "set",
    valueHash: text("valueHash"),
    by: text("by"),
    approver: text("approver"),
    problem: text("problem"),
    rules: Array.isArray(i.rules) ? (i.rules as string[]) : [],
    expires: text("expires"),
    reason: text("reason"),
    at: String(i.at),
    eventId: String(i.eventId),
    via: i.via === "adopt" || i.via === "slack" ? i.via : "event",
    ...(i.expiryReported === true ? { expiryReported: true } : {}),
  };
}

const BATCH = 25;
const BATCH_CONCURRENCY = 8;
/** Items read per page of the by-resource index, and the most pages one look-up reads. */
const TRAIL_PAGE = 25;
const TRAIL_PAGES = 4;
const UNPROCESSED_ATTEMPTS = 8;

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/**
 * The DynamoDB adapter for the audit table (decisions, idempotency, the sweep's state). `client`
 * is a factory so that the DynamoDB modules load only when first needed (see `lazy`). Every
 * call is published on `AWS_CALL_CHANNEL` (see `traceCalls`).
 */
export function createAuditStore(
  tableName: string,
  untraced: () => Promise<DynamoDBDocumentClient>,
): AuditStore {
  const client = tracedOnFirstUse(untraced);
  const send = sender(client);
  const getItem = itemReader(send, tableName);
  const pk = AUDIT_TABLE.partitionKey;

  /** The pages of a query, at most `pages`, while `more` says so. */
  async function query(
    label: string,
    input: Omit<QueryCommandInput, "TableName" | "ExclusiveStartKey">,
    onPage: (items: Record<string, unknown>[]) => void,
    {
      fail = lookupFailed,
      pages = Number.POSITIVE_INFINITY,
      more = () => true,
    }: { fail?: Failure; pages?: number; more?: () => boolean } = {},
  ): Promise<void> {
    await send(
      label,
      async (ddb, { QueryCommand }) => {
        let start: Record<string, unknown> | undefined;
        for (let page = 0; page < pages && more(); page++) {
          const out = await ddb.send(
            new QueryCommand({ TableName: tableName, ...input, ExclusiveStartKey: start }),
          );
          onPage(out.Items ?? []);
          start = out.LastEvaluatedKey;
          if (!start) break;
        }
      },
      { fail },
    );
  }

  async function batchWrite(requests: Record<string, unknown>[]): Promise<void> {
    const chunks: Record<string, unknown>[][] = [];
    for (let i = 0; i < requests.length; i += BATCH) chunks.push(requests.slice(i, i + BATCH));
    await send("BatchWriteItem state", (ddb, { BatchWriteCommand }) =>
      mapLimit(chunks, BATCH_CONCURRENCY, async (chunk) => {
        let pending = chunk;
        for (let attempt = 0; pending.length > 0; attempt++) {
          if (attempt >= UNPROCESSED_ATTEMPTS) {
            throw new AuditWriteError(`BatchWriteItem left ${pending.length} item(s) unprocessed`);
          }
          if (attempt > 0) await sleep(Math.min(1000, 25 * 2 ** attempt));
          const out = await ddb.send(
            // biome-ignore lint/suspicious/noExplicitAny: the document client's request union is not worth spelling out
            new BatchWriteCommand({ RequestItems: { [tableName]: pending as any } }),
          );
          pending = (out.UnprocessedItems?.[tableName] ?? []) as Record<string, unknown>[];
        }
      }),
    );
  }

  const flaps = createFlapCounter(tableName, client);

  return {
    ...createLedger(tableName, client),
    countReopening: flaps.count,
    claimEscalation: flaps.claimEscalation,

    async recentEventDecisions(resourceId, limit) {
      const index = AUDIT_TABLE.byResource;
      const decisions: Decision[] = [];
      // Bounded: a resource the sweep has recorded many times is read at most TRAIL_PAGES pages
      // deep (the filter applies after the page is read).
      await query(
        `Query of the decisions about ${resourceId}`,
        {
          IndexName: index.indexName,
          KeyConditionExpression: "#pk = :pk",
          FilterExpression: "#source = :event",
          ExpressionAttributeNames: { "#pk": index.partitionKey, "#source": "source" },
          ExpressionAttributeValues: { ":pk": resourceIndexKey(resourceId), ":event": "event" },
          ScanIndexForward: false,
          Limit: TRAIL_PAGE,
        },
        (items) => {
          for (const i of items) decisions.push(decisionOfItem(i));
        },
        {
          fail: (label, error) =>
            new LookupFailedError(`${label}: ${awsErrorCode(error)}: ${errorMessage(error)}`, {
              cause: error,
            }),
          pages: TRAIL_PAGES,
          more: () => decisions.length < limit,
        },
      );
      return decisions.slice(0, limit);
    },

    async resourceState(account, region, resourceId) {
      const i = await getItem(
        `GetItem state of ${resourceId}`,
        stateKey(account, region, resourceId),
      );
      if (!i) return null;
      return {
        resource: { type: i.resourceType, id: i.resourceId },
        fingerprint: i.fingerprint,
        rules: i.rules ?? {},
        seenAt: i.seenAt,
      };
    },

    async stateFingerprints(account, region) {
      const key = stateKey(account, region, "");
      const result = new Map<string, string>();
      await query(
        "Query of stored state",
        {
          KeyConditionExpression: "#pk = :pk",
          ProjectionExpression: "#rid, #fp",
          ExpressionAttributeNames: { "#pk": pk, "#rid": "resourceId", "#fp": "fingerprint" },
          ExpressionAttributeValues: { ":pk": key.pk },
        },
        (items) => {
          for (const i of items) result.set(String(i.resourceId), String(i.fingerprint));
        },
      );
      return result;
    },

    async sightings(account, region) {
      const item = await getItem("GetItem sightings", sightingsKey(account, region));
      return (item?.sightings ?? []) as Sighting[];
    },

    async writeSightings(account, region, list) {
      await send("PutItem sightings", (ddb, { PutCommand }) =>
        ddb.send(
          new PutCommand({
            TableName: tableName,
            Item: { ...sightingsKey(account, region), type: "sightings", sightings: list },
          }),
        ),
      );
    },

    async countAttempt(id) {
      const out = await send(`UpdateItem attempts of ${id}`, (ddb, { UpdateCommand }) =>
        ddb.send(
          new UpdateCommand({
            TableName: tableName,
            Key: attemptKey(id),
            UpdateExpression: "ADD #attempts :one SET #ttl = :ttl",
            ExpressionAttributeNames: { "#attempts": "attempts", "#ttl": AUDIT_TABLE.ttlAttribute },
            ExpressionAttributeValues: {
              ":one": 1,
              ":ttl": Math.floor(Date.now() / 1000) + DELIVERY.maximumEventAgeSeconds * 4,
            },
            ReturnValues: "UPDATED_NEW",
          }),
        ),
      );
      return Number(out.Attributes?.attempts ?? 1);
    },

    async writeStates(account, region, puts, deletes) {
      await batchWrite([
        ...puts.map((s) => ({
          PutRequest: {
            Item: {
              ...stateKey(account, region, s.resource.id),
              type: "state",
              account,
              region,
              resourceType: s.resource.type,
              resourceId: s.resource.id,
              fingerprint: s.fingerprint,
              rules: s.rules,
              seenAt: s.seenAt,
            },
          },
        })),
        ...deletes.map((id) => ({ DeleteRequest: { Key: stateKey(account, region, id) } })),
      ]);
    },

    async tagRecords(account, region, groupId) {
      const key = tagRecordKey(account, region, groupId ?? "", "");
      const prefix = groupId === undefined ? "GROUP#" : key.sk;
      const records: TagRecords = {};
      await query(
        "Query of exemption tag records",
        {
          KeyConditionExpression: "#pk = :pk AND begins_with(#sk, :prefix)",
          ExpressionAttributeNames: { "#pk": pk, "#sk": AUDIT_TABLE.sortKey },
          ExpressionAttributeValues: { ":pk": key.pk, ":prefix": prefix },
          // A tagging recorded a moment before a rule event is judged must be seen by it:
          // an eventually consistent read could miss it and honour an unapproved tag.
          ConsistentRead: true,
        },
        (items) => {
          for (const i of items) {
            const r = tagRecordOfItem(i);
            records[r.groupId] = { ...records[r.groupId], [r.key]: r };
          }
        },
      );
      return records;
    },

    async putTagRecord(account, region, record) {
      const key = tagRecordKey(account, region, record.groupId, record.key);
      /** Which tagging the record kept: this one (a redelivery), or a later one. */
      const kept = (eventId: unknown) => (eventId === record.eventId ? "duplicate" : "stale");
      return send(
        "PutItem tag record",
        async (ddb, { PutCommand }) => {
          await ddb.send(
            new PutCommand({
              TableName: tableName,
              Item: {
                ...key,
                type: "tag-record",
                account,
                region,
                ...record,
                atInstant: instant(record.at),
              },
              // The later tagging wins, whatever order the events arrive in.
              ConditionExpression: "attribute_not_exists(#pk) OR #t < :t OR (#t = :t AND #e < :e)",
              ExpressionAttributeNames: { "#pk": pk, "#t": "atInstant", "#e": "eventId" },
              ExpressionAttributeValues: { ":t": instant(record.at), ":e": record.eventId },
              ReturnValuesOnConditionCheckFailure: "ALL_OLD",
            }),
          );
          return "written" as const;
        },
        {
          conditionFailed: async (error) => {
            const old = keptItem(error);
            if (old !== undefined) return kept(old.eventId);
            // A store that does not send the item back (dynalite): read it.
            const out = await send("GetItem tag record", (ddb, { GetCommand }) =>
              ddb.send(new GetCommand({ TableName: tableName, Key: key })),
            );
            return kept(out.Item?.eventId);
          },
        },
      );
    },

    async putExemptionNotice(item) {
      return writeIf(send, "PutItem exemption notice", (ddb, { PutCommand }) =>
        ddb.send(
          new PutCommand({
            TableName: tableName,
            Item: item,
            ConditionExpression: "attribute_not_exists(#pk)",
            ExpressionAttributeNames: { "#pk": pk },
          }),
        ),
      );
    },

    async markTagExpiryReported(account, region, record) {
      return writeIf(send, "UpdateItem tag expiry", (ddb, { UpdateCommand }) =>
        ddb.send(
          new UpdateCommand({
            TableName: tableName,
            Key: tagRecordKey(account, region, record.groupId, record.key),
            UpdateExpression: "SET #r = :true",
            ConditionExpression: "#e = :e AND attribute_not_exists(#r)",
            ExpressionAttributeNames: { "#r": "expiryReported", "#e": "eventId" },
            ExpressionAttributeValues: { ":true": true, ":e": record.eventId },
          }),
        ),
      );
    },
  };
}
