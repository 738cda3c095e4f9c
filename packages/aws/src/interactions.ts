import {
  AUDIT_KEY_PREFIX,
  AUDIT_TABLE,
  type InteractionRecord,
  interactionAuditItem,
  replayEntryKey,
} from "@guardrail/core";
import { sender, type TableStore, writeIf } from "./dynamo";
import { AwsCallError, awsErrorCode, errorMessage } from "./errors";

/** The Slack app's items in the audit table: replay keys and who pressed what. */
export interface InteractionStore {
  /**
   * Keeps a request's replay key until `expiresAt` (epoch seconds, the table's TTL): true for
   * the first request with this key, false for a replay.
   * @throws AwsCallError (the endpoint then answers 500 and Slack shows an error; nothing acts)
   */
  claimReplayKey(key: string, expiresAt: number): Promise<boolean>;
  /** Writes one audit record. @throws AwsCallError */
  record(r: InteractionRecord): Promise<void>;
  /** Every record of one interaction, oldest first. */
  records(id: string): Promise<InteractionRecord[]>;
}

export const createInteractionStore: TableStore<InteractionStore> = (tableName, client) => {
  const send = sender(client);
  const pk = AUDIT_TABLE.partitionKey;
  const fail = (what: string, error: unknown) =>
    new AwsCallError(what, awsErrorCode(error), errorMessage(error, 200), { cause: error });
  return {
    claimReplayKey(key, expiresAt) {
      return writeIf(
        send,
        "dynamodb:PutItem",
        (ddb, { PutCommand }) =>
          ddb.send(
            new PutCommand({
              TableName: tableName,
              Item: {
                ...replayEntryKey(key),
                type: "slack-replay-key",
                [AUDIT_TABLE.ttlAttribute]: expiresAt,
              },
              ConditionExpression: "attribute_not_exists(#pk)",
              ExpressionAttributeNames: { "#pk": pk },
            }),
          ),
        fail,
      );
    },
    async record(r) {
      await send(
        "dynamodb:PutItem",
        (ddb, { PutCommand }) =>
          ddb.send(new PutCommand({ TableName: tableName, Item: interactionAuditItem(r) })),
        { fail },
      );
    },
    async records(id) {
      const { QueryCommand } = await import("./sdk/dynamodb");
      const out = await (await client()).send(
        new QueryCommand({
          TableName: tableName,
          KeyConditionExpression: "#pk = :pk",
          ExpressionAttributeNames: { "#pk": pk },
          ExpressionAttributeValues: { ":pk": `${AUDIT_KEY_PREFIX.interaction}${id}` },
        }),
      );
      return (out.Items ?? []) as InteractionRecord[];
    },
  };
};
