import type { AccountRegion } from "./model";
import type { ErrorView } from "./report/decision";
import type { SnsPublication } from "./report/message";

/*
 * The organisation sweep as planner + workers (AWS Step Functions Distributed Map): the pure
 * parts. The planner lists (account, Region) targets in a rotating order, names the run after
 * its schedule slot and writes the targets as a JSON manifest; the Distributed Map reads it,
 * hands the workers batches of targets; one summary step aggregates the batches' results.
 */

/** One (account, Region) the organisation sweep visits. */
export type SweepTarget = AccountRegion;

/**
 * The Distributed Map's settings (see docs/multi-account.md for the arithmetic behind them).
 *
 * - `batchSize`: targets per worker invocation (ItemBatcher's MaxItemsPerBatch). 17 is one
 *   account's Regions when 17 are covered, so a batch mostly needs one member-role session.
 * - `maxConcurrency`: worker invocations at once (MaxConcurrency). EC2 throttles per account and
 *   Region, so the cap protects the hub's shared resources: its audit table, STS in the hub
 *   account and the Lambda concurrency of the account.
 * - `toleratedFailurePercentage`: batches (child executions) that may fail before the Map Run
 *   stops. A target's own failure is not a batch failure: the worker reports it as data. A batch
 *   fails only when its invocation does (timeout, crash), which at 10% is systemic.
 * - `workerTimeoutSeconds`: the worker Lambda's timeout; under the 5-minute limit of an Express
 *   child execution.
 * - `targetConcurrency`: targets swept at once inside one worker invocation.
 */
export const SWEEP_FANOUT = {
  batchSize: 17,
  maxConcurrency: 40,
  toleratedFailurePercentage: 10,
  workerTimeoutSeconds: 120,
  summaryTimeoutSeconds: 300,
  /**
   * A run is stopped after this long (the state machine's TimeoutSeconds): a run still going
   * blocks the next slots' runs, so a hung one must end. Several times the 1,000 × 17 fan-out's
   * simulated wall time (docs/benchmarks.md).
   */
  runTimeoutSeconds: 3600,
  targetConcurrency: 4,
  /** Manifests and results are kept this long (the bucket's lifecycle rule). */
  retentionDays: 7,
  manifestPrefix: "manifests/",
  resultsPrefix: "results/",
} as const;

/** The fan-out's Lambdas beside the guardrail's: the worker and the run's summary. */
export const SWEEP_FANOUT_FUNCTIONS = ["sweep-worker", "sweep-summary"] as const;
export type SweepFanOutFunction = (typeof SWEEP_FANOUT_FUNCTIONS)[number];

export const SWEEP_FANOUT_SIZING: Record<
  SweepFanOutFunction,
  { readonly memoryMb: number; readonly timeoutSeconds: number }
> = {
  "sweep-worker": { memoryMb: 1024, timeoutSeconds: SWEEP_FANOUT.workerTimeoutSeconds },
  "sweep-summary": { memoryMb: 512, timeoutSeconds: SWEEP_FANOUT.summaryTimeoutSeconds },
};

/** Environment of the planner (the organisation-mode sweep function) and the summary. */
export const SWEEP_FANOUT_ENV = {
  stateMachineArn: "GUARDRAIL_SWEEP_STATE_MACHINE_ARN",
  bucket: "GUARDRAIL_SWEEP_BUCKET",
} as const;

/**
 * The planner's and the summary's grants on the manifest bucket and the state machine, named
 * (no wildcard actions). The state machine's own role reads the manifest and writes results.
 */
export const SWEEP_FANOUT_ACTIONS = {
  writeManifest: ["s3:PutObject"],
  readResults: ["s3:GetObject"],
  startRun: ["states:StartExecution", "states:ListExecutions"],
  machineReadManifest: ["s3:GetObject"],
  machineWriteResults: [
    "s3:PutObject",
    "s3:GetObject",
    "s3:ListMultipartUploadParts",
    "s3:AbortMultipartUpload",
  ],
  machineInvoke: ["lambda:InvokeFunction"],
  machineChildren: ["states:StartExecution", "states:DescribeExecution", "states:StopExecution"],
  machineMapRun: ["states:DescribeMapRun", "states:UpdateMapRun"],
} as const;

/** The fan-out's own metric (the targets count `SweepRuns` as one-Lambda sweeps do). */
export const SWEEP_FANOUT_METRICS = {
  /** A slot's run not started because the previous run was still going. */
  runsSkipped: "SweepRunsSkipped",
} as const;

/** Which schedule slot `now` falls in: runs of one slot share an execution name. */
export function scheduleSlot(now: Date, rateMinutes: number): number {
  return Math.floor(now.getTime() / (rateMinutes * 60_000));
}

/**
 * The execution name of a slot, e.g. `sweep-20261206T1015Z`. Step Functions refuses a second
 * Standard execution with the same name (ExecutionAlreadyExists), which dedupes a retried or
 * repeated planner within the slot; the planner also refuses to start while a run of an earlier
 * slot is still going (`RUNNING`), which the name alone cannot see.
 */
export function runName(slot: number, rateMinutes: number): string {
  const iso = new Date(slot * rateMinutes * 60_000).toISOString(); // 2026-12-06T10:15:00.000Z
  return `sweep-${iso.slice(0, 16).replace(/[-:]/g, "")}Z`;
}

/** Fractional part of the golden ratio: successive offsets spread evenly over the list. */
const GOLDEN = 0.6180339887498949;

/** Where the account list starts in `slot`'s run (0 ≤ offset < count). */
export function rotationOffset(slot: number, count: number): number {
  if (count <= 0) return 0;
  const frac = (slot * GOLDEN) % 1;
  return Math.floor(frac * count) % count;
}

/**
 * Every account × Region, the accounts rotated by the slot's offset so that the same accounts
 * are not always last (a run cut short then misses different ones each time); an account's
 * Regions stay together, so a batch needs few member-role sessions.
 *
 * @example
 * rotatedTargets(["a", "b"], ["r1"], 1).map((t) => t.account) // ["b", "a"]
 */
export function rotatedTargets(
  accounts: readonly string[],
  regions: readonly string[],
  slot: number,
): SweepTarget[] {
  const offset = rotationOffset(slot, accounts.length);
  const order = [...accounts.slice(offset), ...accounts.slice(0, offset)];
  return order.flatMap((account) => regions.map((region) => ({ account, region })));
}

/** The manifest's key for a run. */
export function manifestKey(name: string): string {
  return `${SWEEP_FANOUT.manifestPrefix}${name}.json`;
}

/** What the state machine is started with (and passes to every batch as BatchInput). */
export interface SweepRunInput {
  readonly runId: string;
  readonly manifest: { readonly bucket: string; readonly key: string };
  readonly targets: number;
  readonly skippedAccounts: number;
}

/** A target swept, as a worker reports it (small: thousands are aggregated). */
export interface SweptTarget extends SweepTarget {
  readonly revoked: number;
  readonly failed: number;
  readonly notifyOnly: number;
  readonly published: boolean;
  readonly durationMs: number;
}

/** A target that could not be swept, and why: the error's code and message. */
export interface FailedTarget extends SweepTarget, ErrorView {}

/** One worker invocation's result: every target of its batch is in exactly one list. */
export interface SweepBatchResult {
  readonly runId: string;
  readonly swept: readonly SweptTarget[];
  readonly failures: readonly FailedTarget[];
  /** Targets whose member role STS refused (AccessDenied): the spoke is not deployed there. */
  readonly notDeployed: readonly SweepTarget[];
}

/** A batch whose invocation failed (timeout, crash): its targets' fate is unknown. */
export interface CrashedBatch {
  readonly targets: readonly SweepTarget[];
  readonly error: string;
  readonly cause: string;
}

export interface SweepRunSummary {
  readonly runId: string;
  readonly planned: number;
  readonly swept: number;
  readonly revoked: number;
  readonly remediationFailures: number;
  readonly failures: readonly FailedTarget[];
  readonly notDeployed: readonly string[];
  /** Targets of batches whose invocation failed. */
  readonly crashed: readonly FailedTarget[];
  /** Targets no result names (the Map Run stopped before reaching them). */
  readonly missing: number;
  /** Set when the Map Run itself failed (e.g. past the tolerated failure percentage). */
  readonly mapError: string | null;
  /** The slowest target, in milliseconds. */
  readonly slowestTargetMs: number;
}

/**
 * Aggregates the workers' results into the run's one summary. A target counted twice (a batch
 * retried after a partial run) is counted once, the last result winning.
 */
export function summariseSweepRun(input: {
  readonly runId: string;
  readonly planned: number;
  readonly batches: readonly SweepBatchResult[];
  readonly crashed: readonly CrashedBatch[];
  readonly mapError: string | null;
}): SweepRunSummary {
  const key = (t: SweepTarget) => `${t.account}/${t.region}`;
  const outcome = new Map<string, SweptTarget | FailedTarget | SweepTarget>();
  const kind = new Map<string, "swept" | "failed" | "not-deployed" | "crashed">();
  for (const c of input.crashed) {
    for (const t of c.targets) {
      outcome.set(key(t), { ...t, code: c.error, message: c.cause });
      kind.set(key(t), "crashed");
    }
  }
  for (const b of input.batches) {
    for (const t of b.swept) {
      outcome.set(key(t), t);
      kind.set(key(t), "swept");
    }
    for (const t of b.failures) {
      outcome.set(key(t), t);
      kind.set(key(t), "failed");
    }
    for (const t of b.notDeployed) {
      outcome.set(key(t), t);
      kind.set(key(t), "not-deployed");
    }
  }
  const of = (k: string) =>
    [...kind].filter(([, v]) => v === k).map(([id]) => outcome.get(id) as never);
  const swept = of("swept") as SweptTarget[];
  return {
    runId: input.runId,
    planned: input.planned,
    swept: swept.length,
    revoked: swept.reduce((s, t) => s + t.revoked, 0),
    remediationFailures: swept.reduce((s, t) => s + t.failed, 0),
    failures: of("failed") as FailedTarget[],
    notDeployed: [...new Set((of("not-deployed") as SweepTarget[]).map((t) => t.account))],
    crashed: of("crashed") as FailedTarget[],
    missing: Math.max(0, input.planned - outcome.size),
    mapError: input.mapError,
    slowestTargetMs: swept.reduce((m, t) => Math.max(m, t.durationMs), 0),
  };
}

/** Whether the run needs someone's attention (then its summary is published). */
export function sweepRunNeedsAttention(s: SweepRunSummary): boolean {
  return (
    s.failures.length > 0 ||
    s.crashed.length > 0 ||
    s.missing > 0 ||
    s.mapError !== null ||
    s.notDeployed.length > 0 ||
    s.remediationFailures > 0
  );
}

export const SWEEP_RUN_MESSAGE_SCHEMA = "guardrail.sweep-run/v1";

/**
 * The one SNS message of an organisation sweep run (each target's own findings are published by
 * that target, as a single-account sweep's are).
 *
 * @example
 * sweepRunPublication(summary).attributes.eventName // "SweepRun"
 */
export function sweepRunPublication(s: SweepRunSummary): SnsPublication {
  const unswept = s.failures.length + s.crashed.length + s.missing;
  const text =
    `Organisation sweep ${s.runId}: ${s.swept} of ${s.planned} targets swept, ` +
    `${unswept} not swept, ${s.notDeployed.length} account(s) without the member role, ` +
    `revoked ${s.revoked}, remediation failures ${s.remediationFailures}` +
    (s.mapError === null ? "" : `; run stopped: ${s.mapError}`);
  const failing = unswept > 0 || s.remediationFailures > 0 || s.mapError !== null;
  return {
    subject: `[guardrail] ${text}`.slice(0, 100),
    message: JSON.stringify({ schema: SWEEP_RUN_MESSAGE_SCHEMA, ...s, summary: text }),
    attributes: {
      severity: failing ? "high" : "medium",
      outcome: failing ? "failure" : "violation",
      result: failing ? "failed" : "notify-only",
      rule: "none",
      account: "organization",
      region: "all",
      eventName: "SweepRun",
      source: "sweep",
    },
  };
}
