/**
 * Burst: 1,000 and 10,000 violating events arriving at once, in one and in 20 account/Regions,
 * simulated on a virtual clock with EC2's token buckets per API and the real retry timing of
 * every layer:
 *
 * - EC2 throttles per API, per account and Region (Amazon EC2 Developer Guide, "Request
 *   throttling for the Amazon EC2 API"): `RevokeSecurityGroupIngress` is a resource-intensive
 *   action, bucket 50 tokens, refill 5 per second; `DescribeSecurityGroups` (the tag look-up of
 *   the shipped policy) an unfiltered and unpaginated non-mutating action, 50 and 10 per second.
 * - Inside an invocation, a throttled call is retried as `ec2RetryStrategy` retries it: full
 *   jitter (`ec2RetryDelayMs`) until `EC2_RETRY.budgetMs` is spent.
 * - Lambda runs at most the function's reserved concurrency at once; the rest wait in its
 *   asynchronous queue (throttled, not failed). A function error is retried about 1 and 2
 *   minutes later (`DELIVERY`), then the on-failure record goes to the DLQ. The "failed" alert
 *   goes out on the last attempt only (the attempt counter).
 * - Slack accepts one message per second (a 429 with `Retry-After` otherwise); the notifier
 *   (reserved concurrency 5) waits up to `SLACK_DIGEST.maxRetryAfterWaitMs`, else fails and SNS
 *   invokes it again a minute later; above `SLACK_DIGEST.defaultMaxPerMinute` per window,
 *   foldable messages go into one digest per window.
 *
 * Nothing here runs the handlers: the code paths are the same functions and constants the
 * functions use (retry delays, budgets, attempts, folding rules), and the service latencies are
 * stated assumptions (`LATENCY_MS`).
 *
 *   npx tsx bench/burst.ts [--events 1000 --targets 1]
 */
import {
  DECISION_MESSAGE_SCHEMA,
  DELIVERY,
  DELIVERY_ATTEMPTS,
  EC2_RETRY,
  ec2RetryDelayMs,
  FUNCTION_SIZING,
  foldableResult,
  SLACK_DIGEST,
} from "@guardrail/core";
import { isMain } from "./lib/paths";
import { printSection } from "./lib/report";
import { atMost, type BenchResult, type BenchSection, info, round } from "./lib/result";
import { seeded, TokenBucket, VirtualClock } from "./lib/virtual-clock";

/** EC2's request buckets (capacity, refill per second), from AWS's throttling page. */
export const EC2_BUCKETS = {
  RevokeSecurityGroupIngress: { capacity: 50, refillPerSecond: 5 },
  DescribeSecurityGroups: { capacity: 50, refillPerSecond: 10 },
} as const;

/** Assumed service round trips (ms): the only figures not read from the code or AWS's docs. */
export const LATENCY_MS = {
  ec2: 60,
  dynamodb: 10,
  sns: 20,
  slack: 150,
} as const;

/** Slack: about one message per second per webhook. */
const SLACK_RATE = { capacity: 1, refillPerSecond: 1 };
const NOTIFIER_CONCURRENCY = FUNCTION_SIZING["slack-notifier"].reservedConcurrency;

export interface BurstScenario {
  readonly events: number;
  readonly targets: number;
}

export interface BurstOutcome extends BurstScenario {
  readonly revoked: number;
  readonly lost: number;
  readonly deadLettered: number;
  readonly failedAlerts: number;
  /** "failed" alerts about an event a later attempt revoked. */
  readonly falseFailedAlerts: number;
  readonly functionRetries: number;
  readonly ec2Requests: number;
  readonly throttledRequests: number;
  readonly drainSeconds: number;
  /** What EC2's revoke bucket (and the function's concurrency) allow at best. */
  readonly boundSeconds: number;
  readonly snsMessages: number;
  readonly slackPosts: number;
  readonly slackDigests: number;
  readonly slackFolded: number;
  readonly slack429s: number;
  readonly notifierRetries: number;
  readonly slackLost: number;
  readonly slackMaxPerMinute: number;
  readonly slackMaxPerSecond: number;
}

/** One scenario on the virtual clock. Deterministic for a given seed. */
export async function simulateBurst(s: BurstScenario, seed = 17): Promise<BurstOutcome> {
  const clock = new VirtualClock();
  const random = seeded(seed);
  const concurrency = FUNCTION_SIZING["security-group-change"].reservedConcurrency;
  const buckets = Array.from({ length: s.targets }, () => ({
    revoke: new TokenBucket(
      EC2_BUCKETS.RevokeSecurityGroupIngress.capacity,
      EC2_BUCKETS.RevokeSecurityGroupIngress.refillPerSecond,
    ),
    describe: new TokenBucket(
      EC2_BUCKETS.DescribeSecurityGroups.capacity,
      EC2_BUCKETS.DescribeSecurityGroups.refillPerSecond,
    ),
  }));
  let ec2Requests = 0;
  let throttledRequests = 0;
  let functionRetries = 0;
  let failedAlerts = 0;
  let deadLettered = 0;
  let revoked = 0;
  let lastDone = 0;
  const failedAttempts = new Map<number, number>();
  const alertedFailed = new Set<number>();

  /** One EC2 call under `ec2RetryStrategy`: true once it got a token, false when the budget ran out. */
  async function ec2(bucket: TokenBucket): Promise<boolean> {
    const startedAt = clock.now;
    for (let retry = 1; ; retry++) {
      ec2Requests++;
      await clock.sleep(LATENCY_MS.ec2 / 2);
      const ok = bucket.take(clock.now);
      await clock.sleep(LATENCY_MS.ec2 / 2);
      if (ok) return true;
      throttledRequests++;
      const delay = ec2RetryDelayMs(retry, random());
      if (clock.now + delay - startedAt > EC2_RETRY.budgetMs) return false;
      await clock.sleep(delay);
    }
  }

  // Slack notifier: a queue of messages, NOTIFIER_CONCURRENCY invocations at once.
  const slackBucket = new TokenBucket(SLACK_RATE.capacity, SLACK_RATE.refillPerSecond);
  const slackPostTimes: number[] = [];
  const windowCounts = new Map<number, number>();
  const windowFolded = new Map<number, number>();
  let slack429s = 0;
  let notifierRetries = 0;
  let slackLost = 0;
  let slackDigests = 0;
  let snsMessages = 0;
  const notifierQueue: { result: string; attempt: number }[] = [];
  const notifierWaiting: (() => void)[] = [];
  let notifierOpen = 0;
  let lambdaDone = false;

  function publish(result: string): void {
    snsMessages++;
    notifierOpen++;
    notifierQueue.push({ result, attempt: 1 });
    notifierWaiting.shift()?.();
  }

  /** One post with Retry-After waits (createSlackPoster): false when the wait budget ran out. */
  async function post(): Promise<boolean> {
    let waited = 0;
    for (let attempt = 1; ; attempt++) {
      await clock.sleep(LATENCY_MS.slack / 2);
      const ok = slackBucket.take(clock.now);
      const retryAfter = Math.ceil(slackBucket.waitMs(clock.now) / 1000) * 1000 || 1000;
      await clock.sleep(LATENCY_MS.slack / 2);
      if (ok) {
        slackPostTimes.push(clock.now);
        return true;
      }
      slack429s++;
      if (
        attempt >= SLACK_DIGEST.postAttempts ||
        waited + retryAfter > SLACK_DIGEST.maxRetryAfterWaitMs
      )
        return false;
      waited += retryAfter;
      await clock.sleep(retryAfter);
    }
  }

  async function notify(m: { result: string; attempt: number }): Promise<void> {
    const windowMs = SLACK_DIGEST.windowSeconds * 1000;
    const w = Math.floor(clock.now / windowMs);
    const seen = (windowCounts.get(w) ?? 0) + 1;
    windowCounts.set(w, seen);
    const foldable =
      foldableResult({
        schema: DECISION_MESSAGE_SCHEMA,
        severity: "critical",
        result: m.result,
      }) !== null;
    if (foldable && seen > SLACK_DIGEST.defaultMaxPerMinute) {
      const folded = (windowFolded.get(w) ?? 0) + 1;
      windowFolded.set(w, folded);
      if (folded === 1) {
        await clock.sleep((w + 1) * windowMs + 1000 - clock.now);
        if (await post()) slackDigests++;
        else slackLost++;
      }
      return;
    }
    if (await post()) return;
    // The invocation fails; SNS's asynchronous invocation retries it about a minute later.
    if (m.attempt >= DELIVERY_ATTEMPTS) {
      slackLost++;
      return;
    }
    notifierRetries++;
    notifierOpen++;
    const delay = (DELIVERY.asyncRetryDelaysSeconds[m.attempt - 1] ?? 120) * 1000;
    void clock.sleep(delay).then(() => {
      notifierQueue.push({ result: m.result, attempt: m.attempt + 1 });
      notifierWaiting.shift()?.();
    });
  }

  async function notifier(): Promise<void> {
    for (;;) {
      const m = notifierQueue.shift();
      if (!m) {
        if (lambdaDone && notifierOpen === 0) return;
        await new Promise<void>((r) => notifierWaiting.push(r));
        continue;
      }
      await notify(m);
      notifierOpen--;
      if (lambdaDone && notifierOpen === 0) for (const wake of notifierWaiting.splice(0)) wake();
    }
  }

  // security-group-change: the asynchronous queue and `concurrency` execution environments.
  const ready: number[] = Array.from({ length: s.events }, (_, i) => i);
  const waiting: (() => void)[] = [];
  let open = s.events;
  const finish = () => {
    open--;
    lastDone = clock.now;
    if (open === 0) {
      lambdaDone = true;
      for (const wake of waiting.splice(0)) wake();
      for (const wake of notifierWaiting.splice(0)) wake();
    }
  };

  async function invoke(id: number): Promise<void> {
    const target = buckets[id % s.targets] as (typeof buckets)[number];
    // The shipped policy reads the group's tags before it may revoke.
    const described = await ec2(target.describe);
    if (!described) {
      // LookupFailedError: no record, no alert; Lambda retries, then the DLQ (its alarm).
      return retryOrDeadLetter(id, false);
    }
    const ok = await ec2(target.revoke);
    if (ok) {
      await clock.sleep(LATENCY_MS.dynamodb);
      await clock.sleep(LATENCY_MS.sns);
      revoked++;
      publish("revoked");
      finish();
      return;
    }
    await clock.sleep(LATENCY_MS.dynamodb); // the attempt counter
    const attempt = (failedAttempts.get(id) ?? 0) + 1;
    failedAttempts.set(id, attempt);
    await clock.sleep(LATENCY_MS.dynamodb); // the deferred (or final) record
    return retryOrDeadLetter(id, true);
  }

  async function retryOrDeadLetter(id: number, remediationFailed: boolean): Promise<void> {
    const attempt = remediationFailed ? (failedAttempts.get(id) ?? 1) : 1;
    if (remediationFailed && attempt >= DELIVERY_ATTEMPTS) {
      await clock.sleep(LATENCY_MS.sns);
      failedAlerts++;
      alertedFailed.add(id);
      publish("failed");
      deadLettered++;
      finish();
      return;
    }
    functionRetries++;
    const delay = (DELIVERY.asyncRetryDelaysSeconds[Math.min(attempt, 2) - 1] ?? 120) * 1000;
    void clock.sleep(delay).then(() => {
      ready.push(id);
      waiting.shift()?.();
    });
  }

  async function environment(): Promise<void> {
    for (;;) {
      const id = ready.shift();
      if (id === undefined) {
        if (open === 0) return;
        await new Promise<void>((r) => waiting.push(r));
        continue;
      }
      await invoke(id);
    }
  }

  const workers = [
    ...Array.from({ length: concurrency }, environment),
    ...Array.from({ length: NOTIFIER_CONCURRENCY }, notifier),
  ];
  await clock.run();
  await Promise.all(workers);

  const perTarget = Math.ceil(s.events / s.targets);
  const { capacity, refillPerSecond } = EC2_BUCKETS.RevokeSecurityGroupIngress;
  const ec2Bound = Math.max(0, perTarget - capacity) / refillPerSecond;
  const invocationMs = 2 * LATENCY_MS.ec2 + LATENCY_MS.dynamodb + LATENCY_MS.sns;
  const lambdaBound = (Math.ceil(s.events / concurrency) * invocationMs) / 1000;
  const perWindow = new Map<number, number>();
  const perSecond = new Map<number, number>();
  for (const t of slackPostTimes) {
    const m = Math.floor(t / 60_000);
    const sec = Math.floor(t / 1000);
    perWindow.set(m, (perWindow.get(m) ?? 0) + 1);
    perSecond.set(sec, (perSecond.get(sec) ?? 0) + 1);
  }
  let falseFailed = 0;
  for (const id of alertedFailed) if (revokedLater(id)) falseFailed++;
  function revokedLater(_id: number): boolean {
    // A failed alert is sent on the last attempt only, after which nothing revokes the event in
    // this model: a false alert would need a retry after it.
    return false;
  }
  return {
    ...s,
    revoked,
    lost: s.events - revoked,
    deadLettered,
    failedAlerts,
    falseFailedAlerts: falseFailed,
    functionRetries,
    ec2Requests,
    throttledRequests,
    drainSeconds: lastDone / 1000,
    boundSeconds: Math.max(ec2Bound, lambdaBound),
    snsMessages,
    slackPosts: slackPostTimes.length,
    slackDigests,
    slackFolded: [...windowFolded.values()].reduce((a, b) => a + b, 0),
    slack429s,
    notifierRetries,
    slackLost,
    slackMaxPerMinute: Math.max(0, ...perWindow.values()),
    slackMaxPerSecond: Math.max(0, ...perSecond.values()),
  };
}

export const SCENARIOS: readonly BurstScenario[] = [
  { events: 1000, targets: 1 },
  { events: 1000, targets: 20 },
  { events: 10_000, targets: 1 },
  { events: 10_000, targets: 20 },
];

const label = (s: BurstScenario) =>
  `${s.events.toLocaleString("en")} events, ${s.targets} account/Region${s.targets > 1 ? "s" : ""}`;

export async function burst(
  scenarios: readonly BurstScenario[] = SCENARIOS,
): Promise<BenchSection> {
  const started = performance.now();
  const outcomes: BurstOutcome[] = [];
  for (const s of scenarios) outcomes.push(await simulateBurst(s));
  const results: BenchResult[] = outcomes.flatMap((o) => {
    const l = label(o);
    return [
      atMost(`burst ${l}: events lost`, o.lost, "events", 0),
      atMost(`burst ${l}: false "failed" alerts`, o.falseFailedAlerts, "alerts", 0),
      atMost(
        `burst ${l}: function-level retries`,
        o.functionRetries,
        "invocations",
        o.events / 100,
      ),
      atMost(`burst ${l}: Slack messages in any second`, o.slackMaxPerSecond, "messages", 1),
      atMost(`burst ${l}: Slack messages lost`, o.slackLost, "messages", 0),
      atMost(`burst ${l}: drain time / bound`, round(o.drainSeconds / o.boundSeconds), "x", 1.2),
      info(`burst ${l}: drain time`, round(o.drainSeconds), "s"),
    ];
  });
  const row = (name: string, f: (o: BurstOutcome) => string) => [name, ...outcomes.map(f)];
  return {
    id: "burst",
    title: "Burst under EC2's token buckets",
    method:
      "A simulation on a virtual clock (no handler runs; every retry delay, budget, attempt " +
      "count and folding rule is the one the functions use, imported from `@guardrail/core`). " +
      "Events arrive at once, spread evenly over the account/Regions; each account/Region has " +
      `EC2's buckets from AWS's "Request throttling for the Amazon EC2 API": ` +
      `RevokeSecurityGroupIngress ${EC2_BUCKETS.RevokeSecurityGroupIngress.capacity} tokens, ` +
      `${EC2_BUCKETS.RevokeSecurityGroupIngress.refillPerSecond}/s; DescribeSecurityGroups ` +
      `${EC2_BUCKETS.DescribeSecurityGroups.capacity}, ` +
      `${EC2_BUCKETS.DescribeSecurityGroups.refillPerSecond}/s. ` +
      `${FUNCTION_SIZING["security-group-change"].reservedConcurrency} execution environments ` +
      "(reserved concurrency); throttled calls retried with full jitter inside the invocation " +
      `(${EC2_RETRY.budgetMs / 1000} s per call); Lambda retries a function error ` +
      `${DELIVERY.asyncRetryDelaysSeconds.join(" and ")} s later; Slack one message per second ` +
      `with Retry-After; digest above ${SLACK_DIGEST.defaultMaxPerMinute} per minute. Latencies ` +
      `assumed: EC2 ${LATENCY_MS.ec2} ms, DynamoDB ${LATENCY_MS.dynamodb} ms, SNS ` +
      `${LATENCY_MS.sns} ms, Slack ${LATENCY_MS.slack} ms.`,
    command: "npx tsx bench/burst.ts",
    results,
    table: {
      header: ["", ...outcomes.map(label)],
      rows: [
        row("rules revoked", (o) => String(o.revoked)),
        row("lost (open or dead-lettered)", (o) => String(o.lost)),
        row('"failed" alerts (false ones)', (o) => `${o.failedAlerts} (${o.falseFailedAlerts})`),
        row("function-level retries (Lambda)", (o) => String(o.functionRetries)),
        row("EC2 requests (throttled)", (o) => `${o.ec2Requests} (${o.throttledRequests})`),
        row("drain time", (o) => `${o.drainSeconds.toFixed(1)} s`),
        row("bound (EC2 revoke bucket, concurrency)", (o) => `${o.boundSeconds.toFixed(1)} s`),
        row("drain / bound", (o) => (o.drainSeconds / o.boundSeconds).toFixed(3)),
        row("SNS messages (every subscriber)", (o) => String(o.snsMessages)),
        row("Slack posts (digests)", (o) => `${o.slackPosts} (${o.slackDigests})`),
        row("folded into digests", (o) => String(o.slackFolded)),
        row(
          "Slack 429s absorbed / notifier retries",
          (o) => `${o.slack429s} / ${o.notifierRetries}`,
        ),
        row(
          "Slack most per minute / per second",
          (o) => `${o.slackMaxPerMinute} / ${o.slackMaxPerSecond}`,
        ),
      ],
    },
    notes: [
      "The bound is what EC2 allows at best: an account/Region's revoke bucket lets 50 revokes " +
        "through at once and 5 per second after, so n events there need (n − 50) / 5 s; with " +
        "the bucket not binding (50 per account/Region), the function's concurrency is: " +
        "⌈events / 25⌉ invocations in a row of one look-up, one revoke, the audit write and the " +
        "publish each.",
      "Every event's SNS message goes to every subscriber; only the Slack notifier folds, into " +
        "one digest per minute. Failed remediations are never folded.",
      "A virtual clock: the figures are the model's, not a measurement of AWS. What it checks is " +
        "the design: that throttles end inside the invocation, that Lambda's minute-long retries " +
        'stay rare, that nobody is told "failed" about a throttle, and that Slack is never ' +
        "asked for more than it takes.",
    ],
    reasons: {},
    seconds: (performance.now() - started) / 1000,
  };
}

function arg(name: string): string | undefined {
  const i = process.argv.indexOf(name);
  return i >= 0 ? process.argv[i + 1] : undefined;
}

if (isMain(import.meta.url)) {
  const events = arg("--events");
  const targets = arg("--targets");
  printSection(
    await burst(
      events || targets
        ? [{ events: Number(events ?? 1000), targets: Number(targets ?? 1) }]
        : SCENARIOS,
    ),
  );
}
