import "./setup";
import { ConfigurationError } from "@guardrail/core";
import { describe, expect, it } from "vitest";
import { ec2RetryStrategy } from "../../packages/aws/src/ec2-retry";
import { retryAfterMs } from "../../packages/aws/src/slack";
import { slackFoldingSettings, windowOf } from "../src/pipelines/slack-digest";

describe("ec2RetryStrategy", () => {
  it("retries throttling until the call's budget is spent, then gives the error back", async () => {
    let now = 0;
    const strategy = ec2RetryStrategy({ budgetMs: 3_000, random: () => 0.99, now: () => now });
    let token = await strategy.acquireInitialRetryToken("");
    const delays: number[] = [];
    for (;;) {
      try {
        token = await strategy.refreshRetryTokenForRetry(token, { errorType: "THROTTLING" });
      } catch {
        break;
      }
      delays.push(token.getRetryDelay());
      now += token.getRetryDelay() + 60;
    }
    expect(delays.slice(0, 3)).toEqual([247, 495, 990]);
    expect(delays.every((d) => d <= 1_000)).toBe(true);
    expect(now).toBeLessThanOrEqual(3_000 + 1_060);
    expect(delays.length).toBeGreaterThan(3);
  });

  it("never retries a client error", async () => {
    const strategy = ec2RetryStrategy();
    const token = await strategy.acquireInitialRetryToken("");
    await expect(
      strategy.refreshRetryTokenForRetry(token, { errorType: "CLIENT_ERROR" }),
    ).rejects.toThrow();
  });
});

describe("Slack Retry-After", () => {
  it("reads seconds or an HTTP date, and waits a second when Slack does not say", () => {
    expect(retryAfterMs("3")).toBe(3000);
    expect(retryAfterMs(null)).toBe(1000);
    expect(retryAfterMs("soon")).toBe(1000);
    expect(retryAfterMs("Thu, 01 Jan 1970 00:00:05 GMT", 1000)).toBe(4000);
  });
});

describe("Slack folding settings", () => {
  it("defaults to 20 per minute and refuses what is not a whole number", () => {
    expect(slackFoldingSettings(undefined)).toEqual({ maxPerWindow: 20, windowSeconds: 60 });
    expect(slackFoldingSettings("5")).toEqual({ maxPerWindow: 5, windowSeconds: 60 });
    expect(() => slackFoldingSettings("0")).toThrow(ConfigurationError);
    expect(() => slackFoldingSettings("lots")).toThrow(/GUARDRAIL_SLACK_MAX_PER_MINUTE/);
  });

  it("puts a time in the minute it falls in", () => {
    expect(windowOf(Date.UTC(2025, 0, 1, 0, 0, 59, 999), 60)).toBe(Date.UTC(2025, 0, 1) / 1000);
  });
});
