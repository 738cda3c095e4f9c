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
