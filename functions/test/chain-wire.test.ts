import { Logger } from "@aws-lambda-powertools/logger";
import { Metrics } from "@aws-lambda-powertools/metrics";
import { S3Client } from "@aws-sdk/client-s3";
import { ReceiveMessageCommand, SQSClient } from "@aws-sdk/client-sqs";
import {
  createChainArchive,
  createChainQueue,
  createChainStore,
  type ObjectLockSettings,
} from "@guardrail/aws";
import {
  type AuditItem,
  auditItem,
  buildDecision,
  chainEntryOf,
  chainObjectKey,
  METRICS,
  verifyChain,
} from "@guardrail/core";
import { type ChainWriterDeps, writeChain } from "@guardrail/functions";
import type { SQSEvent } from "aws-lambda";
import type { FauxqsServer } from "fauxqs";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { eventMeta, sgRule } from "../../packages/core/test/policy-builders";
import { credentials, REGION, startDynamo } from "./harness";
import { TABLE } from "./helpers";
import { startS3Stub } from "./s3-stub";

const PROD_BUCKET = "guardrail-evidence-prod";
const DEV_BUCKET = "guardrail-evidence-dev";

let dynamo: Awaited<ReturnType<typeof startDynamo>>;
let s3: Awaited<ReturnType<typeof startS3Stub>>;
let fauxqs: FauxqsServer;
let sqs: SQSClient;
let queueUrl: string;

beforeAll(async () => {
  dynamo = await startDynamo();
  s3 = await startS3Stub({
    [PROD_BUCKET]: { objectLock: true },
    [DEV_BUCKET]: { objectLock: false },
  });
  const { startFauxqs } = await import("fauxqs");
  fauxqs = await startFauxqs({ port: 0, logger: false, defaultRegion: REGION });
  const setup = fauxqs.setup({
    queues: [
      {
        name: "guardrail-chain.fifo",
        attributes: { FifoQueue: "true", VisibilityTimeout: "1" },
      },
    ],
  });
  queueUrl = setup.queues[0]!.url;
  sqs = new SQSClient({
    endpoint: `http://127.0.0.1:${fauxqs.port}`,
    region: REGION,
    credentials,
    useQueueUrlAsEndpoint: false,
  });
});

afterAll(async () => {
  await Promise.all([dynamo?.close(), s3?.close(), fauxqs?.stop()]);
});

let n = 0;
function decisionItem(account: string, region = REGION): AuditItem {
  n++;
  const d = buildDecision({
    source: "event",
    event: eventMeta({
      eventId: `evt-${n}`,
      eventTime: "2026-12-06T07:00:00Z",
      account,
      region,
      // An IAM user: no session issuer.
      actor: {
        arn: `arn:aws:iam::${account}:user/dev`,
        type: "IAMUser",
        accountId: account,
        sessionIssuerArn: null,
      },
    }),
    evaluation: {
      outcome: "violation",
      findings: [
        {
          rule: "admin-ports",
          mode: "enforce",
          severity: "critical",
          reason: "open to the internet",
          change: sgRule({ groupId: "sg-0a", ruleId: `sgr-${n}` }),
        },
      ],
      waived: [],
    },
    outcomes: [],
    decidedAt: new Date("2026-12-06T07:00:01Z"),
    guardrailVersion: "0.1.0",
    policyId: "abc",
  });
  return auditItem(d!);
}

/** Receives what is queued and hands it to the writer as Lambda's SQS event would. */
async function drain(deps: ChainWriterDeps) {
  const results = [];
  for (;;) {
    const out = await sqs.send(
      new ReceiveMessageCommand({
        QueueUrl: queueUrl,
        MaxNumberOfMessages: 10,
        MessageSystemAttributeNames: ["MessageGroupId"],
        WaitTimeSeconds: 0,
      }),
    );
    const messages = out.Messages ?? [];
    if (messages.length === 0) return results;
    const event: SQSEvent = {
      Records: messages.map((m) => ({
        messageId: m.MessageId!,
        receiptHandle: m.ReceiptHandle!,
        body: m.Body!,
        attributes: { MessageGroupId: m.Attributes?.MessageGroupId } as never,
        messageAttributes: {},
        md5OfBody: m.MD5OfBody!,
        eventSource: "aws:sqs",
        eventSourceARN: "arn:aws:sqs:eu-west-1:111122223333:guardrail-chain.fifo",
        awsRegion: REGION,
      })),
    };
    const response = await writeChain(event, deps);
    results.push(response);
    const failed = new Set(response.batchItemFailures.map((f) => f.itemIdentifier));
    const { DeleteMessageCommand } = await import("@aws-sdk/client-sqs");
    for (const m of messages) {
      if (!failed.has(m.MessageId!)) {
        await sqs.send(
          new DeleteMessageCommand({ QueueUrl: queueUrl, ReceiptHandle: m.ReceiptHandle! }),
        );
      }
    }
    if (failed.size > 0) await new Promise((r) => setTimeout(r, 1_100));
  }
}

function writerDeps(bucket: string, lock: ObjectLockSettings): ChainWriterDeps {
  return {
    logger: new Logger({ serviceName: "wire", logLevel: "SILENT" }),
    metrics: new Metrics({ namespace: METRICS.namespace, serviceName: "wire" }),
    store: createChainStore(TABLE, async () => dynamo.doc),
    archive: createChainArchive(
      bucket,
      lock,
      async () =>
        new S3Client({ endpoint: s3.endpoint, region: REGION, credentials, forcePathStyle: true }),
    ),
    clock: () => new Date("2026-12-06T07:00:02Z"),
    retentionDays: lock.retentionDays,
  };
}

const queue = () => createChainQueue(queueUrl, async () => sqs);

describe("the chain writer over SQS FIFO, DynamoDB and S3", () => {
  it("appends records in queue order per account and Region, with a locked S3 copy in production", async () => {
    const deps = writerDeps(PROD_BUCKET, { mode: "COMPLIANCE", retentionDays: 400 });
    const a = ["111111111111", "111111111111", "111111111111"].map((acct) => decisionItem(acct));
    const b = [decisionItem("222222222222"), decisionItem("222222222222")];
    for (const item of [a[0]!, b[0]!, a[1]!, b[1]!, a[2]!]) await queue().send(item);
    await drain(deps);

    const store = deps.store;
    const chainA = await store.entries("111111111111", REGION);
    expect(chainA.map((e) => e.entry.decisionId)).toEqual(a.map((i) => i.id));
    const chainB = await store.entries("222222222222", REGION);
    expect(chainB.map((e) => e.entry.decisionId)).toEqual(b.map((i) => i.id));
    const head = await store.head("111111111111", REGION);
    const v = verifyChain({
      chain: `111111111111#${REGION}`,
      entries: chainA,
      head,
      now: new Date("2026-12-06T08:00:00Z"),
      decisions: a,
    });
    expect(v).toMatchObject({ ok: true, checked: 3 });

    // The S3 layout: account, Region and date partitions; one object per entry.
    const keys = [...s3.objects.keys()].filter((k) => k.startsWith(`${PROD_BUCKET}/`)).sort();
    expect(keys).toContain(
      `${PROD_BUCKET}/chain/account=111111111111/region=eu-west-1/date=2026-12-06/000000000001.json`,
    );
    expect(keys).toContain(
      `${PROD_BUCKET}/chain/account=222222222222/region=eu-west-1/date=2026-12-06/000000000002.json`,
    );
    expect(keys).toHaveLength(5);
    const first = s3.objects.get(`${PROD_BUCKET}/${chainObjectKey(chainA[0]!.entry)}`)![0]!;
    expect(first.headers["x-amz-object-lock-mode"]).toBe("COMPLIANCE");
    // 400 days after the entry was recorded.
    expect(
      new Date(String(first.headers["x-amz-object-lock-retain-until-date"])).toISOString(),
    ).toBe("2028-01-10T07:00:02.000Z");
    expect(first.headers["x-amz-checksum-sha256"]).toBeTruthy();
    expect(chainEntryOf(JSON.parse(first.body))).toEqual(chainA[0]!.entry);

    // The S3 copy verifies on its own, and agrees with DynamoDB.
    const copy = await deps.archive!.entries("111111111111", REGION);
    expect(copy.map((e) => e.entry.hash)).toEqual(chainA.map((e) => e.entry.hash));
  });

  it("writes no lock headers in a development stage without Object Lock", async () => {
    const deps = writerDeps(DEV_BUCKET, { mode: "NONE", retentionDays: 30 });
    await queue().send(decisionItem("333333333333"));
    await drain(deps);
    const [key] = [...s3.objects.keys()].filter((k) => k.startsWith(`${DEV_BUCKET}/`));
    const obj = s3.objects.get(key!)![0]!;
    expect(obj.headers["x-amz-object-lock-mode"]).toBeUndefined();
    expect(obj.headers["x-amz-object-lock-retain-until-date"]).toBeUndefined();
  });

  it("S3 refuses lock headers on a bucket without Object Lock: the message stays queued", async () => {
    const deps = writerDeps(DEV_BUCKET, { mode: "GOVERNANCE", retentionDays: 30 });
    await queue().send(decisionItem("444444444444"));
    const [first] = await drainOnce(deps);
    expect(first?.batchItemFailures).toHaveLength(1);
    // Fixed configuration: the redelivery completes the same entry, not a second one.
    await drain(writerDeps(DEV_BUCKET, { mode: "NONE", retentionDays: 30 }));
    const entries = await deps.store.entries("444444444444", REGION);
    expect(entries.map((e) => e.position)).toEqual([1]);
    expect((await deps.store.head("444444444444", REGION))?.seq).toBe(1);
  });

  it("after a failed S3 write, fails that message and every later one of the batch, then recovers in order", async () => {
    const deps = writerDeps(PROD_BUCKET, { mode: "COMPLIANCE", retentionDays: 400 });
    const items = [1, 2, 3].map(() => decisionItem("555555555555"));
    for (const item of items) await queue().send(item);
    s3.failNext(4); // the SDK retries 3 times: the first message fails
    const results = await drain(deps);
    // The failed message and whatever came after it in its batch are handed back to SQS.
    expect(results[0]!.batchItemFailures.length).toBeGreaterThanOrEqual(1);
    const entries = await deps.store.entries("555555555555", REGION);
    expect(entries.map((e) => e.entry.decisionId)).toEqual(items.map((i) => i.id));
    const head = await deps.store.head("555555555555", REGION);
    expect(
      verifyChain({
        chain: `555555555555#${REGION}`,
        entries,
        head,
        now: new Date("2026-12-06T08:00:00Z"),
      }).ok,
    ).toBe(true);
  });

  it("drops a redelivered record: SQS deduplicates by the record's hash, the writer by its head", async () => {
    const deps = writerDeps(PROD_BUCKET, { mode: "COMPLIANCE", retentionDays: 400 });
    const item = decisionItem("666666666666");
    await queue().send(item);
    await queue().send({ ...item, notification: "published" } as AuditItem);
    await drain(deps);
    // A redelivery after the deduplication interval: the head already holds it.
    const { appendRecord } = await import("@guardrail/functions");
    expect((await appendRecord(item, deps)).status).toBe("duplicate");
    expect((await deps.store.entries("666666666666", REGION)).map((e) => e.position)).toEqual([1]);
  });
});

async function drainOnce(deps: ChainWriterDeps) {
  const out = await sqs.send(
    new ReceiveMessageCommand({ QueueUrl: queueUrl, MaxNumberOfMessages: 10, WaitTimeSeconds: 0 }),
  );
  const messages = out.Messages ?? [];
  const response = await writeChain(
    {
      Records: messages.map((m) => ({
        messageId: m.MessageId!,
        receiptHandle: m.ReceiptHandle!,
        body: m.Body!,
        attributes: {} as never,
        messageAttributes: {},
        md5OfBody: m.MD5OfBody!,
        eventSource: "aws:sqs",
        eventSourceARN: "arn:aws:sqs:eu-west-1:111122223333:guardrail-chain.fifo",
        awsRegion: REGION,
      })),
    },
    deps,
  );
  await new Promise((r) => setTimeout(r, 1_100));
  return [response];
}
