import { SWEEP_FANOUT, SWEEP_FANOUT_SIZING } from "@guardrail/core";

/**
 * The organisation sweep fan-out's monthly cost, from list prices (US East (N. Virginia), on
 * demand, without free tiers) and the run's shape. docs/multi-account.md prints `costTable()`;
 * test/org/sweep-fanout-cost.test.ts checks the doc against it, and bench/sweep-fanout.ts checks
 * that the measured worker time stays within `WORKER_SECONDS_PER_BATCH`.
 */
export const PRICES = {
  /** Step Functions Standard: $0.025 per 1,000 state transitions (aws.amazon.com/step-functions/pricing/). */
  standardTransition: 0.025 / 1000,
  /** Step Functions Express: $1.00 per million requests (same page). */
  expressRequest: 1 / 1_000_000,
  /** Step Functions Express: $0.00001667 per GB-second, billed in 64 MB chunks (same page). */
  expressGbSecond: 0.00001667,
  /** Lambda on Arm: $0.0000133334 per GB-second (aws.amazon.com/lambda/pricing/). */
  lambdaArmGbSecond: 0.0000133334,
  /** Lambda: $0.20 per million requests (same page). */
  lambdaRequest: 0.2 / 1_000_000,
  /** S3 Standard: PUT $0.005 per 1,000, GET $0.0004 per 1,000 (aws.amazon.com/s3/pricing/). */
  s3Put: 0.005 / 1000,
  s3Get: 0.0004 / 1000,
  /** SQS standard queue: $0.40 per million requests (aws.amazon.com/sqs/pricing/). */
  sqsRequest: 0.4 / 1_000_000,
  /** DynamoDB on demand: $1.25 per million write request units (aws.amazon.com/dynamodb/pricing/). */
  dynamoWrite: 1.25 / 1_000_000,
} as const;

/** Regions per account in the estimates (the benchmark's 17). */
export const REGIONS_PER_ACCOUNT = 17;

/**
 * One worker invocation (a batch of `SWEEP_FANOUT.batchSize` targets, four at a time: 5
 * rounds), in seconds: about 1.5 s per target for estates of a few hundred rules. The benchmark
 * measures 1.7 s per batch for 20 rules per target at 250 ms EC2/STS latency, and fails its
 * target if a batch ever takes longer than this on average.
 */
export const WORKER_SECONDS_PER_BATCH = 8;
/** The planner (Organizations pages, the manifest) and the summary (reading results), each. */
export const PLANNER_SECONDS = 5;
export const SUMMARY_SECONDS = 5;
/** State transitions of the parent execution: the Map state and the summary. */
export const PARENT_TRANSITIONS = 2;
/** S3 per run: the manifest and ResultWriter's files (PUT); the Map's and the summary's reads (GET). */
export const S3_PUTS_PER_RUN = 4;
export const S3_GETS_PER_RUN = 4;
/** Express memory is billed in 64 MB chunks; a one-task child stays in the first. */
const EXPRESS_GB = 64 / 1024;

export const RUNS_PER_MONTH = { "every 15 minutes": (30 * 24 * 60) / 15, hourly: 30 * 24 } as const;

export interface RunCost {
  readonly targets: number;
  readonly batches: number;
  readonly lambda: number;
  readonly stepFunctions: number;
  readonly s3: number;
  readonly total: number;
}

/** The cost of one run over `accounts` × REGIONS_PER_ACCOUNT targets. */
export function runCost(accounts: number): RunCost {
  const targets = accounts * REGIONS_PER_ACCOUNT;
  const batches = Math.ceil(targets / SWEEP_FANOUT.batchSize);
  const workerGb = SWEEP_FANOUT_SIZING["sweep-worker"].memoryMb / 1024;
  const summaryGb = SWEEP_FANOUT_SIZING["sweep-summary"].memoryMb / 1024;
  const plannerGb = 1; // the sweep function's 1,024 MB
  const lambda =
    (batches + 2) * PRICES.lambdaRequest +
    (batches * WORKER_SECONDS_PER_BATCH * workerGb +
      PLANNER_SECONDS * plannerGb +
      SUMMARY_SECONDS * summaryGb) *
      PRICES.lambdaArmGbSecond;
  const stepFunctions =
    PARENT_TRANSITIONS * PRICES.standardTransition +
    batches * PRICES.expressRequest +
    batches * WORKER_SECONDS_PER_BATCH * EXPRESS_GB * PRICES.expressGbSecond;
  const s3 = S3_PUTS_PER_RUN * PRICES.s3Put + S3_GETS_PER_RUN * PRICES.s3Get;
  return { targets, batches, lambda, stepFunctions, s3, total: lambda + stepFunctions + s3 };
}

/**
 * The SQS alternative's orchestration cost per run (the Lambda time is the same): per batch a
 * send, a receive and a delete, and a completion counter update in DynamoDB.
 */
export function sqsOrchestrationCost(accounts: number): number {
  const batches = Math.ceil((accounts * REGIONS_PER_ACCOUNT) / SWEEP_FANOUT.batchSize);
  return batches * (3 * PRICES.sqsRequest + PRICES.dynamoWrite);
}

export const usd = (v: number) => (v >= 100 ? `$${v.toFixed(0)}` : `$${v.toFixed(2)}`);

/** The doc's table: monthly cost for 200 and 2,000 accounts, every 15 minutes and hourly. */
export function costTable(): { header: string[]; rows: string[][] } {
  const rows: string[][] = [];
  for (const accounts of [200, 2000]) {
    const run = runCost(accounts);
    for (const [schedule, runs] of Object.entries(RUNS_PER_MONTH)) {
      rows.push([
        accounts.toLocaleString("en-US"),
        schedule,
        run.targets.toLocaleString("en-US"),
        run.batches.toLocaleString("en-US"),
        usd(run.lambda * runs),
        usd(run.stepFunctions * runs),
        usd(run.s3 * runs),
        usd(run.total * runs),
        usd(sqsOrchestrationCost(accounts) * runs),
      ]);
    }
  }
  return {
    header: [
      "accounts",
      "schedule",
      "targets per run",
      "worker invocations per run",
      "Lambda",
      "Step Functions",
      "S3",
      "total per month",
      "SQS + DynamoDB instead of Step Functions",
    ],
    rows,
  };
}
