import { GuardrailError, PathError } from "@guardrail/core/runtime";

/** A path given on the command line that cannot be opened at all (not a bad record inside it). */
export class InputError extends PathError {
  constructor(path: string, message: string, options?: { cause?: unknown }) {
    super("INPUT_UNREADABLE", path, message, options);
  }
}

/** Flags that do not make sense together, or a value a flag does not accept. */
export class UsageError extends GuardrailError {
  constructor(message: string, options?: { cause?: unknown }) {
    super("USAGE", message, options);
  }
}

/** An AWS call a CLI command needed failed (after the SDK's own retries). */
export class AwsCommandError extends GuardrailError {
  readonly operation: string;
  constructor(operation: string, message: string, options?: { cause?: unknown }) {
    super("AWS_CALL_FAILED", `${operation}: ${message}`, options);
    this.operation = operation;
  }
}

/** No AWS credentials could be found by the standard chain. */
export class MissingCredentialsError extends GuardrailError {
  constructor(options?: { cause?: unknown }) {
    super(
      "CREDENTIALS_MISSING",
      "no AWS credentials found: set AWS_PROFILE (or AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY), " +
        "run `aws sso login`, or run where an instance or task role is available",
      options,
    );
  }
}

/** Exit codes, documented in docs/cli.md. */
export const EXIT = {
  ok: 0,
  /** `--fail-on` matched (a violation was found, for CI). */
  violation: 1,
  /** Invalid policy or invalid usage: nothing was done. */
  invalid: 2,
  /** Some input could not be read (the rest was processed), or an AWS call failed. */
  failure: 3,
  /** `scan --fix` was declined at the confirmation prompt, or some remediations failed. */
  incomplete: 4,
} as const;
