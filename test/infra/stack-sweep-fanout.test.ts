import {
  FUNCTION_ENV,
  ORG_FUNCTION_ENV,
  SWEEP_FANOUT,
  SWEEP_FANOUT_ENV,
  SWEEP_ORGANIZATIONS_ACTIONS,
} from "@guardrail/core";
import { sweepStateMachineDefinition, sweepStateMachineName } from "@guardrail/templates";
import { beforeAll, describe, expect, it, vi } from "vitest";
import { ACCOUNT_ID, REGION, type RecordedResource, runStack, type StackRun } from "./sst-harness";

vi.mock("../../.sst/platform/src/components/rpc/rpc", async () =>
  (await import("./sst-rpc-mock")).mockedRpcModule(),
);

/*
 * Organisation mode's sweep fan-out, deployed into Pulumi mocks as `sst deploy` would: the
 * manifest bucket, the Distributed Map state machine and its role, the worker and summary
 * Lambdas, the planner's (the sweep's) extra grants, and the run alarms.
 */

const STAGE = "ci";
const ORG_ID = "o-a1b2c3d4e5";
let stack: StackRun;

beforeAll(async () => {
  stack = await runStack(STAGE, {
    GUARDRAIL_ORG_ID: ORG_ID,
    GUARDRAIL_EXTERNAL_ID: "guardrail-3f9c1e7a",
    GUARDRAIL_REGIONS: REGION,
  });
}, 480_000);

// biome-ignore lint/suspicious/noExplicitAny: resource inputs are arbitrary provider JSON.
type Inputs = Record<string, any>;
const inputs = (r: RecordedResource) => r.inputs as Inputs;
interface Statement {
  Effect: string;
  Action: string | string[];
  Resource: string | string[];
  Condition?: unknown;
}
const list = (v: string | string[]) => (Array.isArray(v) ? v : [v]);
const MACHINE_NAME = sweepStateMachineName(STAGE);
const MACHINE_ARN = `arn:aws:states:${REGION}:${ACCOUNT_ID}:stateMachine:${MACHINE_NAME}`;

const bucket = () => stack.one("aws:s3/bucket:Bucket", "SweepBucket");
const machine = () => stack.one("aws:sfn/stateMachine:StateMachine", "SweepStateMachine");
const lambda = (name: string) => stack.one("aws:lambda/function:Function", `${name}Function`);
const sweepRoleArn = () => String(stack.one("aws:iam/role:Role", "SweepRole").state.arn);
const env = (name: string) =>
  (inputs(lambda(name)).environment as { variables: Record<string, string> }).variables;
const bucketArn = () => String(bucket().state.arn);

function noWildcardActions(statements: Statement[]) {
  for (const s of statements) {
    for (const a of list(s.Action)) expect(a, JSON.stringify(s)).not.toContain("*");
  }
}

describe("sweep fan-out: the manifest bucket", () => {
  it("is encrypted, never public, and expires manifests and results", () => {
    const id = bucket().state.id;
    expect(
      inputs(
        stack.one(
          "aws:s3/bucketServerSideEncryptionConfiguration:BucketServerSideEncryptionConfiguration",
          "SweepBucketEncryption",
        ),
      ),
    ).toMatchObject({
      bucket: id,
      rules: [{ applyServerSideEncryptionByDefault: { sseAlgorithm: "AES256" } }],
    });
    expect(
      inputs(
        stack.one(
          "aws:s3/bucketPublicAccessBlock:BucketPublicAccessBlock",
          "SweepBucketPublicAccess",
        ),
      ),
    ).toEqual({
      bucket: id,
      blockPublicAcls: true,
      blockPublicPolicy: true,
      ignorePublicAcls: true,
      restrictPublicBuckets: true,
    });
    const lifecycle = inputs(
      stack.one(
        "aws:s3/bucketLifecycleConfiguration:BucketLifecycleConfiguration",
        "SweepBucketLifecycle",
      ),
    );
    expect(lifecycle.bucket).toBe(id);
    expect(lifecycle.rules).toEqual([
      expect.objectContaining({
        status: "Enabled",
        expiration: { days: SWEEP_FANOUT.retentionDays },
      }),
    ]);
  });
});

describe("sweep fan-out: the state machine", () => {
  it("is a Standard machine running the Distributed Map definition over the worker and the summary", () => {
    const m = inputs(machine());
    expect(m.name).toBe(MACHINE_NAME);
    expect(m.type).toBe("STANDARD");
    expect(m.roleArn).toBe(stack.one("aws:iam/role:Role", "SweepStateMachineRole").state.arn);
    const definition = JSON.parse(String(m.definition));
    const workerArn = String(lambda("SweepWorker").state.arn);
    const summaryArn = String(lambda("SweepSummary").state.arn);
    expect(definition).toEqual(
      JSON.parse(
        JSON.stringify(
          sweepStateMachineDefinition({ workerArn, summaryArn, bucket: bucket().state.bucket }),
        ),
      ),
    );
    const map = definition.States.SweepTargets;
    expect(map.ItemReader).toEqual({
      Resource: "arn:aws:states:::s3:getObject",
      ReaderConfig: { InputType: "JSON" },
      Parameters: { "Bucket.$": "$.manifest.bucket", "Key.$": "$.manifest.key" },
    });
    expect(map.ItemBatcher).toEqual({
      MaxItemsPerBatch: SWEEP_FANOUT.batchSize,
      BatchInput: { "runId.$": "$.runId" },
    });
    expect(map.MaxConcurrency).toBe(SWEEP_FANOUT.maxConcurrency);
    expect(map.ToleratedFailurePercentage).toBe(SWEEP_FANOUT.toleratedFailurePercentage);
    expect(map.ItemProcessor.ProcessorConfig).toEqual({
      Mode: "DISTRIBUTED",
      ExecutionType: "EXPRESS",
    });
    expect(map.ItemProcessor.States.SweepBatch.Parameters.FunctionName).toBe(workerArn);
    expect(map.ResultWriter.Parameters.Prefix).toBe("results");
    expect(map.Catch).toEqual([
      { ErrorEquals: ["States.ALL"], ResultPath: "$.mapError", Next: "Summarise" },
    ]);
    expect(definition.States.Summarise.Parameters.FunctionName).toBe(summaryArn);
    expect(definition.TimeoutSeconds).toBe(SWEEP_FANOUT.runTimeoutSeconds);
  });

  it("has a role only Step Functions of this account assumes, with named actions on its own resources", () => {
    const role = inputs(stack.one("aws:iam/role:Role", "SweepStateMachineRole"));
    expect(JSON.parse(String(role.assumeRolePolicy)).Statement).toEqual([
      {
        Effect: "Allow",
        Principal: { Service: "states.amazonaws.com" },
        Action: "sts:AssumeRole",
        Condition: { StringEquals: { "aws:SourceAccount": ACCOUNT_ID } },
      },
    ]);
    const statements = (role.inlinePolicies as { policy: string }[]).flatMap(
      (p) => JSON.parse(p.policy).Statement as Statement[],
    );
    noWildcardActions(statements);
    const workerArn = String(lambda("SweepWorker").state.arn);
    const summaryArn = String(lambda("SweepSummary").state.arn);
    const grants = Object.fromEntries(
      statements.flatMap((s) => list(s.Action).map((a) => [a, list(s.Resource)])),
    );
    expect(grants["lambda:InvokeFunction"]).toEqual([
      workerArn,
      `${workerArn}:*`,
      summaryArn,
      `${summaryArn}:*`,
    ]);
    expect(grants["s3:GetObject"]).toBeDefined();
    const s3 = statements.filter((s) => list(s.Action).some((a) => a.startsWith("s3:")));
    expect(s3.flatMap((s) => list(s.Resource)).sort()).toEqual([
      `${bucketArn()}/manifests/*`,
      `${bucketArn()}/results/*`,
    ]);
    expect(grants["states:StartExecution"]).toEqual([MACHINE_ARN]);
    expect(grants["states:DescribeExecution"]).toEqual([
      `arn:aws:states:${REGION}:${ACCOUNT_ID}:execution:${MACHINE_NAME}/*`,
    ]);
  });

  it("alarms on a failed or timed-out run", () => {
    const alarms = stack
      .of("aws:cloudwatch/metricAlarm:MetricAlarm")
      .filter((a) => inputs(a).namespace === "AWS/States");
    expect(alarms.map((a) => inputs(a).metricName).sort()).toEqual([
      "ExecutionsFailed",
      "ExecutionsTimedOut",
    ]);
    for (const a of alarms) {
      expect(inputs(a).dimensions).toEqual({ StateMachineArn: machine().state.arn });
      expect(inputs(a).alarmActions).toHaveLength(2);
    }
  });
});

describe("sweep fan-out: the planner, the workers and the summary", () => {
  it("makes the scheduled sweep the planner: it names the bucket and the state machine", () => {
    expect(env("Sweep")[SWEEP_FANOUT_ENV.stateMachineArn]).toBe(MACHINE_ARN);
    expect(env("Sweep")[SWEEP_FANOUT_ENV.bucket]).toBe(bucket().state.bucket);
    expect(bucket().state.bucket).toMatch(/^sweepbucket-/);
  });

  it("runs the worker and the summary with the sweep's role and settings (the member roles trust it)", () => {
    for (const name of ["SweepWorker", "SweepSummary"]) {
      const f = inputs(lambda(name));
      expect(f.role, name).toBe(sweepRoleArn());
      expect(f.runtime, name).toBe("nodejs22.x");
      for (const key of [
        FUNCTION_ENV.tableName,
        FUNCTION_ENV.topicArn,
        ORG_FUNCTION_ENV.orgId,
        ORG_FUNCTION_ENV.memberRoleName,
        SWEEP_FANOUT_ENV.bucket,
      ]) {
        expect(env(name)[key], `${name} ${key}`).toBe(env("Sweep")[key]);
      }
    }
    // An Express child execution lasts at most 5 minutes: the worker must end well before.
    expect(inputs(lambda("SweepWorker")).timeout).toBe(SWEEP_FANOUT.workerTimeoutSeconds);
    expect(SWEEP_FANOUT.workerTimeoutSeconds).toBeLessThan(300);
    const built = stack.builds.map((b) => JSON.stringify(b));
    for (const h of ["sweep-worker", "sweep-summary"]) {
      expect(
        built.some((b) => b.includes(`handlers/${h}`)),
        h,
      ).toBe(true);
    }
  });

  it("adds to the sweep's role only the manifest, results and this machine's runs; Organizations stays read-only", () => {
    const policy = inputs(stack.one("aws:iam/rolePolicy:RolePolicy", "SweepFanOutPolicy"));
    expect(policy.role).toBe(stack.one("aws:iam/role:Role", "SweepRole").state.name);
    const statements = JSON.parse(String(policy.policy)).Statement as Statement[];
    noWildcardActions(statements);
    expect(statements).toEqual([
      { Effect: "Allow", Action: ["s3:PutObject"], Resource: [`${bucketArn()}/manifests/*`] },
      { Effect: "Allow", Action: ["s3:GetObject"], Resource: [`${bucketArn()}/results/*`] },
      {
        Effect: "Allow",
        Action: ["states:StartExecution", "states:ListExecutions"],
        Resource: [MACHINE_ARN],
      },
    ]);
    const sweepRole = inputs(stack.one("aws:iam/role:Role", "SweepRole"));
    const sweepStatements = (sweepRole.inlinePolicies as { policy: string }[]).flatMap(
      (p) => JSON.parse(p.policy).Statement as Statement[],
    );
    noWildcardActions(sweepStatements);
    const orgActions = sweepStatements
      .flatMap((s) => list(s.Action))
      .filter((a) => a.startsWith("organizations:"));
    expect(orgActions.sort()).toEqual([...SWEEP_ORGANIZATIONS_ACTIONS].sort());
    expect(orgActions.every((a) => /^organizations:(List|Describe)/.test(a))).toBe(true);
  });
});
