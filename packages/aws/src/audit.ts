import type { DynamoDBDocumentClient } from "@aws-sdk/lib-dynamodb";
import {
  type ActorView,
  AUDIT_TABLE,
  type AuditItem,
  attemptKey,
  auditKey,
  type ChangeView,
  DELIVERY,
  type Decision,
  type DecisionResult,
  type ResourceRef,
  resourceIndexKey,
  sightingsKey,
  stateKey,
  type TagRecord,
  tagRecordKey,
} from "@guardrail/core";
import { AuditWriteError, awsErrorCode, errorMessage, LookupFailedError } from "./errors";
import { createFlapCounter, type ReopeningCount, type ReopeningInput } from "./flap-counter";
import { lazy } from "./lazy";
import { mapLimit } from "./limit";
import { traceCalls } from "./trace";

/** How the conditional write of a decision went. */
export type PutDecisionResult =
  /** First record of this decision: the writer publishes. */
  | { readonly status: "created" }
  /**
   * A better-informed result replaced a worse one (`RESULT_RANK`), or this writer took the turn
   * of a failed or abandoned notification (`previous.notification`, `previous.staleClaim`).
   */
  | {
      readonly status: "replaced";
      readonly previous: {
        readonly result: DecisionResult;
        readonly notification: string | null;
        /** The previous record was claimed by an invocation that can no longer be running. */
        readonly staleClaim: boolean;
      };
    }
  /**
   * An earlier delivery recorded a better result (it revoked) but could not publish it, and this
   * delivery took over that notification: publish `stored`, the recorded decision, not its own
   * (which would say "already gone" about a rule the guardrail itself removed).
   */
  | { readonly status: "taken-over"; readonly stored: Decision }
  /** Another delivery already recorded this decision as well or better: do nothing more. */
  | { readonly status: "duplicate" };

/** The last state the sweep saw of one security group or network ACL. */
export interface ResourceState {
  readonly resource: ResourceRef;
  /** sha256 of `canonicalRules(rules)`. */
  readonly fingerprint: string;
  /** By `ruleStateKey`. */
  readonly rules: Readonly<Record<string, ChangeView>>;
  readonly seenAt: string;
}

/** A violation the sweep saw, to check against the event decisions at its next run. */
export interface Sighting {
  readonly resourceId: string;
  /** The rule as `viewChange(...).text` reads it (what an event decision's finding shows). */
  readonly text: string;
  readonly rule: string;
  readonly seenAt: string;
}

/** Options of `AuditStore.putDecision`. */
export interface PutDecisionOptions {
  /**
   * Claim a better record whose notification failed or was abandoned (not overwrite it), and
   * return it for publishing.
   */
  readonly takeOver?: boolean;
  /** False for records nobody publishes one by one (the sweep's: its summary carries them). */
  readonly notify?: boolean;
  /**
   * A failed remediation that Lambda will retry: recorded, its notification `deferred` (a free
   * turn, like `failed`) so that the retry that succeeds, or the last one, announces it.
   */
  readonly defer?: boolean;
  /** When this writer claims the notification (ISO time), recorded as `claimedAt`. */
  readonly claimedAt?: string;
  /**
   * ISO time: a notification claimed before it belongs to an invocation that can no longer be
   * running (it would have timed out), so it may be taken over like a failed one. Absent: only
   * failed notifications are taken over.
   */
  readonly staleBefore?: string;
}

export interface AuditStore {
  /**
   * Writes a decision once per id. `claim` identifies this writer so that it alone can mark its
   * notification failed. See `PutDecisionOptions` for take-overs.
   */
  putDecision(
    item: AuditItem,
    claim: string,
    options?: PutDecisionOptions,
  ): Promise<PutDecisionResult>;
  /** Lets a later delivery publish again: this writer's SNS publish failed. */
  markNotifyFailed(id: string, claim: string): Promise<void>;
  /**
   * The notification went out: no later delivery may take the record over. Optional so that
   * hand-built stores keep working; without it a claim only ends by going stale.
   */
  markPublished(id: string): Promise<void>;
  /**
   * Decisions made on events about one resource (security group, network ACL), newest first,
   * at most `limit` (the by-resource index; the sweep's own decisions are left out). Optional so
   * that hand-built stores keep working; without it no principal exemption is read from the
   * trail.
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

/** `notification` of an audit item: who announces the decision, and whether it went out. */
export const NOTIFICATION = {
  /** A writer is publishing (`claim`, `claimedAt` say who and since when). */
  claimed: "claimed",
  /** The SNS message went out. */
  published: "published",
  /** The publish failed: the next delivery publishes. */
  failed: "failed",
  /** Not announced one by one (sweep records: the run's summary carries them). */
  none: "none",
  /** A failed attempt Lambda retries: the retry (or the last attempt) announces it. */
  deferred: "deferred",
} as const;
const NOTIFY_FAILED = NOTIFICATION.failed;
const NOTIFY_CLAIMED = NOTIFICATION.claimed;

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

/** The decision an audit item records (the item is a lossless projection of it). */
export function decisionOfItem(i: Record<string, unknown>): Decision {
  const eventId = typeof i.eventId === "string" ? i.eventId : null;
  return {
    id: i.id as string,
    source: i.source as Decision["source"],
    event:
      eventId === null
        ? null
        : {
            id: eventId,
            name: i.eventName as string,
            time: i.eventTime as string,
            actor: (i.actor ?? null) as ActorView | null,
          },
    account: i.account as string,
    region: i.region as string,
    resource: { type: i.resourceType, id: i.resourceId } as ResourceRef,
    outcome: i.outcome as Decision["outcome"],
    result: i.result as DecisionResult,
    severity: i.severity as Decision["severity"],
    findings: (i.findings ?? []) as Decision["findings"],
    exposureSeconds: (i.exposureSeconds ?? null) as number | null,
    ...(i.error ? { error: i.error as NonNullable<Decision["error"]> } : {}),
    ...(i.flap ? { flap: i.flap as NonNullable<Decision["flap"]> } : {}),
    decidedAt: i.decidedAt as string,
    guardrailVersion: i.guardrailVersion as string,
    // Items written before decisions carried a policy id have none to show.
    policyId: typeof i.policyId === "string" ? i.policyId : "unknown",
  };
}
const BATCH = 25;
const BATCH_CONCURRENCY = 8;
/** Items read per page of the by-resource index, and the most pages one look-up reads. */
const TRAIL_PAGE = 25;
const TRAIL_PAGES = 4;
const UNPROCESSED_ATTEMPTS = 8;

function wrap(what: string, error: unknown): AuditWriteError {
  return new AuditWriteError(`${what}: ${awsErrorCode(error)}: ${errorMessage(error)}`, {
    cause: error,
  });
}

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
  const client = lazy(async () => traceCalls(await untraced()));
  const lib = () => import("@aws-sdk/lib-dynamodb");
  const pk = AUDIT_TABLE.partitionKey;

  async function batchWrite(requests: Record<string, unknown>[]): Promise<void> {
    const { BatchWriteCommand } = await lib();
    const ddb = await client();
    const chunks: Record<string, unknown>[][] = [];
    for (let i = 0; i < requests.length; i += BATCH) chunks.push(requests.slice(i, i + BATCH));
    await mapLimit(chunks, BATCH_CONCURRENCY, async (chunk) => {
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
    });
  }

  const flaps = createFlapCounter(tableName, client);

  return {
    countReopening: flaps.count,
    claimEscalation: flaps.claimEscalation,

    async putDecision(item, claim, options = {}) {
      const { PutCommand, UpdateCommand } = await lib();
      const ddb = await client();
      const stale = options.staleBefore;
      // A turn that is free: the publish failed, or its writer cannot be running any more.
      const free =
        stale === undefined
          ? "(#notification = :failed OR #notification = :deferred)"
          : "(#notification = :failed OR #notification = :deferred OR (#notification = :claimed AND #claimedAt < :stale))";
      const staleValues: Record<string, string> =
        stale === undefined ? {} : { ":claimed": NOTIFY_CLAIMED, ":stale": stale };
      const staleNames: Record<string, string> =
        stale === undefined ? {} : { "#claimedAt": "claimedAt" };
      try {
        const out = await ddb.send(
          new PutCommand({
            TableName: tableName,
            Item: {
              ...item,
              notification:
                options.notify === false
                  ? NOTIFICATION.none
                  : options.defer
                    ? NOTIFICATION.deferred
                    : NOTIFY_CLAIMED,
              claim,
              ...(options.claimedAt !== undefined ? { claimedAt: options.claimedAt } : {}),
            },
            // First writer wins; a better result (revoked over already-gone over failed) may
            // replace a worse one; a writer whose publish failed (or that died, see
            // `staleBefore`) gives up its turn, but never its better result to a worse one
            // (that is a take-over, below).
            ConditionExpression: `attribute_not_exists(#pk) OR #rank < :rank OR (${free} AND #rank <= :rank)`,
            ExpressionAttributeNames: {
              "#pk": pk,
              "#rank": "resultRank",
              "#notification": "notification",
              ...staleNames,
            },
            ExpressionAttributeValues: {
              ":rank": item.resultRank,
              ":failed": NOTIFY_FAILED,
              ":deferred": NOTIFICATION.deferred,
              ...staleValues,
            },
            ReturnValues: "ALL_OLD",
          }),
        );
        const old = out.Attributes;
        if (!old) return { status: "created" };
        const notification = typeof old.notification === "string" ? old.notification : null;
        return {
          status: "replaced",
          previous: {
            result: old.result as DecisionResult,
            notification,
            staleClaim:
              stale !== undefined &&
              notification === NOTIFY_CLAIMED &&
              typeof old.claimedAt === "string" &&
              old.claimedAt < stale,
          },
        };
      } catch (error) {
        if (awsErrorCode(error) !== "ConditionalCheckFailedException") {
          throw wrap(`PutItem ${item.pk}`, error);
        }
      }
      if (!options.takeOver) return { status: "duplicate" };
      // Only on a conditional failure (a duplicate delivery): is the better record waiting for
      // someone to publish it?
      try {
        const out = await ddb.send(
          new UpdateCommand({
            TableName: tableName,
            Key: auditKey(item.id),
            UpdateExpression:
              options.claimedAt !== undefined
                ? "SET #notification = :claimed, #claim = :claim, #claimedAt = :claimedAt"
                : "SET #notification = :claimed, #claim = :claim",
            ConditionExpression: free,
            ExpressionAttributeNames: {
              "#notification": "notification",
              "#claim": "claim",
              ...(options.claimedAt !== undefined || stale !== undefined
                ? { "#claimedAt": "claimedAt" }
                : {}),
            },
            ExpressionAttributeValues: {
              ":claimed": NOTIFY_CLAIMED,
              ":claim": claim,
              ":failed": NOTIFY_FAILED,
              ":deferred": NOTIFICATION.deferred,
              ...(options.claimedAt !== undefined ? { ":claimedAt": options.claimedAt } : {}),
              ...staleValues,
            },
            ReturnValues: "ALL_NEW",
          }),
        );
        if (!out.Attributes) return { status: "duplicate" };
        return { status: "taken-over", stored: decisionOfItem(out.Attributes) };
      } catch (error) {
        if (awsErrorCode(error) === "ConditionalCheckFailedException")
          return { status: "duplicate" };
        throw wrap(`UpdateItem ${item.pk}`, error);
      }
    },

    async markNotifyFailed(id, claim) {
      const { UpdateCommand } = await lib();
      const ddb = await client();
      try {
        await ddb.send(
          new UpdateCommand({
            TableName: tableName,
            Key: auditKey(id),
            UpdateExpression: "SET #notification = :failed",
            ConditionExpression: "#claim = :claim",
            ExpressionAttributeNames: { "#notification": "notification", "#claim": "claim" },
            ExpressionAttributeValues: { ":failed": NOTIFY_FAILED, ":claim": claim },
          }),
        );
      } catch (error) {
        // Someone else holds the record now; they notify.
        if (awsErrorCode(error) === "ConditionalCheckFailedException") return;
        throw wrap(`UpdateItem ${id}`, error);
      }
    },

    async markPublished(id) {
      const { UpdateCommand } = await lib();
      const ddb = await client();
      try {
        await ddb.send(
          new UpdateCommand({
            TableName: tableName,
            Key: auditKey(id),
            UpdateExpression: "SET #notification = :published",
            // Whoever holds the claim now: a writer that replaced the result without taking
            // the turn left the notification claimed, and this publish is the one that counts.
            ConditionExpression: "#notification = :claimed",
            ExpressionAttributeNames: { "#notification": "notification" },
            ExpressionAttributeValues: {
              ":published": NOTIFICATION.published,
              ":claimed": NOTIFY_CLAIMED,
            },
          }),
        );
      } catch (error) {
        // Failed or taken over meanwhile: that writer's state stands.
        if (awsErrorCode(error) === "ConditionalCheckFailedException") return;
        throw wrap(`UpdateItem ${id}`, error);
      }
    },

    async recentEventDecisions(resourceId, limit) {
      const { QueryCommand } = await lib();
      const ddb = await client();
      const index = AUDIT_TABLE.byResource;
      const decisions: Decision[] = [];
      let start: Record<string, unknown> | undefined;
      try {
        // Bounded: a resource the sweep has recorded many times is read at most TRAIL_PAGES
        // pages deep (the filter applies after the page is read).
        for (let page = 0; page < TRAIL_PAGES && decisions.length < limit; page++) {
          const out = await ddb.send(
            new QueryCommand({
              TableName: tableName,
              IndexName: index.indexName,
              KeyConditionExpression: "#pk = :pk",
              FilterExpression: "#source = :event",
              ExpressionAttributeNames: { "#pk": index.partitionKey, "#source": "source" },
              ExpressionAttributeValues: { ":pk": resourceIndexKey(resourceId), ":event": "event" },
              ScanIndexForward: false,
              Limit: TRAIL_PAGE,
              ExclusiveStartKey: start,
            }),
          );
          for (const i of out.Items ?? []) decisions.push(decisionOfItem(i));
          start = out.LastEvaluatedKey;
          if (!start) break;
        }
      } catch (error) {
        throw new LookupFailedError(
          `Query of the decisions about ${resourceId}: ${awsErrorCode(error)}: ${errorMessage(error)}`,
          { cause: error },
        );
      }
      return decisions.slice(0, limit);
    },

    async resourceState(account, region, resourceId) {
      const { GetCommand } = await lib();
      const ddb = await client();
      try {
        const out = await ddb.send(
          new GetCommand({ TableName: tableName, Key: stateKey(account, region, resourceId) }),
        );
        const i = out.Item;
        if (!i) return null;
        return {
          resource: { type: i.resourceType, id: i.resourceId },
          fingerprint: i.fingerprint,
          rules: i.rules ?? {},
          seenAt: i.seenAt,
        };
      } catch (error) {
        throw new LookupFailedError(`GetItem state of ${resourceId}: ${awsErrorCode(error)}`, {
          cause: error,
        });
      }
    },

    async stateFingerprints(account, region) {
      const { QueryCommand } = await lib();
      const ddb = await client();
      const key = stateKey(account, region, "");
      const result = new Map<string, string>();
      let start: Record<string, unknown> | undefined;
      try {
        do {
          const out = await ddb.send(
            new QueryCommand({
              TableName: tableName,
              KeyConditionExpression: "#pk = :pk",
              ProjectionExpression: "#rid, #fp",
              ExpressionAttributeNames: { "#pk": pk, "#rid": "resourceId", "#fp": "fingerprint" },
              ExpressionAttributeValues: { ":pk": key.pk },
              ExclusiveStartKey: start,
            }),
          );
          for (const i of out.Items ?? []) result.set(String(i.resourceId), String(i.fingerprint));
          start = out.LastEvaluatedKey;
        } while (start);
      } catch (error) {
        throw new LookupFailedError(`Query of stored state: ${awsErrorCode(error)}`, {
          cause: error,
        });
      }
      return result;
    },

    async sightings(account, region) {
      const { GetCommand } = await lib();
      const ddb = await client();
      try {
        const out = await ddb.send(
          new GetCommand({ TableName: tableName, Key: sightingsKey(account, region) }),
        );
        return (out.Item?.sightings ?? []) as Sighting[];
      } catch (error) {
        throw new LookupFailedError(`GetItem sightings: ${awsErrorCode(error)}`, { cause: error });
      }
    },

    async writeSightings(account, region, list) {
      const { PutCommand } = await lib();
      const ddb = await client();
      try {
        await ddb.send(
          new PutCommand({
            TableName: tableName,
            Item: { ...sightingsKey(account, region), type: "sightings", sightings: list },
          }),
        );
      } catch (error) {
        throw wrap("PutItem sightings", error);
      }
    },

    async countAttempt(id) {
      const { UpdateCommand } = await lib();
      const ddb = await client();
      try {
        const out = await ddb.send(
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
        );
        return Number(out.Attributes?.attempts ?? 1);
      } catch (error) {
        throw wrap(`UpdateItem attempts of ${id}`, error);
      }
    },

    async writeStates(account, region, puts, deletes) {
      const requests: Record<string, unknown>[] = [
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
      ];
      try {
        await batchWrite(requests);
      } catch (error) {
        if (error instanceof AuditWriteError) throw error;
        throw wrap("BatchWriteItem state", error);
      }
    },

    async tagRecords(account, region, groupId) {
      const { QueryCommand } = await lib();
      const ddb = await client();
      const key = tagRecordKey(account, region, groupId ?? "", "");
      const prefix = groupId === undefined ? "GROUP#" : key.sk;
      const records: TagRecords = {};
      let start: Record<string, unknown> | undefined;
      try {
        do {
          const out = await ddb.send(
            new QueryCommand({
              TableName: tableName,
              KeyConditionExpression: "#pk = :pk AND begins_with(#sk, :prefix)",
              ExpressionAttributeNames: { "#pk": pk, "#sk": AUDIT_TABLE.sortKey },
              ExpressionAttributeValues: { ":pk": key.pk, ":prefix": prefix },
              ExclusiveStartKey: start,
            }),
          );
          for (const i of out.Items ?? []) {
            const r = tagRecordOfItem(i);
            records[r.groupId] = { ...records[r.groupId], [r.key]: r };
          }
          start = out.LastEvaluatedKey;
        } while (start);
      } catch (error) {
        throw new LookupFailedError(`Query of exemption tag records: ${awsErrorCode(error)}`, {
          cause: error,
        });
      }
      return records;
    },

    async putTagRecord(account, region, record) {
      const { PutCommand } = await lib();
      const ddb = await client();
      try {
        await ddb.send(
          new PutCommand({
            TableName: tableName,
            Item: {
              ...tagRecordKey(account, region, record.groupId, record.key),
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
          }),
        );
        return "written";
      } catch (error) {
        if (awsErrorCode(error) !== "ConditionalCheckFailedException") {
          throw wrap("PutItem tag record", error);
        }
        const { GetCommand } = await lib();
        const out = await ddb.send(
          new GetCommand({
            TableName: tableName,
            Key: tagRecordKey(account, region, record.groupId, record.key),
          }),
        );
        return out.Item?.eventId === record.eventId ? "duplicate" : "stale";
      }
    },

    async putExemptionNotice(item) {
      const { PutCommand } = await lib();
      const ddb = await client();
      try {
        await ddb.send(
          new PutCommand({
            TableName: tableName,
            Item: item,
            ConditionExpression: "attribute_not_exists(#pk)",
            ExpressionAttributeNames: { "#pk": pk },
          }),
        );
        return true;
      } catch (error) {
        if (awsErrorCode(error) === "ConditionalCheckFailedException") return false;
        throw wrap("PutItem exemption notice", error);
      }
    },

    async markTagExpiryReported(account, region, record) {
      const { UpdateCommand } = await lib();
      const ddb = await client();
      try {
        await ddb.send(
          new UpdateCommand({
            TableName: tableName,
            Key: tagRecordKey(account, region, record.groupId, record.key),
            UpdateExpression: "SET #r = :true",
            ConditionExpression: "#e = :e AND attribute_not_exists(#r)",
            ExpressionAttributeNames: { "#r": "expiryReported", "#e": "eventId" },
            ExpressionAttributeValues: { ":true": true, ":e": record.eventId },
          }),
        );
        return true;
      } catch (error) {
        if (awsErrorCode(error) === "ConditionalCheckFailedException") return false;
        throw wrap("UpdateItem tag expiry", error);
      }
    },
  };
}
