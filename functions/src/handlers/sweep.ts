import { awsEventPathProbe, enabledRegionsReader, stsIdentity } from "@guardrail/aws";
import { RELIABILITY_ENV } from "@guardrail/core";
import { defaultRemediationDeps } from "../deps";
import { listOf } from "../pipelines/event-path";
import { createOrganizationSweepHandler, type SweepDeps } from "../pipelines/sweep";
import { createCoveredSweepHandler } from "../pipelines/sweep-regions";

const trails = listOf(process.env[RELIABILITY_ENV.trails]);
const rules = listOf(process.env[RELIABILITY_ENV.eventRules]);
const deps: SweepDeps = {
  ...defaultRemediationDeps("sweep"),
  identity: stsIdentity(process.env.AWS_REGION),
  enabledRegions: enabledRegionsReader(),
  ...(trails.length + rules.length > 0 ? { eventPath: awsEventPathProbe(trails, rules) } : {}),
};

export const handler =
  deps.config.organization === null
    ? createCoveredSweepHandler(deps)
    : createOrganizationSweepHandler(deps);
