import type { S3Client } from "@aws-sdk/client-s3";
import type { SFNClient } from "@aws-sdk/client-sfn";
import type { SweepRunInput, SweepTarget } from "@guardrail/core";
import { type AwsClientSettings, lazyClient } from "./client-settings";
import { AwsCallError, awsErrorCode, errorMessage } from "./errors";
import { tracedOnFirstUse } from "./trace";

/**
 * The organisation sweep's runs: the manifests the planner writes, the results the Distributed
 * Map's ResultWriter leaves, and the state machine's executions.
 */
export interface SweepRuns {
  /** @throws AwsCallError */
  putManifest(key: string, targets: readonly SweepTarget[]): Promise<void>;
  /** The name of an execution of the state machine still running, or null. @throws AwsCallError */
  running(): Promise<string | null>;
  /**
   * Starts the run named `name`; `exists` when a run of that name was already started (the
   * same schedule slot). @throws AwsCallError
   */
  start(name: string, input: SweepRunInput): Promise<"started" | "exists">;
  /** A JSON object written by ResultWriter (its manifest or a results file). @throws AwsCallError */
  readJson(bucket: string, key: string): Promise<unknown>;
}

export function sfnClient(settings: AwsClientSettings = {}): () => Promise<SFNClient> {
  return lazyClient(settings, "sfn", async (overrides) => {
    const { SFNClient } = await import("./sdk/sfn");
    return new SFNClient({ retryMode: "standard", ...overrides });
  });
}

export function s3Client(settings: AwsClientSettings = {}): () => Promise<S3Client> {
  return lazyClient(settings, "s3", async (overrides) => {
    const { S3Client } = await import("./sdk/s3");
    return new S3Client({ retryMode: "standard", ...overrides });
  });
}

export function createSweepRuns(
  stateMachineArn: string,
  bucket: string,
  clients: { sfn: () => Promise<SFNClient>; s3: () => Promise<S3Client> },
): SweepRuns {
  const sfn = tracedOnFirstUse(clients.sfn);
  const s3 = tracedOnFirstUse(clients.s3);
  const fail = (operation: string) => (error: unknown) => {
    throw new AwsCallError(operation, awsErrorCode(error), errorMessage(error), { cause: error });
  };
  return {
    async putManifest(key, targets) {
      const { PutObjectCommand } = await import("./sdk/s3");
      await (await s3())
        .send(
          new PutObjectCommand({
            Bucket: bucket,
            Key: key,
            Body: JSON.stringify(targets),
            ContentType: "application/json",
          }),
        )
        .catch(fail("PutObject"));
    },
    async running() {
      const { ListExecutionsCommand } = await import("./sdk/sfn");
      const out = await (await sfn())
        .send(
          new ListExecutionsCommand({
            stateMachineArn,
            statusFilter: "RUNNING",
            maxResults: 1,
          }),
        )
        .catch(fail("ListExecutions"));
      return out.executions?.[0]?.name ?? null;
    },
    async start(name, input) {
      const { StartExecutionCommand } = await import("./sdk/sfn");
      try {
        await (await sfn()).send(
          new StartExecutionCommand({ stateMachineArn, name, input: JSON.stringify(input) }),
        );
        return "started";
      } catch (error) {
        // A Standard execution's name is unique for 90 days: the slot's run was started.
        if (awsErrorCode(error) === "ExecutionAlreadyExists") return "exists";
        return fail("StartExecution")(error);
      }
    },
    async readJson(from, key) {
      const { GetObjectCommand } = await import("./sdk/s3");
      const out = await (await s3())
        .send(new GetObjectCommand({ Bucket: from, Key: key }))
        .catch(fail("GetObject"));
      const text = await out.Body?.transformToString();
      try {
        return JSON.parse(text ?? "null") as unknown;
      } catch (error) {
        return fail("GetObject")(error);
      }
    },
  };
}
