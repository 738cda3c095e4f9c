import { loadPolicy, type Policy } from "@guardrail/core";
import { FINDING_FORMATS, findingLines, isFindingFormat, replayDecision } from "../finding-formats";
import {
  type InputItem,
  parseArchivePath,
  parsePieces,
  parseText,
  readInputText,
  type TextPiece,
  unwrap,
} from "../input";
import { type Aggregate, addLine, addUnrelated, emptyAggregate } from "./aggregate";
import { matchesRecord, matchesRules, mayMatchPath, type ReplayFilters } from "./filters";
import { csvRows } from "./formats/csv";
import { OutputBuffer } from "./output-buffer";
import {
  type Evaluated,
  isUnrelated,
  peek,
  type ReplayLine,
  replayEvaluation,
  unreadableLine,
  unrelatedLine,
} from "./record";

export const FORMATS = ["table", "json", "csv", "html", ...FINDING_FORMATS] as const;
export type Format = (typeof FORMATS)[number];

/** Everything a replay worker needs. Plain data: it is handed to worker threads as is. */
export interface ReplayConfig {
  /** The policy's YAML: each worker loads its own copy. */
  readonly policyText: string;
  /** `policyId` of that text: every JSON line and CSV row names the policy that judged it. */
  readonly policyId: string;
  readonly filters: ReplayFilters;
  readonly format: Format;
}

/** A unit of work: one file, or a run of values cut from stdin. */
export type Job =
  | {
      readonly index: number;
      readonly kind: "file";
      readonly path: string;
      readonly size: number;
      /** Set when the path could not even be listed (a directory, a broken link). */
      readonly error?: string;
    }
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
  /**
   * Rendered output for streaming formats (JSON Lines, CSV rows), already UTF-8: encoding is
   * done on the worker, and the bytes move to the main thread without a copy.
   */
  readonly output: Uint8Array | null;
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
        return { index: job.index, output: null, agg, details: [], size: job.size };
      }
      if (job.error !== undefined) {
        const error = { kind: "error", source: job.path, index: 0, message: job.error } as const;
        return this.process(job, [error], agg);
      }
      agg.files++;
      const read = readInputText(job.path);
      if ("error" in read) return this.process(job, [read.error], agg);
      // A CloudTrail log file is one document: parse it once and walk its records directly.
      let doc: unknown;
      try {
        doc = JSON.parse(read.text);
      } catch {
        return this.process(job, parseText(read.text, job.path), agg);
      }
      const sink = this.sink(agg);
      const records = unwrap(doc);
      for (let i = 0; i < records.length; i++) this.record(records[i], job.path, i, agg, sink);
      return sink.result(job);
    }
    const items: InputItem[] = [];
    parsePieces(job.pieces, job.source, items);
    if (job.error !== undefined) {
      items.push({ kind: "error", source: job.source, index: items.length, message: job.error });
    }
    return this.process(job, items, agg);
  }

  private process(job: Job, items: readonly InputItem[], agg: Aggregate): JobResult {
    const sink = this.sink(agg);
    for (const item of items) {
      if (item.kind === "error") {
        agg.problems.push({ source: item.source, message: item.message });
        agg.unreadable++;
        sink.emit(unreadableLine(item.source, item.message));
      } else {
        this.record(item.value, item.source, item.index, agg, sink);
      }
    }
    return sink.result(job);
  }

  /** Where lines go: the aggregate, and the rendered output or report details. */
  private sink(agg: Aggregate) {
    const { format, policyId, filters } = this.config;
    // Appended to each JSON line as text: no copy of the line object per event.
    const policyField = `,"policyId":${JSON.stringify(policyId)}}`;
    const out = new OutputBuffer();
    const details: ReplayLine[] = [];
    return {
      emit(line: ReplayLine, evaluated?: Evaluated) {
        addLine(agg, line);
        if (isFindingFormat(format)) {
          const d =
            evaluated?.event && evaluated.evaluation
              ? replayDecision(evaluated.event, evaluated.evaluation, policyId, filters.rules)
              : null;
          if (d) out.append(findingLines([d], format));
          return;
        }
        if (format === "json") {
          out.append(JSON.stringify(line).slice(0, -1) + policyField);
          out.append("\n");
        } else if (format === "csv") out.append(csvRows(line, policyId));
        else if (format === "html" && (line.outcome === "violation" || line.outcome === "exempt")) {
          details.push(line);
        }
      },
      /** True when lines without findings are only counted, never shown. */
      countsOnly: format === "table" || format === "html" || isFindingFormat(format),
      result(job: Job): JobResult {
        return { index: job.index, output: out.take(), agg, details, size: job.size };
      },
    };
  }

  private record(
    value: unknown,
    name: string,
    index: number,
    agg: Aggregate,
    sink: ReturnType<Replayer["sink"]>,
  ) {
    const { filters } = this.config;
    agg.records++;
    const p = peek(value);
    if (!matchesRecord(p, filters)) return;
    if (p !== null && isUnrelated(p)) {
      // An unrelated record has no findings: `--rule` drops it, and a table or report only
      // counts it, without building its line.
      if (filters.rules) return;
      if (sink.countsOnly) addUnrelated(agg, p);
      else sink.emit(unrelatedLine(p, `${name}#${index}`));
      return;
    }
    const evaluated = replayEvaluation(value, `${name}#${index}`, this.policy);
    if (matchesRules(evaluated.line, filters)) sink.emit(evaluated.line, evaluated);
  }
}
