import { S3Client } from "@aws-sdk/client-s3";
import { DeleteCommand, PutCommand } from "@aws-sdk/lib-dynamodb";
import { createChainArchive, createChainStore } from "@guardrail/aws";
import {
  appendEntry,
  auditKey,
  type ChainEntry,
  type ChainHead,
  chainEntryKey,
  chainObjectKey,
  headOf,
} from "@guardrail/core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { credentials, REGION, startDynamo } from "../../../functions/test/harness";
import { TABLE } from "../../../functions/test/helpers";
import { startS3Stub } from "../../../functions/test/s3-stub";
import { main } from "../src/main";
import { jsonLines, memoryIo } from "./support/io";

const ACCOUNT = "111122223333";
const BUCKET = "evidence";
const DAY = 86_400_000;
/** #1 expired 3 days ago, #2 a day ago; #3 expires in a day. */
const START = Date.now() - 33 * DAY;

let dynamo: Awaited<ReturnType<typeof startDynamo>>;
let s3: Awaited<ReturnType<typeof startS3Stub>>;
let entries: ChainEntry[] = [];

function decision(i: number, decidedAt: Date, retentionDays: number) {
  return {
    ...auditKey(`e-${i}`),
    id: `e-${i}`,
    type: "decision",
    source: "event",
    account: ACCOUNT,
    region: REGION,
    gsi1pk: `ACCOUNT#${ACCOUNT}`,
    gsi1sk: `${decidedAt.toISOString()}#e-${i}`,
    gsi2pk: "RESOURCE#sg-0a",
    gsi2sk: `${decidedAt.toISOString()}#e-${i}`,
    result: "revoked",
    findings: [{ rule: "admin-ports", change: { text: `ingress tcp ${i} from 0.0.0.0/0` } }],
    decidedAt: decidedAt.toISOString(),
    eventTime: decidedAt.toISOString(),
    expiresAt: Math.floor(decidedAt.getTime() / 1000) + retentionDays * 86_400,
  };
}

/**
 * Six decisions a day apart with a 30-day retention, written as the functions and the chain
 * writer would; the first two have expired and TTL removed them (entries and decisions).
 */
async function seed() {
  const store = createChainStore(TABLE, async () => dynamo.doc);
  const archive = createChainArchive(
    BUCKET,
    { mode: "COMPLIANCE", retentionDays: 30 },
    async () =>
      new S3Client({ endpoint: s3.endpoint, region: REGION, credentials, forcePathStyle: true }),
  );
  // A clean table: the head and every entry and decision of the previous test.
  await dynamo.doc.send(
    new DeleteCommand({ TableName: TABLE, Key: { pk: `CHAIN#${ACCOUNT}#${REGION}`, sk: "HEAD" } }),
  );
  for (let i = 1; i <= 6; i++) {
    await dynamo.doc.send(
      new DeleteCommand({ TableName: TABLE, Key: chainEntryKey(ACCOUNT, REGION, i) }),
    );
    await dynamo.doc.send(new DeleteCommand({ TableName: TABLE, Key: auditKey(`e-${i}`) }));
  }
  for (const k of [...s3.objects.keys()]) s3.objects.delete(k);
  const start = START;
  let head: ChainHead | null = null;
  entries = [];
  for (let i = 1; i <= 6; i++) {
    const at = new Date(start + (i - 1) * 2 * DAY);
    const item = decision(i, at, 30);
    const entry = appendEntry(head, {
      account: ACCOUNT,
      region: REGION,
      record: item,
      now: at,
      retentionDays: 30,
    });
    await store.putEntry(entry);
    await archive.put(entry);
    await store.advanceHead(ACCOUNT, REGION, head?.seq ?? null, entry);
    await dynamo.doc.send(
      new PutCommand({ TableName: TABLE, Item: { ...item, notification: "published" } }),
    );
    entries.push(entry);
    head = headOf(entry);
  }
  // TTL removed entries #1 and #2 (and their decisions), which have expired.
  for (const i of [1, 2]) {
    await dynamo.doc.send(
      new DeleteCommand({ TableName: TABLE, Key: chainEntryKey(ACCOUNT, REGION, i) }),
    );
    await dynamo.doc.send(new DeleteCommand({ TableName: TABLE, Key: auditKey(`e-${i}`) }));
    s3.remove(BUCKET, chainObjectKey(entries[i - 1]!));
  }
}

const env = {
  AWS_ACCESS_KEY_ID: credentials.accessKeyId,
  AWS_SECRET_ACCESS_KEY: credentials.secretAccessKey,
  AWS_REGION: REGION,
};

async function verify(extra: string[] = []) {
  const io = memoryIo({ env: { ...env, AWS_ENDPOINT_URL_S3: s3.endpoint } });
  const code = await main(
    ["audit", "--verify", "--table", TABLE, "--endpoint-url", dynamo.endpoint, ...extra],
    io,
  );
  return { code, out: io.stdout.text(), err: io.stderr.text() };
}

beforeAll(async () => {
  dynamo = await startDynamo();
  s3 = await startS3Stub({ [BUCKET]: { objectLock: true } });
});
afterAll(async () => {
  await Promise.all([dynamo?.close(), s3?.close()]);
});

describe("guardrail audit --verify", () => {
  it("accepts a chain whose oldest entries expired by TTL, in the table and in the S3 copy", async () => {
    await seed();
    const table = await verify();
    expect(table.err).toBe("");
    expect(table.out).toContain(
      `OK   ${ACCOUNT}#${REGION}: 4 checked (entries #3 to #6, 2 expired by TTL)`,
    );
    expect(table.code).toBe(0);
    const io = memoryIo({ env: { ...env, AWS_ENDPOINT_URL_S3: s3.endpoint } });
    expect(await main(["audit", "--verify", "--bucket", BUCKET], io)).toBe(0);
    expect(io.stdout.text()).toContain("4 checked (entries #3 to #6, 2 expired by TTL)");
  });

  it("reports a deleted record (exit 1)", async () => {
    await seed();
    await dynamo.doc.send(
      new DeleteCommand({ TableName: TABLE, Key: chainEntryKey(ACCOUNT, REGION, 4) }),
    );
    const { code, out } = await verify();
    expect(code).toBe(1);
    expect(out).toContain("deleted at #5: entry #4 is missing before its expiry");
  });

  it("reports an altered decision item and an altered chain entry", async () => {
    await seed();
    const item = decision(5, new Date(entries[4]!.recordedAt), 30);
    await dynamo.doc.send(
      new PutCommand({ TableName: TABLE, Item: { ...item, result: "exempt" } }),
    );
    const { code, out } = await verify(["--format", "json"]);
    expect(code).toBe(1);
    const [result] = jsonLines<{ problems: unknown }>(out);
    expect(result?.problems).toEqual([
      expect.objectContaining({ kind: "decision-altered", decisionId: "e-5" }),
    ]);
    // The writer of a decision cannot fix the chain, but suppose the table itself is rewritten:
    const e = entries[4]!;
    await dynamo.doc.send(
      new PutCommand({
        TableName: TABLE,
        Item: {
          ...chainEntryKey(ACCOUNT, REGION, 5),
          entry: { ...e, record: { ...e.record, result: "exempt" } },
        },
      }),
    );
    const again = await verify();
    expect(again.out).toContain("altered at #5 (e-5): the record does not match its recordHash");
  });

  it("reports reordered records", async () => {
    await seed();
    for (const [at, from] of [
      [4, 5],
      [5, 4],
    ] as const) {
      await dynamo.doc.send(
        new PutCommand({
          TableName: TABLE,
          Item: { ...chainEntryKey(ACCOUNT, REGION, at), entry: entries[from - 1] },
        }),
      );
    }
    const { code, out } = await verify();
    expect(code).toBe(1);
    expect(out).toMatch(/reordered at #4 \(e-5\)/);
    expect(out).toMatch(/reordered at #5 \(e-4\)/);
  });

  it("reports an object deleted from the S3 copy", async () => {
    await seed();
    s3.remove(BUCKET, chainObjectKey(entries[3]!));
    const io = memoryIo({ env: { ...env, AWS_ENDPOINT_URL_S3: s3.endpoint } });
    expect(await main(["audit", "--verify", "--bucket", BUCKET], io)).toBe(1);
    expect(io.stdout.text()).toContain("deleted at #5");
  });
});
