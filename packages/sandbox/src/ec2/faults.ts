import { ConfigurationError } from "@guardrail/core";
import { Ec2ApiError } from "./errors";
import { Rng } from "./random";

/**
 * Faults for one action (or `*` for every action without its own spec). Rates are drawn from a
 * seeded generator, so the same seed and call sequence give the same faults.
 */
export interface FaultSpec {
  /** Added before the call is handled. */
  readonly latencyMs?: number;
  /** Extra latency drawn uniformly from [0, latencyJitterMs). */
  readonly latencyJitterMs?: number;
  /** Fraction (0-1) of calls answered `RequestLimitExceeded` (HTTP 503). */
  readonly throttleRate?: number;
  /** The next N calls are throttled, then calls go through. */
  readonly throttleNext?: number;
  /** Fraction (0-1) of calls answered with a server error. */
  readonly errorRate?: number;
  /** The next N calls fail with a server error. */
  readonly errorNext?: number;
  /** Which server error: `InternalError` (HTTP 500, default) or `Unavailable` (HTTP 503). */
  readonly error?: "InternalError" | "Unavailable";
  /**
   * EC2's request token bucket for the action: starts full with `capacity` tokens, each call
   * takes one, `refillPerSecond` come back each second (never above `capacity`); a call with no
   * token left is answered `RequestLimitExceeded`. AWS's figures: "Request throttling for the
   * Amazon EC2 API" (RevokeSecurityGroupIngress 50 and 5 per second).
   */
  readonly tokenBucket?: { readonly capacity: number; readonly refillPerSecond: number };
}

export interface FaultDecision {
  readonly delayMs: number;
  readonly error?: Ec2ApiError;
}

interface ActiveFault {
  readonly spec: FaultSpec;
  throttleLeft: number;
  errorLeft: number;
  tokens: number;
  refilledAt: number;
}

export const throttled = () =>
  new Ec2ApiError("RequestLimitExceeded", "Request limit exceeded.", 503);

function serverError(kind: FaultSpec["error"]): Ec2ApiError {
  return kind === "Unavailable"
    ? new Ec2ApiError("Unavailable", "The server is overloaded and can't handle the request.", 503)
    : new Ec2ApiError("InternalError", "An internal error has occurred.", 500);
}

function checkRate(name: string, value: number | undefined): void {
  if (value !== undefined && !(value >= 0 && value <= 1)) {
    throw new ConfigurationError(`fault ${name} must be between 0 and 1, got ${value}`);
  }
}

function checkCount(name: string, value: number | undefined): void {
  if (value !== undefined && !(Number.isInteger(value) && value >= 0)) {
    throw new ConfigurationError(`fault ${name} must be a non-negative integer, got ${value}`);
  }
}

/** Per-action fault injection for the sandbox. */
export class FaultInjector {
  private readonly active = new Map<string, ActiveFault>();
  private rng: Rng;
  private readonly now: () => number;

  constructor(seed: number, now: () => number = () => performance.now()) {
    this.rng = new Rng(seed);
    this.now = now;
  }

  /** Sets (replaces) the faults of `action`, or of every action with `*`. */
  set(action: string, spec: FaultSpec): void {
    checkRate("throttleRate", spec.throttleRate);
    checkRate("errorRate", spec.errorRate);
    checkCount("throttleNext", spec.throttleNext);
    checkCount("errorNext", spec.errorNext);
    checkCount("latencyMs", spec.latencyMs);
    checkCount("latencyJitterMs", spec.latencyJitterMs);
    if (spec.tokenBucket) {
      checkCount("tokenBucket.capacity", spec.tokenBucket.capacity);
      if (!(spec.tokenBucket.refillPerSecond > 0)) {
        throw new ConfigurationError(
          `fault tokenBucket.refillPerSecond must be above 0, got ${spec.tokenBucket.refillPerSecond}`,
        );
      }
    }
    this.active.set(action, {
      spec,
      throttleLeft: spec.throttleNext ?? 0,
      errorLeft: spec.errorNext ?? 0,
      tokens: spec.tokenBucket?.capacity ?? 0,
      refilledAt: this.now(),
    });
  }

  /** Removes the faults of one action, or all of them. */
  clear(action?: string): void {
    if (action === undefined) this.active.clear();
    else this.active.delete(action);
  }

  /** Restarts the generator: the same seed replays the same fault sequence. */
  reseed(seed: number): void {
    this.rng = new Rng(seed);
  }

  /** Decides the fate of one call. Consumes the `Next` counters. */
  decide(action: string): FaultDecision {
    const fault = this.active.get(action) ?? this.active.get("*");
    if (fault === undefined) return { delayMs: 0 };
    const { spec } = fault;
    const jitter = spec.latencyJitterMs ? Math.floor(this.rng.float() * spec.latencyJitterMs) : 0;
    const delayMs = (spec.latencyMs ?? 0) + jitter;
    if (fault.throttleLeft > 0) {
      fault.throttleLeft -= 1;
      return { delayMs, error: throttled() };
    }
    if (spec.throttleRate && this.rng.float() < spec.throttleRate) {
      return { delayMs, error: throttled() };
    }
    if (spec.tokenBucket) {
      const now = this.now();
      const { capacity, refillPerSecond } = spec.tokenBucket;
      fault.tokens = Math.min(
        capacity,
        fault.tokens + ((now - fault.refilledAt) / 1000) * refillPerSecond,
      );
      fault.refilledAt = now;
      if (fault.tokens < 1) return { delayMs, error: throttled() };
      fault.tokens -= 1;
    }
    if (fault.errorLeft > 0) {
      fault.errorLeft -= 1;
      return { delayMs, error: serverError(spec.error) };
    }
    if (spec.errorRate && this.rng.float() < spec.errorRate) {
      return { delayMs, error: serverError(spec.error) };
    }
    return { delayMs };
  }
}
