import { SWEEP_FANOUT, SWEEP_FANOUT_ACTIONS } from "@guardrail/core";
import { APP_NAME } from "./naming";

/*
 * The organisation sweep's Step Functions state machine and its grants, as plain data: the
 * stack deploys them (stacks/sweep-fanout.ts), the sandbox's local runner executes the same
 * definition, and the tests read both.
 */

/** The state machine's name (also the prefix of its executions' and map runs' ARNs). */
export function sweepStateMachineName(stage: string, app = APP_NAME): string {
  return `${app}-${stage}-sweep`;
}

export function stateMachineArn(
  partition: string,
  region: string,
  accountId: string,
  name: string,
): string {
  return `arn:${partition}:states:${region}:${accountId}:stateMachine:${name}`;
}

/** Lambda task errors worth a retry (AWS's recommended set for `arn:aws:states:::lambda:invoke`). */
const LAMBDA_TRANSIENT = [
  "Lambda.ServiceException",
  "Lambda.AWSLambdaException",
  "Lambda.SdkClientException",
  "Lambda.TooManyRequestsException",
];

export interface SweepMachineInputs {
  readonly workerArn: string;
  readonly summaryArn: string;
  readonly bucket: string;
  readonly batchSize?: number;
  readonly maxConcurrency?: number;
  readonly toleratedFailurePercentage?: number;
}

/**
 * A Distributed Map over the run's JSON manifest (ItemReader: a 17,000-target list is far past
 * the 256 KiB state payload), batches of targets per worker (ItemBatcher, with the run id as
 * BatchInput), a concurrency cap, a tolerated failure percentage, Express child executions
 * (each one Lambda call, under Express's 5 minutes), results written to S3 (ResultWriter: the
 * aggregated output would pass 256 KiB too), then one summary step. A failed Map Run (past the
 * tolerance) is caught and still summarised, so the run's summary is published either way.
 * https://docs.aws.amazon.com/step-functions/latest/dg/state-map-distributed.html
 */
export function sweepStateMachineDefinition(i: SweepMachineInputs) {
  const lambdaTask = (functionName: string, next: { End: true } | { Next: string }) => ({
    Type: "Task",
    Resource: "arn:aws:states:::lambda:invoke",
    Parameters: { FunctionName: functionName, "Payload.$": "$" },
    OutputPath: "$.Payload",
    Retry: [{ ErrorEquals: LAMBDA_TRANSIENT, IntervalSeconds: 2, MaxAttempts: 3, BackoffRate: 2 }],
    ...next,
  });
  return {
    Comment:
      "Network guardrail: the organisation sweep, one batch of (account, Region) targets per worker",
    TimeoutSeconds: SWEEP_FANOUT.runTimeoutSeconds,
    StartAt: "SweepTargets",
    States: {
      SweepTargets: {
        Type: "Map",
        ItemReader: {
          Resource: "arn:aws:states:::s3:getObject",
          ReaderConfig: { InputType: "JSON" },
          Parameters: { "Bucket.$": "$.manifest.bucket", "Key.$": "$.manifest.key" },
        },
        ItemBatcher: {
          MaxItemsPerBatch: i.batchSize ?? SWEEP_FANOUT.batchSize,
          BatchInput: { "runId.$": "$.runId" },
        },
        MaxConcurrency: i.maxConcurrency ?? SWEEP_FANOUT.maxConcurrency,
        ToleratedFailurePercentage:
          i.toleratedFailurePercentage ?? SWEEP_FANOUT.toleratedFailurePercentage,
        ItemProcessor: {
          ProcessorConfig: { Mode: "DISTRIBUTED", ExecutionType: "EXPRESS" },
          StartAt: "SweepBatch",
          States: { SweepBatch: lambdaTask(i.workerArn, { End: true }) },
        },
        ResultWriter: {
          Resource: "arn:aws:states:::s3:putObject",
          Parameters: { Bucket: i.bucket, Prefix: SWEEP_FANOUT.resultsPrefix.replace(/\/$/, "") },
        },
        ResultPath: "$.results",
        Catch: [{ ErrorEquals: ["States.ALL"], ResultPath: "$.mapError", Next: "Summarise" }],
        Next: "Summarise",
      },
      Summarise: lambdaTask(i.summaryArn, { End: true }),
    },
  };
}

/** An IAM policy statement in the JSON shape IAM takes. */
export interface PolicyStatement {
  readonly Effect: "Allow";
  readonly Action: string[];
  readonly Resource: string[];
  readonly Condition?: Record<string, Record<string, string>>;
}

export interface SweepMachineScope {
  readonly partition: string;
  readonly region: string;
  readonly accountId: string;
  readonly stateMachineName: string;
  readonly bucketArn: string;
  readonly workerArn: string;
  readonly summaryArn: string;
}

/**
 * The state machine's role: invoke the worker and the summary, read manifests, write results,
 * and run its own Distributed Map (start child executions of itself, describe and stop them,
 * and its map runs). Every action named; every resource this machine's.
 * https://docs.aws.amazon.com/step-functions/latest/dg/iam-policies-eg-dist-map.html
 */
export function sweepMachineStatements(s: SweepMachineScope): PolicyStatement[] {
  const base = `arn:${s.partition}:states:${s.region}:${s.accountId}`;
  return [
    allow(SWEEP_FANOUT_ACTIONS.machineInvoke, [
      s.workerArn,
      `${s.workerArn}:*`,
      s.summaryArn,
      `${s.summaryArn}:*`,
    ]),
    allow(SWEEP_FANOUT_ACTIONS.machineReadManifest, [manifests(s.bucketArn)]),
    allow(SWEEP_FANOUT_ACTIONS.machineWriteResults, [results(s.bucketArn)]),
    allow(["states:StartExecution"], [`${base}:stateMachine:${s.stateMachineName}`]),
    allow(
      ["states:DescribeExecution", "states:StopExecution"],
      [`${base}:execution:${s.stateMachineName}/*`],
    ),
    allow(SWEEP_FANOUT_ACTIONS.machineMapRun, [`${base}:mapRun:${s.stateMachineName}/*`]),
  ];
}

function allow(actions: readonly string[], resources: string[]): PolicyStatement {
  return { Effect: "Allow", Action: [...actions], Resource: resources };
}

function manifests(bucketArn: string): string {
  return `${bucketArn}/${SWEEP_FANOUT.manifestPrefix}*`;
}

function results(bucketArn: string): string {
  return `${bucketArn}/${SWEEP_FANOUT.resultsPrefix}*`;
}

export interface SweepRoleScope {
  readonly stateMachineArn: string;
  readonly bucketArn: string;
}

/**
 * What the fan-out adds to the sweep's role, which the planner (the scheduled sweep function),
 * the workers and the summary share (the member roles trust it, the topic accepts it, and the
 * loop guard knows it as the guardrail's own): write manifests, read results, start and list
 * this state machine's executions. Organizations stays read-only (`SWEEP_ORGANIZATIONS_ACTIONS`
 * on the sweep's own statements).
 */
export function sweepFanOutRoleStatements(s: SweepRoleScope): PolicyStatement[] {
  return [
    allow(SWEEP_FANOUT_ACTIONS.writeManifest, [manifests(s.bucketArn)]),
    allow(SWEEP_FANOUT_ACTIONS.readResults, [results(s.bucketArn)]),
    allow(SWEEP_FANOUT_ACTIONS.startRun, [s.stateMachineArn]),
  ];
}
