import { SlackDeliveryError } from "@guardrail/aws";
import "./setup";
import { Logger } from "@aws-lambda-powertools/logger";
import { Metrics } from "@aws-lambda-powertools/metrics";
import { buildInvalidDecision, decisionPublication, METRICS } from "@guardrail/core";
import type { SNSEvent } from "aws-lambda";
import { describe, expect, it, vi } from "vitest";
import { createSlackPoster, type Fetch } from "../../packages/aws/src/slack";
import {
  createSlackNotifierHandler,
  type SlackNotifierDeps,
  slackNotify,
} from "../src/pipelines/slack-notifier";
import { lambdaContext } from "./helpers";

const WEBHOOK = "https://hooks.example.test/services/T000/B000/secret-token";

function snsEvent(message: string, subject: string | null = null): SNSEvent {
  return {
    Records: [
      {
        EventSource: "aws:sns",
        EventVersion: "1.0",
        EventSubscriptionArn: "arn:aws:sns:eu-west-1:123456789012:t:sub",
        Sns: {
          Type: "Notification",
          MessageId: "m-1",
          TopicArn: "arn:aws:sns:eu-west-1:123456789012:t",
          Subject: subject as string,
          Message: message,
          Timestamp: "2025-01-01T00:00:00Z",
          SignatureVersion: "1",
          Signature: "",
          SigningCertUrl: "",
          UnsubscribeUrl: "",
          MessageAttributes: {},
        },
      },
    ],
  };
}

function deps(fetchImpl: Fetch): SlackNotifierDeps {
  return {
    logger: new Logger({ serviceName: "test", logLevel: "SILENT" }),
    metrics: new Metrics({ namespace: METRICS.namespace, serviceName: "test" }),
    config: {
      webhookParameter: "/network-guardrail/t/slack-webhook-url",
      stage: "t",
      version: "1",
    },
    slack: createSlackPoster(WEBHOOK, fetchImpl, 5000, { sleep: async () => {} }),
  };
}

const invalid = decisionPublication(
  buildInvalidDecision({
    id: "e-1",
    event: { eventName: "AuthorizeSecurityGroupIngress", account: "1", region: "eu-west-1" },
    error: { code: "INVALID_EVENT", message: "detail: missing" },
    decidedAt: new Date("2025-01-01T00:00:00Z"),
    guardrailVersion: "1",
    policyId: "3f2a9c81d0e4",
  }),
);

describe("slack-notifier", () => {
  it("posts the Block Kit rendering of a decision to the webhook", async () => {
    const fetchImpl = vi.fn<Fetch>(async () => new Response("ok", { status: 200 }));
    expect(await slackNotify(snsEvent(invalid.message, invalid.subject), deps(fetchImpl))).toEqual({
      posted: 1,
      folded: 0,
    });
    const [url, init] = fetchImpl.mock.calls[0] ?? [];
    expect(url).toBe(WEBHOOK);
    expect(init).toMatchObject({ method: "POST", headers: { "content-type": "application/json" } });
    const body = JSON.parse(String(init?.body));
    expect(body.blocks[0]).toMatchObject({ type: "header" });
    expect(JSON.stringify(body)).toContain("could not read an event");
  });

  it("posts a non-JSON message as text", async () => {
    const fetchImpl = vi.fn<Fetch>(async () => new Response("ok"));
    await slackNotify(snsEvent("hello from the console", "Test"), deps(fetchImpl));
    expect(String(fetchImpl.mock.calls[0]?.[1].body)).toContain("hello from the console");
  });

  it("throws when Slack refuses, so SNS retries; the error does not carry the URL", async () => {
    const fetchImpl = vi.fn<Fetch>(async () => new Response("rate_limited", { status: 429 }));
    const handler = createSlackNotifierHandler(deps(fetchImpl));
    const error = await handler(snsEvent(invalid.message), lambdaContext).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(SlackDeliveryError);
    expect((error as SlackDeliveryError).status).toBe(429);
    expect((error as Error).message).not.toContain("secret-token");
  });

  it("throws when Slack cannot be reached", async () => {
    const fetchImpl = vi.fn<Fetch>(async () => {
      throw new TypeError("fetch failed");
    });
    await expect(slackNotify(snsEvent(invalid.message), deps(fetchImpl))).rejects.toMatchObject({
      code: "SLACK_DELIVERY_FAILED",
      status: null,
    });
  });

  it("refuses an event that is not from SNS", async () => {
    const fetchImpl = vi.fn<Fetch>();
    await expect(slackNotify({ detail: {} }, deps(fetchImpl))).rejects.toMatchObject({
      code: "INVALID_EVENT",
    });
    expect(fetchImpl).not.toHaveBeenCalled();
  });
});
