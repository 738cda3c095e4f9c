import { readFileSync, writeFileSync } from "node:fs";
import type { Machine } from "./machine";
import { resultsTable } from "./report";
import type { BenchResult, BenchSection } from "./result";
import { markdownTable } from "./table";

/** A section as bench/run.ts ran it. */
export interface Ran extends BenchSection {
  readonly loadBefore: number;
}

/** One section of docs/benchmarks.md; `updated` says when it was run alone (--update). */
export function sectionLines(s: Ran, updated?: Machine): string[] {
  const alone = updated
    ? ` · run alone (\`npm run bench -- --only ${s.id} --update\`) on ${updated.date}, commit ${updated.commit}`
    : "";
  const lines = [
    `## ${s.title}`,
    "",
    `\`${s.command}\` · ${s.seconds.toFixed(0)} s · load average ${s.loadBefore.toFixed(1)} at start${alone}`,
    "",
    s.method,
    "",
    markdownTable(s.table),
    "",
    ...s.notes.map((n) => `- ${n}`),
    ...(s.notes.length > 0 ? [""] : []),
  ];
  if (s.id !== "replay") {
    lines.push(
      "<details><summary>Every figure</summary>",
      "",
      markdownTable(resultsTable(s.results)),
      "",
      "</details>",
      "",
    );
  }
  return lines;
}

/** A row of the Targets table. */
const targetRow = (r: BenchResult) =>
  markdownTable({
    header: ["", "", "", ""],
    rows: [
      [
        r.name,
        `${r.value.toLocaleString("en-US")} ${r.unit}`,
        `${(r.target as number).toLocaleString("en-US")} ${r.unit}`,
        r.met ? "yes" : "**no**",
      ],
    ],
  })
    .split("\n")
    .at(-1) as string;

/**
 * Replaces the sections that ran in an existing docs/benchmarks.md and bench/results.json: each
 * section's block, its rows of the Targets table and of "Missed targets and why", and its figures
 * (the names that appear in the old block), leaving every other section as it was measured.
 */
export function update(mdPath: string, jsonPath: string, machine: Machine, ran: readonly Ran[]) {
  let md = readFileSync(mdPath, "utf8");
  let results = JSON.parse(readFileSync(jsonPath, "utf8")) as BenchResult[];
  for (const s of ran) {
    const start = md.indexOf(`\n## ${s.title}\n`);
    if (start < 0) throw new Error(`${mdPath} has no section "${s.title}": run the whole bench`);
    const next = md.indexOf("\n## ", start + 1);
    const block = md.slice(start, next < 0 ? undefined : next);
    const old = new Set(results.map((r) => r.name).filter((n) => block.includes(`| ${n} |`)));
    md = `${md.slice(0, start)}\n${sectionLines({ ...s }, machine)
      .join("\n")
      .trimEnd()}\n${next < 0 ? "" : md.slice(next)}`;
    // Targets: the old rows out, the new ones where the first old one was.
    const rows = md.split("\n");
    const isOld = (l: string) => [...old].some((n) => l.startsWith(`| ${n} | `));
    const targetsAt = rows.indexOf("## Targets");
    const first = rows.findIndex((l, i) => i > targetsAt && isOld(l));
    const fresh = s.results.filter((r) => r.target !== null).map(targetRow);
    const kept = rows.filter((l, i) => !(i > targetsAt && i < targetsAt + 200 && isOld(l)));
    const insertAt =
      first >= 0 ? first : kept.indexOf("", kept.indexOf("| --- | ---: | ---: | ---: |"));
    kept.splice(insertAt, 0, ...fresh);
    // Missed targets: bullets naming an old figure out, one per reason of the new ones in.
    let text = kept
      .join("\n")
      .split("\n")
      .filter((l) => !(l.startsWith("- **") && [...old].some((n) => l.includes(`**${n}**`))))
      .join("\n");
    const missed = s.results.filter((r) => r.met === false);
    if (missed.length > 0) {
      const bullets = missed.map(
        (r) =>
          `- **${r.name}**: ${r.value.toLocaleString("en-US")} ${r.unit} (target ${(r.target as number).toLocaleString("en-US")}). ${s.reasons[r.name] ?? "No reason was established: see the section."}`,
      );
      if (text.includes("### Missed targets and why\n\n")) {
        text = text.replace(
          "### Missed targets and why\n\n",
          `### Missed targets and why\n\n${bullets.join("\n")}\n`,
        );
      } else {
        text = text.replace(
          "Every target was met in this run.\n",
          `### Missed targets and why\n\n${bullets.join("\n")}\n`,
        );
      }
    }
    text = text.replace(
      "### Missed targets and why\n\n\n",
      "Every target was met in this run.\n\n",
    );
    md = text;
    const at = results.findIndex((r) => old.has(r.name));
    results = results.filter((r) => !old.has(r.name));
    results.splice(at >= 0 ? at : results.length, 0, ...s.results);
  }
  writeFileSync(jsonPath, `${JSON.stringify(results, null, 2)}\n`);
  writeFileSync(mdPath, md);
}
