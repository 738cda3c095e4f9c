import { describe, expect, it } from "vitest";
import { retryAfterMs } from "../src/slack";

describe("Slack Retry-After", () => {
  it("reads seconds or an HTTP date, and waits a second when Slack does not say", () => {
    expect(retryAfterMs("3")).toBe(3000);
    expect(retryAfterMs(null)).toBe(1000);
    expect(retryAfterMs("soon")).toBe(1000);
    expect(retryAfterMs("Thu, 01 Jan 1970 00:00:05 GMT", 1000)).toBe(4000);
  });
});
