/**
 * Burst: 1,000 violating events at once while EC2 throttles 20% of all calls
 * (`RequestLimitExceeded`, HTTP 503). 25 execution environments (the reserved concurrency of
 * security-group-change), each the bundled handler in its own Node 22 process, take events from
 * one queue, as Lambda's asynchronous queue hands them out. A failed invocation is retried as
 * Lambda retries asynchronous invocations (twice, then the on-failure destination: the DLQ).
 *
 * Checked afterwards: every rule revoked, every event audited once with its result and announced
 * on the topic, nothing in the DLQ; retries counted at each layer.
 *
 *   npx tsx bench/burst.ts [--events 1000]
 */
import { QueryCommand } from "@aws-sdk/lib-dynamodb";
import { AUDIT_TABLE, auditKey, FUNCTION_SIZING } from "@guardrail/core";
import { TABLE } from "../functions/test/helpers";
import { bundle, DEPLOYED } from "./lib/bundle";
import { type InvokeResult, LambdaProcess } from "./lib/lambda";
import {
  type LocalAws,
  openSshToTheWorld,
  startLocalAws,
  stillOpen,
  type Violation,
} from "./lib/local-aws";
import { isMain } from "./lib/paths";
import { printSection } from "./lib/report";
import { atLeast, atMost, type BenchSection, info, round } from "./lib/result";
import { ms, percentile } from "./lib/stats";

const THROTTLE_RATE = 0.2;
/** Lambda's retries of a failed asynchronous invocation (ASYNC_RETRY_ATTEMPTS, stacks/functions.ts). */
const ASYNC_RETRIES = 2;
/** Lambda waits 1 and 2 minutes between those retries; the benchmark waits this many ms instead. */
const RETRY_DELAYS_MS = [200, 400];

interface Delivery {
  readonly violation: Violation;
  attempt: number;
}

interface Outcome {
  readonly results: InvokeResult[];
  dlq: boolean;
}

async function auditResult(local: LocalAws, id: string): Promise<string | undefined> {
  const key = auditKey(id);
  const out = await local.dynamo.doc.send(
    new QueryCommand({
      TableName: TABLE,
      KeyConditionExpression: "#pk = :pk",
      ExpressionAttributeNames: { "#pk": AUDIT_TABLE.partitionKey },
      ExpressionAttributeValues: { ":pk": key.pk },
    }),
  );
  if ((out.Items?.length ?? 0) > 1) return "duplicated";
  return out.Items?.[0]?.result as string | undefined;
}

function arg(name: string): string | undefined {
  const i = process.argv.indexOf(name);
  return i >= 0 ? process.argv[i + 1] : undefined;
}

export async function burst(options: { events?: number } = {}): Promise<BenchSection> {
  const started = performance.now();
  const events = options.events ?? 1000;
  const environments = FUNCTION_SIZING["security-group-change"].reservedConcurrency;
  const handler = await bundle(
    "functions/src/handlers/security-group-change.ts",
    "burst/security-group-change",
    DEPLOYED,
  );
  const local = await startLocalAws();
  const lambdas = Array.from(
    { length: environments },
    (_, i) => new LambdaProcess(handler.main, local.lambdaEnv(), `burst-${i}`),
  );
  try {
    await Promise.all(lambdas.map((l) => l.start()));
    const violations = await openSshToTheWorld(local, events, "burst");
    local.sandbox.resetCallCounts();
    local.sandbox.throttled = 0;
    local.sandbox.faults.set("*", { throttleRate: THROTTLE_RATE });

    const queue: Delivery[] = violations.map((violation) => ({ violation, attempt: 0 }));
    const outcomes = new Map<string, Outcome>(
      violations.map((v) => [v.ruleId, { results: [], dlq: false }]),
    );
    const retryTimers = new Set<Promise<void>>();
    const t0 = performance.now();
    const environment = async (lambda: LambdaProcess) => {
      for (;;) {
        const next = queue.shift();
        if (!next) {
          if (retryTimers.size === 0) return;
          await Promise.race(retryTimers);
          continue;
        }
        const r = await lambda.invoke(next.violation.event);
        const outcome = outcomes.get(next.violation.ruleId) as Outcome;
        outcome.results.push(r);
        if (!r.error) continue;
        if (next.attempt >= ASYNC_RETRIES) {
          outcome.dlq = true;
          continue;
        }
        const delay = RETRY_DELAYS_MS[next.attempt] ?? 0;
        next.attempt++;
        const timer = new Promise<void>((resolve) =>
          setTimeout(() => {
            queue.push(next);
            retryTimers.delete(timer);
            resolve();
          }, delay),
        );
        retryTimers.add(timer);
      }
    };
    await Promise.all(lambdas.map(environment));
    const seconds = (performance.now() - t0) / 1000;
    local.sandbox.faults.clear();

    const all = [...outcomes.values()];
    const invocations = all.reduce((s, o) => s + o.results.length, 0);
    const failedInvocations = all.reduce((s, o) => s + o.results.filter((r) => r.error).length, 0);
    const dlq = all.filter((o) => o.dlq).length;
    const open = violations.filter((v) => stillOpen(local, v)).length;
    const audits = await Promise.all(
      violations.map((v) => auditResult(local, v.event.detail.eventID)),
    );
    const audited = audits.filter((a) => a === "revoked").length;
    const announced = new Set(
      local.sns.publishes.map((p) => (JSON.parse(p.message) as { id?: string }).id),
    );
    const notified = violations.filter((v) => announced.has(v.event.detail.eventID)).length;
    const sdkAttempts = all.reduce((s, o) => s + o.results.reduce((a, r) => a + r.attempts, 0), 0);
    const sdkCalls = all.reduce((s, o) => s + o.results.reduce((a, r) => a + r.calls, 0), 0);
    const ec2Requests = local.sandbox.calls();
    const firstResults = all.map((o) => o.results[0] as InvokeResult);
    const toRevoke = all
      .map((o) => o.results.find((r) => r.toRevokeMs !== null)?.toRevokeMs)
      .filter((x): x is number => x !== undefined && x !== null);
    const errorNames = [
      ...new Set(all.flatMap((o) => o.results.filter((r) => r.error).map((r) => r.error?.name))),
    ];

    const results = [
      atLeast("burst: rules revoked", events - open, "rules", events),
      atMost(
        "burst: events lost (left open, unaudited or in the DLQ)",
        Math.max(open, events - audited, dlq),
        "events",
        0,
      ),
      atLeast("burst: events audited once, as revoked", audited, "events", events),
      atLeast("burst: events announced on the topic", notified, "events", events),
      info("burst: EC2 requests throttled", local.sandbox.throttled, "requests"),
      info("burst: SDK retries (attempts beyond the first)", sdkAttempts - sdkCalls, "retries"),
      info(
        "burst: invocations retried by Lambda (function errors)",
        invocations - events,
        "invocations",
      ),
      info("burst: wall time", round(seconds), "s"),
      info("burst: time to revoke p50", round(percentile(toRevoke, 50)), "ms"),
      info("burst: time to revoke p99", round(percentile(toRevoke, 99)), "ms"),
    ];
    return {
      id: "burst",
      title: "Burst under throttling",
      method:
        `${events} violating events queued at once; ${environments} execution environments ` +
        `(security-group-change's reserved concurrency), each the deployed bundle in its own ` +
        `Node 22 process with its own SDK clients (standard retry mode, 5 attempts), take them ` +
        `one at a time. The EC2 sandbox answers ${THROTTLE_RATE * 100}% of all calls, chosen at ` +
        `random (seeded), with \`RequestLimitExceeded\` (HTTP 503). A failed invocation is ` +
        `retried ${ASYNC_RETRIES} times, as Lambda retries asynchronous invocations, then goes to ` +
        `the DLQ (Lambda waits 1 and 2 minutes; the benchmark ${RETRY_DELAYS_MS.join(" and ")} ms).`,
      command: "npx tsx bench/burst.ts",
      results,
      table: {
        header: ["", "count"],
        rows: [
          ["violating events", String(events)],
          ["invocations", String(invocations)],
          ["failed invocations (retried by Lambda)", String(failedInvocations)],
          ["sent to the DLQ", String(dlq)],
          ["EC2 requests the sandbox answered", String(ec2Requests)],
          ["... of which throttled", String(local.sandbox.throttled)],
          ["SDK calls (after the SDK's own retries)", String(sdkCalls)],
          ["SDK retries", String(sdkAttempts - sdkCalls)],
          ["rules still open", String(open)],
          ["audit records with result revoked", String(audited)],
          ["SNS messages", String(local.sns.publishes.length)],
          ["events announced", String(notified)],
          ["wall time", `${seconds.toFixed(2)} s`],
          [
            "time to revoke p50 / p99",
            `${ms(percentile(toRevoke, 50))} / ${ms(percentile(toRevoke, 99))}`,
          ],
          [
            "first-attempt total p50",
            ms(
              percentile(
                firstResults.map((r) => r.totalMs),
                50,
              ),
            ),
          ],
        ],
      },
      notes: [
        `Every throttled request counted by the sandbox is retried by the SDK (throttling waits ` +
          `up to 500 ms × 2^attempt, with jitter), so retries show as time, not as failures: ` +
          `${failedInvocations} invocations failed after 5 attempts of one call` +
          `${errorNames.length > 0 ? ` (${errorNames.join(", ")})` : ""} and were retried by Lambda.`,
        `More SNS messages than events means an invocation failed after its audit write: the ` +
          `retry that succeeded corrected the record and announced the final result again ` +
          `(a failed revoke is a critical alert; its correction must reach people too).`,
        `Time to revoke under the burst includes the SDK's backoff on throttled calls.`,
      ],
      reasons: {},
      seconds: (performance.now() - started) / 1000,
    };
  } finally {
    await Promise.all(lambdas.map((l) => l.stop()));
    await local.close();
  }
}

if (isMain(import.meta.url)) {
  printSection(await burst({ events: Number(arg("--events") ?? 1000) }));
}
