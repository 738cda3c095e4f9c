import { PublishCommand, SNSClient } from "@aws-sdk/client-sns";
import type { SNSEvent } from "aws-lambda";
import { afterEach, describe, expect, it } from "vitest";
import { type LocalSns, type SnsDelivery, snsRecordOf, startLocalSns } from "../src/local/index";

const credentials = { accessKeyId: "AKIALOCALSNSTEST0001", secretAccessKey: "local" };
let sns: LocalSns | undefined;

afterEach(async () => {
  await sns?.close();
  sns = undefined;
});

async function start(options: { maxAttempts?: number } = {}) {
  sns = await startLocalSns({
    topicName: "guardrail-test",
    region: "eu-west-1",
    credentials,
    retryDelayMs: 10,
    ...options,
  });
  const client = new SNSClient({ endpoint: sns.endpoint, region: "eu-west-1", credentials });
  return { sns, client };
}

describe("the local SNS topic", () => {
  it("hands each published message to the subscriber as the SNS event Lambda receives", async () => {
    const { sns, client } = await start();
    const events: SNSEvent[] = [];
    sns.subscribe(async (e) => {
      events.push(e);
    });
    await client.send(
      new PublishCommand({
        TopicArn: sns.topicArn,
        Subject: "[guardrail] Revoked",
        Message: JSON.stringify({ schema: "guardrail.decision/v1", id: "e-1" }),
        MessageAttributes: { severity: { DataType: "String", StringValue: "critical" } },
      }),
    );
    await sns.idle();
    expect(sns.topicArn).toBe("arn:aws:sns:eu-west-1:000000000000:guardrail-test");
    expect(events).toHaveLength(1);
    const record = events[0]?.Records[0];
    expect(record).toMatchObject({
      EventSource: "aws:sns",
      Sns: {
        Type: "Notification",
        TopicArn: sns.topicArn,
        Subject: "[guardrail] Revoked",
        MessageAttributes: { severity: { Type: "String", Value: "critical" } },
      },
    });
    expect(JSON.parse(record?.Sns.Message ?? "")).toEqual({
      schema: "guardrail.decision/v1",
      id: "e-1",
    });
    client.destroy();
  });

  it("delivers a message again when the subscriber throws, as SNS retries a Lambda", async () => {
    const { sns, client } = await start();
    let calls = 0;
    const deliveries: SnsDelivery[] = [];
    sns.onDelivery((d) => deliveries.push(d));
    sns.subscribe(async () => {
      calls++;
      if (calls === 1) throw new Error("Slack answered 503");
    });
    await client.send(new PublishCommand({ TopicArn: sns.topicArn, Message: "hello" }));
    await sns.idle();
    expect(deliveries.map((d) => [d.attempt, d.ok, d.dropped])).toEqual([
      [1, false, false],
      [2, true, false],
    ]);
    expect(deliveries[1]?.message).toBe("hello");
    client.destroy();
  });

  it("drops a message after the last attempt and says so", async () => {
    const { sns, client } = await start({ maxAttempts: 2 });
    const deliveries: SnsDelivery[] = [];
    sns.onDelivery((d) => deliveries.push(d));
    sns.subscribe(async () => {
      throw new Error("always down");
    });
    await client.send(new PublishCommand({ TopicArn: sns.topicArn, Message: "lost" }));
    await sns.idle();
    expect(deliveries.map((d) => [d.attempt, d.ok, d.dropped])).toEqual([
      [1, false, false],
      [2, false, true],
    ]);
    client.destroy();
  });

  it("refuses a second subscriber", async () => {
    const { sns, client } = await start();
    sns.subscribe(async () => {});
    expect(() => sns.subscribe(async () => {})).toThrow(/already/);
    client.destroy();
  });
});

describe("snsRecordOf", () => {
  it("spells the certificate and unsubscribe URLs as Lambda does", () => {
    const record = snsRecordOf(
      JSON.stringify({
        Type: "Notification",
        MessageId: "m-1",
        TopicArn: "arn:aws:sns:us-east-1:000000000000:t",
        Message: "x",
        Timestamp: "2026-01-01T00:00:00.000Z",
        SignatureVersion: "1",
        Signature: "EXAMPLE",
        SigningCertURL: "https://cert",
        UnsubscribeURL: "https://unsubscribe",
      }),
      "arn:aws:sns:us-east-1:000000000000:t:sub",
    );
    expect(record.Sns).toMatchObject({
      SigningCertUrl: "https://cert",
      UnsubscribeUrl: "https://unsubscribe",
      MessageAttributes: {},
    });
    expect(record.EventSubscriptionArn).toBe("arn:aws:sns:us-east-1:000000000000:t:sub");
  });

  it("rejects a queue message that is no SNS notification with a typed error", () => {
    expect(() => snsRecordOf('{"hello":1}', "arn")).toThrow(
      expect.objectContaining({ code: "CONFIGURATION_INVALID" }),
    );
  });
});
