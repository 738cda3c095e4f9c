import type { Logger } from "@aws-lambda-powertools/logger";
import { ConfigurationError } from "@guardrail/core";

/** Checks a middleware option at construction, so a wiring mistake fails at cold start. */
export function requireOption<T>(
  middleware: string,
  name: string,
  value: T | undefined | null,
  check: (v: T) => boolean = () => true,
  expected = "a value",
): T {
  if (value === undefined || value === null || !check(value)) {
    throw new ConfigurationError(`${middleware}: option "${name}" must be ${expected}`);
  }
  return value;
}

export const isFunction = (v: unknown): boolean => typeof v === "function";

/** The `logger` option of a middleware: a Powertools Logger with `method`. */
export function requireLogger(middleware: string, logger: Logger, method: keyof Logger): Logger {
  return requireOption(
    middleware,
    "logger",
    logger,
    (l) => isFunction(l[method]),
    "a Powertools Logger",
  );
}
