import { awsEventPathProbe } from "@guardrail/aws/event-path-probe";
import { stsIdentity } from "@guardrail/aws/identity";
import { enabledRegionsReader } from "@guardrail/aws/regions";
import { createSweepRuns, s3Client, sfnClient } from "@guardrail/aws/sweep-runs";
import { RELIABILITY_ENV, SWEEP_FANOUT_ENV } from "@guardrail/core";
import { defaultRemediationDeps } from "../deps";
import { listOf } from "../pipelines/event-path";
import { createOrganizationSweepHandler, type SweepDeps } from "../pipelines/sweep";
import { createSweepPlannerHandler } from "../pipelines/sweep-fanout";
import { createCoveredSweepHandler } from "../pipelines/sweep-regions";

const trails = listOf(process.env[RELIABILITY_ENV.trails]);
const rules = listOf(process.env[RELIABILITY_ENV.eventRules]);
const deps: SweepDeps = {
  ...defaultRemediationDeps("sweep"),
  identity: stsIdentity(process.env.AWS_REGION),
  enabledRegions: enabledRegionsReader(),
  ...(trails.length + rules.length > 0 ? { eventPath: awsEventPathProbe(trails, rules) } : {}),
};
// Organisation mode with the fan-out deployed: this function is the planner.
const stateMachineArn = process.env[SWEEP_FANOUT_ENV.stateMachineArn]?.trim();
const bucket = process.env[SWEEP_FANOUT_ENV.bucket]?.trim();

export const handler =
  deps.config.organization === null
    ? createCoveredSweepHandler(deps)
    : stateMachineArn && bucket
      ? createSweepPlannerHandler({
          ...deps,
          bucket,
          runs: createSweepRuns(stateMachineArn, bucket, { sfn: sfnClient(), s3: s3Client() }),
        })
      : createOrganizationSweepHandler(deps);
