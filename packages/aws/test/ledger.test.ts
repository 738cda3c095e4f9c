import { ConditionalCheckFailedException } from "@aws-sdk/client-dynamodb";
import {
  DynamoDBDocumentClient,
  GetCommand,
  PutCommand,
  UpdateCommand,
} from "@aws-sdk/lib-dynamodb";
import {
  type AuditItem,
  auditKey,
  NOTIFICATION,
  type NotificationState,
  RESULT_RANK,
} from "@guardrail/core";
import { mockClient } from "aws-sdk-client-mock";
import "aws-sdk-client-mock-vitest/extend";
import { afterEach, describe, expect, it } from "vitest";
import { createAuditStore } from "../src/audit";
import { CLAIM_CONDITIONS, createLedger, keptItem } from "../src/ledger";

const TABLE = "guardrail-audit";
const ddb = mockClient(DynamoDBDocumentClient);
const client = DynamoDBDocumentClient.from(
  new (await import("@aws-sdk/client-dynamodb")).DynamoDBClient({ region: "eu-west-1" }),
);
const ledger = createLedger(TABLE, async () => client);
const STALE = "2026-01-01T00:10:00.000Z";

afterEach(() => ddb.reset());

function item(result: keyof typeof RESULT_RANK): AuditItem {
  return {
    ...auditKey("evt-1"),
    id: "evt-1",
    result,
    resultRank: RESULT_RANK[result],
  } as unknown as AuditItem;
}

/** The error DynamoDB sends when the condition failed and ALL_OLD was asked for. */
function failedWith(kept: Record<string, string | number>) {
  return new ConditionalCheckFailedException({
    message: "The conditional request failed",
    $metadata: {},
    Item: Object.fromEntries(
      Object.entries(kept).map(([k, v]) => [
        k,
        typeof v === "number" ? { N: String(v) } : { S: v },
      ]),
    ),
  });
}

/** The put failed: the record kept is a revoke, its notification at `notification`. */
const keptRevoke = (notification: NotificationState, more: Record<string, string> = {}) =>
  failedWith({ resultRank: RESULT_RANK.revoked, result: "revoked", notification, ...more });

describe("the ledger's claim writes", () => {
  it("asks DynamoDB for the item that failed the condition, and names the condition", async () => {
    ddb.on(PutCommand).resolves({});
    expect(await ledger.putDecision(item("revoked"), "writer-1", { takeOver: true })).toEqual({
      status: "created",
    });
    expect(ddb).toHaveReceivedCommandWith(PutCommand, {
      ConditionExpression: CLAIM_CONDITIONS.firstOrBetter(false),
      ReturnValues: "ALL_OLD",
      ReturnValuesOnConditionCheckFailure: "ALL_OLD",
    });
  });

  it("answers a duplicate from the item DynamoDB sent back, without a take-over write", async () => {
    ddb.on(PutCommand).rejects(keptRevoke(NOTIFICATION.published));
    const put = await ledger.putDecision(item("already-gone"), "writer-2", {
      takeOver: true,
      staleBefore: STALE,
    });
    expect(put).toEqual({ status: "duplicate" });
    expect(ddb).not.toHaveReceivedCommand(UpdateCommand);
    expect(ddb).not.toHaveReceivedCommand(GetCommand);
  });

  it("takes over a better record whose publish failed, as the item sent back shows", async () => {
    ddb.on(PutCommand).rejects(keptRevoke(NOTIFICATION.failed));
    ddb.on(UpdateCommand).resolves({
      Attributes: { ...item("revoked"), source: "event", notification: NOTIFICATION.claimed },
    });
    const put = await ledger.putDecision(item("already-gone"), "writer-2", { takeOver: true });
    expect(put.status).toBe("taken-over");
    expect(ddb).toHaveReceivedCommandWith(UpdateCommand, {
      ConditionExpression: CLAIM_CONDITIONS.freeTurn(false),
    });
  });

  it("takes a stale claim over, as the item sent back shows", async () => {
    ddb
      .on(PutCommand)
      .rejects(keptRevoke(NOTIFICATION.claimed, { claimedAt: "2026-01-01T00:00:00.000Z" }));
    ddb.on(UpdateCommand).resolves({ Attributes: { ...item("revoked"), source: "event" } });
    const put = await ledger.putDecision(item("already-gone"), "writer-2", {
      takeOver: true,
      staleBefore: STALE,
    });
    expect(put.status).toBe("taken-over");
  });

  it("without the item (a store that ignores the parameter) tries the take-over write", async () => {
    ddb
      .on(PutCommand)
      .rejects(new ConditionalCheckFailedException({ message: "failed", $metadata: {} }));
    ddb
      .on(UpdateCommand)
      .rejects(new ConditionalCheckFailedException({ message: "failed", $metadata: {} }));
    const put = await ledger.putDecision(item("already-gone"), "writer-2", { takeOver: true });
    expect(put).toEqual({ status: "duplicate" });
    expect(ddb).toHaveReceivedCommandTimes(UpdateCommand, 1);
  });

  it("reads nothing more for a writer that does not take over", async () => {
    ddb
      .on(PutCommand)
      .rejects(failedWith({ resultRank: RESULT_RANK.revoked, notification: NOTIFICATION.failed }));
    expect(await ledger.putDecision(item("revoked"), "writer-3", { notify: false })).toEqual({
      status: "duplicate",
    });
    expect(ddb).toHaveReceivedCommandTimes(PutCommand, 1);
    expect(ddb).not.toHaveReceivedCommand(UpdateCommand);
  });
});

describe("a tag record's conditional write", () => {
  const store = createAuditStore(TABLE, async () => client);
  const record = {
    groupId: "sg-0123456789abcdef0",
    key: "guardrail-exempt",
    action: "set" as const,
    valueHash: null,
    by: null,
    approver: null,
    problem: null,
    rules: [],
    expires: null,
    reason: null,
    at: "2026-01-01T00:00:00.000Z",
    eventId: "evt-tag-1",
    via: "event" as const,
  };

  it("tells a redelivery from a stale tagging by the item DynamoDB sent back", async () => {
    ddb.on(PutCommand).rejects(failedWith({ eventId: "evt-tag-1" }));
    expect(await store.putTagRecord("123456789012", "eu-west-1", record)).toBe("duplicate");
    ddb.on(PutCommand).rejects(failedWith({ eventId: "evt-tag-2" }));
    expect(await store.putTagRecord("123456789012", "eu-west-1", record)).toBe("stale");
    expect(ddb).toHaveReceivedCommandWith(PutCommand, {
      ReturnValuesOnConditionCheckFailure: "ALL_OLD",
    });
    expect(ddb).not.toHaveReceivedCommand(GetCommand);
  });

  it("reads the record back when the store sent nothing", async () => {
    ddb
      .on(PutCommand)
      .rejects(new ConditionalCheckFailedException({ message: "x", $metadata: {} }));
    ddb.on(GetCommand).resolves({ Item: { eventId: "evt-tag-1" } });
    expect(await store.putTagRecord("123456789012", "eu-west-1", record)).toBe("duplicate");
    expect(ddb).toHaveReceivedCommandTimes(GetCommand, 1);
  });
});

describe("keptItem", () => {
  it("reads the scalars of an item in DynamoDB's wire format", () => {
    expect(
      keptItem({ Item: { a: { S: "x" }, n: { N: "4" }, b: { BOOL: true }, z: { NULL: true } } }),
    ).toEqual({ a: "x", n: 4, b: true, z: null });
  });

  it("is undefined when the error carries no item", () => {
    expect(keptItem(new Error("x"))).toBeUndefined();
    expect(keptItem(null)).toBeUndefined();
  });
});
