/**
 * Core throughput: how many CloudTrail events per second the pure core normalises and evaluates
 * against the shipped policy, over the fixture mix (every file under test/fixtures/cloudtrail:
 * real, sanitised and edge-case events, invalid ones included), on one thread.
 *
 *   npx tsx bench/core-throughput.ts [--seconds 2]
 */
import { defaultPolicy, evaluate, normalise } from "@guardrail/core";
import { listFixtures, loadFixture } from "../test/fixtures/load";
import { isMain } from "./lib/paths";
import { printSection } from "./lib/report";
import { type BenchSection, info, round } from "./lib/result";
import { median } from "./lib/stats";

const ROUNDS = 5;

interface Pass {
  readonly events: number;
  readonly changes: number;
  readonly findings: number;
  readonly seconds: number;
}

/** Normalises and evaluates the mix over and over for about `seconds`. */
function pass(events: readonly unknown[], seconds: number): Pass {
  const policy = defaultPolicy();
  const now = new Date("2025-06-01T12:00:00Z");
  let done = 0;
  let changes = 0;
  let findings = 0;
  const start = performance.now();
  const until = start + seconds * 1000;
  while (performance.now() < until) {
    for (const raw of events) {
      const result = normalise(raw);
      if (result.status === "handled") {
        // ModifySecurityGroupRules names no direction; without the handler's look-up, judge both.
        const evaluation = evaluate(result.changes, policy, {
          now,
          event: result.event,
          unknownDirection: "evaluate-both",
        });
        changes += result.changes.length;
        findings += evaluation.findings.length + evaluation.waived.length;
      }
      done++;
    }
  }
  return { events: done, changes, findings, seconds: (performance.now() - start) / 1000 };
}

export function coreThroughput(options: { seconds?: number } = {}): BenchSection {
  const started = performance.now();
  const seconds = options.seconds ?? 2;
  const fixtures = listFixtures();
  const events = fixtures.map((f) => loadFixture(f.eventName, f.caseName));
  const statuses = new Map<string, number>();
  for (const e of events) {
    const s = normalise(e).status;
    statuses.set(s, (statuses.get(s) ?? 0) + 1);
  }
  pass(events, 2); // warm-up: let the JIT settle
  const passes = Array.from({ length: ROUNDS }, () => pass(events, seconds));
  const rate = (p: Pass) => p.events / p.seconds;
  const mid = median(passes.map(rate));
  const best = Math.max(...passes.map(rate));
  const changesPerEvent = (passes[0]?.changes ?? 0) / (passes[0]?.events ?? 1);
  const findingsPerEvent = (passes[0]?.findings ?? 0) / (passes[0]?.events ?? 1);
  const mix = [...statuses].map(([s, n]) => `${n} ${s}`).join(", ");
  return {
    id: "core-throughput",
    title: "Core throughput",
    method:
      "`normalise` then `evaluate` (the shipped policy) on one thread, in process, over every " +
      `CloudTrail fixture in turn (${events.length} events: ${mix}); ${ROUNDS} passes of ` +
      `${seconds} s after a 2 s warm-up; the best pass is the figure (other work on the machine can only slow a pass down), the median is shown too. Rules of ModifySecurityGroupRules ` +
      "events, whose direction the handler would look up, are judged both ways.",
    command: "npx tsx bench/core-throughput.ts",
    results: [
      info(
        "core: events normalised and evaluated per second (best pass)",
        Math.round(best),
        "events/s",
      ),
      info(
        "core: events normalised and evaluated per second (median pass)",
        Math.round(mid),
        "events/s",
      ),
      info(
        "core: rule changes evaluated per second",
        Math.round(best * changesPerEvent),
        "changes/s",
      ),
      info("core: time per event", round(1e6 / best), "µs"),
    ],
    table: {
      header: ["pass", "events", "seconds", "events/s", "rule changes/s"],
      rows: passes.map((p, i) => [
        String(i + 1),
        p.events.toLocaleString("en-US"),
        p.seconds.toFixed(2),
        Math.round(rate(p)).toLocaleString("en-US"),
        Math.round(p.changes / p.seconds).toLocaleString("en-US"),
      ]),
    },
    notes: [
      `${changesPerEvent.toFixed(2)} rule changes and ${findingsPerEvent.toFixed(2)} findings ` +
        "per event on average over the mix; the handler adds the AWS calls, the audit write and " +
        "the notification to this (see time to revoke).",
    ],
    reasons: {},
    seconds: (performance.now() - started) / 1000,
  };
}

if (isMain(import.meta.url)) {
  const i = process.argv.indexOf("--seconds");
  printSection(coreThroughput({ seconds: i >= 0 ? Number(process.argv[i + 1]) : 2 }));
}
