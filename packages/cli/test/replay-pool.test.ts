import { Worker } from "node:worker_threads";
import { defaultPolicy } from "@guardrail/core";
import { afterEach, describe, expect, it, vi } from "vitest";
import { runJobs } from "../src/replay/pool";
import type { Job, JobResult } from "../src/replay/process";
import { replayConfig, SSH_WORLD_FIXTURE } from "./support/replay";

const config = replayConfig();

afterEach(() => {
  vi.restoreAllMocks();
});

describe("replay's worker pool", () => {
  it("hands jobs to a worker once it is ready, though the calling thread never waits on I/O", async () => {
    const posted = vi.spyOn(Worker.prototype, "postMessage");
    const deadline = Date.now() + 30_000;
    // Every job is there at once, as a directory's files are: the calling thread replays them
    // itself while the worker loads, and must still notice when the worker is ready.
    async function* jobs(): AsyncGenerator<Job> {
      let index = 0;
      while (index < 10 || (posted.mock.calls.length < 3 && Date.now() < deadline)) {
        yield { index: index++, kind: "file", path: SSH_WORLD_FIXTURE, size: 1 };
      }
    }
    const results: JobResult[] = [];
    await runJobs(jobs(), config, { threads: 1, policy: defaultPolicy() }, (r) => {
      results.push(r);
    });

    expect(posted.mock.calls.length).toBeGreaterThanOrEqual(3);
    expect(results.map((r) => r.index)).toEqual([...results.keys()]);
    // The worker reads the compiled policy, the calling thread holds the loaded one: the same
    // event gets the same line from either.
    const lines = new Set(results.map((r) => new TextDecoder().decode(r.output ?? undefined)));
    expect([...lines]).toHaveLength(1);
    expect([...lines][0]).toContain('"outcome":"violation"');
  }, 60_000);
});
