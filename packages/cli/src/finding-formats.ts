import {
  type ActionOutcome,
  actionCovers,
  buildDecision,
  type Decision,
  type Evaluation,
  type EventMeta,
  type Finding,
  ocsfComplianceFindings,
  resourceOf,
  securityHubEntries,
} from "@guardrail/core/runtime";
import { VERSION } from "./version";

/**
 * `--format asff` and `--format ocsf` of `replay` and `scan`: JSON Lines, one finding per line,
 * one finding per (resource, policy rule) as the functions send to Security Hub (same ids).
 * ASFF lines are what `BatchImportFindings` takes; OCSF lines are Compliance Findings (2003).
 */
export const FINDING_FORMATS = ["asff", "ocsf"] as const;
export type FindingFormat = (typeof FINDING_FORMATS)[number];

export function isFindingFormat(format: string): format is FindingFormat {
  return (FINDING_FORMATS as readonly string[]).includes(format);
}

/** The findings of decisions as JSON Lines in `format`. */
export function findingLines(decisions: readonly Decision[], format: FindingFormat): string {
  const lines: string[] = [];
  for (const d of decisions) {
    const out =
      format === "asff" ? securityHubEntries(d).map((e) => e.finding) : ocsfComplianceFindings(d);
    for (const f of out) lines.push(JSON.stringify(f));
  }
  return lines.length > 0 ? `${lines.join("\n")}\n` : "";
}

/**
 * The decision of one replayed event. Replay acts on nothing: an enforce finding is reported
 * as not remediated (FAILED), as it stands in the trail. Decided at the event's time, so the
 * output of a replay is the same each time. `rules` (`--rule`) keeps only those rules' findings.
 */
export function replayDecision(
  event: EventMeta,
  evaluation: Evaluation,
  policyId: string,
  rules?: readonly string[],
): Decision | null {
  const at = new Date(event.eventTime);
  const keep = (f: Finding) => rules === undefined || rules.includes(f.rule);
  return buildDecision({
    source: "event",
    event,
    evaluation: {
      ...evaluation,
      findings: evaluation.findings.filter(keep),
      waived: evaluation.waived.filter(keep),
    },
    outcomes: [],
    decidedAt: Number.isNaN(at.getTime()) ? new Date(0) : at,
    guardrailVersion: VERSION,
    policyId,
  });
}

/**
 * The decisions of a scan, one per resource as the sweep makes them, with the outcomes of
 * `--fix` when it ran.
 */
export function scanDecisions(
  evaluation: Evaluation,
  where: {
    readonly account: string;
    readonly region: string;
    readonly outcomes: readonly ActionOutcome[];
    readonly decidedAt: Date;
    readonly policyId: string;
  },
): Decision[] {
  const by = (list: readonly Finding[]) => {
    const m = new Map<string, Finding[]>();
    for (const f of list) {
      const id = resourceOf(f.change).id;
      m.set(id, [...(m.get(id) ?? []), f]);
    }
    return m;
  };
  const findings = by(evaluation.findings);
  const waived = by(evaluation.waived);
  const decisions: Decision[] = [];
  for (const id of new Set([...findings.keys(), ...waived.keys()])) {
    const f = findings.get(id) ?? [];
    const w = waived.get(id) ?? [];
    const d = buildDecision({
      source: "sweep",
      id: `scan:${where.decidedAt.toISOString()}:${id}`,
      account: where.account,
      region: where.region,
      evaluation: { outcome: f.length > 0 ? "violation" : "exempt", findings: f, waived: w },
      outcomes: where.outcomes.filter((o) =>
        [...f, ...w].some((x) => actionCovers(o.action, x.change)),
      ),
      decidedAt: where.decidedAt,
      guardrailVersion: VERSION,
      policyId: where.policyId,
    });
    if (d) decisions.push(d);
  }
  return decisions;
}
