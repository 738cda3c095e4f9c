/*
 * A small local Step Functions runner for the states the organisation sweep's state machine
 * uses: a Distributed Map (ItemReader over a JSON object, ItemBatcher with BatchInput,
 * MaxConcurrency, ToleratedFailurePercentage, an ItemProcessor of one Lambda task, ResultWriter,
 * ResultPath, Catch) and Lambda tasks (`arn:aws:states:::lambda:invoke` with `Payload.$` and
 * `OutputPath: $.Payload`). It executes the deployed definition as data, so the sandbox runs the
 * same planner, workers and summary as AWS does. Anything else in a definition is refused.
 */

/** The objects ItemReader reads and ResultWriter writes (a local S3). */
export interface LocalObjects {
  get(bucket: string, key: string): string | undefined;
  put(bucket: string, key: string, body: string): void;
}

export function memoryObjects(): LocalObjects & { readonly keys: () => string[] } {
  const store = new Map<string, string>();
  return {
    get: (bucket, key) => store.get(`${bucket}/${key}`),
    put: (bucket, key, body) => {
      store.set(`${bucket}/${key}`, body);
    },
    keys: () => [...store.keys()],
  };
}

/** Invokes a Lambda function by the name or ARN a task names; rejects as the function fails. */
export type LocalInvoke = (functionName: string, payload: unknown) => Promise<unknown>;

/** A state-machine error, with Step Functions' `Error` and `Cause`. */
export class StatesError extends Error {
  readonly error: string;
  readonly cause_: string;
  constructor(error: string, cause: string) {
    super(`${error}: ${cause}`);
    this.name = "StatesError";
    this.error = error;
    this.cause_ = cause;
  }
}

/** What the runner saw of the Map Run (for tests and the benchmark). */
export interface LocalMapRunStats {
  readonly items: number;
  readonly batches: number;
  readonly succeeded: number;
  readonly failed: number;
  readonly maxInFlight: number;
  readonly aborted: boolean;
}

type Json = Record<string, unknown>;

function path(value: unknown, p: string): unknown {
  if (p === "$") return value;
  if (!p.startsWith("$.")) throw new StatesError("States.Runtime", `unsupported path ${p}`);
  let v: unknown = value;
  for (const part of p.slice(2).split(".")) v = (v as Json | undefined)?.[part];
  return v;
}

/** Resolves a Parameters-style template: keys ending in `.$` take the path's value. */
function resolve(template: Json, input: unknown): Json {
  const out: Json = {};
  for (const [k, v] of Object.entries(template)) {
    if (k.endsWith(".$")) out[k.slice(0, -2)] = path(input, String(v));
    else if (v !== null && typeof v === "object" && !Array.isArray(v))
      out[k] = resolve(v as Json, input);
    else out[k] = v;
  }
  return out;
}

function setPath(input: unknown, p: string, value: unknown): unknown {
  if (p === "$") return value;
  const parts = p.slice(2).split(".");
  const out = { ...(input as Json) };
  let cur = out;
  for (const part of parts.slice(0, -1)) {
    cur[part] = { ...((cur[part] as Json | undefined) ?? {}) };
    cur = cur[part] as Json;
  }
  cur[parts[parts.length - 1] as string] = value;
  return out;
}

export interface LocalRunOptions {
  readonly definition: { StartAt: string; States: Record<string, unknown> };
  readonly input: unknown;
  readonly objects: LocalObjects;
  readonly invoke: LocalInvoke;
  /** The execution's name (the results are written under it). */
  readonly name: string;
}

export interface LocalRunResult {
  readonly status: "SUCCEEDED" | "FAILED";
  readonly output: unknown;
  readonly error?: { readonly Error: string; readonly Cause: string };
  readonly mapRuns: LocalMapRunStats[];
}

/** Runs a state machine definition to its end. */
export async function runLocalStateMachine(o: LocalRunOptions): Promise<LocalRunResult> {
  const mapRuns: LocalMapRunStats[] = [];
  let name: string | undefined = o.definition.StartAt;
  let data: unknown = o.input;
  while (name !== undefined) {
    const state = o.definition.States[name] as Json | undefined;
    if (state === undefined) throw new StatesError("States.Runtime", `no state ${name}`);
    try {
      if (state.Type === "Task") data = await task(state, data, o.invoke);
      else if (state.Type === "Map") {
        const { result, stats } = await distributedMap(state, data, o);
        mapRuns.push(stats);
        data = setPath(data, String(state.ResultPath ?? "$"), result);
      } else
        throw new StatesError("States.Runtime", `unsupported state type ${String(state.Type)}`);
    } catch (error) {
      const aborted = (error as { stats?: LocalMapRunStats }).stats;
      if (aborted !== undefined) mapRuns.push(aborted);
      const e =
        error instanceof StatesError
          ? { Error: error.error, Cause: error.cause_ }
          : { Error: (error as Error).name ?? "Error", Cause: (error as Error).message ?? "" };
      const handler = ((state.Catch as Json[] | undefined) ?? []).find((c) =>
        (c.ErrorEquals as string[]).some((x) => x === "States.ALL" || x === e.Error),
      );
      if (handler === undefined) return { status: "FAILED", output: null, error: e, mapRuns };
      data = setPath(data, String(handler.ResultPath ?? "$"), e);
      name = String(handler.Next);
      continue;
    }
    name = state.End === true ? undefined : (state.Next as string | undefined);
  }
  return { status: "SUCCEEDED", output: data, mapRuns };
}

/** A Lambda task, with its Retry on the errors it names (no waiting: time is the caller's). */
async function task(state: Json, input: unknown, invoke: LocalInvoke): Promise<unknown> {
  if (state.Resource !== "arn:aws:states:::lambda:invoke") {
    throw new StatesError("States.Runtime", `unsupported resource ${String(state.Resource)}`);
  }
  const params = resolve(state.Parameters as Json, input);
  const retry = ((state.Retry as Json[] | undefined) ?? [])[0];
  const attempts = 1 + Number(retry?.MaxAttempts ?? 0);
  for (let attempt = 1; ; attempt++) {
    try {
      const payload = await invoke(String(params.FunctionName), params.Payload);
      const result = { Payload: payload, StatusCode: 200 };
      return state.OutputPath === undefined ? result : path(result, String(state.OutputPath));
    } catch (error) {
      const code = (error as Error).name;
      const retryable = (retry?.ErrorEquals as string[] | undefined)?.includes(code) ?? false;
      if (!retryable || attempt >= attempts) throw error;
    }
  }
}

async function distributedMap(
  state: Json,
  input: unknown,
  o: LocalRunOptions,
): Promise<{ result: unknown; stats: LocalMapRunStats }> {
  const reader = state.ItemReader as Json;
  if (reader?.Resource !== "arn:aws:states:::s3:getObject") {
    throw new StatesError("States.Runtime", "ItemReader must be s3:getObject");
  }
  const where = resolve(reader.Parameters as Json, input);
  const body = o.objects.get(String(where.Bucket), String(where.Key));
  if (body === undefined) {
    throw new StatesError(
      "States.ItemReaderFailed",
      `NoSuchKey: s3://${where.Bucket}/${where.Key}`,
    );
  }
  const items = JSON.parse(body) as unknown[];
  if (!Array.isArray(items)) throw new StatesError("States.ItemReaderFailed", "not a JSON array");
  const batcher = state.ItemBatcher as Json | undefined;
  const size = Number(batcher?.MaxItemsPerBatch ?? 1);
  const batchInput = batcher?.BatchInput ? resolve(batcher.BatchInput as Json, input) : undefined;
  const batches: unknown[] = [];
  for (let i = 0; i < items.length; i += size) {
    const slice = items.slice(i, i + size);
    batches.push(
      batcher ? { Items: slice, ...(batchInput ? { BatchInput: batchInput } : {}) } : slice[0],
    );
  }
  const cap = Number(state.MaxConcurrency ?? 0) || Number.POSITIVE_INFINITY;
  const tolerated = Number(state.ToleratedFailurePercentage ?? 0);
  const processor = state.ItemProcessor as { StartAt: string; States: Record<string, unknown> };
  const succeeded: Json[] = [];
  const failed: Json[] = [];
  let failedItems = 0;
  let inFlight = 0;
  let maxInFlight = 0;
  let next = 0;
  let aborted = false;
  const itemsOf = (b: unknown) => (batcher ? ((b as Json).Items as unknown[]).length : 1);
  // Step Functions counts failed items against the percentage (a batch fails all its items).
  const overThreshold = () => (failedItems / Math.max(1, items.length)) * 100 > tolerated;
  await new Promise<void>((done) => {
    const launch = () => {
      while (!aborted && inFlight < cap && next < batches.length) {
        const batch = batches[next++];
        inFlight++;
        maxInFlight = Math.max(maxInFlight, inFlight);
        runLocalStateMachine({ ...o, definition: processor, input: batch })
          .then((r) => {
            const entry = { Input: JSON.stringify(batch), Status: r.status };
            if (r.status === "SUCCEEDED")
              succeeded.push({ ...entry, Output: JSON.stringify(r.output) });
            else {
              failed.push({ ...entry, ...r.error });
              failedItems += itemsOf(batch);
              if (overThreshold()) aborted = true;
            }
          })
          .finally(() => {
            inFlight--;
            if (inFlight === 0 && (aborted || next >= batches.length)) done();
            else launch();
          });
      }
      if (inFlight === 0) done();
    };
    launch();
  });
  const stats = {
    items: items.length,
    batches: batches.length,
    succeeded: succeeded.length,
    failed: failed.length,
    maxInFlight,
    aborted,
  };
  if (aborted) {
    throw Object.assign(
      new StatesError(
        "States.ExceedToleratedFailureThreshold",
        `${failedItems} of ${items.length} items failed (tolerated: ${tolerated}%)`,
      ),
      { stats },
    );
  }
  const writer = state.ResultWriter as Json | undefined;
  if (writer === undefined) {
    return { result: succeeded.map((s) => JSON.parse(String(s.Output))), stats };
  }
  // The ResultWriter layout: <prefix>/<map run id>/manifest.json and one file per status.
  const params = resolve(writer.Parameters as Json, input);
  const bucket = String(params.Bucket);
  const prefix = `${String(params.Prefix)}/${o.name}`;
  const files: Record<string, { Key: string; Size: number }[]> = {
    SUCCEEDED: [],
    FAILED: [],
    PENDING: [],
  };
  for (const [status, entries] of [
    ["SUCCEEDED", succeeded],
    ["FAILED", failed],
  ] as const) {
    if (entries.length === 0) continue;
    const key = `${prefix}/${status}_0.json`;
    const text = JSON.stringify(entries);
    o.objects.put(bucket, key, text);
    files[status]?.push({ Key: key, Size: text.length });
  }
  const manifestKey = `${prefix}/manifest.json`;
  o.objects.put(
    bucket,
    manifestKey,
    JSON.stringify({ DestinationBucket: bucket, MapRunArn: `local:${o.name}`, ResultFiles: files }),
  );
  return { result: { ResultWriterDetails: { Bucket: bucket, Key: manifestKey } }, stats };
}
