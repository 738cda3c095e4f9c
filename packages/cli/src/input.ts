import { readdir, readFile, stat } from "node:fs/promises";
import { join } from "node:path";
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

const READABLE = [".json", ".jsonl", ".ndjson", ".gz"];

/** Files under `paths` (recursive), in path order; other extensions are skipped. */
export async function listInputFiles(paths: readonly string[]): Promise<string[]> {
  const out: string[] = [];
  for (const p of paths) {
    const info = await stat(p).catch((cause: unknown) => {
      throw new InputError(`cannot read ${p}: ${(cause as Error).message}`, { cause });
    });
    if (info.isDirectory()) {
      out.push(...(await walk(p)));
    } else {
      out.push(p);
    }
  }
  return out;
}

async function walk(dir: string): Promise<string[]> {
  const entries = await readdir(dir, { withFileTypes: true });
  entries.sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
  const files: string[] = [];
  for (const e of entries) {
    const full = join(dir, e.name);
    if (e.isDirectory()) files.push(...(await walk(full)));
    else if (e.isFile() && READABLE.some((ext) => e.name.endsWith(ext))) files.push(full);
  }
  return files;
}

/** A file that cannot be opened at all (as opposed to a bad record inside it). */
export class InputError extends Error {
  readonly code = "INPUT_UNREADABLE";
}

/**
 * Splits one file's text into records: a JSON object, a JSON array, a CloudTrail log file
 * (`{"Records": [...]}`) or JSON Lines. A line that is not JSON is reported in place.
 */
export function parseText(text: string, source: string): InputItem[] {
  const trimmed = text.trim();
  if (trimmed === "") return [];
  try {
    const whole: unknown = JSON.parse(trimmed);
    return unwrap(whole).map((value, index) => ({ kind: "record", source, index, value }));
  } catch {
    // Not one JSON document: JSON Lines.
  }
  const items: InputItem[] = [];
  const lines = trimmed.split(/\r?\n/);
  let index = 0;
  for (let n = 0; n < lines.length; n++) {
    const line = (lines[n] ?? "").trim();
    if (line === "") continue;
    try {
      for (const value of unwrap(JSON.parse(line))) {
        items.push({ kind: "record", source, index: index++, value });
      }
    } catch (err) {
      items.push({
        kind: "error",
        source: `${source}:${n + 1}`,
        index: index++,
        message: `line ${n + 1} is not JSON: ${(err as Error).message}`,
      });
    }
  }
  return items;
}

function unwrap(value: unknown): unknown[] {
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

/** Reads one file (gunzipping `.gz`) into records; an unreadable or corrupt file becomes one error item. */
export async function readInputFile(file: string): Promise<InputItem[]> {
  let buf: Buffer;
  try {
    buf = await readFile(file);
  } catch (err) {
    return [
      { kind: "error", source: file, index: 0, message: `cannot read: ${(err as Error).message}` },
    ];
  }
  if (file.endsWith(".gz") || (buf[0] === 0x1f && buf[1] === 0x8b)) {
    try {
      buf = gunzipSync(buf);
    } catch (err) {
      return [
        { kind: "error", source: file, index: 0, message: `bad gzip: ${(err as Error).message}` },
      ];
    }
  }
  return parseText(buf.toString("utf8"), file);
}

/** Reads all of stdin as one input. */
export async function readStdin(
  stream: NodeJS.ReadableStream = process.stdin,
): Promise<InputItem[]> {
  const chunks: Buffer[] = [];
  for await (const chunk of stream)
    chunks.push(Buffer.isBuffer(chunk) ? chunk : Buffer.from(chunk));
  let buf = Buffer.concat(chunks);
  if (buf[0] === 0x1f && buf[1] === 0x8b) {
    try {
      buf = gunzipSync(buf);
    } catch (err) {
      return [
        { kind: "error", source: "-", index: 0, message: `bad gzip: ${(err as Error).message}` },
      ];
    }
  }
  return parseText(buf.toString("utf8"), "-");
}
