import type { DynamoDBDocumentClient } from "@aws-sdk/lib-dynamodb";
import {
  AUDIT_KEY_PREFIX,
  AUDIT_TABLE,
  POSTURE_DAY_RETENTION_DAYS,
  type PostureDay,
  type PostureSnapshot,
  postureDay,
  postureDayKey,
  postureKey,
} from "@guardrail/core";
import { AuditWriteError, awsErrorCode, errorMessage, LookupFailedError } from "./errors";
import { lazy } from "./lazy";

/** The sweep's posture snapshots and daily summaries (`POSTURE#`, one partition). */
export interface PostureStore {
  current(account: string, region: string): Promise<PostureSnapshot | null>;
  /** Writes the snapshot and the day's summary (the day's last run wins). @throws AuditWriteError */
  write(snapshot: PostureSnapshot): Promise<void>;
  /** Every account and Region's current snapshot. @throws LookupFailedError */
  all(): Promise<PostureSnapshot[]>;
  /** Every account and Region's summary of one day (YYYY-MM-DD). @throws LookupFailedError */
  days(date: string): Promise<PostureDay[]>;
}

export function createPostureStore(
  tableName: string,
  client: () => Promise<DynamoDBDocumentClient>,
): PostureStore {
  const lib = lazy(() => import("@aws-sdk/lib-dynamodb"));
  async function query(prefix: string): Promise<Record<string, unknown>[]> {
    const { QueryCommand } = await lib();
    const items: Record<string, unknown>[] = [];
    let start: Record<string, unknown> | undefined;
    try {
      do {
        const out = await (await client()).send(
          new QueryCommand({
            TableName: tableName,
            KeyConditionExpression: "#pk = :pk AND begins_with(#sk, :prefix)",
            ExpressionAttributeNames: {
              "#pk": AUDIT_TABLE.partitionKey,
              "#sk": AUDIT_TABLE.sortKey,
            },
            ExpressionAttributeValues: { ":pk": AUDIT_KEY_PREFIX.posture, ":prefix": prefix },
            ExclusiveStartKey: start,
          }),
        );
        items.push(...(out.Items ?? []));
        start = out.LastEvaluatedKey;
      } while (start);
    } catch (error) {
      throw new LookupFailedError(`Query of posture ${prefix}: ${awsErrorCode(error)}`, {
        cause: error,
      });
    }
    return items;
  }
  return {
    async current(account, region) {
      const { GetCommand } = await lib();
      try {
        const out = await (await client()).send(
          new GetCommand({ TableName: tableName, Key: postureKey(account, region) }),
        );
        return (out.Item?.snapshot as PostureSnapshot | undefined) ?? null;
      } catch (error) {
        throw new LookupFailedError(`GetItem posture: ${awsErrorCode(error)}`, { cause: error });
      }
    },

    async write(snapshot) {
      const { PutCommand } = await lib();
      const ddb = await client();
      const day = postureDay(snapshot);
      try {
        await Promise.all([
          ddb.send(
            new PutCommand({
              TableName: tableName,
              Item: { ...postureKey(snapshot.account, snapshot.region), type: "posture", snapshot },
            }),
          ),
          ddb.send(
            new PutCommand({
              TableName: tableName,
              Item: {
                ...postureDayKey(snapshot.account, snapshot.region, day.date),
                type: "posture-day",
                day,
                [AUDIT_TABLE.ttlAttribute]:
                  Math.floor(Date.parse(snapshot.sweptAt) / 1000) +
                  POSTURE_DAY_RETENTION_DAYS * 86_400,
              },
            }),
          ),
        ]);
      } catch (error) {
        throw new AuditWriteError(
          `PutItem posture: ${awsErrorCode(error)}: ${errorMessage(error)}`,
          { cause: error },
        );
      }
    },

    async all() {
      return (await query("CURRENT#")).map((i) => i.snapshot as PostureSnapshot);
    },

    async days(date) {
      return (await query(`DAY#${date}#`)).map((i) => i.day as PostureDay);
    },
  };
}
