import type { AuditStore, Ec2Gateway, Notifier } from "@guardrail/aws";
import "../../functions/test/setup";
import { Logger } from "@aws-lambda-powertools/logger";
import { Metrics } from "@aws-lambda-powertools/metrics";
import {
  type Action,
  type AuditItem,
  defaultPolicy,
  EVENT_SPECS,
  exemptionTagKeys,
  GuardrailError,
  type GuardrailFunction,
  isTaggingEvent,
  type KnownEventName,
  METRICS,
  normalise,
  readTagging,
} from "@guardrail/core";
import {
  createNetworkAclChangeHandler,
  createPrefixListChangeHandler,
  createSecurityGroupChangeHandler,
  loadConfig,
  type RemediationDeps,
} from "@guardrail/functions";
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { BASE_ENV, lambdaContext, memoryFiles } from "../../functions/test/helpers";
import { fuzzEvent } from "./arbitraries";

/** Fixed seed: a failure reproduces on every machine; change it to explore further. */
const SEED = 20_251_126;
const RUNS = 100_000;

/** Fakes at the adapter boundary: no HTTP, so that 100,000 events take seconds. */
function fakes() {
  const records = new Map<string, string>();
  const published = new Set<string>();
  const audit: AuditStore = {
    async putDecision(item: AuditItem) {
      if (records.has(item.id)) return { status: "duplicate" };
      records.set(item.id, item.result);
      return { status: "created" };
    },
    async markNotifyFailed() {},
    async markPublished() {},
    async countAttempt() {
      return 1;
    },
    async sightings() {
      return [];
    },
    async writeSightings() {},
    async recentEventDecisions() {
      return [];
    },
    async resourceState() {
      return null;
    },
    async stateFingerprints() {
      return new Map();
    },
    async writeStates() {},
    // Every event is a first opening: the flap guard never holds a message back here.
    async countReopening(input) {
      return { count: 1, windowStart: input.eventTime, escalatedBy: null, duplicate: false };
    },
    async claimEscalation() {
      return null;
    },
    async tagRecords() {
      return {};
    },
    async putTagRecord() {
      return "written" as const;
    },
    async putExemptionNotice() {
      return true;
    },
    async markTagExpiryReported() {
      return true;
    },
  };
  const notifier: Notifier = {
    async publish(p) {
      published.add((JSON.parse(p.message) as { id: string }).id);
      return "msg";
    },
  };
  const ec2: Ec2Gateway = {
    async execute(action: Action) {
      return [{ action, status: "revoked", confirmedAt: "2025-06-01T12:00:01.000Z" }];
    },
    async groupTags() {
      return {};
    },
    async groupsTags() {
      return {};
    },
    async ruleDirections(ids) {
      return {
        directions: Object.fromEntries(ids.map((id) => [id, "ingress" as const])),
        missing: [],
        rules: {},
      };
    },
    async prefixListEntries() {
      return ["203.0.113.0/24"];
    },
    async prefixListGroups() {
      return ["sg-0123456789abcdef0"];
    },
    async prefixListAssociations() {
      return [{ groupId: "sg-0123456789abcdef0", owner: null }];
    },
    async *securityGroupRules() {
      yield [];
    },
    async *networkAcls() {
      yield [];
    },
    async networkAcl() {
      return null;
    },
  };
  const quietMetrics = () => {
    const metrics = new Metrics({ namespace: METRICS.namespace, serviceName: "fuzz" });
    // Metrics are not under test here; 100,000 flushes would print as many "no metrics" warnings.
    metrics.publishStoredMetrics = () => {
      metrics.clearMetrics();
      return metrics;
    };
    return metrics;
  };
  const deps = (fn: GuardrailFunction): RemediationDeps => ({
    config: loadConfig(fn, BASE_ENV, memoryFiles()),
    logger: new Logger({ serviceName: "fuzz", logLevel: "SILENT" }),
    metrics: quietMetrics(),
    clock: () => new Date("2025-06-01T12:00:01.000Z"),
    settleMs: 0,
    ec2,
    audit,
    notifier,
  });
  return { deps, records, published };
}

function eventNameOf(event: unknown): unknown {
  const e = event as { detail?: { eventName?: unknown }; eventName?: unknown } | null;
  return typeof e === "object" && e !== null ? (e.detail?.eventName ?? e.eventName) : undefined;
}

describe("fuzzing the handler path", () => {
  it("handles 100,000 generated and mutated events without one uncaught exception, reporting every invalid one", async () => {
    const { deps, records, published } = fakes();
    // Built once, like warm Lambda environments.
    const sg = createSecurityGroupChangeHandler(deps("security-group-change"));
    const nacl = createNetworkAclChangeHandler(deps("network-acl-change"));
    const pl = createPrefixListChangeHandler(deps("prefix-list-change"));
    // EventBridge routes by event name; anything else goes to security-group-change.
    const route = (event: unknown) => {
      const name = eventNameOf(event);
      const handler =
        typeof name === "string" && Object.hasOwn(EVENT_SPECS, name)
          ? EVENT_SPECS[name as KnownEventName].handler
          : null;
      if (handler === "network-acl-change") return nacl;
      if (handler === "prefix-list-change") return pl;
      return sg;
    };
    const statuses = new Map<string, number>();
    const started = performance.now();

    await fc.assert(
      fc.asyncProperty(fuzzEvent, async (event) => {
        // Each event is judged as a first delivery: fixtures share event ids across runs.
        records.clear();
        published.clear();
        // Tagging calls (exemption tags) are read by their own reader on the same function.
        const expectInvalid = isTaggingEvent(eventNameOf(event))
          ? readTagging(event, exemptionTagKeys(defaultPolicy())).status === "invalid"
          : normalise(event).status === "invalid";
        let result: { status: string; eventId?: string };
        try {
          result = (await route(event)(event, lambdaContext)) as typeof result;
        } catch (error) {
          // Nothing may escape for an input problem; with fakes that always succeed, nothing at all.
          throw new Error(
            `uncaught ${error instanceof GuardrailError ? error.code : (error as Error)?.name}: ${String((error as Error)?.message ?? error)}`,
          );
        }
        statuses.set(result.status, (statuses.get(result.status) ?? 0) + 1);
        expect(["invalid", "ignored", "compliant", "decided"]).toContain(result.status);
        expect(result.status === "invalid").toBe(expectInvalid);
        if (result.status === "invalid") {
          // Reported: recorded as invalid and announced, under its id.
          expect(records.get(result.eventId as string)).toBe("invalid");
          expect(published.has(result.eventId as string)).toBe(true);
        }
      }),
      { seed: SEED, numRuns: RUNS },
    );

    const seconds = (performance.now() - started) / 1000;
    console.info(
      `fuzz: ${RUNS} events in ${seconds.toFixed(1)} s: ${[...statuses].map(([s, n]) => `${n} ${s}`).join(", ")}`,
    );
    // Every kind of outcome was reached, so the generators exercise the whole path.
    for (const s of ["invalid", "ignored", "compliant", "decided"]) {
      expect(statuses.get(s) ?? 0, s).toBeGreaterThan(100);
    }
  }, 180_000);
});
