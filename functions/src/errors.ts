import { GuardrailError } from "@guardrail/core";

/**
 * A revoke failed. Thrown after the audit record (and, on the last attempt, the critical alert)
 * so that Lambda retries the event and finally sends it to the dead-letter queue.
 */
export class RemediationFailedError extends GuardrailError {
  readonly decisionId: string;
  constructor(decisionId: string, message: string, options?: { cause?: unknown }) {
    super("REMEDIATION_FAILED", message, options);
    this.decisionId = decisionId;
  }
}

/** Organisation mode: some (account, Region) targets of a sweep could not be swept. */
export class SweepTargetsFailedError extends GuardrailError {
  readonly failures: readonly {
    readonly account: string;
    readonly region: string;
    readonly code: string;
    readonly message: string;
  }[];
  constructor(failures: SweepTargetsFailedError["failures"], message: string) {
    super("SWEEP_TARGETS_FAILED", message);
    this.failures = failures;
  }
}
