import { readFile } from "node:fs/promises";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { REPLAY_ALL_FIXTURES, REPO_ROOT, runBin } from "./bin";

/**
 * The replay of every captured fixture under the default policy, byte for byte. A refactor must
 * leave it unchanged; a change of behaviour on purpose regenerates it with
 * `guardrail replay --format json --all-records test/fixtures/cloudtrail > test/fixtures/golden/replay-fixtures.jsonl`
 * and says so in the commit.
 */
const GOLDEN = join(REPO_ROOT, "test", "fixtures", "golden", "replay-fixtures.jsonl");

describe("replay --format json --all-records over the fixtures", () => {
  it("is byte-identical to the recorded golden", async () => {
    const run = await runBin(REPLAY_ALL_FIXTURES);
    expect({ code: run.code, stderr: run.stderr }).toEqual({ code: 0, stderr: "" });
    const stdout = run.stdout;
    expect(Buffer.from(stdout, "utf8").equals(await readFile(GOLDEN))).toBe(true);
    expect(stdout).toBe(await readFile(GOLDEN, "utf8"));
  });
});
