import { stsIdentity } from "@guardrail/aws/identity";
import { defaultRemediationDeps } from "../deps";
import { createSweepWorkerHandler } from "../pipelines/sweep-fanout";

// The worker acts as the sweep: the sweep's role, settings and member-role sessions.
export const handler = createSweepWorkerHandler({
  ...defaultRemediationDeps("sweep"),
  identity: stsIdentity(process.env.AWS_REGION),
});
