import fc from "fast-check";
import { describe, expect, it } from "vitest";
import {
  manifestKey,
  rotatedTargets,
  rotationOffset,
  runName,
  scheduleSlot,
  summariseSweepRun,
  sweepRunNeedsAttention,
  sweepRunPublication,
} from "../src/sweep-fanout";

/** Minutes between scheduled runs in the slot and name tests (the shipped default). */
const RATE_MINUTES = 15;

describe("sweep fan-out: slots and names", () => {
  it("names a run after its schedule slot, the same for any moment of the slot", () => {
    const a = scheduleSlot(new Date("2026-12-06T10:15:00Z"), RATE_MINUTES);
    const b = scheduleSlot(new Date("2026-12-06T10:29:59Z"), RATE_MINUTES);
    const c = scheduleSlot(new Date("2026-12-06T10:30:00Z"), RATE_MINUTES);
    expect(a).toBe(b);
    expect(c).toBe(a + 1);
    expect(runName(a, RATE_MINUTES)).toBe("sweep-20261206T1015Z");
    expect(runName(c, RATE_MINUTES)).toBe("sweep-20261206T1030Z");
    expect(manifestKey(runName(a, RATE_MINUTES))).toBe("manifests/sweep-20261206T1015Z.json");
  });

  it("keeps execution names within Step Functions' 80 characters and allowed characters", () => {
    fc.assert(
      fc.property(
        fc.date({ min: new Date("2000-01-01"), max: new Date("2200-01-01"), noInvalidDate: true }),
        fc.integer({ min: 1, max: 1440 }),
        (at, rate) => {
          const name = runName(scheduleSlot(at, rate), rate);
          return name.length <= 80 && /^[A-Za-z0-9_-]+$/.test(name);
        },
      ),
    );
  });
});

describe("sweep fan-out: rotating order", () => {
  const accounts = Array.from({ length: 1000 }, (_, i) => String(100000000000 + i));

  it("is a rotation of every account × Region, an account's Regions together", () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 0, max: 10_000_000 }),
        fc.integer({ min: 1, max: 40 }),
        (slot, n) => {
          const list = accounts.slice(0, n);
          const targets = rotatedTargets(list, ["r1", "r2"], slot);
          const order = targets.filter((_, i) => i % 2 === 0).map((t) => t.account);
          const offset = rotationOffset(slot, n);
          expect(order).toEqual([...list.slice(offset), ...list.slice(0, offset)]);
          expect(targets.map((t) => t.region)).toEqual(list.flatMap(() => ["r1", "r2"]));
        },
      ),
    );
  });

  it("puts a different account last on consecutive runs, and every account last within a day's runs of a small organisation", () => {
    const last = (slot: number, list: string[]) =>
      rotatedTargets(list, ["r"], slot).at(-1)?.account;
    const tails = Array.from({ length: 96 }, (_, i) => last(1_900_000 + i, accounts));
    for (let i = 1; i < tails.length; i++) expect(tails[i]).not.toBe(tails[i - 1]);
    expect(new Set(tails).size).toBe(96);
    const small = accounts.slice(0, 20);
    const smallTails = new Set(Array.from({ length: 96 }, (_, i) => last(1_900_000 + i, small)));
    expect(smallTails.size).toBe(20);
  });
});

describe("sweep fan-out: the run's summary", () => {
  const t = (account: string, region = "eu-west-1") => ({ account, region });
  const swept = (account: string, revoked = 0) => ({
    ...t(account),
    revoked,
    failed: 0,
    notifyOnly: 0,
    published: revoked > 0,
    durationMs: 100,
  });

  it("counts each target once, the last result winning over a crashed attempt", () => {
    const s = summariseSweepRun({
      runId: "r",
      planned: 4,
      batches: [
        { runId: "r", swept: [swept("a", 2), swept("b")], failures: [], notDeployed: [t("c")] },
      ],
      crashed: [{ targets: [t("a"), t("d")], error: "States.Timeout", cause: "" }],
      mapError: null,
    });
    expect(s).toMatchObject({ swept: 2, revoked: 2, notDeployed: ["c"], missing: 0 });
    expect(s.crashed).toEqual([{ ...t("d"), code: "States.Timeout", message: "" }]);
    expect(sweepRunNeedsAttention(s)).toBe(true);
  });

  it("counts targets nobody reported as missing, and needs no attention when all went well", () => {
    const ok = summariseSweepRun({
      runId: "r",
      planned: 1,
      batches: [{ runId: "r", swept: [swept("a")], failures: [], notDeployed: [] }],
      crashed: [],
      mapError: null,
    });
    expect(sweepRunNeedsAttention(ok)).toBe(false);
    const stopped = summariseSweepRun({
      ...ok,
      planned: 3,
      batches: [],
      crashed: [],
      mapError: "X: y",
    });
    expect(stopped.missing).toBe(3);
    const p = sweepRunPublication(stopped);
    expect(p.subject.length).toBeLessThanOrEqual(100);
    expect(p.attributes).toMatchObject({ eventName: "SweepRun", result: "failed" });
    expect(JSON.parse(p.message)).toMatchObject({ schema: "guardrail.sweep-run/v1", missing: 3 });
  });
});
