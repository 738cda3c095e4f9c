import { type Policy, readCompiledPolicy } from "@guardrail/core/runtime";
import { FINDING_FORMATS, findingLines, isFindingFormat, replayDecision } from "../finding-formats";
import {
  decompressInput,
  type InputItem,
  parseArchivePath,
  parsePieces,
  parseText,
  readInputBytes,
  type TextPiece,
  unwrap,
} from "../input";
import { type Aggregate, addLine, addUnrelated, emptyAggregate } from "./aggregate";
import { matchesRecord, matchesRules, mayMatchPath, type ReplayFilters } from "./filters";
import { csvRows } from "./formats/csv";
import { OutputBuffer } from "./output-buffer";
import { isListed, type LogScan, scanLogFile } from "./prefilter";
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
  /**
   * The policy, validated once by the calling thread and compiled (`compilePolicy`): a worker
   * reads it with `readCompiledPolicy`, JSON only, so no worker parses YAML or runs the schema.
   */
  readonly compiledPolicy: string;
  /** `policyId` of that text: every JSON line and CSV row names the policy that judged it. */
  readonly policyId: string;
  readonly filters: ReplayFilters;
  readonly format: Format;
  /**
   * List every record (`--all-records`), each parsed in full. Otherwise only records of a handled
   * event name are listed, and log files are scanned for them before anything is parsed
   * (see prefilter.ts); the others are counted.
   */
  readonly allRecords: boolean;
}

/**
 * A unit of work: one file, the bytes of one named input (an object fetched from elsewhere), or a
 * run of values cut from stdin. A file and a named input are read alike: gunzipped when they are
 * gzip, skipped whole when their S3-export path is outside the filters, pre-filtered when they
 * are a CloudTrail log file.
 */
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
      readonly kind: "bytes";
      /** The name records are reported under (`source#index`), such as an S3 URL. */
      readonly source: string;
      /** As stored: gzip is recognised by its magic number. */
      readonly bytes: Uint8Array;
      readonly size: number;
      /** Set when the input could not be fetched: reported in place. */
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

/** What a replay worker posts once it has loaded, before any result. */
export const READY = "ready";

/** Runs jobs against one loaded policy. One per worker thread (or one in-process). */
export class Replayer {
  private readonly policy: Policy;

  /** `policy`: the policy of `config.compiledPolicy` when the caller holds it already. */
  constructor(
    private readonly config: ReplayConfig,
    policy?: Policy,
  ) {
    this.policy = policy ?? readCompiledPolicy(config.compiledPolicy, "the replay policy").policy;
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
    if (job.kind === "file" || job.kind === "bytes") {
      const name = job.kind === "file" ? job.path : job.source;
      if (!mayMatchPath(parseArchivePath(name), this.config.filters)) {
        agg.filesSkipped++;
        return { index: job.index, output: null, agg, details: [], size: job.size };
      }
      if (job.error !== undefined) {
        const error = { kind: "error", source: name, index: 0, message: job.error } as const;
        return this.process(job, [error], agg);
      }
      agg.files++;
      const read =
        job.kind === "file"
          ? readInputBytes(job.path)
          : decompressInput(
              job.source,
              Buffer.from(job.bytes.buffer, job.bytes.byteOffset, job.bytes.byteLength),
            );
      if ("error" in read) return this.process(job, [read.error], agg);
      if (!this.config.allRecords) {
        const scan = scanLogFile(read.bytes);
        const done = scan && this.runCandidates(job, name, read.bytes, scan, agg);
        if (done) return done;
      }
      const text = read.bytes.toString("utf8");
      // A CloudTrail log file is one document: parse it once and walk its records directly.
      let doc: unknown;
      try {
        doc = JSON.parse(text);
      } catch {
        return this.process(job, parseText(text, name), agg);
      }
      const sink = this.sink(agg);
      const records = unwrap(doc);
      for (let i = 0; i < records.length; i++) this.record(records[i], name, i, agg, sink);
      return sink.result(job);
    }
    const items: InputItem[] = [];
    parsePieces(job.pieces, job.source, items);
    if (job.error !== undefined) {
      items.push({ kind: "error", source: job.source, index: items.length, message: job.error });
    }
    return this.process(job, items, agg);
  }

  /**
   * Parses only the records the scan found could be listed; the others are counted as not
   * listed and never parsed. Null when a candidate is not JSON after all: the caller then parses
   * the whole file, which reports what is wrong exactly as without the pre-filter.
   */
  private runCandidates(
    job: Job,
    name: string,
    bytes: Buffer,
    scan: LogScan,
    agg: Aggregate,
  ): JobResult | null {
    const values: unknown[] = [];
    for (const c of scan.candidates) {
      try {
        values.push(JSON.parse(bytes.toString("utf8", c.start, c.end)));
      } catch {
        return null;
      }
    }
    const unparsed = scan.total - scan.candidates.length;
    agg.records += unparsed;
    agg.unlisted += unparsed;
    agg.unparsed += unparsed;
    const sink = this.sink(agg);
    for (const [k, c] of scan.candidates.entries()) {
      this.record(values[k], name, c.index, agg, sink);
    }
    return sink.result(job);
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
    if (!this.config.allRecords && !isListed(value)) {
      agg.unlisted++;
      return;
    }
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
