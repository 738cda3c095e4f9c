import { setImmediate as nextTurn } from "node:timers/promises";
import { Worker } from "node:worker_threads";
import type { Policy } from "@guardrail/core/runtime";
import { takePrestartedWorker, WORKER_ENTRY } from "./prestart";
import type { Job, JobResult, ReplayConfig } from "./process";
import { READY, Replayer } from "./process";

export interface PoolOptions {
  /** Worker threads; 0 runs every job on the calling thread. */
  readonly threads: number;
  /** Jobs a worker holds at once: one running, one waiting, so no worker idles between jobs. */
  readonly perWorker?: number;
  /** The policy of `config.compiledPolicy`, as loaded: the calling thread's replayer uses it. */
  readonly policy?: Policy;
}

/**
 * Runs `jobs` on worker threads and hands each result to `onResult` in job order, whatever order
 * the workers finish in. The calling thread replays a job itself whenever no worker can take one
 * (from the first job on, while the workers load, and when they are all busy), so the work starts
 * at once and no core waits for a worker to boot. Before replaying a job itself, it gives the event
 * loop a turn: a worker's messages (ready, a result) are events, and a calling thread that only
 * ever awaited its own work would never see a worker become ready. At most a bounded number of jobs are
 * outstanding, so memory stays bounded and a slow `onResult` (a full pipe) slows the reading down
 * instead of piling results up.
 */
export async function runJobs(
  jobs: AsyncIterable<Job> | Iterable<Job>,
  config: ReplayConfig,
  options: PoolOptions,
  onResult: (result: JobResult) => void | Promise<void>,
): Promise<void> {
  const local = new Replayer(config, options.policy);
  const prestarted = takePrestartedWorker();
  if (options.threads <= 0) {
    await prestarted?.terminate();
    for await (const job of jobs) await onResult(await local.run(job));
    return;
  }
  const perWorker = options.perWorker ?? 2;
  const workers = Array.from({ length: options.threads }, (_, i) => {
    if (i > 0 || prestarted === null) return new Worker(WORKER_ENTRY, { workerData: config });
    // Started before the CLI loaded, without a configuration: it waits for this one.
    prestarted.ref();
    prestarted.postMessage(config);
    return prestarted;
  });
  const load = new Map<Worker, number>(workers.map((w) => [w, 0]));
  const ready = new Set<Worker>();
  const done = new Map<number, JobResult>();
  let next = 0;
  let failure: Error | null = null;
  let wake: (() => void) | null = null;
  const signal = () => {
    const w = wake;
    wake = null;
    w?.();
  };
  const wait = () =>
    new Promise<void>((resolve) => {
      wake = resolve;
    });

  for (const w of workers) {
    w.on("message", (r: JobResult | typeof READY) => {
      if (r === READY) {
        ready.add(w);
        signal();
        return;
      }
      load.set(w, (load.get(w) ?? 1) - 1);
      done.set(r.index, r);
      signal();
    });
    w.on("error", (err) => {
      failure ??= err;
      signal();
    });
    w.on("exit", (code) => {
      if (code !== 0) failure ??= new Error(`replay worker exited with code ${code}`);
      signal();
    });
  }

  let dispatched = 0;
  // Emits every result that is next in order; returns when none is.
  const flush = async () => {
    while (done.has(next)) {
      const r = done.get(next)!;
      done.delete(next);
      next++;
      await onResult(r);
    }
  };
  const freeWorker = () => {
    let best: Worker | null = null;
    for (const [w, n] of load) {
      if (!ready.has(w)) continue;
      if (n < perWorker && (best === null || n < (load.get(best) ?? 0))) best = w;
    }
    return best;
  };

  try {
    const maxAhead = (options.threads + 1) * perWorker * 2;
    for await (const job of jobs) {
      for (let turned = false; ; ) {
        if (failure) throw failure;
        await flush();
        if (dispatched - next >= maxAhead) {
          await wait();
          continue;
        }
        const w = freeWorker();
        if (w) {
          load.set(w, (load.get(w) ?? 0) + 1);
          w.postMessage(job);
        } else if (!turned) {
          turned = true;
          await nextTurn();
          continue;
        } else {
          const r = await local.run(job);
          done.set(r.index, r);
        }
        dispatched++;
        break;
      }
    }
    while (next < dispatched) {
      if (failure) throw failure;
      await flush();
      if (next < dispatched) await wait();
    }
  } finally {
    await Promise.all(workers.map((w) => w.terminate()));
  }
}
