import { type ChildProcess, fork } from "node:child_process";
import { closeSync, mkdirSync, openSync } from "node:fs";
import { join } from "node:path";
import { BENCH_OUT, NODE, ROOT } from "./paths";

const WORKER = join(ROOT, "bench", "lib", "lambda-worker.mjs");

/** One AWS call, in milliseconds from handler entry. */
export interface CallSpan {
  readonly client: string;
  readonly command: string;
  readonly startMs: number;
  readonly endMs: number;
}

/** The most calls in flight at once among `spans`: 1 when they ran one after another. */
export function maxInFlight(spans: readonly CallSpan[]): number {
  let best = 0;
  for (const s of spans) {
    best = Math.max(
      best,
      spans.filter((o) => o.startMs <= s.startMs && s.startMs < o.endMs).length,
    );
  }
  return best;
}

/** What the worker reports for one invocation (see lambda-worker.mjs). */
export interface InvokeResult {
  readonly totalMs: number;
  /** Handler entry to the first revoke confirmed; null when nothing was revoked. */
  readonly toRevokeMs: number | null;
  /** The AWS commands the handler sent before that revoke. */
  readonly callsBeforeRevoke: readonly string[] | null;
  /**
   * Handler entry to the last remediation write confirmed (revokes, authorizes, NACL entries
   * created or deleted); null when nothing was written. Absent from older workers.
   */
  readonly toLastWriteMs?: number | null;
  /** How many remediation writes succeeded. */
  readonly writes?: number;
  /** The AWS commands that returned before the first remediation write was sent. */
  readonly callsBeforeWrite?: readonly string[] | null;
  /** Every AWS call sent before the revoke was (any client), with its span from handler entry. */
  readonly spansBeforeRevoke: readonly CallSpan[] | null;
  /** HTTP attempts of every traced call (retries included), and the calls themselves. */
  readonly attempts: number;
  readonly calls: number;
  /** Milliseconds with at least one call in flight, by SDK client (`EC2Client`, …). */
  readonly busyMs: Readonly<Record<string, number>>;
  readonly error: { readonly name: string; readonly message: string } | null;
  readonly status: string | null;
  /** What the handler returned. */
  readonly result: unknown;
  /** Peak resident memory of the process so far, in MB (Lambda's "Max Memory Used"). */
  readonly maxRssMb: number;
}

/**
 * A bundled handler in a fresh Node 22 process, as one Lambda execution environment: the first
 * invocation is the cold one, the rest are warm.
 */
export class LambdaProcess {
  /** Milliseconds the `import()` of the bundle took (module init). */
  initMs = Number.NaN;
  private readonly child: ChildProcess;
  /** Where the function's log lines went (stdout and stderr, as CloudWatch would get them). */
  readonly logFile: string;
  private readonly pending = new Map<
    number,
    { resolve: (r: InvokeResult) => void; reject: (e: Error) => void }
  >();
  private nextId = 0;
  private readonly ready: Promise<void>;

  /**
   * `name` names the log file, bench/out/logs/<name>.log. With `cgroup` (a cgroup v1 directory),
   * the process is placed in that cgroup before Node starts: a shell moves itself there, then
   * execs Node, so the whole init runs under the cgroup's CPU quota.
   */
  constructor(
    bundle: string,
    env: Readonly<Record<string, string>>,
    name: string,
    options: { readonly cgroup?: string } = {},
  ) {
    mkdirSync(join(BENCH_OUT, "logs"), { recursive: true });
    this.logFile = join(BENCH_OUT, "logs", `${name}.log`);
    const log = openSync(this.logFile, "w");
    const { cgroup } = options;
    this.child = fork(WORKER, [bundle], {
      execPath: cgroup === undefined ? NODE : "/bin/sh",
      execArgv:
        cgroup === undefined
          ? []
          : ["-c", 'echo $$ > "$0/cgroup.procs" && exec "$@"', cgroup, NODE],
      // The Lambda runtime has no AWS profile files and no ambient settings of this machine.
      env: { PATH: process.env.PATH ?? "", HOME: "/tmp", ...env },
      stdio: ["ignore", log, log, "ipc"],
      serialization: "advanced",
    });
    closeSync(log);
    this.ready = new Promise((resolve, reject) => {
      this.child.once("exit", (code) => {
        const error = new Error(`lambda worker exited with ${code}; see ${this.logFile}`);
        reject(error);
        for (const p of this.pending.values()) p.reject(error);
        this.pending.clear();
      });
      this.child.on("message", (m: { type: string; id?: number; initMs?: number }) => {
        if (m.type === "ready") {
          this.initMs = m.initMs ?? Number.NaN;
          resolve();
        } else if (m.type === "result" && m.id !== undefined) {
          this.pending.get(m.id)?.resolve(m as unknown as InvokeResult);
          this.pending.delete(m.id);
        }
      });
    });
    // A worker that dies before start() is awaited must not be an unhandled rejection.
    this.ready.catch(() => {});
  }

  /** Resolves once the bundle is imported. */
  async start(): Promise<this> {
    await this.ready;
    return this;
  }

  invoke(event: unknown): Promise<InvokeResult> {
    const id = this.nextId++;
    return new Promise((resolve, reject) => {
      this.pending.set(id, { resolve, reject });
      this.child.send({ type: "invoke", id, event });
    });
  }

  async stop(): Promise<void> {
    if (this.child.exitCode !== null) return;
    const exited = new Promise((r) => this.child.once("exit", r));
    this.child.send({ type: "exit" });
    await exited;
  }
}
