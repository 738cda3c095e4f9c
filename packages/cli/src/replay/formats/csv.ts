import { type Action, insertedEntryText } from "@guardrail/core/runtime";
import type { ReplayLine } from "../record";

export const CSV_COLUMNS = [
  "eventTime",
  "eventId",
  "eventName",
  "account",
  "region",
  "actor",
  "outcome",
  "rule",
  "mode",
  "severity",
  "resource",
  "reason",
  "exemption",
  "actions",
  "source",
  "policyId",
] as const;

/** RFC 4180: quote when needed, double the quotes. */
export function csvCell(value: string | number | null | undefined): string {
  if (value === null || value === undefined) return "";
  const s = String(value);
  // A leading = + - @ makes spreadsheets evaluate the cell; a quote-prefixed apostrophe stops it.
  const safe = /^[=+\-@\t\r]/.test(s) ? `'${s}` : s;
  return /[",\r\n]/.test(safe) ? `"${safe.replaceAll('"', '""')}"` : safe;
}

/** One action in a few words: `revoke sg-1 ingress sgr-1,sgr-2`. */
export function describeAction(a: Action): string {
  switch (a.type) {
    case "revoke-security-group-rules":
      return `revoke ${a.groupId} ${a.direction ?? "either direction"} ${a.ruleIds.join(",")}`;
    case "revoke-security-group-permissions":
      return `revoke ${a.groupId} ${a.direction} ${a.permissions
        .map((p) =>
          `${p.protocol}${p.fromPort === null ? "" : `/${p.fromPort}${p.toPort !== p.fromPort ? `-${p.toPort}` : ""}`} ${p.cidr ?? p.prefixListId ?? p.groupId ?? ""}`.trim(),
        )
        .join(",")}`;
    case "delete-network-acl-entry":
      return `delete ${a.networkAclId} ${a.egress ? "egress" : "ingress"} #${a.ruleNumber}`;
    case "insert-network-acl-entries":
      return `insert ${a.networkAclId} ${a.egress ? "egress" : "ingress"} ${a.entries.map(insertedEntryText).join(",")} before #${a.before}`;
    case "narrow-security-group-rule":
      return `narrow ${a.groupId} ${a.direction} ${a.ruleId} to ${a.remainder
        .map((p) =>
          `${p.protocol}${p.fromPort === null ? "" : `/${p.fromPort}${p.toPort !== p.fromPort ? `-${p.toPort}` : ""}`} ${p.cidr ?? ""}`.trim(),
        )
        .join(",")}`;
  }
}

export function csvHeader(): string {
  return `${CSV_COLUMNS.join(",")}\n`;
}

/**
 * Rows for one event: one per finding, so a spreadsheet can filter by rule; an event without
 * findings gets one row with the rule columns empty.
 */
export function csvRows(l: ReplayLine, policyId: string): string {
  const head = [l.eventTime, l.eventId, l.eventName, l.account, l.region, l.actor, l.outcome].map(
    csvCell,
  );
  // An insert or a narrowing carries the planner's check, in brackets after it.
  const actions = csvCell(
    l.actions
      .map((a) => ("check" in a ? `${describeAction(a)} [${a.check}]` : describeAction(a)))
      .join("; "),
  );
  const source = csvCell(l.source);
  const policy = csvCell(policyId);
  if (l.findings.length === 0) {
    return `${[...head, "", "", "", "", csvCell(l.reason), "", actions, source, policy].join(",")}\n`;
  }
  let out = "";
  for (const f of l.findings) {
    const exemption = f.exemption
      ? `${f.exemption.kind}: ${f.exemption.reason}${f.exemption.expires ? ` (until ${f.exemption.expires})` : ""}`
      : "";
    out += `${[
      ...head,
      csvCell(f.rule),
      f.mode,
      csvCell(f.severity),
      csvCell(f.resource),
      csvCell(f.reason),
      csvCell(exemption),
      actions,
      source,
      policy,
    ].join(",")}\n`;
  }
  return out;
}
