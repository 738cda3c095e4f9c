import "./setup";
import { Logger } from "@aws-lambda-powertools/logger";
import { ConfigurationError } from "@guardrail/core";
import type { Request } from "@middy/core";
import { describe, expect, it, vi } from "vitest";
import { lazy } from "../../packages/aws/src/lazy";
import { mapLimit } from "../../packages/aws/src/limit";
import { correlationId, errorReporting, eventIdOf } from "../src/middleware";

const logger = () => new Logger({ serviceName: "test", logLevel: "SILENT" });

describe("correlationId middleware", () => {
  it("uses the CloudTrail eventID, then the envelope id, then the SNS message id", () => {
    expect(eventIdOf({ id: "env", detail: { eventID: "ct" } })).toBe("ct");
    expect(eventIdOf({ id: "env", detail: {} })).toBe("env");
    expect(eventIdOf({ eventID: "bare" })).toBe("bare");
    expect(eventIdOf({ Records: [{ Sns: { MessageId: "sns" } }] })).toBe("sns");
    expect(eventIdOf("text")).toBeUndefined();
  });

  it("sets the logger's correlation id before the handler", async () => {
    const l = logger();
    const set = vi.spyOn(l, "setCorrelationId");
    await correlationId({ logger: l }).before?.({
      event: { detail: { eventID: "e-1" } },
    } as Request);
    expect(set).toHaveBeenCalledWith("e-1");
  });

  it("validates its options when built", () => {
    expect(() => correlationId({ logger: {} as Logger })).toThrow(ConfigurationError);
    expect(() => correlationId({ logger: logger(), from: "x" as never })).toThrow(
      /"from" must be a function/,
    );
  });
});

describe("errorReporting middleware", () => {
  it("logs the error with its stable code and lets it propagate", async () => {
    const l = logger();
    const log = vi.spyOn(l, "error");
    const error = new ConfigurationError("bad", { cause: new Error("root") });
    const request = { error } as unknown as Request;
    await errorReporting({ logger: l }).onError?.(request);
    expect(log).toHaveBeenCalledWith("invocation failed; it will be retried", {
      error: {
        name: "ConfigurationError",
        code: "CONFIGURATION_INVALID",
        message: "bad",
        cause: { name: "Error", message: "root" },
      },
    });
    expect(request.error).toBe(error);
    expect(() => errorReporting({ logger: undefined as unknown as Logger })).toThrow(
      ConfigurationError,
    );
  });
});

describe("helpers", () => {
  it("lazy builds once, and again after a failure", async () => {
    let n = 0;
    const get = lazy(async () => {
      n++;
      if (n === 1) throw new Error("first fails");
      return n;
    });
    await expect(get()).rejects.toThrow("first fails");
    expect(await get()).toBe(2);
    expect(await get()).toBe(2);
  });

  it("mapLimit keeps order and never exceeds the limit", async () => {
    let inFlight = 0;
    let peak = 0;
    const out = await mapLimit([5, 1, 3, 2, 4], 2, async (x) => {
      inFlight++;
      peak = Math.max(peak, inFlight);
      await new Promise((r) => setTimeout(r, x));
      inFlight--;
      return x * 10;
    });
    expect(out).toEqual([50, 10, 30, 20, 40]);
    expect(peak).toBe(2);
  });
});
