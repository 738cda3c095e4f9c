import { describe, expect, it } from "vitest";
import {
  type Action,
  type ActionOutcome,
  buildPostureReport,
  type Decision,
  type Finding,
  POSTURE_MAX_FINDINGS,
  type PostureSnapshot,
  postureCounts,
  postureDay,
  postureDigestText,
  postureKey,
  postureSnapshot,
  weekAgoDate,
} from "../src/index";
import { decisionOf, evaluation, sgRule } from "./report-builders";

const account = "111122223333";
const region = "eu-west-1";

const rule = (port: number, groupId = "sg-0a") =>
  sgRule({ groupId, ports: { from: port, to: port }, ruleId: `sgr-${port}` });

function finding(port: number, over: Partial<Finding> = {}, groupId = "sg-0a"): Finding {
  return {
    rule: "admin-ports",
    mode: "notify",
    severity: "high",
    reason: "open to the internet",
    change: rule(port, groupId),
    ...over,
  };
}

function sweepDecision(
  findings: Finding[],
  waived: Finding[] = [],
  outcomes: ActionOutcome[] = [],
  groupId = "sg-0a",
): Decision {
  return decisionOf({
    source: "sweep",
    id: `sweep:run:${groupId}`,
    account,
    region,
    evaluation: evaluation(findings, waived),
    outcomes,
    decidedAt: new Date("2026-12-01T00:00:00Z"),
  });
}

/** The snapshot of a sweep run over these decisions. */
const snapshotOf = (
  runId: string,
  sweptAt: string,
  decisions: Decision[],
  previous: PostureSnapshot | null = null,
) => postureSnapshot({ account, region, runId, sweptAt: new Date(sweptAt), decisions, previous });

describe("posture snapshot", () => {
  it("keeps notify-only findings with the time first seen, carried over from the last run", () => {
    const first = snapshotOf("r1", "2026-11-01T00:00:00Z", [sweepDecision([finding(22)])]);
    expect(first.findings).toEqual([
      expect.objectContaining({
        resourceId: "sg-0a",
        rule: "admin-ports",
        status: "notify-only",
        text: "ingress tcp 22 from 0.0.0.0/0",
        firstSeen: "2026-11-01T00:00:00.000Z",
      }),
    ]);
    const second = snapshotOf(
      "r2",
      "2026-11-02T00:00:00Z",
      [sweepDecision([finding(22), finding(3389)])],
      first,
    );
    expect(second.findings.map((f) => [f.text, f.firstSeen])).toEqual([
      ["ingress tcp 22 from 0.0.0.0/0", "2026-11-01T00:00:00.000Z"],
      ["ingress tcp 3389 from 0.0.0.0/0", "2026-11-02T00:00:00.000Z"],
    ]);
    // Fixed since: gone from the next snapshot.
    const third = snapshotOf(
      "r3",
      "2026-11-03T00:00:00Z",
      [sweepDecision([finding(3389)])],
      second,
    );
    expect(third.findings.map((f) => f.text)).toEqual(["ingress tcp 3389 from 0.0.0.0/0"]);
  });

  it("leaves revoked findings out, keeps failed revokes, and lists exemptions with their end", () => {
    const enforce = finding(22, { mode: "enforce" });
    const revoke = (port: number): Action => ({
      type: "revoke-security-group-rules",
      groupId: "sg-0a",
      direction: "ingress",
      ruleIds: [`sgr-${port}`],
    });
    const d = sweepDecision(
      [enforce, finding(3389, { mode: "enforce" })],
      [finding(443, { exemption: { kind: "tag", reason: "load test", expires: "2026-12-05" } })],
      [
        { action: revoke(22), status: "revoked" },
        {
          action: revoke(3389),
          status: "failed",
          error: { code: "UnauthorizedOperation", message: "denied" },
        },
      ],
    );
    const s = snapshotOf("r", "2026-12-01T00:00:00Z", [d]);
    expect(s.findings.map((f) => [f.text, f.status])).toEqual([
      ["ingress tcp 3389 from 0.0.0.0/0", "failed"],
    ]);
    expect(s.exemptions).toEqual([
      expect.objectContaining({ kind: "tag", expires: "2026-12-05", reason: "load test" }),
    ]);
    expect(postureCounts(s)).toEqual({ open: 1, notifyOnly: 0, failed: 1, exemptions: 1 });
  });

  it("caps the stored findings and still counts the ones left out", () => {
    const many = Array.from({ length: POSTURE_MAX_FINDINGS + 5 }, (_, i) => finding(1000 + i));
    const s = snapshotOf("r", "2026-12-01T00:00:00Z", [sweepDecision(many)]);
    expect(s.findings).toHaveLength(POSTURE_MAX_FINDINGS);
    expect(postureCounts(s).open).toBe(POSTURE_MAX_FINDINGS + 5);
  });

  it("stores every account and Region under one partition", () => {
    expect(postureKey(account, region)).toEqual({
      pk: "POSTURE#",
      sk: "CURRENT#111122223333#eu-west-1",
    });
  });
});

describe("posture report", () => {
  const now = new Date("2026-12-06T12:00:00Z");
  const snapshot = snapshotOf(
    "r",
    "2026-12-06T11:45:00Z",
    [
      sweepDecision(
        [finding(22)],
        [
          finding(443, { exemption: { kind: "tag", reason: "load test", expires: "2026-12-08" } }),
          finding(8443, { exemption: { kind: "group", reason: "vendor", expires: "2027-06-01" } }),
          finding(80, { exemption: { kind: "group", reason: "web" } }),
        ],
      ),
    ],
    {
      schema: "guardrail.posture/v1",
      account,
      region,
      runId: "r0",
      sweptAt: "2026-11-20T00:00:00.000Z",
      findings: [
        {
          resourceId: "sg-0a",
          resourceType: "security-group",
          rule: "admin-ports",
          severity: "high",
          mode: "notify",
          text: "ingress tcp 22 from 0.0.0.0/0",
          status: "notify-only",
          firstSeen: "2026-11-20T00:00:00.000Z",
        },
      ],
      exemptions: [],
      omitted: 0,
    },
  );

  it("counts per account, Region and rule, with ages, expiring exemptions and the trend", () => {
    const weekAgo = postureDay({
      ...snapshot,
      findings: [...snapshot.findings, { ...snapshot.findings[0]!, text: "other" }],
    });
    const report = buildPostureReport([snapshot], [weekAgo], now);
    expect(report.totals).toEqual({
      open: 1,
      notifyOnly: 1,
      failed: 0,
      exemptions: 3,
      expiringExemptions: 1,
    });
    expect(report.weekAgo).toEqual({ open: 2, notifyOnly: 2, failed: 0, exemptions: 3 });
    expect(report.rows).toEqual([
      {
        account,
        region,
        rule: "admin-ports",
        open: 1,
        notifyOnly: 1,
        failed: 0,
        oldestDays: 16,
        expiringExemptions: 1,
      },
    ]);
    expect(report.findings[0]).toMatchObject({ ageDays: 16, resourceId: "sg-0a" });
    expect(report.expiring).toEqual([
      expect.objectContaining({ expires: "2026-12-08", inDays: 2, reason: "load test" }),
    ]);
    const text = postureDigestText(report);
    expect(text).toContain("Open findings: 1 (-1 since last week)");
    expect(text).toContain("waiting for a person (notify-only): 1");
    expect(text).toContain("ends 2026-12-08 (tag: load test)");
    expect(text).toContain(
      "sg-0a ingress tcp 22 from 0.0.0.0/0 [admin-ports, notify-only] open 16 d",
    );
  });

  it("has no trend without a summary from a week ago", () => {
    const report = buildPostureReport([snapshot], [], now);
    expect(report.weekAgo).toBeNull();
    expect(postureDigestText(report)).toContain("Open findings: 1\n");
    expect(weekAgoDate(now)).toBe("2026-11-29");
  });
});
