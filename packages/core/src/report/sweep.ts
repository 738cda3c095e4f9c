import {
  type Decision,
  type FindingResult,
  type FindingView,
  type MessageSeverity,
  severityRank,
} from "./decision";
import { type ConsoleLinks, consoleLinks } from "./links";
import type { ResourceRef } from "./view";

/** A finding of the sweep, with the resource it is on and a console link. */
export interface SweepFinding extends FindingView {
  readonly resource: ResourceRef;
  readonly links: ConsoleLinks;
}

export interface SweepSummary {
  readonly runId: string;
  readonly account: string;
  readonly region: string;
  readonly startedAt: string;
  readonly finishedAt: string;
  readonly scanned: {
    readonly securityGroupRules: number;
    readonly networkAclEntries: number;
    readonly prefixLists: number;
  };
  /** Resources whose rules differ from the last state the sweep stored. */
  readonly stateChanges: number;
  readonly counts: Record<FindingResult, number>;
  readonly severity: MessageSeverity;
  /** The most severe findings first, at most `maxFindings`. */
  readonly findings: readonly SweepFinding[];
  /** Findings left out of `findings` to keep the message under SNS's size limit. */
  readonly truncated: number;
  readonly guardrailVersion: string;
  /** `policyId` of the policy the sweep judged by. */
  readonly policyId: string;
}

export interface SweepSummaryInput {
  readonly runId: string;
  readonly account: string;
  readonly region: string;
  readonly startedAt: Date;
  readonly finishedAt: Date;
  readonly scanned: SweepSummary["scanned"];
  readonly stateChanges: number;
  readonly decisions: readonly Decision[];
  readonly guardrailVersion: string;
  readonly policyId: string;
  /** Defaults to 50: a finding is about 1 KB of JSON, SNS allows 256 KB. */
  readonly maxFindings?: number;
}

const RESULT_ORDER: readonly FindingResult[] = [
  "failed",
  "revoked",
  "already-gone",
  "notify-only",
  "exempt",
];

/**
 * Folds the sweep's per-resource decisions into one summary: one message per run, not one per
 * finding.
 *
 * @example
 * buildSweepSummary({ runId: "r1", account: "1", region: "eu-west-1", startedAt, finishedAt, scanned, stateChanges: 0, decisions: [], guardrailVersion: "1", policyId: "3f2a9c81d0e4" }).severity
 * // "info"
 */
export function buildSweepSummary(input: SweepSummaryInput): SweepSummary {
  const counts: Record<FindingResult, number> = {
    failed: 0,
    revoked: 0,
    "already-gone": 0,
    "notify-only": 0,
    exempt: 0,
  };
  const all: SweepFinding[] = [];
  for (const d of input.decisions) {
    for (const f of d.findings) {
      counts[f.result]++;
      all.push({ ...f, resource: d.resource, links: consoleLinks(d.resource, d.region) });
    }
  }
  all.sort(
    (a, b) =>
      RESULT_ORDER.indexOf(a.result) - RESULT_ORDER.indexOf(b.result) ||
      severityRank(a.severity) - severityRank(b.severity) ||
      (a.resource.id < b.resource.id ? -1 : a.resource.id > b.resource.id ? 1 : 0),
  );
  const max = input.maxFindings ?? 50;
  const counted = all.filter((f) => f.result !== "exempt");
  const severity: MessageSeverity =
    counts.failed > 0
      ? "critical"
      : (counted
          .map((f) => f.severity as MessageSeverity)
          .sort((a, b) => severityRank(a) - severityRank(b))[0] ?? "info");
  return {
    runId: input.runId,
    account: input.account,
    region: input.region,
    startedAt: input.startedAt.toISOString(),
    finishedAt: input.finishedAt.toISOString(),
    scanned: input.scanned,
    stateChanges: input.stateChanges,
    counts,
    severity,
    findings: all.slice(0, max),
    truncated: Math.max(0, all.length - max),
    guardrailVersion: input.guardrailVersion,
    policyId: input.policyId,
  };
}
