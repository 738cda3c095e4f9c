import { MetricUnit } from "@aws-lambda-powertools/metrics";
import { awsErrorCode, errorMessage } from "@guardrail/aws/errors";
import { mapLimit } from "@guardrail/aws/limit";
import {
  ConfigurationError,
  enabledNotCovered,
  type FailedTarget,
  GuardrailError,
  METRICS,
  SWEEP_TARGET_CONCURRENCY,
} from "@guardrail/core";
import type { Context } from "aws-lambda";
import { SweepTargetsFailedError } from "../errors";
import { stringField } from "../field";
import { forTarget } from "../for-target";
import { withObservability } from "../middleware";
import {
  type MultiTargetSweepResult,
  runIdOf,
  type SweepDeps,
  type SweepResult,
  sweepOne,
} from "./sweep";

/** A single-account sweep over every covered Region; `targets`: one per Region, the home Region first. */
export interface RegionsSweepResult extends MultiTargetSweepResult {
  readonly account: string;
  /** Regions enabled in the account now that the deploy does not cover (enabled since). */
  readonly notCovered: readonly string[];
}

/**
 * Single-account mode: sweeps each covered Region (GUARDRAIL_REGIONS, the home Region first)
 * with that Region's EC2 client, SWEEP_TARGET_CONCURRENCY at a time; each Region records and
 * publishes as a one-Region sweep does, under the run id `<run>:<region>` (the plain run id
 * when one Region is covered). Then it compares the Regions enabled now (DescribeRegions) with
 * the covered ones: a Region enabled since the deploy is reported as not covered (logged,
 * `RegionsNotCovered`, which alarms) on every run until a deploy covers it. A Region that
 * fails does not stop the others; the run fails at the end, naming it.
 */
export async function sweepCoveredRegions(
  event: unknown,
  deps: SweepDeps,
): Promise<RegionsSweepResult> {
  const t0 = performance.now();
  const runId = runIdOf(event);
  const account = stringField(event, "account");
  const region = stringField(event, "region");
  const identity = account && region ? { account, region } : await deps.identity();
  const covered = deps.config.regions.length > 0 ? deps.config.regions : [identity.region];
  const targets = covered.map((r) => ({ account: identity.account, region: r }));
  const outcomes = await mapLimit(
    targets,
    SWEEP_TARGET_CONCURRENCY,
    async (target): Promise<SweepResult | FailedTarget> => {
      try {
        const id = covered.length === 1 ? runId : `${runId}:${target.region}`;
        return await sweepOne(target, id, await forTarget(deps, target));
      } catch (error) {
        deps.logger.error("sweep of a Region failed; the others go on", { ...target, error });
        const code = error instanceof GuardrailError ? error.code : awsErrorCode(error);
        return { ...target, code, message: errorMessage(error) };
      }
    },
  );
  const swept = outcomes.filter((o): o is SweepResult => "runId" in o);
  const failures = outcomes.filter((o): o is FailedTarget => "code" in o);
  let notCovered: string[] = [];
  if (deps.enabledRegions !== undefined) {
    try {
      notCovered = enabledNotCovered(await deps.enabledRegions(), covered);
    } catch (error) {
      deps.logger.error("could not list the enabled Regions (DescribeRegions)", { error });
      failures.push({
        account: identity.account,
        region: identity.region,
        code: awsErrorCode(error),
        message: `DescribeRegions: ${errorMessage(error)}`,
      });
    }
  }
  if (notCovered.length > 0) {
    deps.logger.warn("Regions enabled but not covered: deploy again to cover them", {
      regions: notCovered,
      covered,
    });
    deps.metrics.addMetric(METRICS.regionsNotCovered, MetricUnit.Count, notCovered.length);
  }
  const result: RegionsSweepResult = {
    runId,
    account: identity.account,
    targets: swept,
    failures,
    notCovered,
    durationMs: Math.round(performance.now() - t0),
  };
  deps.logger.info("sweep of the covered Regions finished", {
    runId,
    regions: covered,
    swept: swept.length,
    failed: failures.length,
    notCovered,
  });
  if (failures.length > 0) {
    throw new SweepTargetsFailedError(
      failures,
      `${failures.length} sweep target(s) failed: ${failures
        .map((f) => `${f.account}/${f.region} (${f.code})`)
        .join(", ")}`,
    );
  }
  return result;
}

/**
 * The single-account sweep Lambda handler over every covered Region.
 *
 * @throws ConfigurationError in organisation mode (see createOrganizationSweepHandler).
 */
export function createCoveredSweepHandler(deps: SweepDeps) {
  if (deps.config.organization !== null) {
    throw new ConfigurationError(
      "organisation mode is on: build the sweep with createOrganizationSweepHandler",
    );
  }
  return withObservability(
    (event: unknown, _context: Context) => sweepCoveredRegions(event, deps),
    deps,
  );
}
