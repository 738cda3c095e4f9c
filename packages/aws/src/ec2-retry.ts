import { EC2_RETRY, ec2RetryDelayMs } from "@guardrail/core";
import type { RetryErrorInfo, RetryStrategyV2, RetryToken } from "@smithy/types";

/**
 * The EC2 clients' retry strategy: throttling (`RequestLimitExceeded`), 5xx and transient
 * network errors are retried with full-jitter exponential backoff (`ec2RetryDelayMs`) until the
 * call has spent `budgetMs`; client errors are final at once.
 *
 * Why not the SDK's standard or adaptive mode: both stop after `maxAttempts` and share a retry
 * quota per client that a long burst empties (every throttled retry costs 5 of its 500 tokens),
 * after which the client stops retrying at all. Under a burst EC2's revoke bucket refills at 5
 * tokens per second per account and Region: a call must keep asking, spread out, for as long as
 * the invocation can afford, so that the throttle is absorbed here and never becomes a function
 * error (Lambda's retry of it comes a minute later).
 */
export function ec2RetryStrategy(
  options: {
    readonly budgetMs?: number;
    readonly random?: () => number;
    readonly now?: () => number;
  } = {},
): RetryStrategyV2 {
  const budgetMs = options.budgetMs ?? EC2_RETRY.budgetMs;
  const random = options.random ?? Math.random;
  const now = options.now ?? Date.now;
  interface Token extends RetryToken {
    readonly startedAt: number;
  }
  const token = (count: number, delay: number, startedAt: number): Token => ({
    getRetryCount: () => count,
    getRetryDelay: () => delay,
    startedAt,
  });
  return {
    async acquireInitialRetryToken() {
      return token(0, 0, now());
    },
    async refreshRetryTokenForRetry(previous: RetryToken, info: RetryErrorInfo) {
      if (info.errorType === "CLIENT_ERROR") throw new Error("not retryable");
      const startedAt = (previous as Token).startedAt ?? now();
      const retry = previous.getRetryCount() + 1;
      const delay = ec2RetryDelayMs(retry, random());
      if (now() + delay - startedAt > budgetMs) throw new Error("retry budget spent");
      return token(retry, delay, startedAt);
    },
    recordSuccess() {},
  };
}
