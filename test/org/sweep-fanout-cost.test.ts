import { readFileSync } from "node:fs";
import { join } from "node:path";
import { SWEEP_FANOUT, SWEEP_FANOUT_SIZING } from "@guardrail/core";
import { describe, expect, it } from "vitest";
import {
  costTable,
  PRICES,
  RUNS_PER_MONTH,
  runCost,
  WORKER_SECONDS_PER_BATCH,
} from "../../bench/lib/sweep-cost";
import { markdownTable } from "../../bench/lib/table";

const DOC = readFileSync(join(import.meta.dirname, "..", "..", "docs", "multi-account.md"), "utf8");

describe("docs/multi-account.md: the sweep fan-out's cost", () => {
  it("prints the table the cost model computes from its stated inputs", () => {
    expect(DOC).toContain(markdownTable(costTable()));
  });

  it("states the inputs the model uses", () => {
    for (const text of [
      "$0.025 per 1,000 state transitions",
      "$1.00 per million",
      "$0.00001667 per GB-second",
      "$0.0000133334 per GB-second",
      "$0.20 per million requests",
      "$0.005 per 1,000 PUT",
      "$0.0004 per 1,000 GET",
      `1,024 MB for ${WORKER_SECONDS_PER_BATCH} s`,
      "2,880 a month every 15 minutes",
      "720 hourly",
      `MaxItemsPerBatch ${SWEEP_FANOUT.batchSize}`,
      `MaxConcurrency ${SWEEP_FANOUT.maxConcurrency}`,
      `ToleratedFailurePercentage ${SWEEP_FANOUT.toleratedFailurePercentage}`,
    ]) {
      expect(DOC).toContain(text);
    }
    expect(PRICES.standardTransition * 1000).toBeCloseTo(0.025, 10);
    expect(RUNS_PER_MONTH).toEqual({ "every 15 minutes": 2880, hourly: 720 });
    expect(SWEEP_FANOUT_SIZING["sweep-worker"].memoryMb).toBe(1024);
  });

  it("adds up: 2,000 accounts cost ten times 200, the hourly schedule a quarter", () => {
    const small = runCost(200);
    const large = runCost(2000);
    expect(small.batches).toBe(200);
    expect(large.targets).toBe(34_000);
    expect(large.lambda / small.lambda).toBeCloseTo(10, 1);
    // By hand: 2,000 invocations × 8 s × 1 GB × $0.0000133334 + 2,002 requests × $0.20/M + planner and summary.
    expect(large.lambda).toBeCloseTo(
      2000 * WORKER_SECONDS_PER_BATCH * 0.0000133334 + 2002 * 0.2e-6 + (5 + 2.5) * 0.0000133334,
      8,
    );
  });
});
