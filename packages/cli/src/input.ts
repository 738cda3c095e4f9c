import { type Dirent, readFileSync, type Stats } from "node:fs";
import { readdir, realpath, stat } from "node:fs/promises";
import { join, sep } from "node:path";
import { gunzipSync } from "node:zlib";

/** One input record (an EventBridge event or a CloudTrail record), or a reading failure. */
export type InputItem =
  | {
      readonly kind: "record";
      readonly source: string;
      readonly index: number;
      readonly value: unknown;
    }
  | {
      readonly kind: "error";
      readonly source: string;
      readonly index: number;
      readonly message: string;
    };

/**
 * A file to read, with its size (for progress and ETA), and which PATH argument it was found
 * under. A path that cannot be opened (a missing file, a directory that cannot be listed, a
 * broken link) is listed too, with `error`, so that it is reported in place and the rest is read.
 */
export interface InputFile {
  readonly path: string;
  readonly size: number;
  /** Index of the PATH argument this file was found under. */
  readonly root: number;
  readonly error?: string;
}

const READABLE = [".json", ".jsonl", ".ndjson", ".gz"];

/**
 * CloudTrail writes signed digests of its log files next to them
 * (`AWSLogs/<account>/CloudTrail-Digest/...json.gz`). They hold no events, so a walk over an S3
 * export skips them rather than report every digest as an invalid event.
 */
const SKIPPED_DIRS = new Set(["CloudTrail-Digest"]);

const reason = (cause: unknown) => (cause as Error).message;

/**
 * Files under `paths` (recursive), in path order; other extensions and digest folders are
 * skipped. A path named explicitly is always read, whatever its extension. Never throws: what
 * cannot be opened is listed with its error, one entry per file or directory.
 */
export async function listInputFiles(paths: readonly string[]): Promise<InputFile[]> {
  const out: InputFile[] = [];
  for (const [root, p] of paths.entries()) {
    let info: Stats;
    try {
      info = await stat(p);
    } catch (cause) {
      out.push({ path: p, size: 0, root, error: `cannot read: ${reason(cause)}` });
      continue;
    }
    if (info.isDirectory()) await walk(p, root, out, new Set([await realpath(p)]));
    else out.push({ path: p, size: info.size, root });
  }
  return out;
}

const byName = (a: string, b: string) => (a < b ? -1 : a > b ? 1 : 0);

async function walk(dir: string, root: number, out: InputFile[], seen: Set<string>) {
  let entries: Dirent[];
  try {
    entries = await readdir(dir, { withFileTypes: true });
  } catch (cause) {
    out.push({ path: dir, size: 0, root, error: `cannot read directory: ${reason(cause)}` });
    return;
  }
  entries.sort((a, b) => byName(a.name, b.name));
  for (const e of entries) {
    const full = join(dir, e.name);
    let isDir = e.isDirectory();
    let isFile = e.isFile();
    if (e.isSymbolicLink()) {
      // Followed, so that a linked export is read; a broken or looping link is reported.
      try {
        const target = await stat(full);
        isDir = target.isDirectory();
        isFile = target.isFile();
      } catch (cause) {
        out.push({ path: full, size: 0, root, error: `cannot read: ${reason(cause)}` });
        continue;
      }
    }
    if (isDir) {
      if (SKIPPED_DIRS.has(e.name)) continue;
      const real = await realpath(full).catch(() => full);
      // A link back up the tree would be walked forever.
      if (seen.has(real)) continue;
      await walk(full, root, out, new Set([...seen, real]));
    } else if (isFile && READABLE.some((ext) => e.name.endsWith(ext))) {
      try {
        out.push({ path: full, size: (await stat(full)).size, root });
      } catch (cause) {
        out.push({ path: full, size: 0, root, error: `cannot read: ${reason(cause)}` });
      }
    }
  }
}

/** What the S3 layout `AWSLogs/[o-org/]<account>/CloudTrail/<region>/<yyyy>/<mm>/<dd>/` says. */
export interface ArchivePath {
  readonly account: string;
  readonly region: string;
  /** `YYYY-MM-DD`: the day CloudTrail delivered the file (UTC), not necessarily each event's. */
  readonly day: string;
}

const ARCHIVE_PATH =
  /(?:^|\/)AWSLogs\/(?:o-[a-z0-9]+\/)?(\d{12})\/CloudTrail\/([a-z0-9-]+)\/(\d{4})\/(\d{2})\/(\d{2})\//;

/** Reads account, region and day from an S3-export path; null for any other layout. */
export function parseArchivePath(path: string): ArchivePath | null {
  const m = ARCHIVE_PATH.exec(sep === "/" ? path : path.split(sep).join("/"));
  if (!m) return null;
  return { account: m[1]!, region: m[2]!, day: `${m[3]}-${m[4]}-${m[5]}` };
}

/** One complete top-level JSON value (or unparseable run of text) and the line it starts on. */
export interface TextPiece {
  readonly text: string;
  readonly line: number;
}

/**
 * Cuts a stream of text into top-level JSON values: one document, JSON Lines, or documents
 * written back to back (`zcat *.json.gz`). It only tracks nesting and strings, so it is cheap, and
 * anything it cannot make sense of ends up in a piece that the parser reports in place.
 */
export class ValueSplitter {
  private depth = 0;
  private inString = false;
  private escaped = false;
  /** Inside a bare top-level token (garbage or a scalar): it ends at a newline. */
  private bare = false;
  /** Text of the unfinished piece from earlier chunks (kept as parts: no quadratic copying). */
  private parts: string[] = [];
  private line = 1;
  private startLine = 1;

  push(chunk: string): TextPiece[] {
    const out: TextPiece[] = [];
    let { depth, inString, escaped, bare, line } = this;
    let startLine = this.startLine;
    // Where the current piece starts in this chunk (0 when it started in an earlier one).
    let from = 0;
    const n = chunk.length;
    for (let i = 0; i < n; i++) {
      const c = chunk.charCodeAt(i);
      if (c === 10) line++;
      if (inString) {
        if (escaped) escaped = false;
        else if (c === 92) escaped = true;
        else if (c === 34) inString = false;
        continue;
      }
      if (depth === 0) {
        if (bare) {
          if (c === 10) {
            out.push({ text: this.take(chunk, from, i), line: startLine });
            bare = false;
          } else if (c === 34) inString = true;
          continue;
        }
        // Between values: skip whitespace, note where the next one starts.
        if (c === 32 || c === 10 || c === 13 || c === 9) continue;
        from = i;
        startLine = line;
        if (c === 123 || c === 91) depth = 1;
        else {
          bare = true;
          if (c === 34) inString = true;
        }
        continue;
      }
      if (c === 34) inString = true;
      else if (c === 123 || c === 91) depth++;
      else if (c === 125 || c === 93) {
        depth--;
        if (depth === 0) out.push({ text: this.take(chunk, from, i + 1), line: startLine });
      }
    }
    if (depth > 0 || bare) this.parts.push(chunk.slice(from));
    Object.assign(this, { depth, inString, escaped, bare, line, startLine });
    return out;
  }

  private take(chunk: string, from: number, to: number): string {
    const head = this.parts.length > 0 ? this.parts.join("") : "";
    this.parts = [];
    return head + chunk.slice(from, to);
  }

  /** The unfinished rest, if any (a truncated document): the parser will report it. */
  end(): TextPiece[] {
    const rest = this.parts.join("").trim();
    this.parts = [];
    this.depth = 0;
    this.bare = false;
    this.inString = false;
    return rest === "" ? [] : [{ text: rest, line: this.startLine }];
  }
}

/** Splits a whole text into top-level values. */
export function splitValues(text: string): TextPiece[] {
  const s = new ValueSplitter();
  return [...s.push(text), ...s.end()];
}

/** The records of one JSON value: an array's elements, a log file's `Records`, or the value. */
export function unwrap(value: unknown): unknown[] {
  if (Array.isArray(value)) return value;
  if (
    value !== null &&
    typeof value === "object" &&
    Array.isArray((value as { Records?: unknown }).Records)
  ) {
    return (value as { Records: unknown[] }).Records;
  }
  return [value];
}

/**
 * Splits one file's text into records: a JSON object, a JSON array, a CloudTrail log file
 * (`{"Records": [...]}`), JSON Lines, or documents written back to back. A piece that is not JSON
 * is reported in place, by line, and the others are kept.
 */
export function parseText(text: string, source: string): InputItem[] {
  const items: InputItem[] = [];
  parseInto(text, source, 1, items);
  return items;
}

/**
 * Like {@link parseText} for pieces cut from a stream by {@link ValueSplitter}, appending to
 * `items`. Records are named by the line their value starts on (`-:12`, index within the value),
 * since a stream has no other stable position.
 */
export function parsePieces(pieces: readonly TextPiece[], source: string, items: InputItem[]) {
  for (const p of pieces) {
    parseInto(p.text, source, p.line, items, { name: `${source}:${p.line}`, base: items.length });
  }
}

/** How record items are named: `name`, index counted from `base` in `items`. */
interface RecordNaming {
  readonly name: string;
  readonly base: number;
}

function parseInto(
  text: string,
  source: string,
  firstLine: number,
  items: InputItem[],
  naming: RecordNaming = { name: source, base: 0 },
) {
  // The common case, one CloudTrail log file, is one JSON.parse and nothing else.
  try {
    for (const value of unwrap(JSON.parse(text))) {
      items.push({ kind: "record", source: naming.name, index: items.length - naming.base, value });
    }
    return;
  } catch {
    // Not one document: split it.
  }
  const pieces = splitValues(text);
  if (pieces.length > 1) {
    for (const p of pieces) parseInto(p.text, source, firstLine + p.line - 1, items, naming);
    return;
  }
  // One piece that does not parse: a broken document, or JSON Lines with a broken line that
  // upset the nesting count. Going line by line keeps every good line.
  const lines = text.split("\n");
  if (lines.filter((l) => l.trim() !== "").length > 1) {
    for (let n = 0; n < lines.length; n++) {
      const line = (lines[n] ?? "").trim();
      if (line !== "") parseLine(line, source, firstLine + n, items, naming);
    }
    return;
  }
  parseLine(text.trim(), source, firstLine, items, naming);
}

function parseLine(
  line: string,
  source: string,
  lineNo: number,
  items: InputItem[],
  naming: RecordNaming,
) {
  try {
    for (const value of unwrap(JSON.parse(line))) {
      items.push({ kind: "record", source: naming.name, index: items.length - naming.base, value });
    }
  } catch (err) {
    items.push({
      kind: "error",
      source: `${source}:${lineNo}`,
      index: items.length - naming.base,
      message: `line ${lineNo} is not JSON: ${(err as Error).message}`,
    });
  }
}

const isGzip = (buf: Buffer) => buf[0] === 0x1f && buf[1] === 0x8b;

/** The largest output buffer allocated up front for one gzip member (a trailer can lie). */
const MAX_GUNZIP_CHUNK = 64 * 1024 * 1024;

/**
 * `gunzipSync` into one buffer sized from the gzip trailer's ISIZE (the uncompressed size modulo
 * 2^32, RFC 1952 section 2.3.1), instead of 16 KiB pieces concatenated at the end: half the time
 * on a CloudTrail log file, and one allocation. A wrong ISIZE (a truncated file, several members)
 * only costs more pieces.
 */
export function gunzip(buf: Buffer): Buffer {
  const isize = buf.length >= 18 ? buf.readUInt32LE(buf.length - 4) : 0;
  return gunzipSync(buf, { chunkSize: Math.min(Math.max(64 * 1024, isize + 1), MAX_GUNZIP_CHUNK) });
}

function fileError(file: string, message: string): InputItem & { kind: "error" } {
  return { kind: "error", source: file, index: 0, message };
}

/** Reads one file (gunzipping `.gz`) as text; an unreadable or corrupt file is an error item. */
export function readInputText(
  file: string,
): { text: string } | { error: InputItem & { kind: "error" } } {
  const read = readInputBytes(file);
  return "error" in read ? read : { text: read.bytes.toString("utf8") };
}

/** Reads one file's bytes, gunzipped when it is gzip; an unreadable or corrupt file is an error item. */
export function readInputBytes(
  file: string,
): { bytes: Buffer } | { error: InputItem & { kind: "error" } } {
  let buf: Buffer;
  try {
    // Synchronous on purpose: replay reads on worker threads, one file per job, and a sync read
    // fills one buffer where the async one gathers chunks and copies them again.
    buf = readFileSync(file);
  } catch (err) {
    return { error: fileError(file, `cannot read: ${(err as Error).message}`) };
  }
  return decompressInput(file, buf, file.endsWith(".gz"));
}

/**
 * The bytes of one input, gunzipped when `gzipped` or when they start with gzip's magic number;
 * a corrupt gzip is an error item named `source`.
 */
export function decompressInput(
  source: string,
  buf: Buffer,
  gzipped = false,
): { bytes: Buffer } | { error: InputItem & { kind: "error" } } {
  if (!gzipped && !isGzip(buf)) return { bytes: buf };
  try {
    return { bytes: gunzip(buf) };
  } catch (err) {
    return { error: fileError(source, `bad gzip: ${(err as Error).message}`) };
  }
}

/** Reads one file into records; an unreadable or corrupt file becomes one error item. */
export async function readInputFile(file: string): Promise<InputItem[]> {
  const r = readInputText(file);
  return "error" in r ? [r.error] : parseText(r.text, file);
}
