import { GuardrailError } from "@guardrail/core";

/** The base of an error that carries only a message (and its cause) under the stable `code`. */
function messageError(code: string) {
  return class extends GuardrailError {
    constructor(message: string, options?: { cause?: unknown }) {
      super(code, message, options);
    }
  };
}

/** An AWS call that failed after the SDK's own retries. `awsCode` is the service error code. */
export class AwsCallError extends GuardrailError {
  readonly operation: string;
  readonly awsCode: string;
  constructor(operation: string, awsCode: string, message: string, options?: { cause?: unknown }) {
    super("AWS_CALL_FAILED", `${operation} failed: ${awsCode}: ${message}`, options);
    this.operation = operation;
    this.awsCode = awsCode;
  }
}

/**
 * A look-up the policy needs (rule direction, group tags, prefix-list entries) failed. The
 * invocation fails so that Lambda retries it: the guardrail never guesses instead.
 */
export class LookupFailedError extends messageError("LOOKUP_FAILED") {}

/**
 * The member role of an account could not be assumed (organisation mode): the spoke is not
 * deployed there, the external id or organisation does not match, or STS failed. Nothing can
 * be looked up or revoked in that account; the invocation fails so that it is retried and seen.
 */
export class MemberRoleError extends GuardrailError {
  readonly account: string;
  readonly roleArn: string;
  readonly awsCode: string;
  constructor(
    account: string,
    roleArn: string,
    awsCode: string,
    message: string,
    options?: { cause?: unknown },
  ) {
    super(
      "MEMBER_ROLE_UNAVAILABLE",
      `cannot assume ${roleArn} in ${account}: ${awsCode}: ${message}`,
      options,
    );
    this.account = account;
    this.roleArn = roleArn;
    this.awsCode = awsCode;
  }
}

/** Writing the audit record failed (not a lost conditional race). */
export class AuditWriteError extends messageError("AUDIT_WRITE_FAILED") {}

/** Publishing to SNS failed. */
export class NotifyError extends messageError("NOTIFY_FAILED") {}

/** Slack refused or did not answer. Thrown so that SNS retries the delivery. */
export class SlackDeliveryError extends GuardrailError {
  readonly status: number | null;
  constructor(status: number | null, message: string, options?: { cause?: unknown }) {
    super("SLACK_DELIVERY_FAILED", message, options);
    this.status = status;
  }
}

/** The AWS error code of an SDK error (`err.name` for modelled errors, `Code` otherwise). */
export function awsErrorCode(error: unknown): string {
  if (error !== null && typeof error === "object") {
    const e = error as { name?: unknown; Code?: unknown; code?: unknown };
    if (typeof e.Code === "string") return e.Code;
    if (typeof e.name === "string" && e.name !== "Error") return e.name;
    if (typeof e.code === "string") return e.code;
  }
  return "UnknownError";
}

/** The message of an error, capped so that an encoded authorization message cannot bloat records. */
export function errorMessage(error: unknown, max = 500): string {
  const text = error instanceof Error ? error.message : String(error);
  return text.length > max ? `${text.slice(0, max - 1)}…` : text;
}

/** An error class of this module that carries a message and a cause. */
type MessageErrorClass<E extends Error> = new (message: string, options?: { cause?: unknown }) => E;

/** `<label>: <AWS error code>: <message>` as an error of `kind`, with the failure as its cause. */
export function callFailed<E extends Error>(
  kind: MessageErrorClass<E>,
  label: string,
  error: unknown,
): E {
  return new kind(`${label}: ${awsErrorCode(error)}: ${errorMessage(error)}`, { cause: error });
}

/** One AWS call; its failure is thrown as `callFailed(kind, label, failure)`. */
export async function callAs<O, E extends Error>(
  kind: MessageErrorClass<E>,
  label: string,
  call: () => Promise<O>,
): Promise<O> {
  try {
    return await call();
  } catch (error) {
    throw callFailed(kind, label, error);
  }
}
