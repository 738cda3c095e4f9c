import { EC2Client } from "@aws-sdk/client-ec2";
import { RELIABILITY_ENV } from "@guardrail/core";
import { describeEnabledRegions } from "../adapters/regions";
import { defaultRemediationDeps } from "../deps";
import { awsEventPathProbe, listOf } from "../pipelines/event-path";
import { createOrganizationSweepHandler, type SweepDeps, stsIdentity } from "../pipelines/sweep";
import { createCoveredSweepHandler } from "../pipelines/sweep-regions";

const trails = listOf(process.env[RELIABILITY_ENV.trails]);
const rules = listOf(process.env[RELIABILITY_ENV.eventRules]);
const deps: SweepDeps = {
  ...defaultRemediationDeps("sweep"),
  identity: stsIdentity(process.env.AWS_REGION),
  enabledRegions: () => describeEnabledRegions(new EC2Client({ retryMode: "standard" })),
  ...(trails.length + rules.length > 0 ? { eventPath: awsEventPathProbe(trails, rules) } : {}),
};

export const handler =
  deps.config.organization === null
    ? createCoveredSweepHandler(deps)
    : createOrganizationSweepHandler(deps);
