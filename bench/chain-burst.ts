/**
 * The hash chain and the time to revoke: the bundled security-group-change handler, warm, in its
 * own Node process against the local EC2 sandbox, with and without the chain queue (a FIFO
 * queue on fauxqs). The two take turns event by event through a burst of violations; after the
 * burst the queue is drained through the chain writer and the chain verified.
 *
 *   npx tsx bench/chain-burst.ts [--events 300]
 */
import { Logger } from "@aws-lambda-powertools/logger";
import { Metrics } from "@aws-lambda-powertools/metrics";
import { DeleteMessageCommand, ReceiveMessageCommand, SQSClient } from "@aws-sdk/client-sqs";
import { createChainStore } from "@guardrail/aws";
import { FUNCTION_ENV, METRICS, verifyChain } from "@guardrail/core";
import { writeChain } from "@guardrail/functions";
import { TABLE } from "../functions/test/helpers";
import { bundle, DEPLOYED } from "./lib/bundle";
import { type InvokeResult, LambdaProcess } from "./lib/lambda";
import { ACCOUNT, openSshToTheWorld, REGION, startLocalAws } from "./lib/local-aws";
import { isMain } from "./lib/paths";
import { percentile } from "./lib/stats";

const WARMUP = 50;

export async function chainBurst(events: number) {
  const { main } = await bundle(
    "functions/src/handlers/security-group-change.ts",
    "chain/security-group-change",
    DEPLOYED,
  );
  const local = await startLocalAws();
  const { startFauxqs } = await import("fauxqs");
  const fauxqs = await startFauxqs({ port: 0, logger: false, defaultRegion: REGION });
  fauxqs.setup({ queues: [{ name: "chain.fifo", attributes: { FifoQueue: "true" } }] });
  const sqsEndpoint = `http://127.0.0.1:${fauxqs.port}`;
  const queueUrl = `${sqsEndpoint}/${ACCOUNT}/chain.fifo`;
  const env = local.lambdaEnv();
  const variants = [
    {
      key: "without",
      lambda: new LambdaProcess(main, env, "chain-without"),
      samples: [] as InvokeResult[],
    },
    {
      key: "with",
      lambda: new LambdaProcess(
        main,
        { ...env, [FUNCTION_ENV.chainQueueUrl]: queueUrl, AWS_ENDPOINT_URL_SQS: sqsEndpoint },
        "chain-with",
      ),
      samples: [] as InvokeResult[],
    },
  ];
  try {
    await Promise.all(variants.map((v) => v.lambda.start()));
    const total = WARMUP + events;
    const work = await Promise.all(
      variants.map((v) => openSshToTheWorld(local, total, `chain-${v.key}`)),
    );
    for (let i = 0; i < total; i++) {
      for (const [k, v] of variants.entries()) {
        const r = await v.lambda.invoke(work[k]![i]!.event);
        if (r.error || r.toRevokeMs === null)
          throw new Error(`${v.key}: ${r.error?.message ?? "no revoke"}`);
        if (i >= WARMUP) v.samples.push(r);
      }
    }
    // Drain the queue through the chain writer, then verify the chain.
    const sqs = new SQSClient({
      endpoint: sqsEndpoint,
      region: REGION,
      credentials: { accessKeyId: "bench", secretAccessKey: "bench" },
    });
    const deps = {
      logger: new Logger({ serviceName: "bench", logLevel: "SILENT" }),
      metrics: new Metrics({ namespace: METRICS.namespace, serviceName: "bench" }),
      store: createChainStore(TABLE, async () => local.dynamo.doc),
      clock: () => new Date(),
      retentionDays: 400,
    };
    for (;;) {
      const out = await sqs.send(
        new ReceiveMessageCommand({
          QueueUrl: queueUrl,
          MaxNumberOfMessages: 10,
          WaitTimeSeconds: 0,
        }),
      );
      const messages = out.Messages ?? [];
      if (messages.length === 0) break;
      const res = await writeChain(
        {
          Records: messages.map((m) => ({
            messageId: m.MessageId!,
            receiptHandle: m.ReceiptHandle!,
            body: m.Body!,
            attributes: {} as never,
            messageAttributes: {},
            md5OfBody: "",
            eventSource: "aws:sqs",
            eventSourceARN: "arn:aws:sqs:eu-west-1:123456789012:chain.fifo",
            awsRegion: REGION,
          })),
        },
        deps,
      );
      if (res.batchItemFailures.length > 0) throw new Error("chain writer failed");
      for (const m of messages)
        await sqs.send(
          new DeleteMessageCommand({ QueueUrl: queueUrl, ReceiptHandle: m.ReceiptHandle! }),
        );
    }
    sqs.destroy();
    const entries = await deps.store.entries(ACCOUNT, REGION);
    const head = await deps.store.head(ACCOUNT, REGION);
    const verified = verifyChain({ chain: `${ACCOUNT}#${REGION}`, entries, head, now: new Date() });
    const p = (v: (typeof variants)[number], q: number, f: (r: InvokeResult) => number) =>
      percentile(v.samples.map(f), q);
    const rows = variants.map((v) => ({
      variant: v.key === "with" ? "with the chain queue" : "without the chain",
      toRevokeP50: p(v, 50, (r) => r.toRevokeMs ?? Number.NaN),
      toRevokeP99: p(v, 99, (r) => r.toRevokeMs ?? Number.NaN),
      totalP50: p(v, 50, (r) => r.totalMs),
      totalP99: p(v, 99, (r) => r.totalMs),
    }));
    return { events, rows, chained: entries.length, chainOk: verified.ok };
  } finally {
    await Promise.all(variants.map((v) => v.lambda.stop()));
    await fauxqs.stop();
    await local.close();
  }
}

if (isMain(import.meta.url)) {
  const i = process.argv.indexOf("--events");
  const events = i >= 0 ? Number(process.argv[i + 1]) : 300;
  const r = await chainBurst(events);
  console.log(JSON.stringify(r, null, 2));
}
