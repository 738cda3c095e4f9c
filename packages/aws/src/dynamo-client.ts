import type { DynamoDBDocumentClient } from "@aws-sdk/lib-dynamodb";
import { type AwsClientSettings, clientOverrides, tracked } from "./client-settings";
import { lazy } from "./lazy";

/** The DynamoDB document client of the audit table, made on first use. */
export function documentClient(
  settings: AwsClientSettings = {},
): () => Promise<DynamoDBDocumentClient> {
  return lazy(async () => {
    const { DynamoDBClient, DynamoDBDocumentClient } = await import("./sdk/dynamodb");
    const client = tracked(
      settings,
      new DynamoDBClient({ retryMode: "standard", ...clientOverrides(settings, "dynamodb") }),
    );
    return DynamoDBDocumentClient.from(client, {
      marshallOptions: { removeUndefinedValues: true },
    });
  });
}
