import { awsEventPathProbe, stsIdentity } from "@guardrail/aws";
import { RELIABILITY_ENV } from "@guardrail/core";
import { defaultRemediationDeps } from "../deps";
import { listOf } from "../pipelines/event-path";
import {
  createOrganizationSweepHandler,
  createSweepHandler,
  type SweepDeps,
} from "../pipelines/sweep";

const trails = listOf(process.env[RELIABILITY_ENV.trails]);
const rules = listOf(process.env[RELIABILITY_ENV.eventRules]);
const deps: SweepDeps = {
  ...defaultRemediationDeps("sweep"),
  identity: stsIdentity(process.env.AWS_REGION),
  ...(trails.length + rules.length > 0 ? { eventPath: awsEventPathProbe(trails, rules) } : {}),
};

export const handler =
  deps.config.organization === null
    ? createSweepHandler(deps)
    : createOrganizationSweepHandler(deps);
