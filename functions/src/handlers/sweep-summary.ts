import { stsIdentity } from "@guardrail/aws/identity";
import { createSweepRuns, s3Client, sfnClient } from "@guardrail/aws/sweep-runs";
import { ConfigurationError, SWEEP_FANOUT_ENV } from "@guardrail/core";
import { defaultRemediationDeps } from "../deps";
import { createSweepSummaryHandler } from "../pipelines/sweep-fanout";

const stateMachineArn = process.env[SWEEP_FANOUT_ENV.stateMachineArn]?.trim() ?? "";
const bucket = process.env[SWEEP_FANOUT_ENV.bucket]?.trim();
if (!bucket) throw new ConfigurationError(`${SWEEP_FANOUT_ENV.bucket} is not set`);

export const handler = createSweepSummaryHandler({
  ...defaultRemediationDeps("sweep"),
  identity: stsIdentity(process.env.AWS_REGION),
  bucket,
  runs: createSweepRuns(stateMachineArn, bucket, { sfn: sfnClient(), s3: s3Client() }),
});
