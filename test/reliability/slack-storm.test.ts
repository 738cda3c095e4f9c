import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { Logger } from "@aws-lambda-powertools/logger";
import { Metrics } from "@aws-lambda-powertools/metrics";
import { createSlackPoster, createSlackWindowCounter, SlackDeliveryError } from "@guardrail/aws";
import {
  buildDecision,
  DEFAULT_POLICY_YAML,
  decisionPublication,
  evaluate,
  loadPolicy,
  METRICS,
  normalise,
  planActions,
  type SlackMessage,
  slackWindowKey,
} from "@guardrail/core";
import { slackNotify, windowOf } from "@guardrail/functions";
import type { SNSEvent } from "aws-lambda";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { snsEventOf, startDynamo } from "../../functions/test/harness";
import { TABLE } from "../../functions/test/helpers";
import { mapLimit } from "../../packages/aws/src/limit";
import { loadFixture } from "../fixtures/load";

/**
 * A Slack webhook that enforces Slack's limit on a virtual clock: one message per second, a 429
 * with `Retry-After` (seconds) for anything sooner.
 */
async function rateLimitedWebhook(clock: { ms: number }) {
  const accepted: SlackMessage[] = [];
  let refused = 0;
  let last = -Infinity;
  const server: Server = createServer((req, res) => {
    let text = "";
    req.on("data", (c) => {
      text += c;
    });
    req.on("end", () => {
      const since = clock.ms - last;
      if (since < 1000) {
        refused++;
        res.writeHead(429, { "retry-after": String(Math.ceil((1000 - since) / 1000)) });
        res.end("rate_limited");
        return;
      }
      last = clock.ms;
      accepted.push(JSON.parse(text) as SlackMessage);
      res.writeHead(200);
      res.end("ok");
    });
  });
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
  const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/services/T/B/x`;
  return {
    url,
    accepted,
    refused: () => refused,
    close: () => new Promise<void>((r) => server.close(() => r())),
  };
}

const observability = () => ({
  logger: new Logger({ serviceName: "storm", logLevel: "SILENT" }),
  metrics: new Metrics({ namespace: METRICS.namespace, serviceName: "storm" }),
});

/** A real event's decision (normalise → evaluate with the shipped policy), as one SNS event. */
function decisionEvent(i: number, result: "revoked" | "failed"): SNSEvent {
  const raw = loadFixture("AuthorizeSecurityGroupIngress", "ipv4-and-ipv6-same-item_with-ruleset");
  raw.detail.eventID = `storm-${i}`;
  for (const p of raw.detail.requestParameters.ipPermissions.items)
    Object.assign(p, { fromPort: 22, toPort: 22 });
  for (const r of raw.detail.responseElements.securityGroupRuleSet.items)
    Object.assign(r, { fromPort: 22, toPort: 22 });
  const read = normalise(raw);
  if (read.status !== "handled") throw new Error("fixture did not normalise");
  const evaluation = evaluate(read.changes, loadPolicy(DEFAULT_POLICY_YAML), {
    now: new Date("2025-01-01T00:00:01Z"),
    event: read.event,
  });
  const decision = buildDecision({
    source: "event",
    event: read.event,
    evaluation,
    outcomes: planActions(evaluation).map((action) =>
      result === "failed"
        ? {
            action,
            status: "failed" as const,
            error: { code: "UnauthorizedOperation", message: "no" },
          }
        : { action, status: "revoked" as const },
    ),
    decidedAt: new Date("2025-01-01T00:00:01Z"),
    guardrailVersion: "1",
    policyId: "0123456789ab",
  });
  if (!decision) throw new Error("no decision");
  expect(decision.result).toBe(result);
  const p = decisionPublication(decision);
  return snsEventOf({
    params: new URLSearchParams(),
    subject: p.subject,
    message: p.message,
    attributes: p.attributes,
  } as never);
}

describe("Slack 429 storm", () => {
  it("honours Retry-After: 30 messages in a row all arrive, one per second, none lost", async () => {
    const clock = { ms: 0 };
    const hook = await rateLimitedWebhook(clock);
    const waits: number[] = [];
    const poster = createSlackPoster(hook.url, fetch, 5000, {
      sleep: async (ms) => {
        waits.push(ms);
        clock.ms += ms;
      },
    });
    try {
      for (let i = 0; i < 30; i++) await poster.post({ text: `m${i}`, blocks: [] });
      expect(hook.accepted.map((m) => m.text)).toEqual(
        Array.from({ length: 30 }, (_, i) => `m${i}`),
      );
      expect(hook.refused()).toBe(29);
      expect(waits).toEqual(Array(29).fill(1000));
    } finally {
      await hook.close();
    }
  });

  it("throws SlackDeliveryError (429) when Slack asks for a longer wait than the invocation may spend, so that SNS retries", async () => {
    const server = createServer((_req, res) => {
      res.writeHead(429, { "retry-after": "120" });
      res.end("rate_limited");
    });
    await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
    const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/x`;
    const waits: number[] = [];
    const poster = createSlackPoster(url, fetch, 5000, {
      sleep: async (ms) => void waits.push(ms),
    });
    try {
      const error = await poster.post({ text: "x", blocks: [] }).catch((e: unknown) => e);
      expect(error).toBeInstanceOf(SlackDeliveryError);
      expect((error as SlackDeliveryError).status).toBe(429);
      expect(waits).toEqual([]);
    } finally {
      await new Promise<void>((r) => server.close(() => r()));
    }
  });
});

describe("Slack digest folding across concurrent notifier invocations", () => {
  let dynamo: Awaited<ReturnType<typeof startDynamo>>;
  beforeAll(async () => {
    dynamo = await startDynamo();
  });
  afterAll(async () => {
    await dynamo.close();
  });

  it("posts up to the rate, folds the rest of the revocations into one digest, never folds a failed alert", async () => {
    const clock = { ms: Date.UTC(2025, 0, 1, 0, 0, 10) };
    const hook = await rateLimitedWebhook(clock);
    const counter = createSlackWindowCounter(TABLE, async () => dynamo.doc);
    let release: () => void = () => {};
    const gate = new Promise<void>((r) => {
      release = r;
    });
    const deps = {
      ...observability(),
      config: { webhookParameter: "/test/slack", stage: "t", version: "1" },
      // The webhook's own limit is absorbed by Retry-After waits on the same virtual clock.
      slack: createSlackPoster(hook.url, fetch, 5000, {
        attempts: 100,
        maxWaitMs: 1e9,
        sleep: async (ms) => {
          clock.ms += ms;
        },
      }),
      folding: {
        counter,
        maxPerWindow: 5,
        windowSeconds: 60,
        now: () => clock.ms,
        // The invocation that folded first waits for the window's end while the others run.
        sleep: async (ms: number) => {
          await gate;
          clock.ms += ms;
        },
      },
    };
    const window = windowOf(clock.ms, 60);
    const events = [
      ...Array.from({ length: 40 }, (_, i) => decisionEvent(i, "revoked")),
      decisionEvent(100, "failed"),
      decisionEvent(101, "failed"),
    ];
    let done = 0;
    const results = await mapLimit(events, 5, async (e) => {
      const r = await slackNotify(e, deps);
      if (++done === events.length - 1) release();
      return r;
    });
    try {
      const posted = results.reduce((s, r) => s + r.posted, 0);
      const folded = results.reduce((s, r) => s + r.folded, 0);
      expect(posted + folded).toBe(42);
      const texts = hook.accepted.map((m) => m.text);
      const failed = texts.filter((t) => t.startsWith("REMEDIATION FAILED"));
      expect(failed.length).toBe(2);
      const digests = texts.filter((t) => / more revocations? in the last minute/.test(t));
      expect(digests).toEqual([
        `${folded} more revocations in the last minute (not posted one by one: over the rate limit)`,
      ]);
      // Individual posts + the digest: within the rate the notifier allows per window.
      expect(hook.accepted.length).toBe(posted + 1);
      expect(posted - 2).toBeLessThanOrEqual(5);
      expect(folded).toBeGreaterThanOrEqual(33);
      const item = await dynamo.doc.send(
        new (await import("@aws-sdk/lib-dynamodb")).GetCommand({
          TableName: TABLE,
          Key: slackWindowKey(window),
        }),
      );
      expect(item.Item).toMatchObject({ messages: 42, folded, digest: true });
    } finally {
      await hook.close();
    }
  });
});
