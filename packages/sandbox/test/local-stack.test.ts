import { createServer } from "node:net";
import { DescribeTableCommand, DynamoDBClient } from "@aws-sdk/client-dynamodb";
import { AUDIT_TABLE, PolicyValidationError } from "@guardrail/core";
import { describe, expect, it } from "vitest";
import { startLocalStack } from "../src/local/index";

describe("startLocalStack", () => {
  it("creates the audit table with the key schema and indexes of AUDIT_TABLE", async () => {
    const stack = await startLocalStack();
    try {
      const client = new DynamoDBClient({
        endpoint: stack.endpoints.dynamo,
        region: stack.region,
        credentials: { accessKeyId: "AKIATEST", secretAccessKey: "x" },
      });
      const { Table } = await client.send(new DescribeTableCommand({ TableName: stack.tableName }));
      client.destroy();
      expect(Table?.TableStatus).toBe("ACTIVE");
      expect(Table?.KeySchema).toEqual([
        { AttributeName: AUDIT_TABLE.partitionKey, KeyType: "HASH" },
        { AttributeName: AUDIT_TABLE.sortKey, KeyType: "RANGE" },
      ]);
      const indexes = Object.fromEntries(
        (Table?.GlobalSecondaryIndexes ?? []).map((i) => [
          i.IndexName,
          i.KeySchema?.map((k) => k.AttributeName),
        ]),
      );
      expect(indexes).toEqual({
        [AUDIT_TABLE.byAccount.indexName]: [
          AUDIT_TABLE.byAccount.partitionKey,
          AUDIT_TABLE.byAccount.sortKey,
        ],
        [AUDIT_TABLE.byResource.indexName]: [
          AUDIT_TABLE.byResource.partitionKey,
          AUDIT_TABLE.byResource.sortKey,
        ],
      });
    } finally {
      await stack.close();
    }
  });

  it("gives each function its own role, as deployed, and all of them are own principals", async () => {
    const stack = await startLocalStack({ accountId: "111122223333", region: "eu-west-1" });
    try {
      expect(stack.functions["security-group-change"].roleArn).toBe(
        "arn:aws:iam::111122223333:role/network-guardrail-sandbox-security-group-change",
      );
      expect(new Set(Object.values(stack.functions).map((f) => f.accessKeyId)).size).toBe(4);
      expect(stack.ownRoleArns).toHaveLength(5);
      expect(stack.sandbox.defaultRegion).toBe("eu-west-1");
    } finally {
      await stack.close();
    }
  });

  it("fails to start on a port in use, closing what had started", async () => {
    const blocker = createServer();
    await new Promise<void>((resolve) => blocker.listen(0, "127.0.0.1", resolve));
    const port = (blocker.address() as { port: number }).port;
    try {
      await expect(startLocalStack({ ports: { slack: port } })).rejects.toThrow(/EADDRINUSE/);
    } finally {
      await new Promise<void>((resolve) => blocker.close(() => resolve()));
    }
  });

  it("fails on an invalid policy with the issues, prefixed by its file", async () => {
    const error = await startLocalStack({
      policy: { text: "version: 2\nrules: []\n", source: "/tmp/bad-policy.yaml" },
    }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(PolicyValidationError);
    expect((error as PolicyValidationError).issues[0]?.path).toMatch(/^\/tmp\/bad-policy\.yaml: /);
  });
});
