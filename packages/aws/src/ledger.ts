import type { AttributeValue } from "@aws-sdk/client-dynamodb";
import {
  AUDIT_TABLE,
  type AuditItem,
  auditKey,
  type ClaimedItem,
  claimStateFor,
  type DecisionResult,
  decisionOfItem,
  isFreeTurn,
  isStaleClaim,
  NOTIFICATION,
  type PutDecisionResult,
} from "@guardrail/core";
import { sender, type TableStore, writeIf } from "./dynamo";

/** Options of `Ledger.putDecision`. */
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

/** The notification claim's writes (see `nextStep` in core for what a writer does after them). */
export interface Ledger {
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
  /** The notification went out: no later delivery may take the record over. */
  markPublished(id: string): Promise<void>;
}

/**
 * The claim's conditions by name, as DynamoDB condition expressions; core's `mayWrite`,
 * `isFreeTurn` and the claim checks say the same in code. Names: `#pk`, `#rank`,
 * `#notification`, `#claimedAt`, `#claim`; values: `:rank`, `:failed`, `:deferred`, `:claimed`,
 * `:stale`, `:claim`.
 */
export const CLAIM_CONDITIONS = {
  /** The turn is free: failed, deferred, or (with `:stale`) claimed by a writer long gone. */
  freeTurn: (withStale: boolean) =>
    withStale
      ? "(#notification = :failed OR #notification = :deferred OR (#notification = :claimed AND #claimedAt < :stale))"
      : "(#notification = :failed OR #notification = :deferred)",
  /**
   * First writer wins; a better result (revoked over already-gone over failed) may replace a
   * worse one; a writer whose publish failed (or that died) gives up its turn, but never its
   * better result to a worse one (that is a take-over).
   */
  firstOrBetter: (withStale: boolean) =>
    `attribute_not_exists(#pk) OR #rank < :rank OR (${CLAIM_CONDITIONS.freeTurn(withStale)} AND #rank <= :rank)`,
  /** This writer still holds the claim. */
  heldBy: "#claim = :claim",
  /** Someone holds the claim (not failed, not taken over). */
  claimed: "#notification = :claimed",
} as const;

function plain(value: AttributeValue): unknown {
  if (value.S !== undefined) return value.S;
  if (value.N !== undefined) return Number(value.N);
  if (value.NULL !== undefined) return null;
  if (value.BOOL !== undefined) return value.BOOL;
  return undefined;
}

/**
 * The item a failed condition was checked against, when the store sent it back
 * (`ReturnValuesOnConditionCheckFailure: ALL_OLD`, in DynamoDB's wire format: the document
 * client does not convert errors). Undefined when it did not: no item, or a store that ignores
 * the parameter (dynalite, the local stand-in); the caller then falls back to another call.
 * Only the top-level scalars are read, which is all a condition looks at.
 */
export function keptItem(error: unknown): Record<string, unknown> | undefined {
  const item = (error as { Item?: Record<string, AttributeValue> } | null)?.Item;
  if (item === undefined || item === null || typeof item !== "object") return undefined;
  return Object.fromEntries(Object.entries(item).map(([k, v]) => [k, plain(v)]));
}

function claimedItemOf(item: Record<string, unknown>): ClaimedItem {
  return {
    resultRank: Number(item.resultRank),
    notification: typeof item.notification === "string" ? item.notification : null,
    claimedAt: typeof item.claimedAt === "string" ? item.claimedAt : null,
  };
}

/**
 * The notification claim's conditional writes on the audit table. Each write names its
 * condition (`CLAIM_CONDITIONS`) and asks DynamoDB for the item that failed it
 * (`ReturnValuesOnConditionCheckFailure: ALL_OLD`, as Powertools' idempotency persistence
 * does): a duplicate delivery is then told so by its one failed put, without the take-over
 * attempt it would otherwise make. Where the store does not send the item back, the take-over
 * write is tried, conditional on a free turn, which answers the same.
 * See https://docs.aws.amazon.com/amazondynamodb/latest/APIReference/API_PutItem.html
 * (ReturnValuesOnConditionCheckFailure).
 */
export const createLedger: TableStore<Ledger> = (tableName, client) => {
  const send = sender(client);

  /** Sets the claim's state on one record when `condition` holds; false when it did not. */
  function mark(
    id: string,
    state: string,
    condition: string,
    names: Record<string, string>,
    values: Record<string, unknown>,
  ): Promise<boolean> {
    return writeIf(send, `UpdateItem ${id}`, (ddb, { UpdateCommand }) =>
      ddb.send(
        new UpdateCommand({
          TableName: tableName,
          Key: auditKey(id),
          UpdateExpression: `SET #notification = :${state}`,
          ConditionExpression: condition,
          ExpressionAttributeNames: { "#notification": "notification", ...names },
          ExpressionAttributeValues: { [`:${state}`]: state, ...values },
        }),
      ),
    );
  }

  return {
    async putDecision(item, claim, options = {}) {
      const stale = options.staleBefore;
      const withStale = stale !== undefined;
      const staleValues: Record<string, string> = withStale
        ? { ":claimed": NOTIFICATION.claimed, ":stale": stale }
        : {};
      const staleNames: Record<string, string> = withStale ? { "#claimedAt": "claimedAt" } : {};
      const put = await send<PutDecisionResult | { readonly kept: ClaimedItem | undefined }>(
        `PutItem ${item.pk}`,
        async (ddb, { PutCommand }) => {
          const out = await ddb.send(
            new PutCommand({
              TableName: tableName,
              Item: {
                ...item,
                notification: claimStateFor(
                  options.notify === false ? "record" : options.defer ? "defer" : "announce",
                ),
                claim,
                ...(options.claimedAt !== undefined ? { claimedAt: options.claimedAt } : {}),
              },
              ConditionExpression: CLAIM_CONDITIONS.firstOrBetter(withStale),
              ExpressionAttributeNames: {
                "#pk": AUDIT_TABLE.partitionKey,
                "#rank": "resultRank",
                "#notification": "notification",
                ...staleNames,
              },
              ExpressionAttributeValues: {
                ":rank": item.resultRank,
                ":failed": NOTIFICATION.failed,
                ":deferred": NOTIFICATION.deferred,
                ...staleValues,
              },
              ReturnValues: "ALL_OLD",
              ReturnValuesOnConditionCheckFailure: "ALL_OLD",
            }),
          );
          const old = out.Attributes;
          if (!old) return { status: "created" };
          const previous = claimedItemOf(old);
          return {
            status: "replaced",
            previous: {
              result: old.result as DecisionResult,
              notification: previous.notification,
              staleClaim: isStaleClaim(previous, stale),
            },
          };
        },
        {
          conditionFailed: (error) => {
            const old = keptItem(error);
            return { kept: old === undefined ? undefined : claimedItemOf(old) };
          },
        },
      );
      if (!("kept" in put)) return put;
      if (!options.takeOver) return { status: "duplicate" };
      // The record kept is as good or better. Only when its turn is free does someone still
      // have to publish it; the store said whose turn it is, or the take-over below finds out.
      if (put.kept !== undefined && !isFreeTurn(put.kept, stale)) return { status: "duplicate" };
      return send<PutDecisionResult>(
        `UpdateItem ${item.pk}`,
        async (ddb, { UpdateCommand }) => {
          const out = await ddb.send(
            new UpdateCommand({
              TableName: tableName,
              Key: auditKey(item.id),
              UpdateExpression:
                options.claimedAt !== undefined
                  ? "SET #notification = :claimed, #claim = :claim, #claimedAt = :claimedAt"
                  : "SET #notification = :claimed, #claim = :claim",
              ConditionExpression: CLAIM_CONDITIONS.freeTurn(withStale),
              ExpressionAttributeNames: {
                "#notification": "notification",
                "#claim": "claim",
                ...(options.claimedAt !== undefined || withStale
                  ? { "#claimedAt": "claimedAt" }
                  : {}),
              },
              ExpressionAttributeValues: {
                ":claimed": NOTIFICATION.claimed,
                ":claim": claim,
                ":failed": NOTIFICATION.failed,
                ":deferred": NOTIFICATION.deferred,
                ...(options.claimedAt !== undefined ? { ":claimedAt": options.claimedAt } : {}),
                ...staleValues,
              },
              ReturnValues: "ALL_NEW",
            }),
          );
          if (!out.Attributes) return { status: "duplicate" };
          return { status: "taken-over", stored: decisionOfItem(out.Attributes) };
        },
        { conditionFailed: () => ({ status: "duplicate" }) },
      );
    },

    async markNotifyFailed(id, claim) {
      // Someone else holds the record when the condition fails; they notify.
      await mark(
        id,
        NOTIFICATION.failed,
        CLAIM_CONDITIONS.heldBy,
        { "#claim": "claim" },
        { ":claim": claim },
      );
    },

    async markPublished(id) {
      // Whoever holds the claim now: a writer that replaced the result without taking the turn
      // left the notification claimed, and this publish is the one that counts. Failed or taken
      // over meanwhile (the condition fails): that writer's state stands.
      await mark(
        id,
        NOTIFICATION.published,
        CLAIM_CONDITIONS.claimed,
        {},
        { ":claimed": NOTIFICATION.claimed },
      );
    },
  };
};
