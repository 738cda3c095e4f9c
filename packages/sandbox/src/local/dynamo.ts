import type { Server } from "node:http";
import { DynamoDBClient, type DynamoDBClientConfig } from "@aws-sdk/client-dynamodb";
import { DynamoDBDocumentClient, GetCommand, QueryCommand } from "@aws-sdk/lib-dynamodb";
import { createLocalAuditTable } from "@guardrail/aws";
import { AUDIT_TABLE, type AuditItem, accountIndexKey, auditKey } from "@guardrail/core";
// A static import (not createRequire), so that the packaged CLI's bundler sees and bundles it.
import dynalite from "dynalite";
import { type LocalServiceOptions, listen } from "./listen";

export interface LocalDynamo {
  readonly endpoint: string;
  readonly port: number;
  readonly tableName: string;
  /** A document client on the local endpoint (dummy credentials). */
  readonly doc: DynamoDBDocumentClient;
  /** The audit item of one decision (its id is the CloudTrail eventID), if recorded. */
  decision(id: string): Promise<AuditItem | undefined>;
  /** Every decision item of one account, oldest first (the `byAccount` index). */
  decisions(account: string): Promise<AuditItem[]>;
  /** The exemption-tag announcements recorded for an account (grants, removals, alerts). */
  exemptions(account: string): Promise<Record<string, unknown>[]>;
  close(): Promise<void>;
}

export interface LocalDynamoOptions
  extends LocalServiceOptions<DynamoDBClientConfig["credentials"]> {
  readonly tableName: string;
}

/**
 * dynalite (in-memory DynamoDB) with the audit table created exactly as the infra creates it:
 * key schema and both indexes from `AUDIT_TABLE`. (dynalite has no UpdateTimeToLive, so the TTL
 * attribute is simply not enabled here.)
 */
export async function startLocalDynamo(options: LocalDynamoOptions): Promise<LocalDynamo> {
  const server = dynalite({ createTableMs: 0, deleteTableMs: 0 });
  const host = options.host ?? "127.0.0.1";
  const port = await listen(server, options.port ?? 0, host);
  const endpoint = `http://${host}:${port}`;
  const client = new DynamoDBClient({
    endpoint,
    region: options.region,
    credentials: options.credentials,
  });
  await createLocalAuditTable(client, options.tableName);
  const doc = DynamoDBDocumentClient.from(client, {
    marshallOptions: { removeUndefinedValues: true },
  });
  /** Every item of one account on the by-account index, all pages. */
  const byAccount = async (account: string): Promise<Record<string, unknown>[]> => {
    const items: Record<string, unknown>[] = [];
    let start: Record<string, unknown> | undefined;
    do {
      const page = await doc.send(
        new QueryCommand({
          TableName: options.tableName,
          IndexName: AUDIT_TABLE.byAccount.indexName,
          KeyConditionExpression: "#pk = :pk",
          ExpressionAttributeNames: { "#pk": AUDIT_TABLE.byAccount.partitionKey },
          ExpressionAttributeValues: { ":pk": accountIndexKey(account) },
          ...(start ? { ExclusiveStartKey: start } : {}),
        }),
      );
      items.push(...(page.Items ?? []));
      start = page.LastEvaluatedKey;
    } while (start);
    return items;
  };
  return {
    endpoint,
    port,
    tableName: options.tableName,
    doc,
    async decision(id) {
      const out = await doc.send(
        new GetCommand({ TableName: options.tableName, Key: auditKey(id) }),
      );
      return out.Item as AuditItem | undefined;
    },
    async decisions(account) {
      // The index also holds the exemption announcements (type "exemption").
      return (await byAccount(account)).filter(
        (i) => i.type === "decision",
      ) as unknown as AuditItem[];
    },
    async exemptions(account) {
      return (await byAccount(account)).filter((i) => i.type === "exemption");
    },
    async close() {
      client.destroy();
      await new Promise<void>((resolve) => {
        server.close(() => resolve());
        (server as Server & { closeAllConnections?: () => void }).closeAllConnections?.();
      });
    },
  };
}
