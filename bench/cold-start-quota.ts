/**
 * Cold start at Lambda's CPU share: each bundle's module init in a fresh Node 22 process whose
 * CPU is capped at the vCPU share of a Lambda memory size, beside the bare-EC2 floor (a module
 * that only imports the EC2 client and creates it, built the same way) under the same cap.
 *
 * Lambda gives a function CPU in proportion to its memory, one full vCPU at 1,769 MB
 * (https://docs.aws.amazon.com/lambda/latest/dg/configuration-memory.html). The cap here is a
 * cgroup v1 CPU quota (`cpu.cfs_quota_us` over a 100 ms `cpu.cfs_period_us`) of
 * `memory / 1769` of one CPU: the kernel's CFS bandwidth control throttles the process once it
 * used its share of each period, which is how a fractional vCPU behaves to a single-threaded
 * init. When no cgroup can be created (no cgroup v1 cpu controller, or no permission), the
 * benchmark says so and measures nothing rather than report uncapped figures as capped ones.
 *
 * Beside the init, the whole cold path under the same quota: a fresh execution environment
 * (bench/lib/lambda.ts, placed in the cgroup before Node starts) imports the bundle and handles
 * one violating event against the local EC2 sandbox, from the start of the import to the SDK
 * having read EC2's answer to the revoke; the floor handler (only the revoke call) likewise.
 *
 *   npx tsx bench/cold-start-quota.ts [--runs 11]
 */
import { execFileSync } from "node:child_process";
import { existsSync, mkdirSync, readFileSync, rmdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { FUNCTION_SIZING } from "@guardrail/core";
import { bundle, DEPLOYED } from "./lib/bundle";
import { INIT_ENV } from "./lib/cold";
import { LambdaProcess } from "./lib/lambda";
import { type LocalAws, openSshToTheWorld, startLocalAws, type Violation } from "./lib/local-aws";
import { isMain, NODE, ROOT } from "./lib/paths";
import { printSection } from "./lib/report";
import { atMost, type BenchResult, type BenchSection, info, round } from "./lib/result";
import { median, ms, pairedRatios, spread } from "./lib/stats";

/** Lambda's memory sizes compared, and the size at which a function has one full vCPU. */
export const MEMORY_SIZES_MB = [512, 1024, 1769] as const;
const FULL_VCPU_MB = 1769;
const PERIOD_US = 100_000;
/** cgroup v1's largest cpu.shares (kernel MAX_SHARES, 1 << 18). */
const MAX_SHARES = 262_144;
const CGROUP_CPU = "/sys/fs/cgroup/cpu";
/** The guardrail's init may cost at most this multiple of the bare-EC2 floor's (issue 22). */
const RATIO_TARGET = 1.3;
/** The memory the event functions are configured with (FUNCTION_SIZING, docs/deploy.md). */
const CHOSEN_MB = FUNCTION_SIZING["security-group-change"].memoryMb;
/**
 * Lambda arm64 duration price, us-east-1, first tier, per GB-second
 * (https://aws.amazon.com/lambda/pricing/; docs/deploy.md's cost estimate uses the same).
 */
const PRICE_PER_GB_S = 0.0000133334;

const SG = "functions/src/handlers/security-group-change.ts";
const FLOOR = "bench/lib/entries/ec2-client.ts";
/** The time-to-revoke floor: a handler that only sends the one revoke (bench/lib/floor-handler.ts). */
const FLOOR_HANDLER = "bench/lib/floor-handler.ts";

function arg(name: string): string | undefined {
  const i = process.argv.indexOf(name);
  return i >= 0 ? process.argv[i + 1] : undefined;
}

/** A CPU-quota cgroup for one memory size; null when this machine cannot make one. */
function quotaGroup(memoryMb: number): { path: string; quotaUs: number } | null {
  const path = join(CGROUP_CPU, `guardrail-bench-${process.pid}-${memoryMb}`);
  const quotaUs = Math.round((memoryMb / FULL_VCPU_MB) * PERIOD_US);
  try {
    if (!existsSync(join(CGROUP_CPU, "cpu.cfs_quota_us"))) return null;
    mkdirSync(path);
    writeFileSync(join(path, "cpu.cfs_period_us"), String(PERIOD_US));
    writeFileSync(join(path, "cpu.cfs_quota_us"), String(quotaUs));
    // The machine is shared: with the default weight, other work takes the CPU first and the
    // quota never binds. The largest weight makes the quota, not the neighbours, the limit.
    writeFileSync(join(path, "cpu.shares"), String(MAX_SHARES));
    if (readFileSync(join(path, "cpu.cfs_quota_us"), "utf8").trim() !== String(quotaUs)) {
      rmdirSync(path);
      return null;
    }
    return { path, quotaUs };
  } catch {
    try {
      rmdirSync(path);
    } catch {}
    return null;
  }
}

/**
 * Wall time of `await import(file)` in a fresh process placed in `group` before Node starts
 * (the shell moves itself into the cgroup, then execs Node), and the whole process's wall time
 * including Node's own start-up, which Lambda's init also pays.
 */
function importUnderQuota(file: string, group: string | null): { init: number; process: number } {
  const script = `const t=performance.now();await import(${JSON.stringify(file)});process.stdout.write(String(performance.now()-t));`;
  const node = [NODE, "--input-type=module", "-e", script];
  const start = performance.now();
  const out =
    group === null
      ? execFileSync(node[0] as string, node.slice(1), {
          cwd: ROOT,
          env: { PATH: process.env.PATH ?? "", HOME: "/tmp", ...INIT_ENV },
          encoding: "utf8",
        })
      : execFileSync(
          "/bin/sh",
          ["-c", `echo $$ > "$0/cgroup.procs" && exec "$@"`, group, ...node],
          {
            cwd: ROOT,
            env: { PATH: process.env.PATH ?? "", HOME: "/tmp", ...INIT_ENV },
            encoding: "utf8",
          },
        );
  return { init: Number(out), process: performance.now() - start };
}

/**
 * One cold invocation in a fresh process in `group`: the import, then one violating event to
 * the revoke confirmed. Returns the init plus the handler's time to the revoke.
 */
async function coldPath(
  main: string,
  local: LocalAws,
  violation: Violation,
  group: string,
  name: string,
): Promise<number> {
  const lambda = await new LambdaProcess(main, local.lambdaEnv(), name, { cgroup: group }).start();
  try {
    // Delivered as EventBridge delivers it, seconds after the call (not a late event).
    const now = new Date().toISOString();
    const event = {
      ...violation.event,
      time: now,
      detail: { ...violation.event.detail, eventTime: now },
    };
    const first = await lambda.invoke(event);
    if (first.error || first.toRevokeMs === null) {
      throw new Error(`cold invocation of ${main} failed: ${first.error?.message ?? "no revoke"}`);
    }
    return lambda.initMs + first.toRevokeMs;
  } finally {
    await lambda.stop();
  }
}

export async function coldStartQuota(options: { runs?: number } = {}): Promise<BenchSection> {
  const started = performance.now();
  const runs = options.runs ?? 11;
  const [guardrail, floor, floorHandler] = await Promise.all([
    bundle(SG, "cold-quota/sg", DEPLOYED),
    bundle(FLOOR, "cold-quota/ec2", DEPLOYED),
    bundle(FLOOR_HANDLER, "cold-quota/floor-handler", DEPLOYED),
  ]);
  const groups = MEMORY_SIZES_MB.map((mb) => ({ mb, group: quotaGroup(mb) }));
  try {
    if (groups.some((g) => g.group === null)) {
      return {
        id: "cold-start-quota",
        title: "Cold start at Lambda's CPU share",
        method: "Not measured: no writable cgroup v1 cpu controller on this machine.",
        command: "npx tsx bench/cold-start-quota.ts",
        results: [],
        table: { header: ["memory"], rows: [] },
        notes: [
          `No CPU-quota cgroup could be created under ${CGROUP_CPU} (cgroup v1 cpu controller missing or read-only): nothing is reported rather than uncapped figures.`,
        ],
        reasons: {},
        seconds: (performance.now() - started) / 1000,
      };
    }
    const samples = new Map<string, { init: number[]; process: number[]; path: number[] }>();
    const key = (mb: number, which: string) => `${mb}:${which}`;
    for (const { mb } of groups) {
      for (const which of ["guardrail", "floor"])
        samples.set(key(mb, which), { init: [], process: [], path: [] });
    }
    const local = await startLocalAws();
    try {
      const violations = {
        guardrail: await openSshToTheWorld(local, runs * groups.length, "cold-quota-guardrail"),
        floor: await openSshToTheWorld(local, runs * groups.length, "cold-quota-floor"),
      };
      // Every case takes turns, run after run, so load from elsewhere hits them alike; which of
      // the two goes first swaps every run, so neither always follows the other's cold path.
      for (let i = 0; i < runs; i++) {
        for (const [g, { mb, group }] of groups.entries()) {
          const pair = [
            ["guardrail", guardrail, guardrail],
            ["floor", floor, floorHandler],
          ] as const;
          for (const [which, b, handler] of i % 2 === 0 ? pair : [...pair].reverse()) {
            const t = importUnderQuota(b.main, group?.path ?? null);
            const s = samples.get(key(mb, which));
            s?.init.push(t.init);
            s?.process.push(t.process);
            const violation = violations[which][i * groups.length + g];
            if (!violation || !group) throw new Error("missing violation or cgroup");
            s?.path.push(
              await coldPath(handler.main, local, violation, group.path, `cold-quota-${which}`),
            );
          }
        }
      }
    } finally {
      await local.close();
    }
    const results: BenchResult[] = [];
    const rows: string[][] = [];
    const reasons: Record<string, string> = {};
    type Samples = { init: number[]; process: number[]; path: number[] };
    for (const { mb, group } of groups) {
      const g = samples.get(key(mb, "guardrail")) as Samples;
      const f = samples.get(key(mb, "floor")) as Samples;
      const ratio = median(g.init) / median(f.init);
      const pathRatio = median(g.path) / median(f.path);
      // Each run's guardrail and floor ran one after the other: their ratio, run by run.
      const initRatios = pairedRatios(g.init, f.init);
      const pathRatios = pairedRatios(g.path, f.path);
      const share = (mb / FULL_VCPU_MB).toFixed(2);
      results.push(
        info(
          `module init at ${mb} MB (${share} vCPU), security-group-change`,
          round(median(g.init)),
          "ms",
        ),
      );
      results.push(
        info(
          `module init at ${mb} MB (${share} vCPU), bare EC2 floor`,
          round(median(f.init)),
          "ms",
        ),
      );
      results.push(
        info(
          `cold path to revoke confirmed at ${mb} MB (init + first event), security-group-change`,
          round(median(g.path)),
          "ms",
        ),
        info(
          `cold path to revoke confirmed at ${mb} MB (init + first event), floor handler`,
          round(median(f.path)),
          "ms",
        ),
        info(
          `cold path to revoke confirmed at ${mb} MB, security-group-change / floor handler`,
          round(pathRatio),
          "x",
        ),
      );
      const name = `module init at ${mb} MB, security-group-change / bare EC2 floor`;
      results.push(
        mb === CHOSEN_MB
          ? atMost(name, round(ratio), "x", RATIO_TARGET)
          : info(name, round(ratio), "x"),
      );
      if (mb === CHOSEN_MB && ratio > RATIO_TARGET) {
        reasons[name] =
          `What the guardrail still adds at init is ${ms(median(g.init) - median(f.init))} of ` +
          `CPU work (${(guardrail.initBytes / 1024).toFixed(0)} KB loaded against the floor's ` +
          `${(floor.initBytes / 1024).toFixed(0)} KB: the guardrail's core, middy, Powertools ` +
          `logging and metrics); it scales with the quota as the SDK's does. The policy is no ` +
          `longer parsed or validated at init (a compiled artefact, JSON.parse only), and what ` +
          `runs after the revoke (the decision, its record and message, the flap guard, Security ` +
          `Hub, the audit adapters) is a chunk of its own, loaded while EC2 answers the revoke; ` +
          `the rest is what normalises, judges and plans before it.`;
      }
      rows.push([
        `${mb} MB`,
        `${share} (quota ${group?.quotaUs} µs / ${PERIOD_US} µs)`,
        `${ms(median(g.init))} (${spread(g.init)})`,
        `${ms(median(f.init))} (${spread(f.init)})`,
        `${ratio.toFixed(2)}x (${spread(initRatios, 2)})`,
        ms(median(g.process)),
        ms(median(f.process)),
        `${ms(median(g.path))} (${spread(g.path)})`,
        `${ms(median(f.path))} (${spread(f.path)})`,
        `${pathRatio.toFixed(2)}x (${spread(pathRatios, 2)})`,
      ]);
    }
    // The memory chosen from the curve: the init (CPU-bound) scales with the share, so the
    // GB-seconds of a cold init barely change while its time falls.
    const initOf = (mb: number) => median(samples.get(key(mb, "guardrail"))?.init ?? []);
    const gbS = (mb: number) => (mb / 1024) * (initOf(mb) / 1000);
    const perMillion = (mb: number) => gbS(mb) * PRICE_PER_GB_S * 1e6;
    const low = MEMORY_SIZES_MB[0];
    const high = FULL_VCPU_MB;
    const choice =
      `**Memory chosen: ${CHOSEN_MB} MB for the event functions** (security-group-change, ` +
      `network-acl-change, prefix-list-change; FUNCTION_SIZING). Their invocations are rare per ` +
      `account, so most are cold, and the init is on the path to the revoke. At ${high} MB the ` +
      `init takes ${ms(initOf(high))} against ${ms(initOf(low))} at ${low} MB ` +
      `(${(initOf(low) / initOf(high)).toFixed(1)}x), for ${gbS(high).toFixed(3)} GB-s per cold ` +
      `init against ${gbS(low).toFixed(3)} ($${perMillion(high).toFixed(2)} against ` +
      `$${perMillion(low).toFixed(2)} per million cold inits at $${PRICE_PER_GB_S} per GB-s, ` +
      `arm64): CPU-bound work costs about the same GB-seconds at any size. Warm invocations wait ` +
      `on EC2 and DynamoDB, so they cost ${(high / low).toFixed(1)}x more per millisecond at ` +
      `${high} MB; at the cost estimate's one million violating events a month (docs/deploy.md) ` +
      `that is a few dollars. The sweep keeps 1,024 MB (scheduled, no one waits on it) and the ` +
      `Slack notifier 256 MB (it waits on Slack).`;
    return {
      id: "cold-start-quota",
      title: "Cold start at Lambda's CPU share",
      method:
        `The deployed security-group-change bundle and a bare module that only imports and creates ` +
        `the EC2 client (built the same way) are each imported in a fresh Node 22 process placed ` +
        `in a cgroup v1 CPU quota of memory/1769 of one CPU (cpu.cfs_quota_us over a ` +
        `${PERIOD_US / 1000} ms period) before Node starts, with the largest cpu.shares so that ` +
        `the quota, not other work on the shared machine, is what limits it; median of ${runs} ` +
        `runs per case, every case taking turns (guardrail and floor swap which goes first every run).`,
      command: "npx tsx bench/cold-start-quota.ts",
      results,
      table: {
        header: [
          "memory",
          "vCPU share",
          "init, guardrail",
          "init, bare EC2",
          "ratio",
          "process, guardrail",
          "process, bare EC2",
          "cold path to revoke, guardrail",
          "cold path to revoke, floor handler",
          "ratio",
        ],
        rows,
      },
      notes: [
        choice,
        "`init` is the `import()` of the bundle; `process` is the whole child process (Node's own start-up included, which Lambda's runtime also pays) as seen from the parent.",
        "`cold path to revoke` is a fresh execution environment placed in the same quota: the bundle's import, then its first violating event (tcp 22 from the world, shipped policy) up to the SDK having read EC2's answer to the revoke, against the local EC2 sandbox; the floor handler only sends that revoke. Medians, with the 10th–90th percentile in brackets; a ratio's spread is over the runs' paired ratios (guardrail and floor ran one after the other).",
      ],
      reasons,
      seconds: (performance.now() - started) / 1000,
    };
  } finally {
    for (const { group } of groups) {
      if (group === null) continue;
      try {
        rmdirSync(group.path);
      } catch {}
    }
  }
}

if (isMain(import.meta.url))
  printSection(await coldStartQuota({ runs: Number(arg("--runs") ?? 11) }));
