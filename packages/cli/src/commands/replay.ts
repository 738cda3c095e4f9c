import { availableParallelism } from "node:os";
import { pipeline, Readable } from "node:stream";
import { StringDecoder } from "node:string_decoder";
import { createGunzip } from "node:zlib";
import { compilePolicy, UNRESOLVED_PREFIX_LIST_RULE } from "@guardrail/core/runtime";
import { type Command, Option } from "commander";
import { type CliIo, type CommandContext, notice, write } from "../context";
import { EXIT, InputError, UsageError } from "../errors";
import { checkAccounts, checkRegions, checkRuleIds } from "../flags";
import { type InputFile, listInputFiles, type TextPiece, ValueSplitter } from "../input";
import { closeOutput, openOutput } from "../output";
import { loadPolicyFile, POLICY_FLAG_HELP } from "../policy-file";
import { type Aggregate, emptyAggregate, mergeAggregate, OUTCOMES } from "../replay/aggregate";
import { listFlag, parseTime, type ReplayFilters } from "../replay/filters";
import { csvHeader } from "../replay/formats/csv";
import { MAX_DETAIL_ROWS, renderHtml } from "../replay/formats/html";
import { renderTable } from "../replay/formats/table";
import { runJobs } from "../replay/pool";
import {
  FORMATS,
  type Format,
  type Job,
  type JobResult,
  type ReplayConfig,
} from "../replay/process";
import { ProgressBar } from "../replay/progress";
import type { ReplayLine } from "../replay/record";
import { addRemoteOptions, openRemoteSource, type RemoteOptions } from "../replay/sources/open";
import type { ReplaySource } from "../replay/sources/source";

export interface ReplayOptions extends RemoteOptions {
  policy?: string;
  format: string;
  output?: string;
  since?: string;
  until?: string;
  from?: string;
  to?: string;
  account?: string[];
  region?: string[];
  rule?: string[];
  failOn?: string;
  jobs?: string;
  progress: boolean;
  allRecords?: boolean;
}

/** Below this much input, starting worker threads costs more than it saves. */
const IN_PROCESS_BYTES = 4 * 1024 * 1024;
/** Stdin is cut into jobs of about this many characters. */
const STDIN_JOB_CHARS = 4 * 1024 * 1024;

const collect = (v: string, prev: string[] = []) => [...prev, v];

export function registerReplay(program: Command, ctx: CommandContext): void {
  const command = program
    .command("replay")
    .summary("replay CloudTrail through the policy: what would the guardrail have done?")
    .description(
      "Replay CloudTrail records (or EventBridge events) through the policy and report what the " +
        "guardrail would have done with each: violation, compliant, exempt, ignored or invalid, " +
        "and the actions it would have taken. Nothing is changed in AWS.\n\n" +
        "PATH is a file or a directory, read recursively in path order: .json, .jsonl, .ndjson " +
        "and .gz files (other files and CloudTrail-Digest folders are skipped) holding one JSON " +
        'object, a JSON array, JSON Lines or a CloudTrail log file {"Records": [...]}. ' +
        "An S3 export (AWSLogs/<account>/CloudTrail/<region>/<yyyy>/<mm>/<dd>/*.json.gz) is read " +
        "on all cores. Without PATH, or with -, stdin is read (plain or gzip).\n\n" +
        "s3://bucket/prefix reads such an export in S3 directly, skipping the objects whose key " +
        "is outside the filters. --athena reads the guardrail's events from an Athena table over " +
        "the organisation trail (guardrail athena-ddl prints one) instead.",
    )
    .argument("[paths...]", "files or directories; - or nothing for stdin")
    .option("-p, --policy <file>", POLICY_FLAG_HELP)
    .addOption(
      new Option("-f, --format <format>", "output format").choices(FORMATS).default("table"),
    )
    .option("-o, --output <file>", "write the output to FILE instead of stdout")
    .option(
      "--since <time>",
      "only events at or after TIME (2025-03-01, 2025-03-01T12:00Z, 7d, 12h)",
    )
    .option("--until <time>", "only events before TIME (same forms as --since)")
    .option("--from <time>", "same as --since")
    .option("--to <time>", "same as --until")
    .option("--account <id>", "only this account (repeat or comma-separate)", collect)
    .option("--region <name>", "only this region (repeat or comma-separate)", collect)
    .option(
      "--rule <id>",
      "only events with a finding of this rule (repeat or comma-separate)",
      collect,
    )
    .option(
      "--fail-on <outcomes>",
      "exit 1 when an event has one of these outcomes (violation, exempt, invalid; comma-separated)",
    )
    .option(
      "--all-records",
      "list every record, each parsed in full (default: only the event names the guardrail handles; the rest are counted)",
    )
    .option(
      "-j, --jobs <n>",
      "worker threads besides the main thread, which replays too (default: one per other core; 0 = none)",
    )
    .option("--no-progress", "never draw the progress bar (it is drawn only on a terminal)");
  addRemoteOptions(command)
    .addHelpText(
      "after",
      `
Output (by default every format lists only records of an event the guardrail handles,
AuthorizeSecurityGroupIngress and the like, and counts the rest without listing them; log
files are scanned for those names before anything is parsed. --all-records lists every
record, each parsed):
  table  the policy used, then totals by outcome, rule, account and top actors (default)
  json   one JSON object per event, in input order:
         {"eventId","eventName","eventTime","account","region","actor","outcome",
          "reason"?,"findings":[{"rule","mode","severity","reason","resource","exemption"?}],
          "actions":[...],"source","policyId"}
  csv    one row per finding (one row for an event without findings)
  html   a self-contained report: chart of violations per day per rule, accounts,
         actors and every violation (default file when stdout is a terminal:
         guardrail-report.html)
  asff   JSON Lines: one AWS Security Finding Format finding per resource and policy rule of
         each event with findings (what the functions import into Security Hub; nothing was
         acted on, so an enforce finding is FAILED)
  ocsf   JSON Lines: the same findings as OCSF Compliance Findings (class 2003, OCSF 1.8.0)

Exit codes:
  0  every input was read (whatever the outcomes)
  1  --fail-on matched
  2  invalid policy or usage
  3  some input could not be read (bad gzip, not JSON, missing file, a directory that cannot
     be listed); the rest was processed. Also when a PATH (or stdin) holds no record at all

Examples:
  guardrail replay --format json test/fixtures/cloudtrail
  guardrail replay ./AWSLogs --since 30d --account 111122223333 --rule admin-ports
  guardrail replay ./AWSLogs --format html -o report.html
  guardrail replay ./trail --fail-on violation --format json > findings.jsonl
  guardrail replay ./AWSLogs --since 30d --format ocsf > findings.ocsf.jsonl
  zcat 111122223333_CloudTrail_*.json.gz | guardrail replay --format csv -
  guardrail replay s3://trail-bucket/AWSLogs/o-exampleorgid/ --since 7d --region eu-west-1
  guardrail replay --athena --table cloudtrail_org --since 2025-01-01 --until 2025-04-01
`,
    )
    .action(async (paths: string[], opts: ReplayOptions) => {
      ctx.exit(await replay(paths, opts, ctx.io));
    });
}

async function parseFilters(opts: ReplayOptions, now: Date): Promise<ReplayFilters> {
  if (opts.since !== undefined && opts.from !== undefined) {
    throw new UsageError("give --since or --from, not both");
  }
  if (opts.until !== undefined && opts.to !== undefined) {
    throw new UsageError("give --until or --to, not both");
  }
  const sinceText = opts.since ?? opts.from;
  const untilText = opts.until ?? opts.to;
  const since = sinceText === undefined ? undefined : parseTime("--since", sinceText, now);
  const until = untilText === undefined ? undefined : parseTime("--until", untilText, now);
  if (since !== undefined && until !== undefined && since >= until) {
    throw new UsageError("--since must be before --until");
  }
  const accounts = listFlag(opts.account);
  checkAccounts("--account", accounts ?? []);
  const regions = listFlag(opts.region);
  await checkRegions("--region", regions ?? []);
  const rules = listFlag(opts.rule);
  return {
    ...(since === undefined ? {} : { since }),
    ...(until === undefined ? {} : { until }),
    ...(accounts ? { accounts } : {}),
    ...(regions ? { regions } : {}),
    ...(rules ? { rules } : {}),
  };
}

function parseFailOn(value: string | undefined): Set<string> {
  const out = new Set(listFlag(value === undefined ? undefined : [value]) ?? []);
  for (const o of out) {
    if (!(OUTCOMES as readonly string[]).includes(o) || o === "compliant" || o === "ignored") {
      throw new UsageError(`--fail-on takes violation, exempt or invalid, not "${o}"`);
    }
  }
  return out;
}

function parseJobs(value: string | undefined): number | undefined {
  if (value === undefined) return undefined;
  const n = Number(value);
  if (!Number.isInteger(n) || n < 0 || n > 64) {
    throw new UsageError(`--jobs must be a whole number from 0 to 64, not "${value}"`);
  }
  return n;
}

function describeFilters(opts: ReplayOptions): string[] {
  const out: string[] = [];
  const since = opts.since ?? opts.from;
  const until = opts.until ?? opts.to;
  if (since) out.push(`--since ${since}`);
  if (until) out.push(`--until ${until}`);
  for (const [flag, v] of [
    ["--account", opts.account],
    ["--region", opts.region],
    ["--rule", opts.rule],
  ] as const) {
    if (v) out.push(`${flag} ${v.join(",")}`);
  }
  return out;
}

async function* fileJobs(files: readonly InputFile[]): AsyncGenerator<Job> {
  let index = 0;
  for (const f of files) {
    yield {
      index: index++,
      kind: "file",
      path: f.path,
      size: f.size,
      ...(f.error === undefined ? {} : { error: f.error }),
    };
  }
}

/** Cuts stdin (plain or gzip) into jobs of whole JSON values, as it arrives. */
async function* stdinJobs(stdin: NodeJS.ReadableStream): AsyncGenerator<Job> {
  let index = 0;
  const splitter = new ValueSplitter();
  const decoder = new StringDecoder("utf8");
  let pieces: TextPiece[] = [];
  let chars = 0;
  let bytes = 0;
  const take = (): Job => {
    const job: Job = { index: index++, kind: "text", source: "-", pieces, size: bytes };
    pieces = [];
    chars = 0;
    bytes = 0;
    return job;
  };
  // Peek at the first chunk for the gzip magic number, then read it and the rest.
  const it = (stdin as AsyncIterable<Buffer | string>)[Symbol.asyncIterator]();
  const first = await it.next();
  if (first.done) return;
  const head = Buffer.isBuffer(first.value) ? first.value : Buffer.from(first.value);
  const all = Readable.from(
    (async function* () {
      yield head;
      for (let n = await it.next(); !n.done; n = await it.next()) yield n.value;
    })(),
  );
  let source: AsyncIterable<Buffer | string> = all;
  if (head[0] === 0x1f && head[1] === 0x8b) {
    const gunzip = createGunzip();
    pipeline(all, gunzip, () => {
      // Errors surface through the iteration over `gunzip` below.
    });
    source = gunzip;
  }
  try {
    for await (const chunk of source) {
      const buf = Buffer.isBuffer(chunk) ? chunk : Buffer.from(chunk);
      bytes += buf.length;
      for (const p of splitter.push(decoder.write(buf))) {
        pieces.push(p);
        chars += p.text.length;
      }
      if (chars >= STDIN_JOB_CHARS) yield take();
    }
  } catch (err) {
    // A corrupt gzip on stdin: what was read so far is kept, the rest is reported.
    pieces.push(...splitter.push(decoder.end()), ...splitter.end());
    yield take();
    yield {
      index: index++,
      kind: "text",
      source: "-",
      pieces: [],
      size: 0,
      error: `bad gzip: ${(err as Error).message}`,
    };
    return;
  }
  pieces.push(...splitter.push(decoder.end()), ...splitter.end());
  if (pieces.length > 0) yield take();
}

/** Runs one replay; returns the exit code. */
export async function replay(paths: string[], opts: ReplayOptions, io: CliIo): Promise<number> {
  const format = opts.format as Format;
  const filters = await parseFilters(opts, new Date());
  const failOn = parseFailOn(opts.failOn);
  const jobsFlag = parseJobs(opts.jobs);
  const loaded = await loadPolicyFile(opts.policy, io);
  if (filters.rules) {
    const known = [...loaded.policy.rules.map((r) => r.id), UNRESOLVED_PREFIX_LIST_RULE];
    checkRuleIds("--rule", filters.rules, known);
  }
  const remote = await openRemoteSource(paths, opts, filters, io);
  const fromStdin =
    remote === null && (paths.length === 0 || (paths.length === 1 && paths[0] === "-"));
  if (!fromStdin && paths.includes("-")) {
    throw new UsageError("- (stdin) cannot be mixed with file paths");
  }
  if (fromStdin && io.stdinIsTTY) {
    throw new UsageError(
      "no PATH given and stdin is a terminal: give a file or directory, or pipe input in",
    );
  }

  const files = fromStdin || remote ? [] : await listInputFiles(paths);
  const totalBytes = fromStdin || remote ? null : files.reduce((s, f) => s + f.size, 0);
  // The main thread replays too, whenever no worker can take a job: one worker per other core.
  const threads =
    jobsFlag ??
    (fromStdin || remote || (totalBytes ?? 0) >= IN_PROCESS_BYTES
      ? Math.max(1, Math.min(availableParallelism(), 8) - 1)
      : 0);

  let outputPath = opts.output;
  if (outputPath === undefined && format === "html" && io.stdoutIsTTY) {
    outputPath = "guardrail-report.html";
  }
  const file = outputPath === undefined ? null : await openOutput(outputPath, io.cwd);
  const out: NodeJS.WritableStream = file ?? io.stdout;
  // A progress bar only where someone watches: stderr on a terminal, and the output going to a
  // file or to that terminal (not piped into another program).
  const progress =
    opts.progress && !io.quiet && io.stderrIsTTY && (io.stdoutIsTTY || outputPath !== undefined)
      ? new ProgressBar(io.stderr as NodeJS.WriteStream, {
          files: fromStdin || remote ? null : files.length,
          bytes: totalBytes,
        })
      : null;

  const config: ReplayConfig = {
    compiledPolicy: loaded.compiled ?? compilePolicy(loaded.text, loaded.policy),
    policyId: loaded.id,
    filters,
    format,
    allRecords: opts.allRecords === true,
  };
  const total: Aggregate = emptyAggregate();
  const details: ReplayLine[] = [];
  let omittedDetails = 0;
  let failed = false;
  let doneBytes = 0;
  let warned = 0;
  // Records found under each PATH argument, to name a PATH that held none.
  const recordsUnder = new Map<number, number>();
  const filesUnder = new Map<number, number>();
  const skippedUnder = new Set<number>();

  if (format === "csv") await write(out, csvHeader());
  const onResult = async (r: JobResult) => {
    mergeAggregate(total, r.agg);
    const root = files[r.index]?.root;
    if (root !== undefined) {
      recordsUnder.set(root, (recordsUnder.get(root) ?? 0) + r.agg.records);
      filesUnder.set(root, (filesUnder.get(root) ?? 0) + r.agg.files);
      if (r.agg.filesSkipped > 0) skippedUnder.add(root);
    }
    doneBytes += r.size;
    if (r.output !== null) {
      progress?.clear();
      await write(out, r.output);
    }
    for (const l of r.details) {
      if (details.length < MAX_DETAIL_ROWS) details.push(l);
      else omittedDetails++;
    }
    if (!failed && failOn.size > 0) {
      failed = [...failOn].some((o) => (r.agg.byOutcome[o] ?? 0) > 0);
    }
    for (const p of r.agg.problems) {
      if (warned++ < 20) {
        progress?.clear();
        notice(io, `warning: ${p.source}: ${p.message}\n`);
      }
    }
    progress?.update({
      files: total.files + total.filesSkipped,
      records: total.records,
      bytes: doneBytes,
    });
  };
  const jobs = remote ? remote.jobs() : fromStdin ? stdinJobs(io.stdin) : fileJobs(files);
  try {
    await runJobs(jobs, config, { threads, policy: loaded.policy }, onResult);
  } finally {
    remote?.close();
  }
  if (remote) {
    total.filesSkipped += remote.skipped();
    const line = remote.summary();
    if (line !== null) notice(io, line);
  }
  progress?.update(
    { files: total.files + total.filesSkipped, records: total.records, bytes: doneBytes },
    true,
  );
  progress?.clear();
  if (warned > 20) notice(io, `warning: ${warned - 20} more unreadable inputs (see the output)\n`);

  // An input that holds no record at all is a mistyped or empty path, not a clean result.
  const empty = remote
    ? remoteEmpty(remote, total)
    : emptyInputs(paths, fromStdin, total, { recordsUnder, filesUnder, skippedUnder });
  for (const p of empty) {
    total.problems.push(p);
    notice(io, `warning: ${p.source}: ${p.message}\n`);
  }
  if (empty.length > 0 && total.records === 0 && total.unreadable === 0) {
    if (file !== null) await closeOutput(file);
    const what = remote ? remote.label : fromStdin ? "stdin" : paths.join(", ");
    throw new InputError(what, `no CloudTrail records in ${what}: ${empty[0]!.message}`);
  }

  if (format === "table") await write(out, renderTable(total, loaded));
  if (format === "html") {
    await write(
      out,
      renderHtml(total, details, {
        generatedAt: new Date(),
        inputs: remote ? [remote.label] : fromStdin ? [] : paths,
        policySource: loaded.source,
        policyId: loaded.id,
        filters: describeFilters(opts),
        omittedDetails,
        rules: [...loaded.policy.rules.map((r) => r.id), UNRESOLVED_PREFIX_LIST_RULE],
      }),
    );
  }
  if (file !== null) {
    await closeOutput(file);
    if (format === "html" || progress) notice(io, `wrote ${outputPath}\n`);
  }
  if (failed) return EXIT.violation;
  if (total.problems.length > 0) return EXIT.failure;
  return EXIT.ok;
}

function remoteEmpty(
  remote: ReplaySource,
  total: Aggregate,
): { source: string; message: string }[] {
  if (total.records > 0 || total.unreadable > 0) return [];
  const message = remote.emptyReason(total.records);
  return message === null ? [] : [{ source: remote.label, message }];
}

/**
 * The PATH arguments (or stdin) that held no record: no readable file under a directory, or only
 * files without records. Files skipped by the path filters do not count as empty.
 */
function emptyInputs(
  paths: readonly string[],
  fromStdin: boolean,
  total: Aggregate,
  under: {
    recordsUnder: ReadonlyMap<number, number>;
    filesUnder: ReadonlyMap<number, number>;
    skippedUnder: ReadonlySet<number>;
  },
): { source: string; message: string }[] {
  if (fromStdin) {
    return total.records === 0 && total.unreadable === 0
      ? [{ source: "-", message: "stdin held no JSON value" }]
      : [];
  }
  const out: { source: string; message: string }[] = [];
  for (const [root, path] of paths.entries()) {
    if ((under.recordsUnder.get(root) ?? 0) > 0 || under.skippedUnder.has(root)) continue;
    const nFiles = under.filesUnder.get(root) ?? 0;
    // Unreadable (reported already), or no file at all.
    if (total.problems.some((p) => p.source.startsWith(path))) continue;
    if (nFiles === 0) {
      out.push({ source: path, message: "no .json, .jsonl, .ndjson or .gz file in it" });
    } else {
      out.push({
        source: path,
        message: `no CloudTrail record in its ${nFiles === 1 ? "file" : `${nFiles} files`}`,
      });
    }
  }
  return out;
}
