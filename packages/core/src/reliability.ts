import { AUDIT_KEY_PREFIX } from "./registry";
/**
 * Delivery, retry and self-monitoring facts: what each layer retries, how long it waits, and when
 * a failure is final. The functions, the infra, `guardrail redrive`, the burst benchmark and the
 * docs all read these values.
 */

/**
 * How an event reaches a function: EventBridge → Lambda, invoked asynchronously.
 *
 * - EventBridge's target retry policy (`TARGET_RETRY`) covers only the delivery to Lambda's
 *   asynchronous queue (Lambda's Invoke API refusing or unreachable). Once Lambda accepted the
 *   event, EventBridge is done with it.
 * - Lambda retries a function error twice, about one minute and then about two minutes later,
 *   then sends an on-failure record (the event under `requestPayload`) to the dead-letter queue
 *   (AWS Lambda Developer Guide, "How Lambda handles errors and retries with asynchronous
 *   invocation"). A throttled invocation (reserved concurrency) is not a function error: Lambda
 *   keeps it in its queue and retries for up to `maximumEventAgeSeconds`.
 *
 * A failing revoke therefore reaches the DLQ about three minutes after the event.
 */
export const DELIVERY = {
  /** Lambda's `MaximumRetryAttempts` of a function error (the most it allows is 2). */
  asyncRetryAttempts: 2,
  /** Lambda's waits before those retries, in seconds (documented as ~1 and ~2 minutes). */
  asyncRetryDelaysSeconds: [60, 120],
  /** How long an event may wait in Lambda's asynchronous queue (throttled, not failing). */
  maximumEventAgeSeconds: 6 * 3600,
} as const;

/** Invocations of one event before its on-failure record: the last one sends "failed". */
export const DELIVERY_ATTEMPTS = 1 + DELIVERY.asyncRetryAttempts;

/**
 * Retries of throttled or failing EC2 calls inside one invocation, before the invocation fails.
 *
 * EC2 throttles per API, per account and Region, with token buckets: `RevokeSecurityGroupIngress`
 * is a "resource-intensive" action (bucket 50, refill 5 per second), `RevokeSecurityGroupEgress`
 * and `DeleteNetworkAclEntry` "mutating" (50, 5 per second), `DescribeSecurityGroups` an
 * "unfiltered and unpaginated non-mutating" action (50, 10 per second), the other `Describe*`
 * calls "non-mutating" (100, 20 per second) (Amazon EC2 Developer Guide, "Request throttling for
 * the Amazon EC2 API"). AWS asks callers to back off exponentially with jitter. A burst of
 * revokes therefore drains at about 5 per second per account and Region whatever the caller
 * does; the retries only have to keep trying, spread out, until a token is theirs.
 *
 * Full jitter (a wait drawn uniformly between 0 and `min(capMs, baseMs × 2^(retry-1))`), capped
 * low so that every waiting invocation keeps asking about twice a second: the bucket's tokens go
 * to whoever asks, and 25 invocations that wait for 5 tokens a second each wait about 5 s on
 * average but with a long tail. A budget of 40 s per call ends that tail inside the invocation
 * (bench/burst.ts: no Lambda retry for 1,000 events at once in one account/Region, 5 of 10,000),
 * which is why the event functions' timeouts are 60-120 s (`FUNCTION_SIZING`).
 */
export const EC2_RETRY = {
  baseMs: 250,
  capMs: 1_000,
  /** Time one call may spend retrying (from its first attempt) before its error is final. */
  budgetMs: 40_000,
} as const;

/**
 * The wait before retry number `retry` (1 for the first retry) of an EC2 call.
 *
 * @param random a number in [0, 1) (Math.random in production, a seeded source in the benchmark)
 * @example
 * ec2RetryDelayMs(1, 0.5); // 125
 * ec2RetryDelayMs(10, 0.5); // 500 (half the cap)
 */
export function ec2RetryDelayMs(retry: number, random: number): number {
  const ceiling = Math.min(EC2_RETRY.capMs, EC2_RETRY.baseMs * 2 ** Math.max(0, retry - 1));
  return Math.floor(random * ceiling);
}

/**
 * Slack: an incoming webhook accepts about one message per second (bursts tolerated), and
 * answers HTTP 429 with `Retry-After` (seconds) beyond that. Above `defaultMaxPerMinute`
 * messages in a window, counted across every notifier invocation with a counter item in the
 * audit table, messages that need nobody's action (a closed exposure, a non-critical finding)
 * are folded into one digest per window; failed remediations, critical findings left open and
 * unreadable events are always posted (`foldableResult`).
 */
export const SLACK_DIGEST = {
  windowSeconds: 60,
  defaultMaxPerMinute: 20,
  /** Waits for Slack's `Retry-After` up to this long inside one invocation, then throws. */
  maxRetryAfterWaitMs: 60_000,
  /** Posting attempts of one message inside one invocation (429s); the wait ends it first. */
  postAttempts: 30,
  /** Counter items expire (DynamoDB TTL) this long after their window. */
  counterTtlSeconds: 24 * 3600,
} as const;

/** Severities never folded into a digest while the exposure is open (see `foldableResult`). */
export const NEVER_FOLDED_SEVERITIES: readonly string[] = ["critical"];

/** Results never folded into a digest, whatever their severity. */
export const NEVER_FOLDED_RESULTS: readonly string[] = ["failed", "invalid"];

/** Environment of the self-monitoring and the notifier's folding (set by the infra). */
export const RELIABILITY_ENV = {
  /** Messages per minute above which the notifier folds non-critical ones. */
  slackMaxPerMinute: "GUARDRAIL_SLACK_MAX_PER_MINUTE",
  /** CloudTrail trails the event path depends on (names or full ARNs, comma-separated). */
  trails: "GUARDRAIL_TRAILS",
  /** EventBridge rules that must stay enabled (`bus|rule` or `rule`, comma-separated). */
  eventRules: "GUARDRAIL_EVENT_RULES",
} as const;

/**
 * How old a trail's last delivery may be before the sweep says the event path is broken.
 * CloudTrail delivers log files about every 5 minutes; an hour without one while logging is on
 * means delivery is failing.
 */
export const TRAIL_DELIVERY_MAX_AGE_SECONDS = 3600;

/** Security-group rules re-read per DescribeSecurityGroupRules call before the sweep revokes. */
export const VERIFY_BATCH = 1000;

/**
 * Key of the failed-attempt counter of one event's decision in the audit table: Lambda does not
 * tell an asynchronous invocation which attempt it is, so each failed remediation counts itself
 * here, and the one that reaches `DELIVERY_ATTEMPTS` sends the "failed" alert.
 *
 * @example
 * attemptKey("e-1"); // { pk: "ATTEMPTS#e-1", sk: "ATTEMPTS" }
 */
export function attemptKey(id: string): { pk: string; sk: string } {
  return { pk: `${AUDIT_KEY_PREFIX.attempts}${id}`, sk: "ATTEMPTS" };
}

/**
 * Key of the Slack notifier's counter item of one window (`windowStart` in epoch seconds).
 *
 * @example
 * slackWindowKey(1_700_000_040); // { pk: "SLACK#1700000040", sk: "WINDOW" }
 */
export function slackWindowKey(windowStart: number): { pk: string; sk: string } {
  return { pk: `${AUDIT_KEY_PREFIX.slack}${windowStart}`, sk: "WINDOW" };
}

/** IAM actions of the self-monitoring: the sweep's event-path checks, the notifier's counters. */
export const SELF_MONITORING_ACTIONS = {
  sweep: ["cloudtrail:GetTrailStatus", "events:DescribeRule"],
  "slack-notifier": ["dynamodb:UpdateItem"],
} as const;

/**
 * Key of the sweep's pending sightings of one account and Region: violations it found on rules
 * that changed since its previous run, to be checked against the audit trail at the next run.
 *
 * @example
 * sightingsKey("111122223333", "eu-west-1"); // { pk: "SIGHTINGS#111122223333#eu-west-1", sk: "PENDING" }
 */
export function sightingsKey(account: string, region: string): { pk: string; sk: string } {
  return { pk: `${AUDIT_KEY_PREFIX.sightings}${account}#${region}`, sk: "PENDING" };
}
