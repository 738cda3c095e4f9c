import { loadPolicy, type Policy } from "@guardrail/core";
import {
  type InputItem,
  parseArchivePath,
  parsePieces,
  parseText,
  readInputText,
  type TextPiece,
} from "../input";
import { type Aggregate, addLine, emptyAggregate } from "./aggregate";
import { matchesRecord, matchesRules, mayMatchPath, type ReplayFilters } from "./filters";
import { csvRows } from "./formats/csv";
import {
  isUnrelated,
  peek,
  type ReplayLine,
  replayRecord,
  unreadableLine,
  unrelatedLine,
} from "./record";

export const FORMATS = ["table", "json", "csv", "html"] as const;
export type Format = (typeof FORMATS)[number];

/** Everything a replay worker needs. Plain data: it is handed to worker threads as is. */
export interface ReplayConfig {
  /** The policy's YAML: each worker loads its own copy. */
  readonly policyText: string;
  readonly filters: ReplayFilters;
  readonly format: Format;
}

/** A unit of work: one file, or a run of values cut from stdin. */
export type Job =
  | { readonly index: number; readonly kind: "file"; readonly path: string; readonly size: number }
  | {
      readonly index: number;
      readonly kind: "text";
      readonly source: string;
      readonly pieces: readonly TextPiece[];
      readonly size: number;
      /** Set when the stream broke here (a corrupt gzip): reported in place. */
      readonly error?: string;
    };

export interface JobResult {
  readonly index: number;
  /** Rendered output for streaming formats (JSON Lines, CSV rows), in input order. */
  readonly text: string;
  readonly agg: Aggregate;
  /** Violation and exempt lines, for the HTML report. */
  readonly details: ReplayLine[];
  /** Input bytes consumed, for progress. */
  readonly size: number;
}

/** Runs jobs against one loaded policy. One per worker thread (or one in-process). */
export class Replayer {
  private readonly policy: Policy;

  constructor(private readonly config: ReplayConfig) {
    this.policy = loadPolicy(config.policyText);
  }

  /** Never rejects: whatever goes wrong with one job is reported as a problem of that job. */
  async run(job: Job): Promise<JobResult> {
    try {
      return await this.runJob(job);
    } catch (err) {
      const source = job.kind === "file" ? job.path : job.source;
      const message = `cannot process: ${err instanceof Error ? err.message : String(err)}`;
      return this.process(job, [{ kind: "error", source, index: 0, message }], emptyAggregate());
    }
  }

  private async runJob(job: Job): Promise<JobResult> {
    const agg = emptyAggregate();
    if (job.kind === "file") {
      if (!mayMatchPath(parseArchivePath(job.path), this.config.filters)) {
        agg.filesSkipped++;
        return { index: job.index, text: "", agg, details: [], size: job.size };
      }
      agg.files++;
      const read = await readInputText(job.path);
      if ("error" in read) {
        return this.process(job, [read.error], agg);
      }
      return this.process(job, parseText(read.text, job.path), agg);
    }
    const items: InputItem[] = [];
    parsePieces(job.pieces, job.source, items);
    if (job.error !== undefined) {
      items.push({ kind: "error", source: job.source, index: items.length, message: job.error });
    }
    return this.process(job, items, agg);
  }

  private process(job: Job, items: readonly InputItem[], agg: Aggregate): JobResult {
    const { filters, format } = this.config;
    const out: string[] = [];
    const details: ReplayLine[] = [];
    const emit = (line: ReplayLine) => {
      addLine(agg, line);
      if (format === "json") out.push(`${JSON.stringify(line)}\n`);
      else if (format === "csv") out.push(csvRows(line));
      else if (format === "html" && (line.outcome === "violation" || line.outcome === "exempt")) {
        details.push(line);
      }
    };
    for (const item of items) {
      if (item.kind === "error") {
        agg.problems.push({ source: item.source, message: item.message });
        emit(unreadableLine(item.source, item.message));
        continue;
      }
      agg.records++;
      const p = peek(item.value);
      if (!matchesRecord(p, filters)) continue;
      const unrelated = p !== null && isUnrelated(p);
      // An unrelated record has no findings, so `--rule` drops it before any work.
      if (unrelated && filters.rules) continue;
      const source = `${item.source}#${item.index}`;
      const line = unrelated
        ? unrelatedLine(p, source)
        : replayRecord(item.value, source, this.policy);
      if (matchesRules(line, filters)) emit(line);
    }
    return { index: job.index, text: out.join(""), agg, details, size: job.size };
  }
}
