import { AUDIT_TABLE } from "@guardrail/core";
import type { DeploySettings } from "./settings";

/**
 * The audit table: one item per decision, queried by account and by resource. On-demand because
 * traffic is bursty and mostly idle; point-in-time recovery because it is the record of what the
 * guardrail changed; TTL so that old decisions expire on their own.
 */
export function createAuditTable(settings: DeploySettings) {
  const keys = [
    AUDIT_TABLE.partitionKey,
    AUDIT_TABLE.sortKey,
    AUDIT_TABLE.byAccount.partitionKey,
    AUDIT_TABLE.byAccount.sortKey,
    AUDIT_TABLE.byResource.partitionKey,
    AUDIT_TABLE.byResource.sortKey,
  ];
  return new aws.dynamodb.Table("AuditTable", {
    billingMode: "PAY_PER_REQUEST",
    hashKey: AUDIT_TABLE.partitionKey,
    rangeKey: AUDIT_TABLE.sortKey,
    attributes: keys.map((name) => ({ name, type: "S" })),
    globalSecondaryIndexes: [AUDIT_TABLE.byAccount, AUDIT_TABLE.byResource].map((index) => ({
      name: index.indexName,
      keySchemas: [
        { attributeName: index.partitionKey, keyType: "HASH" },
        { attributeName: index.sortKey, keyType: "RANGE" },
      ],
      projectionType: "ALL",
    })),
    pointInTimeRecovery: { enabled: true },
    ttl: { attributeName: AUDIT_TABLE.ttlAttribute, enabled: true },
    deletionProtectionEnabled: settings.protection,
  });
}
