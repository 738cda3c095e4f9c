import type { Logger } from "@aws-lambda-powertools/logger";
import type { MiddlewareObj } from "@middy/core";
import { field } from "../field";
import { isFunction, requireLogger, requireOption } from "./options";

export interface CorrelationOptions {
  readonly logger: Logger;
  /** Reads the correlation id from the event; defaults to `eventIdOf`. */
  readonly from?: (event: unknown) => string | undefined;
}

/**
 * The id every log line of an invocation carries: the CloudTrail `eventID` (the idempotency key,
 * the same on every redelivery), else the EventBridge id, else the SNS message id.
 */
export function eventIdOf(event: unknown): string | undefined {
  const detail = field(event, "detail");
  const candidates = [
    field(detail, "eventID"),
    field(event, "eventID"),
    field(event, "id"),
    field(field(field(event, "Records"), "0"), "Sns") !== undefined
      ? field(field(field(field(event, "Records"), "0"), "Sns"), "MessageId")
      : undefined,
  ];
  return candidates.find((c): c is string => typeof c === "string" && c !== "");
}

/** Sets the logger's correlation id from the event, before the handler runs. */
export function correlationId(options: CorrelationOptions): MiddlewareObj {
  const logger = requireLogger("correlationId", options.logger, "setCorrelationId");
  const from = options.from ?? eventIdOf;
  requireOption("correlationId", "from", from, isFunction, "a function");
  return {
    name: "correlationId",
    before: (request) => {
      const id = from(request.event);
      if (id !== undefined) logger.setCorrelationId(id);
    },
  };
}
