import type { DynamoDBDocumentClient } from "@aws-sdk/lib-dynamodb";
import { AUDIT_TABLE, type AuditItem, accountIndexKey, resourceIndexKey } from "@guardrail/core";

/** What `guardrail audit` asks for. Times are epoch milliseconds; `until` is exclusive. */
export interface AuditQuery {
  readonly since: number;
  readonly until: number;
  readonly account?: string;
  readonly resource?: string;
  /** Most decisions returned, newest first. */
  readonly limit: number;
}

/** How a query was answered: which index, and whether the limit cut it short. */
export interface AuditAnswer {
  readonly items: AuditItem[];
  readonly via: "byAccount" | "byResource" | "scan";
  readonly truncated: boolean;
}

/** Sort-key bounds of a time window on either index (`<ISO time>#<id>`). */
function window(q: AuditQuery): { from: string; to: string } {
  return { from: new Date(q.since).toISOString(), to: new Date(q.until).toISOString() };
}

/**
 * Decisions in a time window, newest first: through the by-resource index when a resource is
 * given, the by-account index when an account is, and a filtered scan of the table otherwise
 * (fine for an audit trail's size; name an account for a large one).
 */
export async function queryAudit(
  ddb: DynamoDBDocumentClient,
  table: string,
  q: AuditQuery,
): Promise<AuditAnswer> {
  const lib = await import("./sdk/dynamodb");
  const { from, to } = window(q);
  const items: AuditItem[] = [];
  let truncated = false;
  const index = q.resource ? AUDIT_TABLE.byResource : q.account ? AUDIT_TABLE.byAccount : null;
  let start: Record<string, unknown> | undefined;
  do {
    if (index) {
      const key = q.resource ? resourceIndexKey(q.resource) : accountIndexKey(q.account!);
      const out = await ddb.send(
        new lib.QueryCommand({
          TableName: table,
          IndexName: index.indexName,
          KeyConditionExpression: "#pk = :pk AND #sk BETWEEN :from AND :to",
          // Both filters when both are given: the resource index, narrowed to the account.
          ...(q.resource && q.account
            ? {
                FilterExpression: "#account = :account",
                ExpressionAttributeValues: {
                  ":pk": key,
                  ":from": from,
                  ":to": to,
                  ":account": q.account,
                },
                ExpressionAttributeNames: {
                  "#pk": index.partitionKey,
                  "#sk": index.sortKey,
                  "#account": "account",
                },
              }
            : {
                ExpressionAttributeValues: { ":pk": key, ":from": from, ":to": to },
                ExpressionAttributeNames: { "#pk": index.partitionKey, "#sk": index.sortKey },
              }),
          ScanIndexForward: false,
          ExclusiveStartKey: start,
        }),
      );
      items.push(...((out.Items ?? []) as AuditItem[]));
      start = out.LastEvaluatedKey;
    } else {
      const out = await ddb.send(
        new lib.ScanCommand({
          TableName: table,
          FilterExpression: "#type = :decision AND #sk BETWEEN :from AND :to",
          ExpressionAttributeNames: { "#type": "type", "#sk": AUDIT_TABLE.byAccount.sortKey },
          ExpressionAttributeValues: { ":decision": "decision", ":from": from, ":to": to },
          ExclusiveStartKey: start,
        }),
      );
      items.push(...((out.Items ?? []) as AuditItem[]));
      start = out.LastEvaluatedKey;
    }
    // A query comes newest first, so it can stop at the limit; a scan must read everything.
    if (index && items.length >= q.limit) {
      truncated = items.length > q.limit || start !== undefined;
      break;
    }
  } while (start);
  const sortKey = AUDIT_TABLE.byAccount.sortKey as "gsi1sk";
  items.sort((a, b) => (a[sortKey] < b[sortKey] ? 1 : a[sortKey] > b[sortKey] ? -1 : 0));
  if (items.length > q.limit) truncated = true;
  return {
    items: items.slice(0, q.limit),
    via: q.resource ? "byResource" : q.account ? "byAccount" : "scan",
    truncated,
  };
}
