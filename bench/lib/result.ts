/**
 * What every benchmark returns. `bench/results.json` is the list of every section's `results`,
 * in the shape the replay benchmark already writes: `{ name, value, unit, target, met }`.
 */
export interface BenchResult {
  readonly name: string;
  readonly value: number;
  readonly unit: string;
  /** The target value, or null when the figure is reported without one. */
  readonly target: number | null;
  /** Whether the target is met; null without a target. */
  readonly met: boolean | null;
}

/** One benchmark's report: its figures, a table for people, and what explains a missed target. */
export interface BenchSection {
  readonly id: string;
  readonly title: string;
  /** How it was measured, in a sentence or two (Markdown). */
  readonly method: string;
  /** The command that runs this benchmark alone. */
  readonly command: string;
  readonly results: readonly BenchResult[];
  readonly table: Table;
  /** Findings and caveats (Markdown), printed under the table. */
  readonly notes: readonly string[];
  /** Why a target was missed, by result name; every missed target must have one. */
  readonly reasons: Readonly<Record<string, string>>;
  readonly seconds: number;
}

export interface Table {
  readonly header: readonly string[];
  readonly rows: readonly (readonly string[])[];
}

/** A figure that must not exceed `target`. */
export function atMost(name: string, value: number, unit: string, target: number): BenchResult {
  return { name, value, unit, target, met: value <= target };
}

/** A figure that must reach `target`. */
export function atLeast(name: string, value: number, unit: string, target: number): BenchResult {
  return { name, value, unit, target, met: value >= target };
}

/** A figure reported without a target. */
export function info(name: string, value: number, unit: string): BenchResult {
  return { name, value, unit, target: null, met: null };
}

/** Rounds for reports: 3 significant decimals below 10, 1 below 1,000, none above. */
export function round(value: number): number {
  const abs = Math.abs(value);
  if (abs >= 1000) return Math.round(value);
  if (abs >= 10) return Math.round(value * 10) / 10;
  return Math.round(value * 1000) / 1000;
}
