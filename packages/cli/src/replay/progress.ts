import { fmt } from "./formats/table";

export interface ProgressSnapshot {
  readonly files: number;
  readonly totalFiles: number | null;
  readonly records: number;
  readonly bytes: number;
  readonly totalBytes: number | null;
  readonly elapsedMs: number;
}

function clock(seconds: number): string {
  const s = Math.max(0, Math.round(seconds));
  const h = Math.floor(s / 3600);
  const m = Math.floor((s % 3600) / 60);
  const ss = String(s % 60).padStart(2, "0");
  return h > 0 ? `${h}:${String(m).padStart(2, "0")}:${ss}` : `${m}:${ss}`;
}

/**
 * One status line: a bar (by bytes, which tracks the work better than file counts when file sizes
 * vary), files, records, rate and ETA, fitted to `width` columns: on a narrow terminal the bar
 * shrinks, then the rate, the ETA and the file count are left out, rather than cut mid-word. Pure,
 * so it can be tested without a terminal.
 */
export function progressLine(p: ProgressSnapshot, width = 80): string {
  const secs = p.elapsedMs / 1000;
  const rate = secs > 0 ? p.records / secs : 0;
  const frac = p.totalBytes && p.totalBytes > 0 ? Math.min(1, p.bytes / p.totalBytes) : null;
  const eta = frac !== null && frac > 0 && secs > 0.5 ? clock((secs * (1 - frac)) / frac) : "--:--";
  const files = `${p.totalFiles === null ? fmt(p.files) : `${fmt(p.files)}/${fmt(p.totalFiles)}`} files`;
  const records = `${fmt(p.records)} records`;
  const speed = `${fmt(Math.round(rate))}/s`;
  const left = `ETA ${eta}`;
  const choices = [
    [files, records, speed, left],
    [files, records, left],
    [records, left],
    [records],
  ];
  const pct = frac === null ? "" : `${String(Math.floor(frac * 100)).padStart(3)}%`;
  for (const parts of choices) {
    const text = ` ${parts.join("  ")}`;
    if (frac === null) {
      if (text.length - 1 <= width) return text.trimStart();
      continue;
    }
    const barWidth = Math.min(30, width - text.length - 7);
    if (barWidth >= 10) {
      const filled = Math.round(frac * barWidth);
      return `[${"#".repeat(filled)}${"-".repeat(barWidth - filled)}] ${pct}${text}`;
    }
    if (pct.length + text.length <= width) return `${pct}${text}`;
  }
  return `${pct.trimStart()} ${records}`.trim().slice(0, width);
}

/** Redraws {@link progressLine} on a TTY at most ten times a second. */
export class ProgressBar {
  private last = 0;
  private drawn = false;
  private readonly started = Date.now();

  constructor(
    private readonly stream: NodeJS.WriteStream,
    private readonly totals: { files: number | null; bytes: number | null },
  ) {}

  update(done: { files: number; records: number; bytes: number }, force = false): void {
    const now = Date.now();
    if (!force && now - this.last < 100) return;
    this.last = now;
    const line = progressLine(
      {
        ...done,
        totalFiles: this.totals.files,
        totalBytes: this.totals.bytes,
        elapsedMs: now - this.started,
      },
      (this.stream.columns ?? 80) - 1,
    );
    this.stream.write(`\r\x1b[2K${line}`);
    this.drawn = true;
  }

  /** Erases the line so that what follows starts clean. */
  clear(): void {
    if (this.drawn) this.stream.write("\r\x1b[2K");
    this.drawn = false;
  }
}
