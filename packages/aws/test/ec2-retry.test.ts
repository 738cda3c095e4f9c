import { describe, expect, it } from "vitest";
import { ec2RetryStrategy } from "../src/ec2-retry";

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
