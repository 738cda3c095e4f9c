import {
  ALARMS,
  BUNDLED_POLICY_FILE,
  SWEEP_FANOUT,
  SWEEP_FANOUT_ENV,
  SWEEP_FANOUT_FUNCTIONS,
  SWEEP_FANOUT_SIZING,
  type SweepFanOutFunction,
} from "@guardrail/core";
import {
  APP_NAME,
  alarmName,
  serviceTrustPolicy,
  stateMachineArn,
  sweepFanOutRoleStatements,
  sweepMachineStatements,
  sweepStateMachineDefinition,
  sweepStateMachineName,
} from "@guardrail/templates";
import { thresholdAlarm } from "./alarms";
import { privateBucket } from "./buckets";
import { appFunction, type GuardrailLambda } from "./functions";
import type { PreparedPolicy } from "./policy-file";
import type { DeploySettings } from "./settings";
import type { DeployTarget } from "./target";

/*
 * Organisation mode: the sweep as planner + workers on a Step Functions Distributed Map
 * (docs/multi-account.md). The scheduled sweep function is the planner; the worker and the
 * summary are Lambdas of their own acting with the sweep's role (the member roles trust it,
 * the topic accepts it, the loop guard knows it); the state machine has a role of its own.
 * SST's `Map` has no ItemReader, ItemBatcher or ToleratedFailurePercentage: a raw
 * `aws.sfn.StateMachine` with the definition from @guardrail/templates.
 */

/** The manifest bucket: encrypted, never public, everything expired after a few days. */
export function createSweepBucket(settings: DeploySettings): aws.s3.Bucket {
  const bucket = privateBucket("SweepBucket", {
    // Manifests and results only: nothing to keep when the stage is removed.
    forceDestroy: !settings.protection,
  });
  new aws.s3.BucketLifecycleConfiguration("SweepBucketLifecycle", {
    bucket: bucket.id,
    rules: [
      {
        id: "expire-runs",
        status: "Enabled",
        filter: {},
        expiration: { days: SWEEP_FANOUT.retentionDays },
        abortIncompleteMultipartUpload: { daysAfterInitiation: 1 },
      },
    ],
  });
  return bucket;
}

/** The state machine's ARN, known before it exists (the planner's environment names it). */
export function sweepStateMachineArn(
  settings: DeploySettings,
  partition: $util.Output<string>,
  accountId: $util.Output<string>,
): $util.Output<string> {
  return $resolve([partition, accountId]).apply(([p, account]) =>
    stateMachineArn(p, settings.region, account, sweepStateMachineName(settings.stage)),
  );
}

/** The planner's settings (the sweep function's environment in organisation mode). */
export function sweepPlannerEnvironment(
  bucket: aws.s3.Bucket,
  machineArn: $util.Output<string>,
): Record<string, $util.Input<string>> {
  return {
    [SWEEP_FANOUT_ENV.bucket]: bucket.bucket,
    [SWEEP_FANOUT_ENV.stateMachineArn]: machineArn,
  };
}

export interface SweepFanOutInputs extends DeployTarget {
  readonly policy: PreparedPolicy;
  readonly bucket: aws.s3.Bucket;
  readonly machineArn: $util.Output<string>;
  /** The sweep function: the planner, whose role and settings the worker and summary share. */
  readonly sweep: GuardrailLambda;
  /** The external id secret, when the sweep links it. */
  readonly externalIdSecret?: sst.Secret;
  /** Where the failed-run alarm notifies. */
  readonly alarmActions: $util.Input<string>[];
}

export function createSweepFanOut(inputs: SweepFanOutInputs) {
  const { settings } = inputs;
  const sweepRole = inputs.sweep.fn.nodes.role;
  // The sweep's settings, without what SST sets per function.
  const environment = inputs.sweep.fn.nodes.function.environment.apply(
    (e): Record<string, string> =>
      Object.fromEntries(Object.entries(e?.variables ?? {}).filter(([k]) => !k.startsWith("SST_"))),
  );

  const functions = Object.fromEntries(
    SWEEP_FANOUT_FUNCTIONS.map((fn) => {
      const f = appFunction(settings, fn, SWEEP_FANOUT_SIZING[fn], {
        environment: $util.all([environment, inputs.bucket.bucket, inputs.machineArn]).apply(
          ([env, bucket, machineArn]): Record<string, string> => ({
            ...env,
            [SWEEP_FANOUT_ENV.bucket]: bucket,
            [SWEEP_FANOUT_ENV.stateMachineArn]: machineArn,
          }),
        ),
        role: sweepRole.arn,
        link: inputs.externalIdSecret ? [inputs.externalIdSecret] : [],
        copyFiles: [{ from: inputs.policy.file, to: BUNDLED_POLICY_FILE }],
      });
      return [fn, f] as const;
    }),
  ) as Record<SweepFanOutFunction, sst.aws.Function>;

  // The planner's grants on the bucket and the state machine (the worker and summary share them).
  new aws.iam.RolePolicy("SweepFanOutPolicy", {
    role: sweepRole.name,
    policy: $resolve([inputs.bucket.arn, inputs.machineArn]).apply(([bucketArn, machineArn]) =>
      JSON.stringify({
        Version: "2012-10-17",
        Statement: sweepFanOutRoleStatements({ bucketArn, stateMachineArn: machineArn }),
      }),
    ),
  });

  const name = sweepStateMachineName(settings.stage);
  const worker = functions["sweep-worker"].nodes.function;
  const summary = functions["sweep-summary"].nodes.function;
  const machineRole = new aws.iam.Role("SweepStateMachineRole", {
    assumeRolePolicy: inputs.accountId.apply((account) =>
      JSON.stringify(serviceTrustPolicy("states.amazonaws.com", account)),
    ),
    inlinePolicies: [
      {
        name: "sweep-fan-out",
        policy: $resolve([
          inputs.partition,
          inputs.accountId,
          inputs.bucket.arn,
          worker.arn,
          summary.arn,
        ]).apply(([partition, accountId, bucketArn, workerArn, summaryArn]) =>
          JSON.stringify({
            Version: "2012-10-17",
            Statement: sweepMachineStatements({
              partition,
              region: settings.region,
              accountId,
              stateMachineName: name,
              bucketArn,
              workerArn,
              summaryArn,
            }),
          }),
        ),
      },
    ],
  });

  const machine = new aws.sfn.StateMachine("SweepStateMachine", {
    name,
    type: "STANDARD",
    roleArn: machineRole.arn,
    definition: $resolve([worker.arn, summary.arn, inputs.bucket.bucket]).apply(
      ([workerArn, summaryArn, bucket]) =>
        JSON.stringify(sweepStateMachineDefinition({ workerArn, summaryArn, bucket })),
    ),
  });

  const runAlarm = (id: string, metricName: string, what: string, description: string) =>
    thresholdAlarm(id, {
      name: alarmName(APP_NAME, settings.stage, what),
      description,
      metric: {
        namespace: "AWS/States",
        metricName,
        dimensions: { StateMachineArn: machine.arn },
        statistic: "Sum",
      },
      limits: ALARMS.functionErrors,
      actions: inputs.alarmActions,
    });
  const alarms = [
    runAlarm(
      "SweepRunFailedAlarm",
      "ExecutionsFailed",
      "sweep-run-failed",
      "An organisation sweep run failed: some targets were not swept (the run's summary on the topic names them).",
    ),
    runAlarm(
      "SweepRunTimedOutAlarm",
      "ExecutionsTimedOut",
      "sweep-run-timed-out",
      "An organisation sweep run was stopped at its timeout: the targets it had not reached were not swept.",
    ),
  ];

  return { machine, machineRole, functions, alarms };
}
