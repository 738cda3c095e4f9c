/**
 * One base class for every error the guardrail raises on purpose. `code` is stable and
 * machine-readable; subclasses end in `Error`; `cause` is kept.
 *
 * Configuration errors (bad policy, bad settings) fail at validate/deploy/cold start.
 * Execution errors (AWS failures) fail one invocation so that Lambda retries it.
 */
export class GuardrailError extends Error {
  readonly code: string;
  constructor(code: string, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = new.target.name;
    this.code = code;
  }
}

/** An error about one place, kept as `path`: a JSON path in an input, or a file. */
export class PathError extends GuardrailError {
  readonly path: string;
  constructor(code: string, path: string, message: string, options?: { cause?: unknown }) {
    super(code, message, options);
    this.path = path;
  }
}

/** Input that is not a valid CIDR, port, protocol or event field. `path` names the JSON path. */
export class InvalidInputError extends PathError {
  constructor(path: string, message: string, options?: { cause?: unknown }) {
    super("INVALID_INPUT", path, `${path}: ${message}`, options);
  }
}

/** A CloudTrail record or EventBridge event that cannot be read. `path` names the JSON path. */
export class InvalidEventError extends PathError {
  readonly detail: string;
  constructor(path: string, detail: string, options?: { cause?: unknown }) {
    super("INVALID_EVENT", path, `${path}: ${detail}`, options);
    this.detail = detail;
  }
}

/** One problem in a policy file, with the path of the offending field. */
export interface PolicyIssue {
  path: string;
  message: string;
  /** 1-based line and column in the policy's text, when the issue can be placed there. */
  line?: number;
  column?: number;
}

/** A policy that fails validation. Raised at validate, deploy and cold start; never per event. */
export class PolicyValidationError extends GuardrailError {
  readonly issues: PolicyIssue[];
  constructor(issues: PolicyIssue[], options?: { cause?: unknown }) {
    super(
      "POLICY_INVALID",
      `policy is invalid:\n${issues.map((i) => `  - ${i.path}: ${i.message}`).join("\n")}`,
      options,
    );
    this.issues = issues;
  }
}

/** A missing or malformed setting (environment, flags). Fails at cold start or CLI start. */
export class ConfigurationError extends GuardrailError {
  constructor(message: string, options?: { cause?: unknown }) {
    super("CONFIGURATION_INVALID", message, options);
  }
}

/** A policy file that was named (flag, environment) or found but cannot be read. */
export class PolicySourceError extends PathError {
  constructor(path: string, message: string, options?: { cause?: unknown }) {
    super("POLICY_UNREADABLE", path, message, options);
  }
}
