import "./setup";
import { Logger } from "@aws-lambda-powertools/logger";
import { ConfigurationError } from "@guardrail/core";
import type { Request } from "@middy/core";
import { describe, expect, it, vi } from "vitest";
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
