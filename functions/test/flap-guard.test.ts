import { AuditWriteError } from "@guardrail/aws";
import type { Decision } from "@guardrail/core";
import { describe, expect, it, vi } from "vitest";
import type { ReopeningInput } from "../../packages/aws/src/flap-counter";
import { guardFlaps } from "../src/pipelines/flap-guard";
import { policyWith, testDeps } from "./helpers";

const decision: Decision = {
  id: "evt-1",
  source: "event",
  event: {
    id: "evt-1",
    name: "AuthorizeSecurityGroupIngress",
    time: "2024-11-05T10:15:00Z",
    actor: null,
  },
  account: "123456789012",
  region: "eu-west-1",
  resource: { type: "security-group", id: "sg-0a1b2c3d4e5f60001" },
  outcome: "violation",
  result: "revoked",
  severity: "critical",
  findings: [
    {
      rule: "admin-ports",
      mode: "enforce",
      severity: "critical",
      reason: "r",
      result: "revoked",
      change: {
        kind: "security-group-rule",
        resourceId: "sg-0a1b2c3d4e5f60001",
        direction: "ingress",
        protocol: "tcp",
        ports: "22",
        peer: "0.0.0.0/0",
        text: "ingress tcp 22 from 0.0.0.0/0",
      },
    },
  ],
  exposureSeconds: 1,
  decidedAt: "2024-11-05T10:15:02.000Z",
  guardrailVersion: "test",
  policyId: "0123456789ab",
};

describe("guardFlaps", () => {
  it("alerts as usual when the counter cannot be written: an unsure guard never silences", async () => {
    const deps = testDeps();
    const warn = vi.spyOn(deps.logger, "warn");
    const guarded = await guardFlaps(decision, {
      ...deps,
      audit: {
        ...deps.audit,
        countReopening: async () => {
          throw new AuditWriteError("UpdateItem FLAP#…: ProvisionedThroughputExceededException");
        },
      },
    });
    expect(guarded).toEqual({ decision, verdict: "alert" });
    expect(warn).toHaveBeenCalledWith(
      "flap guard: could not count the re-opening; alerting as usual",
      expect.objectContaining({ decisionId: "evt-1" }),
    );
  });

  it("counts nothing when the policy turns it off", async () => {
    const deps = testDeps({
      policyYaml: policyWith((y) => `${y}\nflapGuard:\n  enabled: false\n`),
    });
    const countReopening = vi.fn(async (_: ReopeningInput) => {
      throw new Error("not called");
    });
    const guarded = await guardFlaps(decision, {
      ...deps,
      audit: { ...deps.audit, countReopening },
    });
    expect(guarded.verdict).toBe("alert");
    expect(countReopening).not.toHaveBeenCalled();
  });

  it("counts in the policy's window, in event time, once per rule", async () => {
    const deps = testDeps({
      policyYaml: policyWith((y) => `${y}\nflapGuard:\n  threshold: 1\n  windowHours: 6\n`),
    });
    const seen: ReopeningInput[] = [];
    const guarded = await guardFlaps(decision, {
      ...deps,
      ec2: { ...deps.ec2, groupTags: async () => ({ "aws:cloudformation:stack-name": "web" }) },
      audit: {
        ...deps.audit,
        countReopening: async (input) => {
          seen.push(input);
          return {
            count: 2,
            windowStart: "2024-11-05T09:00:00.000Z",
            escalatedBy: null,
            duplicate: false,
          };
        },
        claimEscalation: async (_key, eventId) => eventId,
      },
    });
    expect(seen).toEqual([
      {
        ruleKey: "123456789012#eu-west-1#sg-0a1b2c3d4e5f60001#ingress#tcp#22#0.0.0.0/0",
        eventId: "evt-1",
        eventTime: "2024-11-05T10:15:00Z",
        windowHours: 6,
      },
    ]);
    expect(guarded.verdict).toBe("escalate");
    expect(deps.addMetric).toHaveBeenCalledWith("RevokeLoops", "Count", 1);
    expect(guarded.decision.flap).toMatchObject({
      state: "escalated",
      count: 2,
      threshold: 1,
      windowHours: 6,
    });
  });
});
