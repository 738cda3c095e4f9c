import type { DynamoDBDocumentClient } from "@aws-sdk/lib-dynamodb";
import { AUDIT_TABLE, SLACK_DIGEST, slackWindowKey } from "@guardrail/core";
import { AuditWriteError, awsErrorCode, callFailed } from "./errors";
import { lazy } from "./lazy";

/**
 * The Slack notifier's counters, one item per window in the audit table, shared by every
 * concurrent notifier invocation (atomic `ADD`s, a conditional claim of the digest).
 */
export interface SlackWindowCounter {
  /** Counts one message of the window; answers the window's count, this one included. */
  count(windowStart: number): Promise<number>;
  /** Counts one folded message; answers the window's folded count (1: the first fold). */
  fold(windowStart: number, result: string): Promise<number>;
  /**
   * Claims the window's digest, once: what was folded, by result, or null when another
   * invocation claimed it already.
   */
  claimDigest(windowStart: number): Promise<Record<string, number> | null>;
  /** Gives the claim back (the digest could not be posted): the SNS retry claims it again. */
  releaseDigest(windowStart: number): Promise<void>;
}

const RESULT_PREFIX = "folded_";

function wrap(what: string, error: unknown): AuditWriteError {
  return callFailed(AuditWriteError, what, error);
}

/** The DynamoDB adapter of the counters (`UpdateItem` only). */
export function createSlackWindowCounter(
  tableName: string,
  client: () => Promise<DynamoDBDocumentClient>,
): SlackWindowCounter {
  const ddb = lazy(client);
  const lib = () => import("./sdk/dynamodb");
  const expires = (w: number) => w + SLACK_DIGEST.windowSeconds + SLACK_DIGEST.counterTtlSeconds;

  async function add(w: number, attribute: string, extra = ""): Promise<Record<string, unknown>> {
    const { UpdateCommand } = await lib();
    const out = await (await ddb()).send(
      new UpdateCommand({
        TableName: tableName,
        Key: slackWindowKey(w),
        UpdateExpression: `ADD #a :one${extra} SET #ttl = :ttl`,
        ExpressionAttributeNames: {
          "#a": attribute,
          "#ttl": AUDIT_TABLE.ttlAttribute,
          ...(extra ? { "#f": "folded" } : {}),
        },
        ExpressionAttributeValues: { ":one": 1, ":ttl": expires(w) },
        ReturnValues: "UPDATED_NEW",
      }),
    );
    return out.Attributes ?? {};
  }

  return {
    async count(w) {
      try {
        return Number((await add(w, "messages")).messages ?? 1);
      } catch (error) {
        throw wrap(`UpdateItem Slack window ${w}`, error);
      }
    },
    async fold(w, result) {
      try {
        return Number((await add(w, `${RESULT_PREFIX}${result}`, ", #f :one")).folded ?? 1);
      } catch (error) {
        throw wrap(`UpdateItem Slack window ${w}`, error);
      }
    },
    async claimDigest(w) {
      const { UpdateCommand } = await lib();
      try {
        const out = await (await ddb()).send(
          new UpdateCommand({
            TableName: tableName,
            Key: slackWindowKey(w),
            UpdateExpression: "SET #d = :yes",
            ConditionExpression: "attribute_exists(#f) AND attribute_not_exists(#d)",
            ExpressionAttributeNames: { "#d": "digest", "#f": "folded" },
            ExpressionAttributeValues: { ":yes": true },
            ReturnValues: "ALL_NEW",
          }),
        );
        const byResult: Record<string, number> = {};
        for (const [k, v] of Object.entries(out.Attributes ?? {})) {
          if (k.startsWith(RESULT_PREFIX)) byResult[k.slice(RESULT_PREFIX.length)] = Number(v);
        }
        return byResult;
      } catch (error) {
        if (awsErrorCode(error) === "ConditionalCheckFailedException") return null;
        throw wrap(`UpdateItem Slack digest ${w}`, error);
      }
    },
    async releaseDigest(w) {
      const { UpdateCommand } = await lib();
      try {
        await (await ddb()).send(
          new UpdateCommand({
            TableName: tableName,
            Key: slackWindowKey(w),
            UpdateExpression: "REMOVE #d",
            ExpressionAttributeNames: { "#d": "digest" },
          }),
        );
      } catch (error) {
        throw wrap(`UpdateItem Slack digest ${w}`, error);
      }
    },
  };
}
