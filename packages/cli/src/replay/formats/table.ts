import { describePolicy, type PolicyProvenance } from "@guardrail/core/runtime";
import { type Aggregate, OUTCOMES, topActors } from "../aggregate";

/** A plain text table: left-aligned text, right-aligned numbers. */
export function textTable(
  headers: readonly string[],
  rows: readonly (string | number)[][],
): string {
  const numeric = headers.map(
    (_, i) => rows.length > 0 && rows.every((r) => typeof r[i] === "number"),
  );
  const cells = [headers, ...rows.map((r) => r.map((c) => (typeof c === "number" ? fmt(c) : c)))];
  const widths = headers.map((_, i) => Math.max(...cells.map((r) => String(r[i] ?? "").length)));
  const line = (r: readonly (string | number)[]) =>
    r
      .map((c, i) =>
        numeric[i] ? String(c).padStart(widths[i] ?? 0) : String(c).padEnd(widths[i] ?? 0),
      )
      .join("  ")
      .trimEnd();
  return [
    line(cells[0] ?? []),
    widths.map((w) => "-".repeat(w)).join("  "),
    ...cells.slice(1).map(line),
  ].join("\n");
}

/**
 * 1234567 → "1,234,567", as `toLocaleString("en-US")` writes it for a whole number, without
 * loading the ICU data that costs a replay of a small archive a noticeable part of its time.
 */
export function fmt(n: number): string {
  if (!Number.isSafeInteger(n)) return n.toLocaleString("en-US");
  const sign = n < 0 ? "-" : "";
  return sign + String(Math.abs(n)).replace(/\B(?=(\d{3})+$)/g, ",");
}

/** `plural(1, "file")` → "1 file"; `plural(2, "file")` → "2 files". */
export function plural(n: number, one: string, many = `${one}s`): string {
  return `${fmt(n)} ${n === 1 ? one : many}`;
}

/**
 * What was read and what was kept, in counts that add up: records read = not handled + selected
 * + filtered out, and events (output lines, the outcome table's total) = selected + unreadable
 * inputs.
 */
export function countLines(a: Aggregate): string[] {
  const skipped = a.filesSkipped > 0 ? ` (${fmt(a.filesSkipped)} skipped by path filters)` : "";
  const unreadable =
    a.unreadable > 0 ? `; ${plural(a.unreadable, "input")} could not be read (listed below)` : "";
  const selected = a.events - a.unreadable;
  const filtered = a.records - a.unlisted - selected;
  const read = `Read ${plural(a.records, "record")} from ${plural(a.files, "file")}${skipped}${unreadable}.`;
  const unlisted =
    a.unlisted > 0
      ? [
          `${fmt(a.unlisted)} not a handled event${a.unparsed > 0 ? ` (${fmt(a.unparsed)} of them not parsed)` : ""}: counted only (--all-records lists them).`,
        ]
      : [];
  if (filtered === 0 && a.unreadable === 0) {
    return [
      read,
      ...unlisted,
      `All ${plural(a.events, "event")} selected; ${plural(a.actions, "planned action")}.`,
    ];
  }
  return [
    read,
    ...unlisted,
    `${fmt(selected)} selected${filtered > 0 ? ` (${fmt(filtered)} filtered out)` : ""}${a.unreadable > 0 ? ` + ${fmt(a.unreadable)} unreadable` : ""} = ${plural(a.events, "event")}; ${plural(a.actions, "planned action")}.`,
  ];
}

/** The entries of `counts`, the largest `count` first, ties in key order. */
function mostFirst<T>(counts: Readonly<Record<string, T>>, count: (c: T) => number): [string, T][] {
  return Object.entries(counts).sort((x, y) => count(y[1]) - count(x[1]) || (x[0] < y[0] ? -1 : 1));
}

/** `--format table`: totals by outcome, rule, account and the actors with most violations. */
export function renderTable(a: Aggregate, policy: PolicyProvenance): string {
  const parts: string[] = [`Policy: ${describePolicy(policy)}`];
  parts.push(...countLines(a));
  if (a.firstEvent !== null) parts.push(`Events from ${a.firstEvent} to ${a.lastEvent}.`);
  parts.push(
    "",
    textTable(
      ["outcome", "events"],
      OUTCOMES.map((o) => [o, a.byOutcome[o] ?? 0]),
    ),
  );
  /** A table after a blank line, left out when it has no rows. */
  const section = (headers: readonly string[], rows: readonly (string | number)[][]) => {
    if (rows.length > 0) parts.push("", textTable(headers, rows));
  };
  section(
    ["ignored because", "events"],
    Object.entries(a.ignored).sort((x, y) => y[1] - x[1]),
  );
  section(
    ["rule", "severity", "violations", "enforce", "notify", "waived"],
    mostFirst(a.byRule, (c) => c.violations).map(([r, c]) => [
      r,
      c.severity,
      c.violations,
      c.enforce,
      c.notify,
      c.waived,
    ]),
  );
  section(
    ["account", "handled", "violation", "exempt", "compliant", "ignored", "invalid", "actions"],
    mostFirst(a.byAccount, (c) => c.violation).map(([k, c]) => [
      k,
      c.events,
      c.violation,
      c.exempt,
      c.compliant,
      c.ignored,
      c.invalid,
      c.actions,
    ]),
  );
  section(
    ["top actors", "violations", "exempt", "accounts"],
    topActors(a).map(([k, c]) => [k, c.violations, c.exempt, Object.keys(c.accounts).length]),
  );
  if (a.problems.length > 0) {
    parts.push("", `Unreadable input (${fmt(a.problems.length)}), the rest was processed:`);
    for (const p of a.problems.slice(0, 20)) parts.push(`  ${p.source}: ${p.message}`);
    if (a.problems.length > 20) parts.push(`  ... and ${fmt(a.problems.length - 20)} more`);
  }
  return `${parts.join("\n")}\n`;
}
