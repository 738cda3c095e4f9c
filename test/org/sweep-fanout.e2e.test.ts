import type { SweepRuns } from "@guardrail/aws";
import {
  rotatedTargets,
  runName,
  type SnsPublication,
  SWEEP_RUN_MESSAGE_SCHEMA,
  type SweepRunSummary,
  scheduleSlot,
} from "@guardrail/core";
import {
  createSweepPlannerHandler,
  createSweepSummaryHandler,
  createSweepWorkerHandler,
  type FanOutDeps,
  type SweepDeps,
} from "@guardrail/functions";
import { LocalStateMachine } from "@guardrail/sandbox";
import { sweepStateMachineDefinition } from "@guardrail/templates";
import { beforeEach, describe, expect, it } from "vitest";
import {
  HUB,
  MANAGEMENT,
  MEMBER_A,
  REGIONS,
  sweepContext,
  useOrganization,
} from "./support/org-hub";

/*
 * The organisation sweep as planner + workers, end to end on the sandboxes: the planner reads
 * the accounts from (sandbox) AWS Organizations, writes the manifest and starts the run; the
 * local Step Functions runner executes the deployed state machine definition (Distributed Map:
 * manifest, batches, concurrency cap, tolerated failures) invoking the production-wired worker,
 * which enters each account through the rendered spoke template's member role, and the summary.
 */

let now = new Date("2026-06-15T12:00:00Z");
const { ec2, published, sweepDeps, seedRdp, rdpLeft } = useOrganization(() => new Date(now));

const BUCKET = "network-guardrail-prod-sweep";
const ctx = sweepContext;

/** Accounts whose member-role session fails with a throttle: their targets fail, not the run. */
const failing = new Set<string>();

function workerDeps(): SweepDeps {
  const deps = sweepDeps();
  const members = deps.members;
  if (members === undefined) throw new Error("member access expected");
  return {
    ...deps,
    members: {
      ...members,
      gateway: async (target) => {
        if (failing.has(target.account)) {
          throw Object.assign(new Error("Rate exceeded"), { name: "Throttling" });
        }
        return members.gateway(target);
      },
    },
  };
}

let machine: LocalStateMachine;
const invoked = { worker: 0, summary: 0 };

function fanOutDeps(): FanOutDeps {
  return { ...sweepDeps(), bucket: BUCKET, runs: machine as unknown as SweepRuns };
}

beforeEach(() => {
  published.length = 0;
  failing.clear();
  invoked.worker = 0;
  invoked.summary = 0;
  const worker = createSweepWorkerHandler(workerDeps());
  const summary = createSweepSummaryHandler({
    ...sweepDeps(),
    bucket: BUCKET,
    runs: {
      putManifest: async () => {},
      running: async () => null,
      start: async () => "started",
      readJson: (bucket, key) => machine.readJson(bucket, key),
    },
  });
  machine = new LocalStateMachine(
    sweepStateMachineDefinition({
      workerArn: "sweep-worker",
      summaryArn: "sweep-summary",
      bucket: BUCKET,
      batchSize: 2,
      maxConcurrency: 2,
    }),
    async (fn, payload) => {
      if (fn === "sweep-worker") {
        invoked.worker++;
        return worker(payload, ctx);
      }
      invoked.summary++;
      return summary(payload, ctx);
    },
  );
});

const plan = () => createSweepPlannerHandler(fanOutDeps())({}, ctx);
const runSummaries = () =>
  published
    .map((p) => JSON.parse((p as SnsPublication).message) as { schema: string })
    .filter((m) => m.schema === SWEEP_RUN_MESSAGE_SCHEMA) as unknown as (SweepRunSummary & {
    summary: string;
  })[];

describe("organisation sweep as planner + workers (local Distributed Map)", () => {
  it("plans every active account × Region in the slot's rotated order, sweeps them in batches and publishes one run summary", async () => {
    const a = seedRdp(MEMBER_A, "rdp-a");
    const hub = seedRdp(HUB, "rdp-hub");
    const planned = await plan();
    expect(planned).toMatchObject({ status: "started", targets: 6, skippedAccounts: 1 });
    const slot = scheduleSlot(now, 15);
    const name = runName(slot, 15);
    expect(planned.runId).toBe(name);
    const manifest = JSON.parse(machine.objects.get("*", `manifests/${name}.json`) ?? "[]");
    // The management account, the hub and the member; the suspended account is never listed.
    expect(manifest).toEqual(rotatedTargets([MANAGEMENT, HUB, MEMBER_A], [...REGIONS], slot));

    const [result] = await machine.settled();
    await ec2.drainEvents();
    expect(result?.status).toBe("SUCCEEDED");
    // 6 targets in batches of 2: 3 worker invocations, at most 2 at once; one summary.
    expect(result?.mapRuns).toEqual([
      { items: 6, batches: 3, succeeded: 3, failed: 0, maxInFlight: 2, aborted: false },
    ]);
    expect(invoked).toEqual({ worker: 3, summary: 1 });
    expect(rdpLeft(MEMBER_A, a)).toEqual([0, 0]);
    expect(rdpLeft(HUB, hub)).toEqual([0, 0]);
    // The management account has no member role: reported, once, in the run's one summary.
    const [summary, ...more] = runSummaries();
    expect(more).toEqual([]);
    expect(summary).toMatchObject({
      runId: name,
      planned: 6,
      swept: 4,
      notDeployed: [MANAGEMENT],
      failures: [],
      crashed: [],
      missing: 0,
      mapError: null,
    });
    expect(summary?.revoked).toBeGreaterThanOrEqual(4);
  });

  it("does not double a run still going when the next slot is due, nor start a slot twice", async () => {
    machine.hold();
    const first = await plan();
    expect(first.status).toBe("started");
    // Same slot again (the schedule's retry, a manual run) while it runs: nothing new.
    expect(await plan()).toMatchObject({
      status: "previous-run-still-going",
      running: first.runId,
    });
    now = new Date(now.getTime() + 15 * 60_000);
    // The next slot while the first run is still RUNNING: not started.
    const second = await plan();
    expect(second).toEqual({
      status: "previous-run-still-going",
      runId: runName(scheduleSlot(now, 15), 15),
      running: first.runId,
    });
    expect([...machine.executions.keys()]).toEqual([first.runId]);
    machine.resume();
    await machine.settled();
    // Once it ended, the same slot's name is refused by Step Functions, the next slot starts.
    now = new Date(now.getTime() - 15 * 60_000);
    expect(await plan()).toMatchObject({ status: "already-started", runId: first.runId });
    now = new Date(now.getTime() + 15 * 60_000);
    expect(await plan()).toMatchObject({ status: "started" });
    await machine.settled();
    expect(machine.executions.size).toBe(2);
  });

  it("reports a failing target for that target, sweeps the others, and fails the run at the end", async () => {
    now = new Date(now.getTime() + 30 * 60_000);
    const a = seedRdp(MEMBER_A, "rdp-a2");
    failing.add(HUB);
    await plan();
    const [result] = await machine.settled();
    expect(result?.status).toBe("FAILED");
    expect(result?.error?.Error).toBe("SweepTargetsFailedError");
    expect(rdpLeft(MEMBER_A, a)).toEqual([0, 0]);
    const [summary] = runSummaries();
    expect(summary?.failures.map((f) => `${f.account}/${f.region} ${f.code}`).sort()).toEqual([
      `${HUB}/eu-west-1 Throttling`,
      `${HUB}/us-east-1 Throttling`,
    ]);
    expect(summary?.swept).toBe(2);
  });
});
