import type { Table } from "./result";

/** A fixed-width text table for the console. */
export function textTable({ header, rows }: Table): string {
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? "").length)));
  const line = (cells: readonly string[]) =>
    cells
      .map((c, i) => (i === 0 ? c.padEnd(widths[i] ?? 0) : c.padStart(widths[i] ?? 0)))
      .join("  ")
      .trimEnd();
  return [line(header), widths.map((w) => "-".repeat(w)).join("  "), ...rows.map(line)].join("\n");
}

const cell = (s: string) => s.replace(/\|/g, "\\|");

/** A Markdown table, first column left-aligned and the others right-aligned (numbers). */
export function markdownTable(
  { header, rows }: Table,
  align: "numbers" | "left" = "numbers",
): string {
  return [
    `| ${header.map(cell).join(" | ")} |`,
    `| ${header.map((_, i) => (i === 0 || align === "left" ? "---" : "---:")).join(" | ")} |`,
    ...rows.map((r) => `| ${r.map(cell).join(" | ")} |`),
  ].join("\n");
}
