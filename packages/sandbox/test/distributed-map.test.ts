import { sweepStateMachineDefinition } from "@guardrail/templates";
import { describe, expect, it } from "vitest";
import { memoryObjects, runLocalStateMachine } from "../src/stepfunctions/distributed-map";

const BUCKET = "sweep-bucket";
const targets = (n: number) =>
  Array.from({ length: n }, (_, i) => ({ account: String(100000000000 + i), region: "eu-west-1" }));

function setup(
  n: number,
  opts: { batchSize?: number; maxConcurrency?: number; tolerated?: number },
) {
  const objects = memoryObjects();
  objects.put(BUCKET, "manifests/run-1.json", JSON.stringify(targets(n)));
  const definition = sweepStateMachineDefinition({
    workerArn: "worker",
    summaryArn: "summary",
    bucket: BUCKET,
    ...(opts.batchSize ? { batchSize: opts.batchSize } : {}),
    ...(opts.maxConcurrency ? { maxConcurrency: opts.maxConcurrency } : {}),
    ...(opts.tolerated !== undefined ? { toleratedFailurePercentage: opts.tolerated } : {}),
  });
  const input = {
    runId: "run-1",
    manifest: { bucket: BUCKET, key: "manifests/run-1.json" },
    targets: n,
  };
  /** Runs the sweep: `worker` answers each batch, `summary` (default: echo) the summary task. */
  const run = (
    worker: (payload: unknown) => Promise<unknown>,
    summary: (payload: unknown) => unknown = (payload) => payload,
    runInput: { runId: string; manifest: { bucket: string; key: string } } = input,
  ) =>
    runLocalStateMachine({
      definition,
      input: runInput,
      objects,
      name: runInput.runId,
      invoke: async (fn, payload) => (fn === "summary" ? summary(payload) : worker(payload)),
    });
  return { objects, run };
}

describe("local Distributed Map runner", () => {
  it("reads the manifest, batches it with the run id and never exceeds MaxConcurrency", async () => {
    const { objects, run } = setup(50, { batchSize: 7, maxConcurrency: 3 });
    const seen: unknown[] = [];
    let inFlight = 0;
    let most = 0;
    const result = await run(
      async (payload) => {
        inFlight++;
        most = Math.max(most, inFlight);
        await new Promise((r) => setTimeout(r, 2));
        inFlight--;
        seen.push(payload);
        return { ok: (payload as { Items: unknown[] }).Items.length };
      },
      (payload) => ({ summarised: payload }),
    );
    expect(result.status).toBe("SUCCEEDED");
    expect(most).toBe(3);
    expect(seen).toHaveLength(8); // ceil(50 / 7)
    expect(seen).toContainEqual({ Items: targets(50).slice(49), BatchInput: { runId: "run-1" } });
    expect(result.mapRuns).toEqual([
      { items: 50, batches: 8, succeeded: 8, failed: 0, maxInFlight: 3, aborted: false },
    ]);
    // The summary gets the run's input and where ResultWriter put the batches' results.
    const summarised = (
      result.output as { summarised: { results: { ResultWriterDetails: { Key: string } } } }
    ).summarised;
    const manifest = JSON.parse(
      objects.get(BUCKET, summarised.results.ResultWriterDetails.Key) ?? "",
    );
    const file = JSON.parse(objects.get(BUCKET, manifest.ResultFiles.SUCCEEDED[0].Key) ?? "");
    expect(file).toHaveLength(8);
    expect(
      file
        .map((e: { Output: string }) => JSON.parse(e.Output).ok)
        .reduce((a: number, b: number) => a + b),
    ).toBe(50);
  });

  it("records failed batches and goes on while under ToleratedFailurePercentage", async () => {
    const { objects, run } = setup(20, { batchSize: 1, maxConcurrency: 4, tolerated: 10 });
    const result = await run(async (payload) => {
      const [t] = (payload as { Items: { account: string }[] }).Items;
      if (t?.account === "100000000003") throw Object.assign(new Error("boom"), { name: "Crash" });
      return {};
    });
    expect(result.status).toBe("SUCCEEDED");
    expect(result.mapRuns[0]).toMatchObject({
      batches: 20,
      succeeded: 19,
      failed: 1,
      aborted: false,
    });
    const out = result.output as { results: { ResultWriterDetails: { Key: string } } };
    const manifest = JSON.parse(objects.get(BUCKET, out.results.ResultWriterDetails.Key) ?? "");
    const failed = JSON.parse(objects.get(BUCKET, manifest.ResultFiles.FAILED[0].Key) ?? "");
    expect(failed).toEqual([
      expect.objectContaining({ Status: "FAILED", Error: "Crash", Cause: "boom" }),
    ]);
    expect(JSON.parse(failed[0].Input).Items).toEqual([
      { account: "100000000003", region: "eu-west-1" },
    ]);
  });

  it("stops the Map Run past the tolerated percentage and hands the error to the summary", async () => {
    const { run } = setup(20, { batchSize: 1, maxConcurrency: 1, tolerated: 10 });
    let calls = 0;
    const result = await run(async () => {
      calls++;
      throw Object.assign(new Error("down"), { name: "Crash" });
    });
    // 3 of 20 items failed is 15% > 10%: nothing more is started after the third failure.
    expect(calls).toBe(3);
    expect(result.status).toBe("SUCCEEDED");
    expect((result.output as { mapError: unknown }).mapError).toEqual({
      Error: "States.ExceedToleratedFailureThreshold",
      Cause: "3 of 20 items failed (tolerated: 10%)",
    });
    expect(result.mapRuns[0]).toMatchObject({ aborted: true, failed: 3 });
  });

  it("retries a worker throttled by Lambda, as the task's Retry says", async () => {
    const { run } = setup(3, { batchSize: 3 });
    let attempts = 0;
    const result = await run(
      async () => {
        attempts++;
        if (attempts < 3)
          throw Object.assign(new Error("rate"), { name: "Lambda.TooManyRequestsException" });
        return {};
      },
      () => "done",
    );
    expect(attempts).toBe(3);
    expect(result).toMatchObject({ status: "SUCCEEDED", output: "done" });
  });

  it("fails the Map state when the manifest is missing", async () => {
    const { run } = setup(1, {});
    const result = await run(async (payload) => payload, undefined, {
      runId: "x",
      manifest: { bucket: BUCKET, key: "manifests/none.json" },
    });
    expect((result.output as { mapError: { Error: string } }).mapError.Error).toBe(
      "States.ItemReaderFailed",
    );
  });
});
