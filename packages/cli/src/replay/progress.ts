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
 * vary), files, records, rate and ETA. Pure, so it can be tested without a terminal.
 */
export function progressLine(p: ProgressSnapshot, width = 80): string {
  const secs = p.elapsedMs / 1000;
  const rate = secs > 0 ? p.records / secs : 0;
  const frac = p.totalBytes && p.totalBytes > 0 ? Math.min(1, p.bytes / p.totalBytes) : null;
  const eta = frac !== null && frac > 0 && secs > 0.5 ? clock((secs * (1 - frac)) / frac) : "--:--";
  const files = p.totalFiles === null ? fmt(p.files) : `${fmt(p.files)}/${fmt(p.totalFiles)}`;
  const text = ` ${files} files  ${fmt(p.records)} records  ${fmt(Math.round(rate))}/s  ETA ${eta}`;
  if (frac === null) return text.trimStart().slice(0, width);
  const barWidth = Math.max(10, Math.min(30, width - text.length - 7));
  const filled = Math.round(frac * barWidth);
  const pct = `${String(Math.floor(frac * 100)).padStart(3)}%`;
  return `[${"#".repeat(filled)}${"-".repeat(barWidth - filled)}] ${pct}${text}`.slice(0, width);
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
