import type { Logger } from "@aws-lambda-powertools/logger";
import { GuardrailError } from "@guardrail/core";
import type { MiddlewareObj } from "@middy/core";
import errorLogger from "@middy/error-logger";
import { requireLogger } from "./options";

export interface ErrorReportingOptions {
  readonly logger: Logger;
}

function describe(error: unknown): Record<string, unknown> {
  if (!(error instanceof Error)) return { message: String(error) };
  const cause =
    error.cause instanceof Error
      ? { name: error.cause.name, message: error.cause.message }
      : undefined;
  return {
    name: error.name,
    code: error instanceof GuardrailError ? error.code : undefined,
    message: error.message,
    ...(cause ? { cause } : {}),
  };
}

/**
 * Logs an error that escapes the handler, with its stable code, and lets it propagate: the
 * invocation fails and EventBridge (or SNS) retries it. Nothing is swallowed here. middy's
 * error logger calls the logger; what is ours is the line: the code and the cause, through
 * the Powertools Logger.
 */
export function errorReporting(options: ErrorReportingOptions): MiddlewareObj {
  const logger = requireLogger("errorReporting", options.logger, "error");
  return {
    name: "errorReporting",
    ...errorLogger({
      logger: (request) =>
        logger.error("invocation failed; it will be retried", { error: describe(request.error) }),
    }),
  };
}
