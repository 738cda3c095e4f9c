import { type ListenOptions, Server as NetServer } from "node:net";
import {
  ChangeMessageVisibilityCommand,
  DeleteMessageCommand,
  type Message,
  ReceiveMessageCommand,
  SQSClient,
  type SQSClientConfig,
} from "@aws-sdk/client-sqs";
import { ConfigurationError } from "@guardrail/core";
import type { SNSEvent, SNSEventRecord } from "aws-lambda";
import type { FauxqsServer } from "fauxqs";
import type { LocalServiceOptions } from "./listen";

/** What one delivery of a topic message to the subscriber came to. */
export interface SnsDelivery {
  readonly messageId: string;
  readonly subject: string | null;
  /** The message body, parsed when it is JSON. */
  readonly message: unknown;
  /** 1 for the first delivery, more when the subscriber failed before (SNS retries). */
  readonly attempt: number;
  readonly ok: boolean;
  readonly error?: unknown;
  /** The subscriber gave up after the last attempt: the message is dropped. */
  readonly dropped: boolean;
}

export type SnsSubscriber = (event: SNSEvent) => Promise<unknown>;

export interface LocalSns {
  /** SNS (and SQS) Query endpoint. */
  readonly endpoint: string;
  readonly port: number;
  readonly topicArn: string;
  /**
   * Subscribes a Lambda-style handler: each message published to the topic is delivered to it
   * as an SNS event of one record, one message at a time. A handler that throws gets the message
   * again after `retryDelayMs`, up to `maxAttempts` times (SNS → Lambda retries asynchronously).
   */
  subscribe(handler: SnsSubscriber): void;
  onDelivery(listener: (d: SnsDelivery) => void): () => void;
  /** Waits until every message published so far has been delivered (or dropped). */
  idle(timeoutMs?: number): Promise<void>;
  close(): Promise<void>;
}

export interface LocalSnsOptions extends LocalServiceOptions<SQSClientConfig["credentials"]> {
  readonly topicName: string;
  /** Default 3 (one delivery and two retries, as Lambda's asynchronous invocation). */
  readonly maxAttempts?: number;
  /** Default 200 ms. */
  readonly retryDelayMs?: number;
}

/**
 * fauxqs imports `node:sqlite`, which Node 22 flags as experimental on first load. The warning is
 * about fauxqs' storage, not anything the user did, so it is kept off the demo's output; every
 * other warning still goes through.
 */
async function importFauxqs(): Promise<typeof import("fauxqs")> {
  const emit = process.emitWarning;
  process.emitWarning = ((warning: string | Error, ...rest: unknown[]) => {
    const text = typeof warning === "string" ? warning : warning.message;
    if (/SQLite/i.test(text)) return;
    (emit as (...args: unknown[]) => void).call(process, warning, ...rest);
  }) as typeof process.emitWarning;
  try {
    return await import("fauxqs");
  } catch (error) {
    throw new ConfigurationError(
      `the local SNS (fauxqs) needs Node 22 or later (node:sqlite); this is Node ${process.versions.node}`,
      { cause: error },
    );
  } finally {
    process.emitWarning = emit;
  }
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

function parse(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return text;
  }
}

/** The SQS body of an SNS notification (non-raw delivery) → the record Lambda would receive. */
export function snsRecordOf(body: string, subscriptionArn: string): SNSEventRecord {
  const n = parse(body) as Record<string, unknown>;
  if (n === null || typeof n !== "object" || n.Type !== "Notification") {
    throw new ConfigurationError(
      "the local topic's queue holds a message that is no SNS notification",
    );
  }
  const attributes = (n.MessageAttributes ?? {}) as Record<string, { Type: string; Value: string }>;
  return {
    EventSource: "aws:sns",
    EventVersion: "1.0",
    EventSubscriptionArn: subscriptionArn,
    Sns: {
      Type: "Notification",
      MessageId: String(n.MessageId ?? ""),
      TopicArn: String(n.TopicArn ?? ""),
      Subject: (n.Subject as string | undefined) ?? (null as unknown as string),
      Message: String(n.Message ?? ""),
      Timestamp: String(n.Timestamp ?? new Date().toISOString()),
      SignatureVersion: String(n.SignatureVersion ?? "1"),
      Signature: String(n.Signature ?? ""),
      // Lambda spells these two `Url`; the SQS-delivered JSON spells them `URL`.
      SigningCertUrl: String(n.SigningCertURL ?? ""),
      UnsubscribeUrl: String(n.UnsubscribeURL ?? ""),
      MessageAttributes: Object.fromEntries(
        Object.entries(attributes).map(([k, v]) => [k, { Type: v.Type, Value: v.Value }]),
      ),
    },
  };
}

/**
 * Runs `start` with Node's `Server#listen` taking `host` wherever it was asked for every
 * interface. fauxqs 2.4 calls `listen({ port, host: "0.0.0.0" })` whatever its `host` option
 * says (the option only names the host in queue URLs), and the sandbox must listen only where
 * `--host` says, like its other servers. The EC2, DynamoDB and Slack servers, started at the
 * same time, pass their host explicitly and are left alone.
 */
async function listeningOn<T>(host: string, start: () => Promise<T>): Promise<T> {
  const listen = NetServer.prototype.listen;
  NetServer.prototype.listen = function (this: NetServer, ...args: unknown[]) {
    const [first] = args;
    if (
      typeof first === "object" &&
      first !== null &&
      (first as ListenOptions).host === "0.0.0.0"
    ) {
      args[0] = { ...(first as ListenOptions), host };
    }
    return (listen as (...a: unknown[]) => NetServer).apply(this, args);
  } as typeof listen;
  try {
    return await start();
  } finally {
    NetServer.prototype.listen = listen;
  }
}

/**
 * A local SNS topic (fauxqs, Node 22) with the guardrail's subscriber on it. fauxqs fans topic
 * messages out to SQS queues only, so the subscription is a queue that this module long-polls and
 * hands to the handler as the SNS event Lambda would get: the same JSON envelope, the same
 * at-least-once retries on failure.
 */
export async function startLocalSns(options: LocalSnsOptions): Promise<LocalSns> {
  const { startFauxqs } = await importFauxqs();
  const host = options.host ?? "127.0.0.1";
  const server: FauxqsServer = await listeningOn(host, () =>
    startFauxqs({ port: options.port ?? 0, host, logger: false, defaultRegion: options.region }),
  );
  const queueName = `${options.topicName}-subscriber`;
  const setup = server.setup({
    topics: [{ name: options.topicName }],
    // A short visibility timeout: a failed delivery is retried within a second, not 30.
    queues: [{ name: queueName, attributes: { VisibilityTimeout: "1" } }],
    subscriptions: [{ topic: options.topicName, queue: queueName }],
  });
  const topicArn = setup.topics[0]?.arn;
  const queueUrl = setup.queues[0]?.url;
  const subscriptionArn = setup.subscriptions[0]?.subscriptionArn ?? `${topicArn}:local`;
  if (topicArn === undefined || queueUrl === undefined) {
    await server.stop();
    throw new ConfigurationError("fauxqs did not create the local topic and its queue");
  }
  const endpoint = `http://${host}:${server.port}`;
  // The queue URL names a `sqs.<region>.localhost` host; talk to the endpoint itself instead.
  const sqs = new SQSClient({
    endpoint,
    region: options.region,
    credentials: options.credentials,
    useQueueUrlAsEndpoint: false,
  });
  const maxAttempts = options.maxAttempts ?? 3;
  const retryDelayMs = options.retryDelayMs ?? 200;
  const listeners = new Set<(d: SnsDelivery) => void>();
  const abort = new AbortController();
  let handler: SnsSubscriber | undefined;
  let loop: Promise<void> | undefined;
  let inFlight = 0;

  const deliver = async (m: Message) => {
    const attempt = Number(m.Attributes?.ApproximateReceiveCount ?? "1");
    const record = snsRecordOf(m.Body ?? "", subscriptionArn);
    const base = {
      messageId: record.Sns.MessageId,
      subject: record.Sns.Subject ?? null,
      message: parse(record.Sns.Message),
      attempt,
    };
    let outcome: SnsDelivery;
    try {
      await handler?.({ Records: [record] });
      outcome = { ...base, ok: true, dropped: false };
    } catch (error) {
      outcome = { ...base, ok: false, error, dropped: attempt >= maxAttempts };
    }
    if (outcome.ok || outcome.dropped) {
      await sqs.send(
        new DeleteMessageCommand({ QueueUrl: queueUrl, ReceiptHandle: m.ReceiptHandle }),
      );
    } else {
      await sleep(retryDelayMs);
      await sqs.send(
        new ChangeMessageVisibilityCommand({
          QueueUrl: queueUrl,
          ReceiptHandle: m.ReceiptHandle,
          VisibilityTimeout: 0,
        }),
      );
    }
    for (const listener of listeners) listener(outcome);
  };

  const poll = async () => {
    while (!abort.signal.aborted) {
      let messages: Message[];
      try {
        const out = await sqs.send(
          new ReceiveMessageCommand({
            QueueUrl: queueUrl,
            MaxNumberOfMessages: 10,
            WaitTimeSeconds: 1,
            MessageSystemAttributeNames: ["ApproximateReceiveCount"],
          }),
          { abortSignal: abort.signal },
        );
        messages = out.Messages ?? [];
      } catch (error) {
        if (abort.signal.aborted) return;
        console.error("[local-sns] receive failed", error);
        await sleep(retryDelayMs);
        continue;
      }
      inFlight = messages.length;
      // One at a time, in order: the Slack notifier's concurrency is low by design.
      for (const m of messages) {
        await deliver(m).catch((error: unknown) =>
          console.error("[local-sns] delivery failed", error),
        );
        inFlight--;
      }
    }
  };

  const pending = () => {
    const q = server.inspectQueue(queueName);
    return (
      (q?.messages.ready.length ?? 0) +
      (q?.messages.delayed.length ?? 0) +
      (q?.messages.inflight.length ?? 0)
    );
  };

  return {
    endpoint,
    port: server.port,
    topicArn,
    subscribe(h) {
      if (handler !== undefined)
        throw new ConfigurationError("the local topic has a subscriber already");
      handler = h;
      loop = poll();
    },
    onDelivery(listener) {
      listeners.add(listener);
      return () => listeners.delete(listener);
    },
    async idle(timeoutMs = 5000) {
      const deadline = Date.now() + timeoutMs;
      while (pending() > 0 || inFlight > 0) {
        if (Date.now() > deadline) {
          throw new Error(`the local topic still has undelivered messages after ${timeoutMs} ms`);
        }
        await sleep(5);
      }
    },
    async close() {
      abort.abort();
      await loop;
      sqs.destroy();
      await server.stop();
    },
  };
}
