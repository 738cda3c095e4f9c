import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { DELIVERY, DELIVERY_ATTEMPTS, EC2_RETRY, ec2RetryDelayMs } from "../src/reliability";
import { foldableResult, renderSlackDigest } from "../src/report/digest";

describe("EC2 retry delays", () => {
  it("draws each wait between 0 and min(cap, base × 2^(retry-1))", () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 1, max: 60 }),
        fc.double({ min: 0, max: 0.999999, noNaN: true }),
        (n, r) => {
          const d = ec2RetryDelayMs(n, r);
          const ceiling = Math.min(EC2_RETRY.capMs, EC2_RETRY.baseMs * 2 ** (n - 1));
          return d >= 0 && d < ceiling && Number.isInteger(d);
        },
      ),
    );
  });

  it("keeps asking about every second once the cap is reached", () => {
    expect(ec2RetryDelayMs(1, 0.5)).toBe(125);
    expect(ec2RetryDelayMs(10, 0.5)).toBe(500);
  });

  it("states Lambda's asynchronous retries: 2, about 1 and 2 minutes apart, 3 attempts", () => {
    expect(DELIVERY.asyncRetryAttempts).toBe(2);
    expect(DELIVERY.asyncRetryDelaysSeconds).toEqual([60, 120]);
    expect(DELIVERY_ATTEMPTS).toBe(3);
  });
});

describe("Slack digest folding", () => {
  const m = (severity: string, result: string) => ({
    schema: "guardrail.decision/v1",
    severity,
    result,
  });

  it.each([
    ["critical", "revoked", "revoked"],
    ["high", "already-gone", "already-gone"],
    ["medium", "notify-only", "notify-only"],
    ["critical", "failed", null],
    ["critical", "notify-only", null],
    ["high", "invalid", null],
  ])("a %s %s decision folds as %s", (severity, result, folded) => {
    expect(foldableResult(m(severity, result))).toBe(folded);
  });

  it("never folds sweep summaries, alarms or text", () => {
    expect(
      foldableResult({ schema: "guardrail.sweep/v1", severity: "info", result: "revoked" }),
    ).toBe(null);
    expect(foldableResult({ AlarmName: "x", NewStateValue: "ALARM" })).toBe(null);
    expect(foldableResult("hello")).toBe(null);
  });

  it("says how many of each were folded, with the audit query of the window", () => {
    const digest = renderSlackDigest({
      windowStart: 1_700_000_040,
      windowSeconds: 60,
      byResult: { revoked: 37, "already-gone": 1 },
    });
    expect(digest.text).toBe(
      "37 more revocations, 1 more rule already gone in the last minute (not posted one by one: over the rate limit)",
    );
    expect(JSON.stringify(digest.blocks)).toContain(
      "guardrail audit --since 2023-11-14T22:14:00.000Z --until 2023-11-14T22:15:00.000Z",
    );
  });
});
