import {
  type LocalInvoke,
  type LocalObjects,
  type LocalRunResult,
  memoryObjects,
  runLocalStateMachine,
} from "./distributed-map";

/** One execution of the local state machine. */
export interface LocalExecution {
  readonly name: string;
  readonly input: unknown;
  status: "RUNNING" | "SUCCEEDED" | "FAILED";
  result?: LocalRunResult;
  readonly done: Promise<LocalRunResult>;
}

/**
 * A Standard state machine and its bucket, locally: what the sweep's planner and summary call
 * (`SweepRuns`: put the manifest, list RUNNING executions, start one by name, read ResultWriter's
 * objects) with Step Functions' semantics: a name is unique (`ExecutionAlreadyExists`), an
 * execution runs in the background until it ends, and `hold` keeps executions RUNNING until
 * released (a run that outlasts its schedule slot).
 */
export class LocalStateMachine {
  readonly objects: LocalObjects & { readonly keys: () => string[] };
  readonly executions = new Map<string, LocalExecution>();
  private gate: Promise<void> = Promise.resolve();
  private release: (() => void) | undefined;

  constructor(
    private readonly definition: { StartAt: string; States: Record<string, unknown> },
    private readonly invoke: LocalInvoke,
  ) {
    this.objects = memoryObjects();
  }

  /** Executions started from now on wait (RUNNING) until `resume`. */
  hold(): void {
    this.gate = new Promise((r) => {
      this.release = r;
    });
  }

  resume(): void {
    this.release?.();
  }

  async putManifest(key: string, targets: readonly unknown[]): Promise<void> {
    // The planner writes to the bucket named in its input; the local bucket holds any name.
    this.objects.put("*", key, JSON.stringify(targets));
  }

  async running(): Promise<string | null> {
    for (const e of this.executions.values()) if (e.status === "RUNNING") return e.name;
    return null;
  }

  async start(name: string, input: unknown): Promise<"started" | "exists"> {
    if (this.executions.has(name)) return "exists";
    const gate = this.gate;
    const objects = this.objects;
    const done = gate.then(() =>
      runLocalStateMachine({
        definition: this.definition,
        input,
        name,
        invoke: this.invoke,
        objects: {
          get: (bucket, key) => objects.get(bucket, key) ?? objects.get("*", key),
          put: (bucket, key, body) => objects.put(bucket, key, body),
        },
      }),
    );
    const execution: LocalExecution = { name, input, status: "RUNNING", done };
    this.executions.set(name, execution);
    done.then(
      (r) => {
        execution.status = r.status;
        execution.result = r;
      },
      () => {
        execution.status = "FAILED";
      },
    );
    return "started";
  }

  async readJson(bucket: string, key: string): Promise<unknown> {
    const text = this.objects.get(bucket, key) ?? this.objects.get("*", key);
    if (text === undefined) {
      throw Object.assign(new Error(`s3://${bucket}/${key}`), { name: "NoSuchKey" });
    }
    return JSON.parse(text) as unknown;
  }

  /** Waits for every execution started so far. */
  async settled(): Promise<LocalRunResult[]> {
    return Promise.all([...this.executions.values()].map((e) => e.done));
  }
}
