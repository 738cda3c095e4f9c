import type { Logger } from "@aws-lambda-powertools/logger";
import { injectLambdaContext } from "@aws-lambda-powertools/logger/middleware";
import type { Metrics } from "@aws-lambda-powertools/metrics";
import { logMetrics } from "@aws-lambda-powertools/metrics/middleware";
import middy from "@middy/core";
import type { Context } from "aws-lambda";
import { correlationId } from "./correlation";
import { errorReporting } from "./error-reporting";

export { correlationId, eventIdOf } from "./correlation";
export { errorReporting } from "./error-reporting";

export interface Observability {
  readonly logger: Logger;
  readonly metrics: Metrics;
}

/**
 * Wraps a handler with the cross-cutting concerns only: Lambda context and the event id as
 * correlation id on every log line, EMF metrics flushed after each invocation (also when it
 * fails), and error reporting.
 */
export function withObservability<E, R>(
  handler: (event: E, context: Context) => Promise<R>,
  { logger, metrics }: Observability,
) {
  return middy<E, R>()
    .use(injectLambdaContext(logger, { resetKeys: true }))
    .use(correlationId({ logger }))
    .use(logMetrics(metrics, { throwOnEmptyMetrics: false }))
    .use(errorReporting({ logger }))
    .handler(handler);
}

/** The Lambda handler of a flow that takes the event and its dependencies. */
export function flowHandler<E, D extends Observability, R>(
  flow: (event: E, deps: D) => Promise<R>,
  deps: D,
) {
  return withObservability((event: E, _context: Context) => flow(event, deps), deps);
}
