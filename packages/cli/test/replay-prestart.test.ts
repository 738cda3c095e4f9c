import { Worker } from "node:worker_threads";
import { defaultPolicy } from "@guardrail/core";
import { describe, expect, it } from "vitest";
import {
  isReplay,
  prestartReplayWorker,
  takePrestartedWorker,
  WORKER_ENTRY,
} from "../src/replay/prestart";
import { type Job, type JobResult, READY, Replayer } from "../src/replay/process";
import { REPO_ROOT } from "./bin";
import { replayConfig, SSH_WORLD_FIXTURE } from "./support/replay";

const config = replayConfig();

describe("a replay worker started before the CLI loads", () => {
  it("waits for its configuration as its first message, then replays as the calling thread does", async () => {
    const w = new Worker(WORKER_ENTRY, { workerData: null });
    try {
      const job: Job = { index: 0, kind: "file", path: SSH_WORLD_FIXTURE, size: 1 };
      const result = await new Promise<JobResult>((resolve, reject) => {
        w.on("message", (m: JobResult | typeof READY) => {
          if (m === READY) w.postMessage(job);
          else resolve(m);
        });
        w.once("error", reject);
        w.postMessage(config);
      });
      const local = await new Replayer(config, defaultPolicy()).run(job);
      const text = (r: JobResult) => new TextDecoder().decode(r.output ?? undefined);
      expect(text(result)).toContain('"outcome":"violation"');
      expect(text(result)).toBe(text(local));
      expect(result.agg).toEqual(local.agg);
    } finally {
      await w.terminate();
    }
  }, 60_000);

  it("is started only by the packaged CLI: in the repository a worker transpiles first", () => {
    prestartReplayWorker(["replay", REPO_ROOT]);
    expect(takePrestartedWorker()).toBeNull();
  });

  it("recognises `guardrail replay` after the global flags only", () => {
    expect(isReplay(["replay", "x"])).toBe(true);
    expect(isReplay(["-q", "--no-color", "replay"])).toBe(true);
    expect(isReplay(["validate", "replay"])).toBe(false);
    expect(isReplay(["scan"])).toBe(false);
  });
});
