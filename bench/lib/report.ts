import type { BenchResult, BenchSection } from "./result";
import { textTable } from "./table";

const metText = (r: BenchResult) => (r.met === null ? "-" : r.met ? "yes" : "NO");

/** The figures of results, as a table: name, value, unit, target, met. */
export function resultsTable(results: readonly BenchResult[]) {
  return {
    header: ["result", "value", "unit", "target", "met"],
    rows: results.map((r) => [
      r.name,
      r.value.toLocaleString("en-US"),
      r.unit,
      r.target === null ? "-" : r.target.toLocaleString("en-US"),
      metText(r),
    ]),
  };
}

/** Prints a section to stdout: its table, its figures against their targets, and its notes. */
export function printSection(section: BenchSection): void {
  const out = [
    "",
    `== ${section.title} (${section.seconds.toFixed(1)} s) ==`,
    textTable(section.table),
    "",
    textTable(resultsTable(section.results)),
    ...section.notes.map((n) => `- ${n}`),
  ];
  for (const r of section.results.filter((x) => x.met === false)) {
    out.push(`! missed: ${r.name}: ${section.reasons[r.name] ?? "(no reason recorded)"}`);
  }
  console.log(out.join("\n"));
}
