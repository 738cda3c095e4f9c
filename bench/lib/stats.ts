/** Nearest-rank percentile (p in 0-100) of unsorted samples. */
export function percentile(samples: readonly number[], p: number): number {
  if (samples.length === 0) throw new Error("no samples");
  const sorted = [...samples].sort((a, b) => a - b);
  const rank = Math.ceil((p / 100) * sorted.length);
  return sorted[Math.min(sorted.length, Math.max(1, rank)) - 1] as number;
}

export const median = (samples: readonly number[]) => percentile(samples, 50);

export function mean(samples: readonly number[]): number {
  return samples.reduce((s, x) => s + x, 0) / samples.length;
}

/** The most frequent value (the smallest on a tie). */
export function mode(samples: readonly number[]): number {
  const counts = new Map<number, number>();
  for (const s of samples) counts.set(s, (counts.get(s) ?? 0) + 1);
  let best = Number.NaN;
  let bestCount = 0;
  for (const [value, count] of [...counts].sort((a, b) => a[0] - b[0])) {
    if (count > bestCount) {
      best = value;
      bestCount = count;
    }
  }
  return best;
}

export const ms = (value: number) => `${value.toFixed(value < 10 ? 2 : 1)} ms`;
export const kb = (bytes: number) => `${(bytes / 1024).toFixed(0)} KB`;

/** The 10th to 90th percentile of `samples`, for reporting the spread beside a median. */
export function spread(samples: readonly number[], digits = 1): string {
  return `${percentile(samples, 10).toFixed(digits)}–${percentile(samples, 90).toFixed(digits)}`;
}

/** Ratios of samples taken in turns (`a[i]` beside `b[i]`), one per turn. */
export function pairedRatios(a: readonly number[], b: readonly number[]): number[] {
  return a.map((x, i) => x / (b[i] ?? Number.NaN));
}
