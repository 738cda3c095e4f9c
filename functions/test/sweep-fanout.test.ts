import "./setup";
import { GetObjectCommand, PutObjectCommand, S3Client } from "@aws-sdk/client-s3";
import { ListExecutionsCommand, SFNClient, StartExecutionCommand } from "@aws-sdk/client-sfn";
import { PublishCommand, SNSClient } from "@aws-sdk/client-sns";
import { AwsCallError, createSweepRuns, type SweepRuns } from "@guardrail/aws";
import {
  ConfigurationError,
  METRICS,
  SWEEP_FANOUT_METRICS,
  SWEEP_RUN_MESSAGE_SCHEMA,
} from "@guardrail/core";
import { mockClient } from "aws-sdk-client-mock";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { loadConfig } from "../src/config";
import { SweepTargetsFailedError } from "../src/errors";
import {
  parseBatchEvent,
  planSweepRun,
  readRunResults,
  type SummaryEvent,
  summariseRun,
  sweepBatch,
} from "../src/pipelines/sweep-fanout";
import { awsError, BASE_ENV, memoryFiles, testDeps } from "./helpers";

const sfn = mockClient(SFNClient);
const s3 = mockClient(S3Client);
const sns = mockClient(SNSClient);
const MACHINE = "arn:aws:states:eu-west-1:123456789012:stateMachine:network-guardrail-test-sweep";
const BUCKET = "sweep-bucket";

const runs = () =>
  createSweepRuns(MACHINE, BUCKET, {
    sfn: async () => new SFNClient({ region: "eu-west-1" }),
    s3: async () => new S3Client({ region: "eu-west-1" }),
  });
/** What GetObject's Body offers the adapter. */
const body = (value: unknown) => ({ transformToString: async () => JSON.stringify(value) });

beforeEach(() => {
  for (const m of [sfn, s3, sns]) m.reset();
  sns.on(PublishCommand).resolves({ MessageId: "m" });
});
afterEach(() => {
  for (const m of [sfn, s3, sns]) m.reset();
});

describe("the sweep runs adapter (S3 and Step Functions)", () => {
  it("writes the manifest as a JSON array under its key", async () => {
    s3.on(PutObjectCommand).resolves({});
    await runs().putManifest("manifests/sweep-x.json", [{ account: "1", region: "r" }]);
    expect(s3).toHaveReceivedCommandWith(PutObjectCommand, {
      Bucket: BUCKET,
      Key: "manifests/sweep-x.json",
      Body: '[{"account":"1","region":"r"}]',
      ContentType: "application/json",
    });
  });

  it("asks Step Functions for one RUNNING execution of this state machine", async () => {
    sfn.on(ListExecutionsCommand).resolves({
      executions: [
        {
          name: "sweep-20261206T1000Z",
          executionArn: "a",
          stateMachineArn: MACHINE,
          status: "RUNNING",
          startDate: new Date(),
        },
      ],
    });
    expect(await runs().running()).toBe("sweep-20261206T1000Z");
    expect(sfn).toHaveReceivedCommandWith(ListExecutionsCommand, {
      stateMachineArn: MACHINE,
      statusFilter: "RUNNING",
      maxResults: 1,
    });
    sfn.on(ListExecutionsCommand).resolves({ executions: [] });
    expect(await runs().running()).toBeNull();
  });

  it("starts the slot's execution by name, and answers `exists` for a name already used", async () => {
    sfn.on(StartExecutionCommand).resolvesOnce({ executionArn: "a", startDate: new Date() });
    const input = {
      runId: "sweep-x",
      manifest: { bucket: BUCKET, key: "k" },
      targets: 1,
      skippedAccounts: 0,
    };
    expect(await runs().start("sweep-x", input)).toBe("started");
    expect(sfn).toHaveReceivedCommandWith(StartExecutionCommand, {
      stateMachineArn: MACHINE,
      name: "sweep-x",
      input: JSON.stringify(input),
    });
    sfn.on(StartExecutionCommand).rejects(awsError("ExecutionAlreadyExists"));
    expect(await runs().start("sweep-x", input)).toBe("exists");
    sfn.on(StartExecutionCommand).rejects(awsError("AccessDeniedException"));
    await expect(runs().start("sweep-x", input)).rejects.toBeInstanceOf(AwsCallError);
  });

  it("reads ResultWriter's JSON objects", async () => {
    s3.on(GetObjectCommand).resolves({ Body: body({ ResultFiles: {} }) } as never);
    expect(await runs().readJson(BUCKET, "results/x/manifest.json")).toEqual({ ResultFiles: {} });
  });
});

describe("the sweep worker", () => {
  it("refuses a payload that is not a Distributed Map batch, with a typed error", () => {
    expect(() => parseBatchEvent({ Items: [{ account: "1", region: "r" }] })).toThrow(
      ConfigurationError,
    );
    expect(() => parseBatchEvent({ Items: [{ account: 1 }], BatchInput: { runId: "r" } })).toThrow(
      "sweep batch item 0 has no account and region",
    );
    expect(parseBatchEvent({ Items: [], BatchInput: { runId: "r" } })).toEqual({
      Items: [],
      BatchInput: { runId: "r" },
    });
  });

  it("refuses to run outside organisation mode", async () => {
    const deps = {
      ...testDeps({ fn: "sweep" }),
      identity: async () => ({ account: "1", region: "r" }),
    };
    await expect(sweepBatch({ Items: [], BatchInput: { runId: "r" } }, deps)).rejects.toThrow(
      "the sweep worker needs organisation mode",
    );
  });
});

/** A SweepRuns whose objects are in memory (only readJson is used by the summary). */
function memoryRuns(objects: Record<string, unknown>): SweepRuns {
  return {
    putManifest: async () => {},
    running: async () => null,
    start: async () => "started",
    readJson: async (bucket, key) => {
      const v = objects[`${bucket}/${key}`];
      if (v === undefined) throw new Error(`no ${key}`);
      return v;
    },
  };
}

const t = (account: string, region = "eu-west-1") => ({ account, region });
const swept = (account: string) => ({
  ...t(account),
  revoked: 1,
  failed: 0,
  notifyOnly: 0,
  published: true,
  durationMs: 40,
});
/** A batch ResultWriter files as SUCCEEDED: the worker swept `account` in run "run". */
const succeededBatch = (account: string) => ({
  Status: "SUCCEEDED",
  Output: JSON.stringify({ runId: "run", swept: [swept(account)], failures: [], notDeployed: [] }),
});

/** The hub's sweep dependencies, its runs in `runs`. */
const hubDeps = (runs: SweepRuns, now?: Date) => ({
  ...testDeps({ fn: "sweep", now }),
  identity: async () => t("hub"),
  bucket: BUCKET,
  runs,
});

/** What the state machine hands the summary step of run "run" that planned `targets` targets. */
const summaryInput = (
  targets: number,
  end: Pick<SummaryEvent, "results" | "mapError">,
): SummaryEvent => ({
  runId: "run",
  manifest: { bucket: BUCKET, key: "manifests/run.json" },
  targets,
  skippedAccounts: 0,
  ...end,
});

describe("the sweep summary", () => {
  const objects = {
    [`${BUCKET}/results/run/manifest.json`]: {
      DestinationBucket: BUCKET,
      ResultFiles: {
        SUCCEEDED: [{ Key: "results/run/SUCCEEDED_0.json" }],
        FAILED: [{ Key: "results/run/FAILED_0.json" }],
      },
    },
    [`${BUCKET}/results/run/SUCCEEDED_0.json`]: [succeededBatch("a")],
    [`${BUCKET}/results/run/FAILED_0.json`]: [
      {
        Status: "FAILED",
        Error: "Sandbox.Timedout",
        Cause: "Task timed out after 120.00 seconds",
        Input: JSON.stringify({
          Items: [t("b"), t("b", "us-east-1")],
          BatchInput: { runId: "run" },
        }),
      },
    ],
  };

  it("reads each succeeded batch's result and each failed batch's targets", async () => {
    const r = await readRunResults(
      { Bucket: BUCKET, Key: "results/run/manifest.json" },
      memoryRuns(objects),
    );
    expect(r.batches).toHaveLength(1);
    expect(r.crashed).toEqual([
      {
        targets: [t("b"), t("b", "us-east-1")],
        error: "Sandbox.Timedout",
        cause: "Task timed out after 120.00 seconds",
      },
    ]);
  });

  it("publishes the run's summary once and fails the run naming the targets not swept", async () => {
    const error = await summariseRun(
      summaryInput(3, {
        results: { ResultWriterDetails: { Bucket: BUCKET, Key: "results/run/manifest.json" } },
      }),
      hubDeps(memoryRuns(objects)),
    ).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(SweepTargetsFailedError);
    expect((error as Error).message).toBe(
      "2 of 3 sweep target(s) not swept: b/eu-west-1 (Sandbox.Timedout), b/us-east-1 (Sandbox.Timedout)",
    );
    expect(sns).toHaveReceivedCommandTimes(PublishCommand, 1);
    const message = JSON.parse(String(sns.commandCalls(PublishCommand)[0]?.args[0].input.Message));
    expect(message).toMatchObject({
      schema: SWEEP_RUN_MESSAGE_SCHEMA,
      swept: 1,
      revoked: 1,
      planned: 3,
    });
  });

  it("reports every target as not swept when the Map Run stopped before writing results", async () => {
    await expect(
      summariseRun(
        summaryInput(5, {
          mapError: { Error: "States.ExceedToleratedFailureThreshold", Cause: "too many" },
        }),
        hubDeps(memoryRuns({})),
      ),
    ).rejects.toThrow(
      "5 of 5 sweep target(s) not swept (States.ExceedToleratedFailureThreshold: too many)",
    );
    expect(sns).toHaveReceivedCommandTimes(PublishCommand, 1);
  });

  it("publishes nothing and succeeds when every target was swept and nothing needs attention", async () => {
    const quiet = {
      [`${BUCKET}/m.json`]: { ResultFiles: { SUCCEEDED: [{ Key: "s.json" }] } },
      [`${BUCKET}/s.json`]: [succeededBatch("a")],
    };
    const summary = await summariseRun(
      summaryInput(1, { results: { ResultWriterDetails: { Bucket: BUCKET, Key: "m.json" } } }),
      hubDeps(memoryRuns(quiet)),
    );
    expect(summary).toMatchObject({ swept: 1, missing: 0, failures: [], crashed: [] });
    expect(sns).toHaveReceivedCommandTimes(PublishCommand, 0);
  });
});

describe("the sweep planner", () => {
  /** Five minutes into the 10:15 slot. */
  const SLOT_TIME = new Date("2026-12-06T10:20:00Z");
  const config = loadConfig(
    "sweep",
    {
      ...BASE_ENV,
      AWS_REGION: "eu-west-1",
      GUARDRAIL_ORG_ID: "o-a1b2c3d4e5",
      GUARDRAIL_MEMBER_ROLE_NAME: "network-guardrail-test-member",
      GUARDRAIL_EXTERNAL_ID: "guardrail-3f9c1e",
      GUARDRAIL_ACCOUNTS: "444455556666,777788889999",
      GUARDRAIL_REGIONS: "eu-west-1,us-east-1",
    },
    memoryFiles(),
  );
  const disabledRule = {
    trails: async () => [],
    rules: async () => [
      { rule: "network-guardrail-test-security-group-change", state: "DISABLED" },
    ],
  };

  it("checks the event path once per slot and starts nothing while a run is still going", async () => {
    const started: string[] = [];
    const deps = {
      ...hubDeps(
        {
          ...memoryRuns({}),
          running: async () => "sweep-20261206T1000Z",
          start: async (name: string) => {
            started.push(name);
            return "started" as const;
          },
        },
        SLOT_TIME,
      ),
      config,
      eventPath: disabledRule,
    };
    expect(await planSweepRun(deps)).toEqual({
      status: "previous-run-still-going",
      runId: "sweep-20261206T1015Z",
      running: "sweep-20261206T1000Z",
    });
    expect(started).toEqual([]);
    expect(deps.addMetric).toHaveBeenCalledWith(METRICS.eventPathChecksFailed, "Count", 1);
    expect(deps.addMetric).toHaveBeenCalledWith(SWEEP_FANOUT_METRICS.runsSkipped, "Count", 1);
  });

  it("writes the manifest and starts the slot's run with it", async () => {
    const manifests: Record<string, unknown> = {};
    const starts: unknown[] = [];
    const deps = {
      ...hubDeps(
        {
          ...memoryRuns({}),
          putManifest: async (key: string, targets: readonly unknown[]) => {
            manifests[key] = targets;
          },
          start: async (name: string, input: unknown) => {
            starts.push({ name, input });
            return "started" as const;
          },
        },
        SLOT_TIME,
      ),
      config,
    };
    expect(await planSweepRun(deps)).toMatchObject({ status: "started", targets: 4 });
    expect(Object.keys(manifests)).toEqual(["manifests/sweep-20261206T1015Z.json"]);
    expect(starts).toEqual([
      {
        name: "sweep-20261206T1015Z",
        input: {
          runId: "sweep-20261206T1015Z",
          manifest: { bucket: BUCKET, key: "manifests/sweep-20261206T1015Z.json" },
          targets: 4,
          skippedAccounts: 0,
        },
      },
    ]);
  });
});
