import { UsageError } from "../errors";
import type { ArchivePath } from "../input";
import type { Peek, ReplayLine } from "./record";

/**
 * What `--since`, `--until`, `--account`, `--region` and `--rule` select. Plain data: it crosses
 * into worker threads.
 */
export interface ReplayFilters {
  /** Epoch milliseconds, inclusive. */
  readonly since?: number;
  /** Epoch milliseconds, exclusive. */
  readonly until?: number;
  readonly accounts?: readonly string[];
  readonly regions?: readonly string[];
  /** Keep only events with a finding (counting or waived) of one of these rules. */
  readonly rules?: readonly string[];
}

const RELATIVE = /^(\d+)\s*(m|min|h|d|w)$/i;
const UNIT_MS: Record<string, number> = {
  m: 60_000,
  min: 60_000,
  h: 3_600_000,
  d: 86_400_000,
  w: 604_800_000,
};

/**
 * Parses a time flag: an ISO date or date-time (`2025-03-01`, `2025-03-01T12:00:00Z`; a date
 * alone is midnight UTC), or a duration back from `now` (`30m`, `12h`, `7d`, `2w`).
 */
export function parseTime(flag: string, value: string, now: Date = new Date()): number {
  const rel = RELATIVE.exec(value.trim());
  if (rel) return now.getTime() - Number(rel[1]) * UNIT_MS[rel[2]!.toLowerCase()]!;
  const text = /^\d{4}-\d{2}-\d{2}$/.test(value.trim()) ? `${value.trim()}T00:00:00Z` : value;
  const t = Date.parse(text);
  if (Number.isNaN(t)) {
    throw new UsageError(
      `${flag} must be an ISO date (2025-03-01), date-time (2025-03-01T12:00:00Z) or duration (30m, 12h, 7d, 2w), not "${value}"`,
    );
  }
  return t;
}

/** Splits repeatable, comma-separated flag values. */
export function listFlag(values: readonly string[] | undefined): string[] | undefined {
  if (values === undefined) return undefined;
  const out = values
    .flatMap((v) => v.split(","))
    .map((v) => v.trim())
    .filter((v) => v !== "");
  return out.length > 0 ? out : undefined;
}

const DAY_MS = 86_400_000;

/**
 * False when an S3-export path shows that no record in the file can pass the filters. The
 * delivery day can trail an event's time by a few minutes (a file delivered just after midnight
 * holds the previous day's last events), so days are judged with one day of slack.
 */
export function mayMatchPath(info: ArchivePath | null, f: ReplayFilters): boolean {
  if (info === null) return true;
  if (f.accounts && !f.accounts.includes(info.account)) return false;
  if (f.regions && !f.regions.includes(info.region)) return false;
  const dayStart = Date.parse(`${info.day}T00:00:00Z`);
  if (f.since !== undefined && dayStart + 2 * DAY_MS <= f.since) return false;
  if (f.until !== undefined && dayStart - DAY_MS >= f.until) return false;
  return true;
}

/**
 * False when the record is outside the time, account or region filters. A record that does not
 * say its time, account or region is kept: replay cannot show it is outside, and dropping it
 * would hide a broken record.
 */
export function matchesRecord(p: Peek | null, f: ReplayFilters): boolean {
  if (p === null) return true;
  if (f.accounts && p.account !== null && !f.accounts.includes(p.account)) return false;
  if (f.regions && p.region !== null && !f.regions.includes(p.region)) return false;
  if ((f.since !== undefined || f.until !== undefined) && p.eventTime !== null) {
    const t = Date.parse(p.eventTime);
    if (!Number.isNaN(t)) {
      if (f.since !== undefined && t < f.since) return false;
      if (f.until !== undefined && t >= f.until) return false;
    }
  }
  return true;
}

/** False when `--rule` is given and the event has no finding of those rules. */
export function matchesRules(line: ReplayLine, f: ReplayFilters): boolean {
  if (!f.rules) return true;
  return line.findings.some((x) => f.rules!.includes(x.rule));
}
