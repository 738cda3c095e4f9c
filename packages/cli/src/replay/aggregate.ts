import { EVENT_SPECS } from "@guardrail/core/runtime";
import { type Peek, type ReplayLine, unrelatedCategory } from "./record";

export const OUTCOMES = ["violation", "compliant", "exempt", "ignored", "invalid"] as const;

export interface RuleTotals {
  /** Violation events with a counting finding of this rule. */
  violations: number;
  /** Counting findings by effective mode, and waived findings. */
  enforce: number;
  notify: number;
  waived: number;
  severity: string;
}

export interface AccountTotals {
  events: number;
  violation: number;
  compliant: number;
  exempt: number;
  ignored: number;
  invalid: number;
  actions: number;
}

export interface ActorTotals {
  violations: number;
  exempt: number;
  accounts: Record<string, number>;
  rules: Record<string, number>;
  last: string | null;
}

/** Input that could not be read (a file, a line), as opposed to a record that is invalid. */
export interface Problem {
  readonly source: string;
  readonly message: string;
}

/**
 * Totals of a replay. Plain data that merges: each worker sums its own files and the main thread
 * merges them in file order.
 */
export interface Aggregate {
  /** Files read (including those that turned out unreadable). */
  files: number;
  /** Files skipped because their S3 path is outside the filters. */
  filesSkipped: number;
  /** Records read, before filters. */
  records: number;
  /**
   * Records not listed because their event name is not one the guardrail handles (replay
   * without `--all-records`): counted here only, before filters, in no other total.
   */
  unlisted: number;
  /** Of {@link unlisted}, those never parsed: the pre-filter showed from their bytes alone. */
  unparsed: number;
  /**
   * Output lines: the records that passed the filters, plus one `invalid` line per input that
   * could not be read (`unreadable`), so `events = selected records + unreadable`.
   */
  events: number;
  /** Inputs that could not be read (a file, a line, a directory): reported as invalid lines. */
  unreadable: number;
  byOutcome: Record<string, number>;
  byRule: Record<string, RuleTotals>;
  byAccount: Record<string, AccountTotals>;
  byActor: Record<string, ActorTotals>;
  /**
   * Violation events per UTC day, each counted once under its main rule (the most severe of its
   * counting findings), so that a day's counts add up to its violations.
   */
  byDay: Record<string, Record<string, number>>;
  /** Ignored events by reason (`unhandled-event`, `failed-call`, ...). */
  ignored: Record<string, number>;
  actions: number;
  actionsByType: Record<string, number>;
  /** Violation events with at least one planned revocation (the rest only notify). */
  revokingEvents: number;
  problems: Problem[];
  /** The first invalid events, for the report. */
  invalidSamples: Problem[];
  firstEvent: string | null;
  lastEvent: string | null;
}

const MAX_INVALID_SAMPLES = 50;

export function emptyAggregate(): Aggregate {
  return {
    files: 0,
    filesSkipped: 0,
    records: 0,
    unlisted: 0,
    unparsed: 0,
    events: 0,
    unreadable: 0,
    byOutcome: Object.fromEntries(OUTCOMES.map((o) => [o, 0])),
    byRule: {},
    byAccount: {},
    byActor: {},
    byDay: {},
    ignored: {},
    actions: 0,
    actionsByType: {},
    revokingEvents: 0,
    problems: [],
    invalidSamples: [],
    firstEvent: null,
    lastEvent: null,
  };
}

/** `r[k]`, created by `make` when missing. */
function slot<T>(r: Record<string, T>, k: string, make: () => T): T {
  let v = r[k];
  if (v === undefined) {
    v = make();
    r[k] = v;
  }
  return v;
}

const inc = (r: Record<string, number>, k: string, n = 1) => {
  r[k] = (r[k] ?? 0) + n;
};

function emptyAccount(): AccountTotals {
  return { events: 0, violation: 0, compliant: 0, exempt: 0, ignored: 0, invalid: 0, actions: 0 };
}

/**
 * Counts a record of unrelated traffic exactly as {@link addLine} counts its line
 * (`unrelatedLine`), without building the line: most of a trail is such records.
 */
export function addUnrelated(a: Aggregate, p: Peek): void {
  a.events++;
  a.byOutcome.ignored = (a.byOutcome.ignored ?? 0) + 1;
  inc(a.ignored, unrelatedCategory(p));
  const t = p.eventTime;
  if (t !== null) {
    if (a.firstEvent === null || t < a.firstEvent) a.firstEvent = t;
    if (a.lastEvent === null || t > a.lastEvent) a.lastEvent = t;
  }
  if (p.account !== null && p.eventName !== null && Object.hasOwn(EVENT_SPECS, p.eventName)) {
    const acc = slot(a.byAccount, p.account, emptyAccount);
    acc.events++;
    acc.ignored++;
  }
}

const SEVERITY_RANK: Record<string, number> = { critical: 0, high: 1, medium: 2, low: 3 };

/** The most severe counting finding's rule (the first such in the policy's order on a tie). */
export function mainRule(l: ReplayLine): string | null {
  let best: ReplayLine["findings"][number] | null = null;
  for (const f of l.findings) {
    if (f.exemption) continue;
    if (best === null || (SEVERITY_RANK[f.severity] ?? 9) < (SEVERITY_RANK[best.severity] ?? 9)) {
      best = f;
    }
  }
  return best?.rule ?? null;
}

/** Adds one output line. */
export function addLine(a: Aggregate, l: ReplayLine): void {
  a.events++;
  inc(a.byOutcome, l.outcome);
  a.actions += l.actions.length;
  for (const x of l.actions) inc(a.actionsByType, x.type);
  if (l.outcome === "violation" && l.actions.length > 0) a.revokingEvents++;
  if (l.outcome === "ignored") {
    const r = l.reason ?? "";
    const colon = r.indexOf(":");
    inc(a.ignored, colon > 0 ? r.slice(0, colon) : "other");
  }
  if (l.outcome === "invalid" && a.invalidSamples.length < MAX_INVALID_SAMPLES) {
    a.invalidSamples.push({ source: l.source, message: l.reason ?? "invalid" });
  }
  if (l.eventTime !== null && l.outcome !== "invalid") {
    if (a.firstEvent === null || l.eventTime < a.firstEvent) a.firstEvent = l.eventTime;
    if (a.lastEvent === null || l.eventTime > a.lastEvent) a.lastEvent = l.eventTime;
  }
  // Unrelated traffic is most of a trail; per-account rows only count the calls the guardrail
  // knows (security-group, network-ACL and prefix-list changes), whatever their outcome.
  if (
    l.account !== null &&
    (l.outcome !== "ignored" || (l.eventName !== null && Object.hasOwn(EVENT_SPECS, l.eventName)))
  ) {
    const acc = slot(a.byAccount, l.account, emptyAccount);
    acc.events++;
    acc[l.outcome]++;
    acc.actions += l.actions.length;
  }
  if (l.findings.length === 0) return;
  const counted = new Set<string>();
  for (const f of l.findings) {
    const r = slot(a.byRule, f.rule, () => ({
      violations: 0,
      enforce: 0,
      notify: 0,
      waived: 0,
      severity: f.severity,
    }));
    if (f.exemption) r.waived++;
    else {
      r[f.mode]++;
      counted.add(f.rule);
    }
  }
  if (l.outcome === "violation") {
    for (const rule of counted) a.byRule[rule]!.violations++;
    const main = mainRule(l);
    if (main !== null)
      inc(
        slot(a.byDay, (l.eventTime ?? "unknown").slice(0, 10), () => ({})),
        main,
      );
  }
  if (l.outcome === "violation" || l.outcome === "exempt") {
    const actor = slot(a.byActor, l.actor ?? "unknown", () => ({
      violations: 0,
      exempt: 0,
      accounts: {},
      rules: {},
      last: null,
    }));
    if (l.outcome === "violation") actor.violations++;
    else actor.exempt++;
    inc(actor.accounts, l.account ?? "unknown");
    for (const f of l.findings) inc(actor.rules, f.rule);
    if (l.eventTime !== null && (actor.last === null || l.eventTime > actor.last)) {
      actor.last = l.eventTime;
    }
  }
}

function mergeCounts(into: Record<string, number>, from: Record<string, number>) {
  for (const [k, v] of Object.entries(from)) inc(into, k, v);
}

/** Adds `from` into `into`. Problems keep their order: merge in input order. */
export function mergeAggregate(into: Aggregate, from: Aggregate): void {
  into.files += from.files;
  into.filesSkipped += from.filesSkipped;
  into.records += from.records;
  into.unlisted += from.unlisted;
  into.unparsed += from.unparsed;
  into.events += from.events;
  into.unreadable += from.unreadable;
  mergeCounts(into.byOutcome, from.byOutcome);
  for (const [k, r] of Object.entries(from.byRule)) {
    const t = slot(into.byRule, k, () => ({
      ...r,
      violations: 0,
      enforce: 0,
      notify: 0,
      waived: 0,
    }));
    t.violations += r.violations;
    t.enforce += r.enforce;
    t.notify += r.notify;
    t.waived += r.waived;
  }
  for (const [k, r] of Object.entries(from.byAccount)) {
    const t = slot(into.byAccount, k, emptyAccount);
    for (const key of Object.keys(r) as (keyof AccountTotals)[]) t[key] += r[key];
  }
  for (const [k, r] of Object.entries(from.byActor)) {
    const t = slot(into.byActor, k, () => ({
      violations: 0,
      exempt: 0,
      accounts: {},
      rules: {},
      last: null,
    }));
    t.violations += r.violations;
    t.exempt += r.exempt;
    mergeCounts(t.accounts, r.accounts);
    mergeCounts(t.rules, r.rules);
    if (r.last !== null && (t.last === null || r.last > t.last)) t.last = r.last;
  }
  for (const [day, rules] of Object.entries(from.byDay))
    mergeCounts(
      slot(into.byDay, day, () => ({})),
      rules,
    );
  mergeCounts(into.ignored, from.ignored);
  into.actions += from.actions;
  into.revokingEvents += from.revokingEvents;
  mergeCounts(into.actionsByType, from.actionsByType);
  into.problems.push(...from.problems);
  for (const s of from.invalidSamples) {
    if (into.invalidSamples.length < MAX_INVALID_SAMPLES) into.invalidSamples.push(s);
  }
  if (from.firstEvent !== null && (into.firstEvent === null || from.firstEvent < into.firstEvent)) {
    into.firstEvent = from.firstEvent;
  }
  if (from.lastEvent !== null && (into.lastEvent === null || from.lastEvent > into.lastEvent)) {
    into.lastEvent = from.lastEvent;
  }
}

/** Actors by violations, then exemptions, then name. */
export function topActors(a: Aggregate, n = 10): [string, ActorTotals][] {
  return Object.entries(a.byActor)
    .sort(
      (x, y) =>
        y[1].violations - x[1].violations ||
        y[1].exempt - x[1].exempt ||
        (x[0] < y[0] ? -1 : x[0] > y[0] ? 1 : 0),
    )
    .slice(0, n);
}
