import { PutCommand } from "@aws-sdk/lib-dynamodb";
import { createAuditStore } from "@guardrail/aws";
import {
  type AuditItem,
  auditKey,
  DEFAULT_POLICY_YAML,
  NOTIFICATION,
  RESULT_RANK,
} from "@guardrail/core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { REGION, startDynamo } from "./harness";
import { ACCOUNT, TABLE, tagRecord } from "./helpers";

let dynamo: Awaited<ReturnType<typeof startDynamo>>;

beforeAll(async () => {
  dynamo = await startDynamo();
});

afterAll(async () => {
  await dynamo.close();
});

function item(id: string, result: keyof typeof RESULT_RANK): AuditItem {
  return {
    ...auditKey(id),
    id,
    source: "event",
    result,
    resultRank: RESULT_RANK[result],
    account: ACCOUNT,
    region: REGION,
  } as unknown as AuditItem;
}

async function stored(id: string) {
  const { GetCommand } = await import("@aws-sdk/lib-dynamodb");
  return (await dynamo.doc.send(new GetCommand({ TableName: TABLE, Key: auditKey(id) }))).Item;
}

describe("wire: the claim's writes on a store that does not send the failed item back", () => {
  it("dynalite ignores ReturnValuesOnConditionCheckFailure: the fallback is what runs here", async () => {
    const put = (value: string) =>
      dynamo.doc.send(
        new PutCommand({
          TableName: TABLE,
          Item: { ...auditKey("probe"), value },
          ConditionExpression: "attribute_not_exists(pk)",
          ReturnValuesOnConditionCheckFailure: "ALL_OLD",
        }),
      );
    await put("first");
    const error = await put("second").catch((e: unknown) => e);
    expect(error).toMatchObject({ name: "ConditionalCheckFailedException" });
    expect((error as { Item?: unknown }).Item).toBeUndefined();
  });

  it("records once, and a redelivery of a worse result is a duplicate", async () => {
    const store = createAuditStore(TABLE, async () => dynamo.doc);
    const first = await store.putDecision(item("evt-a", "revoked"), "writer-1", {
      takeOver: true,
      claimedAt: new Date().toISOString(),
    });
    expect(first).toEqual({ status: "created" });
    await store.markPublished("evt-a");
    const again = await store.putDecision(item("evt-a", "already-gone"), "writer-2", {
      takeOver: true,
      claimedAt: new Date().toISOString(),
    });
    expect(again).toEqual({ status: "duplicate" });
    expect((await stored("evt-a"))?.notification).toBe(NOTIFICATION.published);
  });

  it("takes over a better record whose publish failed, by the take-over write", async () => {
    const store = createAuditStore(TABLE, async () => dynamo.doc);
    await store.putDecision(item("evt-b", "revoked"), "writer-1", { takeOver: true });
    await store.markNotifyFailed("evt-b", "writer-1");
    const put = await store.putDecision(item("evt-b", "already-gone"), "writer-2", {
      takeOver: true,
    });
    expect(put.status).toBe("taken-over");
    expect(put.status === "taken-over" && put.stored.result).toBe("revoked");
    expect(await stored("evt-b")).toMatchObject({
      notification: NOTIFICATION.claimed,
      claim: "writer-2",
    });
  });

  it("tells a redelivered tagging from a stale one by reading the record back", async () => {
    const store = createAuditStore(TABLE, async () => dynamo.doc);
    const record = tagRecord({
      value: "reason=demo;expires=2026-01-30;rules=internet-exposure",
      by: "arn:aws:iam::123456789012:user/developer",
      eventId: "evt-tag-2",
      eventTime: "2026-01-02T00:00:00.000Z",
      policyYaml: DEFAULT_POLICY_YAML,
    });
    expect(await store.putTagRecord(ACCOUNT, REGION, record)).toBe("written");
    expect(await store.putTagRecord(ACCOUNT, REGION, record)).toBe("duplicate");
    const older = { ...record, at: "2026-01-01T00:00:00.000Z", eventId: "evt-tag-1" };
    expect(await store.putTagRecord(ACCOUNT, REGION, older)).toBe("stale");
  });
});
