import {
  CreateTableCommand,
  type CreateTableCommandInput,
  type DynamoDBClient,
  waitUntilTableExists,
} from "@aws-sdk/client-dynamodb";
import { AUDIT_TABLE } from "@guardrail/core";

/**
 * The audit table as the infra creates it (keys and both indexes from `AUDIT_TABLE`), for local
 * DynamoDB servers: the sandbox, wire tests, `guardrail audit` tests. Not imported by any
 * handler, so it stays out of the Lambda bundles.
 */
export function auditTableDefinition(tableName: string): CreateTableCommandInput {
  const s = { AttributeType: "S" as const };
  return {
    TableName: tableName,
    BillingMode: "PAY_PER_REQUEST",
    AttributeDefinitions: [
      { AttributeName: AUDIT_TABLE.partitionKey, ...s },
      { AttributeName: AUDIT_TABLE.sortKey, ...s },
      { AttributeName: AUDIT_TABLE.byAccount.partitionKey, ...s },
      { AttributeName: AUDIT_TABLE.byAccount.sortKey, ...s },
      { AttributeName: AUDIT_TABLE.byResource.partitionKey, ...s },
      { AttributeName: AUDIT_TABLE.byResource.sortKey, ...s },
    ],
    KeySchema: [
      { AttributeName: AUDIT_TABLE.partitionKey, KeyType: "HASH" },
      { AttributeName: AUDIT_TABLE.sortKey, KeyType: "RANGE" },
    ],
    GlobalSecondaryIndexes: [AUDIT_TABLE.byAccount, AUDIT_TABLE.byResource].map((i) => ({
      IndexName: i.indexName,
      KeySchema: [
        { AttributeName: i.partitionKey, KeyType: "HASH" as const },
        { AttributeName: i.sortKey, KeyType: "RANGE" as const },
      ],
      Projection: { ProjectionType: "ALL" as const },
    })),
  };
}

/** Creates the audit table and waits until it is active. */
export async function createAuditTable(client: DynamoDBClient, tableName: string): Promise<void> {
  await client.send(new CreateTableCommand(auditTableDefinition(tableName)));
  // The waiter's default first poll is 20 s away; local servers are ACTIVE at once.
  await waitUntilTableExists({ client, maxWaitTime: 10, minDelay: 1 }, { TableName: tableName });
}
