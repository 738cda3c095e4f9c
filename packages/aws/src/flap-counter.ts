import type { DynamoDBDocumentClient } from "@aws-sdk/lib-dynamodb";
import { AUDIT_TABLE, flapCounterKey } from "@guardrail/core";
import { isConditionFailure } from "./dynamo";
import { AuditWriteError, callFailed } from "./errors";

/** One re-opening to count. */
export interface ReopeningInput {
  /** `flapRuleKey` of the rule. */
  readonly ruleKey: string;
  /** CloudTrail eventID: the same event counts once, however often it is delivered. */
  readonly eventId: string;
  /** ISO time of the event: windows are in event time, so that a redelivery lands in its own. */
  readonly eventTime: string;
  readonly windowHours: number;
}

/** The rule's window after counting. */
export interface ReopeningCount {
  /** Openings in the window, this one included (for a duplicate: the count it first got). */
  readonly count: number;
  readonly windowStart: string;
  /** The event that escalated the rule in this window, once one has. */
  readonly escalatedBy: string | null;
  readonly duplicate: boolean;
}

/** Rounds before giving up on a window that other invocations keep resetting at the same time. */
const ATTEMPTS = 5;

/**
 * The flap guard's counter: one item per rule (`FLAP#<rule key>`) in the audit table, with the
 * window's start, its count, and the count each event got (`events`, keyed by eventID).
 *
 * Every change is one conditional write, so that concurrent invocations never lose a count:
 * 1. No item, or its window over: start a new window at this event, on condition that nobody
 *    started one meanwhile. This is the common case (most revoked rules were not revoked in
 *    the window before), so it is tried first: one write, no read.
 * 2. Lost that condition: in the window and this event not counted yet: `count = count + 1`,
 *    `events[id] = count + 1` (an atomic increment: each event gets a distinct count, exactly
 *    one gets `threshold + 1`).
 * 3. Lost that one too: read the item: this event counted already → its count (a duplicate
 *    delivery); otherwise another invocation changed the window meanwhile → back to 1.
 *
 * The item keeps the eventIDs of its window. A DynamoDB item holds at most 400 KB
 * (https://docs.aws.amazon.com/amazondynamodb/latest/developerguide/Constraints.html#limits-items),
 * about 9,000 of them (36-character id, map-entry overhead and count); past that the update
 * fails with a ValidationException and the guard alerts as usual.
 */
export function createFlapCounter(
  tableName: string,
  client: () => Promise<DynamoDBDocumentClient>,
) {
  const lib = () => import("./sdk/dynamodb");
  const pk = AUDIT_TABLE.partitionKey;
  const failed = (what: string, error: unknown) => callFailed(AuditWriteError, what, error);

  async function count(input: ReopeningInput): Promise<ReopeningCount> {
    const { UpdateCommand, GetCommand, PutCommand } = await lib();
    const ddb = await client();
    const key = flapCounterKey(input.ruleKey);
    const at = Date.parse(input.eventTime);
    const windowMs = input.windowHours * 3_600_000;
    const cutoff = new Date(at - windowMs).toISOString();
    const eventTime = new Date(at).toISOString();
    // Kept a day past its window, then left to TTL.
    const expiresAt = Math.floor((at + windowMs) / 1000) + 86_400;
    for (let attempt = 0; attempt < ATTEMPTS; attempt++) {
      try {
        await ddb.send(
          new PutCommand({
            TableName: tableName,
            Item: {
              ...key,
              type: "flap",
              ruleKey: input.ruleKey,
              windowStart: eventTime,
              windowHours: input.windowHours,
              count: 1,
              events: { [input.eventId]: 1 },
              lastAt: eventTime,
              [AUDIT_TABLE.ttlAttribute]: expiresAt,
            },
            ConditionExpression: "attribute_not_exists(#pk) OR #start <= :cutoff",
            ExpressionAttributeNames: { "#pk": pk, "#start": "windowStart" },
            ExpressionAttributeValues: { ":cutoff": cutoff },
          }),
        );
        return { count: 1, windowStart: eventTime, escalatedBy: null, duplicate: false };
      } catch (error) {
        if (!isConditionFailure(error)) throw failed(`PutItem ${key.pk}`, error);
      }
      try {
        const out = await ddb.send(
          new UpdateCommand({
            TableName: tableName,
            Key: key,
            UpdateExpression:
              "SET #count = #count + :one, #events.#id = #count + :one, #lastAt = :at, #exp = :exp",
            ConditionExpression:
              "attribute_exists(#pk) AND #start > :cutoff AND attribute_not_exists(#events.#id)",
            ExpressionAttributeNames: {
              "#pk": pk,
              "#count": "count",
              "#events": "events",
              "#id": input.eventId,
              "#start": "windowStart",
              "#lastAt": "lastAt",
              "#exp": AUDIT_TABLE.ttlAttribute,
            },
            ExpressionAttributeValues: {
              ":one": 1,
              ":cutoff": cutoff,
              ":at": eventTime,
              ":exp": expiresAt,
            },
            ReturnValues: "ALL_NEW",
          }),
        );
        return readCount(out.Attributes, input.eventId, false);
      } catch (error) {
        if (!isConditionFailure(error)) throw failed(`UpdateItem ${key.pk}`, error);
      }
      let item: Record<string, unknown> | undefined;
      try {
        item = (
          await ddb.send(new GetCommand({ TableName: tableName, Key: key, ConsistentRead: true }))
        ).Item;
      } catch (error) {
        throw failed(`GetItem ${key.pk}`, error);
      }
      const counted = (item?.events as Record<string, unknown> | undefined)?.[input.eventId];
      if (item !== undefined && String(item.windowStart) > cutoff && typeof counted === "number") {
        return readCount(item, input.eventId, true);
      }
      // Changed between the writes (a window started or ended by another invocation): again.
    }
    throw new AuditWriteError(`flap counter ${key.pk}: still contended after ${ATTEMPTS} attempts`);
  }

  /**
   * Takes the window's one escalation of a rule for this event, and answers who holds it: this
   * event when no event had it or this one already did (a redelivery of the escalation escalates
   * again; the decision's own idempotent write keeps that to one message), else the event that
   * took it. Null when the window is over.
   */
  async function claimEscalation(
    ruleKey: string,
    eventId: string,
    windowStart: string,
  ): Promise<string | null> {
    const { UpdateCommand, GetCommand } = await lib();
    const ddb = await client();
    const key = flapCounterKey(ruleKey);
    try {
      await ddb.send(
        new UpdateCommand({
          TableName: tableName,
          Key: key,
          UpdateExpression: "SET #by = :id",
          ConditionExpression: "#start = :start AND (attribute_not_exists(#by) OR #by = :id)",
          ExpressionAttributeNames: { "#by": "escalatedBy", "#start": "windowStart" },
          ExpressionAttributeValues: { ":id": eventId, ":start": windowStart },
        }),
      );
      return eventId;
    } catch (error) {
      if (!isConditionFailure(error)) throw failed(`UpdateItem ${key.pk}`, error);
    }
    try {
      const item = (
        await ddb.send(new GetCommand({ TableName: tableName, Key: key, ConsistentRead: true }))
      ).Item;
      return item?.windowStart === windowStart && typeof item.escalatedBy === "string"
        ? item.escalatedBy
        : null;
    } catch (error) {
      throw failed(`GetItem ${key.pk}`, error);
    }
  }

  return { count, claimEscalation };
}

function readCount(
  item: Record<string, unknown> | undefined,
  eventId: string,
  duplicate: boolean,
): ReopeningCount {
  const events = (item?.events ?? {}) as Record<string, unknown>;
  const count = events[eventId];
  const windowStart = item?.windowStart;
  if (typeof count !== "number" || typeof windowStart !== "string") {
    throw new AuditWriteError(`flap counter: unreadable item for event ${eventId}`);
  }
  return {
    count,
    windowStart,
    escalatedBy: typeof item?.escalatedBy === "string" ? item.escalatedBy : null,
    duplicate,
  };
}
