import { defaultRemediationDeps } from "../deps";
import { createSweepHandler, stsIdentity } from "../pipelines/sweep";

export const handler = createSweepHandler({
  ...defaultRemediationDeps("sweep"),
  identity: stsIdentity(process.env.AWS_REGION),
});
