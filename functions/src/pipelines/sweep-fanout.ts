import { MetricUnit } from "@aws-lambda-powertools/metrics";
import { awsErrorCode, errorMessage } from "@guardrail/aws/errors";
import { mapLimit } from "@guardrail/aws/limit";
import type { SweepRuns } from "@guardrail/aws/sweep-runs";
import {
  ConfigurationError,
  type CrashedBatch,
  type FailedTarget,
  GuardrailError,
  METRICS,
  manifestKey,
  rotatedTargets,
  runName,
  SWEEP_FANOUT,
  SWEEP_FANOUT_METRICS,
  type SweepBatchResult,
  type SweepRunInput,
  type SweepRunSummary,
  type SweepTarget,
  type SweptTarget,
  scheduleSlot,
  summariseSweepRun,
  sweepRunNeedsAttention,
  sweepRunPublication,
} from "@guardrail/core";
import type { Context } from "aws-lambda";
import { SweepTargetsFailedError } from "../errors";
import { forTarget } from "../for-target";
import { withObservability } from "../middleware";
import { isNotDeployed, organizationSweepPlan } from "./coverage";
import { checkEventPath } from "./event-path";
import { type SweepDeps, sweepOne } from "./sweep";

/*
 * The organisation sweep as planner + workers on a Step Functions Distributed Map
 * (docs/multi-account.md): the planner (the scheduled sweep function) lists the targets and
 * starts the run, each worker invocation sweeps a batch with the one-target sweep (`sweepOne`),
 * and the summary step publishes the run's summary once.
 */

export interface FanOutDeps extends SweepDeps {
  readonly runs: SweepRuns;
  /** The manifest bucket. */
  readonly bucket: string;
}

export type PlanResult =
  | {
      readonly status: "started" | "already-started";
      readonly runId: string;
      readonly targets: number;
      readonly skippedAccounts: number;
    }
  | {
      readonly status: "previous-run-still-going";
      readonly runId: string;
      readonly running: string;
    };

/**
 * The planner: one run per schedule slot. A run still going when the next slot comes is not
 * doubled: the planner asks for a RUNNING execution first and starts nothing while there is one
 * (the name alone would not see it: the next slot's name differs). Within a slot, the execution
 * name is the slot's, so a retried or repeated planner gets ExecutionAlreadyExists and starts
 * nothing either. The targets are every active account (read from AWS Organizations this run,
 * as `sweepOrganization` reads them) × covered Region, in the slot's rotated order. The event
 * path (trails logging, event rules enabled) is checked once per schedule slot, here, whether
 * a run starts or not.
 *
 * @throws the Organizations, S3 or Step Functions error: a run that cannot be planned fails
 *   the invocation (and its alarm), never starts empty.
 */
export async function planSweepRun(deps: FanOutDeps): Promise<PlanResult> {
  const org = deps.config.organization;
  if (org === null) throw new ConfigurationError("the sweep fan-out needs organisation mode");
  const rate = deps.config.sweepRateMinutes;
  const slot = scheduleSlot(deps.clock(), rate);
  const runId = runName(slot, rate);
  if (deps.eventPath) await checkEventPath(deps.eventPath, deps);
  const running = await deps.runs.running();
  if (running !== null) {
    deps.logger.warn("the previous sweep run is still going: this slot's run is not started", {
      runId,
      running,
    });
    deps.metrics.addMetric(SWEEP_FANOUT_METRICS.runsSkipped, MetricUnit.Count, 1);
    return { status: "previous-run-still-going", runId, running };
  }
  const plan = await organizationSweepPlan(org, deps);
  const targets = rotatedTargets(plan.accounts, org.regions, slot);
  const key = manifestKey(runId);
  await deps.runs.putManifest(key, targets);
  const input: SweepRunInput = {
    runId,
    manifest: { bucket: deps.bucket, key },
    targets: targets.length,
    skippedAccounts: plan.skipped.length,
  };
  const started = await deps.runs.start(runId, input);
  const result = {
    status: started === "started" ? ("started" as const) : ("already-started" as const),
    runId,
    targets: targets.length,
    skippedAccounts: plan.skipped.length,
  };
  deps.logger.info("organisation sweep run planned", { ...result, accountsFrom: plan.source });
  return result;
}

/** What the Distributed Map hands a worker (ItemBatcher's shape). */
export interface SweepBatchEvent {
  readonly Items: readonly SweepTarget[];
  readonly BatchInput: { readonly runId: string };
}

/** A batch event, or a typed error naming what is wrong with it. */
export function parseBatchEvent(event: unknown): SweepBatchEvent {
  const e = event as Partial<SweepBatchEvent> | null;
  const runId = e?.BatchInput?.runId;
  if (typeof runId !== "string" || runId === "" || !Array.isArray(e?.Items)) {
    throw new ConfigurationError(
      "a sweep batch is { Items: [{ account, region }], BatchInput: { runId } } (the Distributed Map's ItemBatcher)",
    );
  }
  for (const [i, t] of e.Items.entries()) {
    const item = t as Partial<SweepTarget> | null;
    if (typeof item?.account !== "string" || typeof item.region !== "string") {
      throw new ConfigurationError(`sweep batch item ${i} has no account and region`);
    }
  }
  return { Items: e.Items, BatchInput: { runId } };
}

/**
 * The worker: sweeps each target of its batch exactly as the one-Lambda sweep does (`sweepOne`
 * through the member role, run id `<run>:<account>:<region>`), a few at a time. A target's
 * failure is reported for that target (and logged) and never stops the others, nor fails the
 * batch: the invocation fails only when it cannot run at all, which the Map Run counts against
 * its tolerated failure percentage.
 */
export async function sweepBatch(event: unknown, deps: SweepDeps): Promise<SweepBatchResult> {
  if (deps.config.organization === null) {
    throw new ConfigurationError("the sweep worker needs organisation mode");
  }
  const batch = parseBatchEvent(event);
  const runId = batch.BatchInput.runId;
  const swept: SweptTarget[] = [];
  const failures: FailedTarget[] = [];
  const notDeployed: SweepTarget[] = [];
  await mapLimit(batch.Items, SWEEP_FANOUT.targetConcurrency, async (item) => {
    const target = { account: item.account, region: item.region };
    try {
      const r = await sweepOne(
        target,
        `${runId}:${target.account}:${target.region}`,
        await forTarget(deps, target),
      );
      swept.push({
        ...target,
        revoked: r.counts.revoked ?? 0,
        failed: r.counts.failed ?? 0,
        notifyOnly: r.counts["notify-only"] ?? 0,
        published: r.published,
        durationMs: r.durationMs,
      });
    } catch (error) {
      if (isNotDeployed(error)) {
        notDeployed.push(target);
        return;
      }
      deps.logger.error("sweep of a target failed; the others go on", { ...target, error });
      const code = error instanceof GuardrailError ? error.code : awsErrorCode(error);
      failures.push({ ...target, code, message: errorMessage(error) });
    }
  });
  return { runId, swept, failures, notDeployed };
}

/** What the summary step receives: the run's input, and the Map state's result or its error. */
export interface SummaryEvent extends SweepRunInput {
  readonly results?: { readonly ResultWriterDetails?: { Bucket: string; Key: string } };
  readonly mapError?: { readonly Error?: string; readonly Cause?: string };
}

/** One entry of a ResultWriter results file (a child execution). */
interface ChildExecution {
  readonly Status?: string;
  readonly Input?: string;
  readonly Output?: string;
  readonly Error?: string;
  readonly Cause?: string;
}

/** The ResultWriter manifest (`manifest.json`): the results files by status. */
interface ResultManifest {
  readonly DestinationBucket?: string;
  readonly ResultFiles?: Record<string, readonly { Key: string }[]>;
}

/**
 * Reads the workers' results the Distributed Map wrote: each SUCCEEDED child's output is a
 * batch result, each FAILED (or timed-out, aborted) child's input names its batch's targets.
 * https://docs.aws.amazon.com/step-functions/latest/dg/input-output-resultwriter.html
 */
export async function readRunResults(
  details: { Bucket: string; Key: string },
  runs: SweepRuns,
): Promise<{ batches: SweepBatchResult[]; crashed: CrashedBatch[] }> {
  const manifest = (await runs.readJson(details.Bucket, details.Key)) as ResultManifest;
  const bucket = manifest.DestinationBucket ?? details.Bucket;
  const batches: SweepBatchResult[] = [];
  const crashed: CrashedBatch[] = [];
  for (const [status, files] of Object.entries(manifest.ResultFiles ?? {})) {
    for (const file of files) {
      const entries = (await runs.readJson(bucket, file.Key)) as ChildExecution[];
      for (const e of entries) {
        if (status === "SUCCEEDED" && e.Output !== undefined) {
          batches.push(JSON.parse(e.Output) as SweepBatchResult);
        } else if (status !== "SUCCEEDED" && e.Input !== undefined) {
          const input = JSON.parse(e.Input) as Partial<SweepBatchEvent>;
          crashed.push({
            targets: input.Items ?? [],
            error: e.Error ?? status,
            cause: e.Cause ?? "",
          });
        }
      }
    }
  }
  return { batches, crashed };
}

/**
 * The summary step: aggregates the batches' results into the run's one summary, publishes it
 * when it needs attention (targets not swept, accounts without the member role, remediation
 * failures, a stopped Map Run; otherwise it is logged: each target already published what it
 * found), counts accounts not deployed, then fails the execution when any target was not swept,
 * so that the state machine's failed-execution alarm fires while the rest of the estate was swept.
 */
export async function summariseRun(event: unknown, deps: FanOutDeps): Promise<SweepRunSummary> {
  const e = event as SummaryEvent;
  const details = e.results?.ResultWriterDetails;
  const { batches, crashed } =
    details === undefined ? { batches: [], crashed: [] } : await readRunResults(details, deps.runs);
  const mapError =
    e.mapError === undefined ? null : `${e.mapError.Error ?? "Error"}: ${e.mapError.Cause ?? ""}`;
  const summary = summariseSweepRun({
    runId: e.runId,
    planned: e.targets,
    batches,
    crashed,
    mapError,
  });
  if (summary.notDeployed.length > 0) {
    deps.logger.warn(
      "member role not deployed (or refusing the hub) in these accounts: not swept",
      { accounts: summary.notDeployed },
    );
    deps.metrics.addMetric(
      METRICS.accountsNotDeployed,
      MetricUnit.Count,
      summary.notDeployed.length,
    );
  }
  const attention = sweepRunNeedsAttention(summary);
  if (attention) await deps.notifier.publish(sweepRunPublication(summary));
  deps.logger.info("organisation sweep run finished", {
    ...summary,
    failures: summary.failures.length,
    crashed: summary.crashed.length,
    published: attention,
  });
  const unswept = [...summary.failures, ...summary.crashed];
  if (unswept.length > 0 || summary.missing > 0 || mapError !== null) {
    throw new SweepTargetsFailedError(
      unswept,
      `${unswept.length + summary.missing} of ${summary.planned} sweep target(s) not swept` +
        (mapError === null ? "" : ` (${mapError})`) +
        (unswept.length > 0
          ? `: ${unswept
              .slice(0, 20)
              .map((f) => `${f.account}/${f.region} (${f.code})`)
              .join(", ")}`
          : ""),
    );
  }
  return summary;
}

/** The planner's handler (the organisation-mode sweep function when the fan-out is deployed). */
export function createSweepPlannerHandler(deps: FanOutDeps) {
  if (deps.config.organization === null || deps.members === undefined) {
    throw new ConfigurationError(
      "the sweep planner needs organisation mode (GUARDRAIL_ORG_ID) and member access",
    );
  }
  return withObservability((_event: unknown, _context: Context) => planSweepRun(deps), deps);
}

export function createSweepWorkerHandler(deps: SweepDeps) {
  if (deps.config.organization === null || deps.members === undefined) {
    throw new ConfigurationError(
      "the sweep worker needs organisation mode (GUARDRAIL_ORG_ID) and member access",
    );
  }
  return withObservability((event: unknown, _context: Context) => sweepBatch(event, deps), deps);
}

export function createSweepSummaryHandler(deps: FanOutDeps) {
  return withObservability((event: unknown, _context: Context) => summariseRun(event, deps), deps);
}
