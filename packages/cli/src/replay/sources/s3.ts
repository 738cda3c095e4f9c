import { gunzip } from "node:zlib";
import type { ToolS3Objects } from "@guardrail/aws/s3-objects";
import { awsError } from "../../aws";
import { UsageError } from "../../errors";
import { parseArchivePath } from "../../input";
import { mayMatchPath, type ReplayFilters } from "../filters";
import type { Job } from "../process";
import type { ReplaySource } from "./source";

/** Objects downloaded at once: enough to hide S3's first-byte latency behind the workers. */
const DOWNLOADS = 16;

const READABLE = [".json", ".jsonl", ".ndjson", ".gz"];

export interface S3Location {
  readonly bucket: string;
  readonly prefix: string;
}

/** `s3://bucket/prefix` → bucket and prefix; null for anything that is not an s3:// URL. */
export function parseS3Url(value: string): S3Location | null {
  if (!value.startsWith("s3://")) return null;
  const rest = value.slice("s3://".length);
  const slash = rest.indexOf("/");
  const bucket = slash < 0 ? rest : rest.slice(0, slash);
  // Bucket names: 3-63 lower-case letters, digits, dots and hyphens.
  // https://docs.aws.amazon.com/AmazonS3/latest/userguide/bucketnamingrules.html
  if (!/^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$/.test(bucket)) {
    throw new UsageError(`"${value}" does not name an S3 bucket (s3://bucket/prefix)`);
  }
  return { bucket, prefix: slash < 0 ? "" : rest.slice(slash + 1) };
}

const unzip = (buf: Uint8Array) =>
  new Promise<Buffer>((resolve, reject) =>
    gunzip(buf, (err, out) => (err ? reject(err) : resolve(out))),
  );

function message(err: unknown): string {
  const e = err as { name?: string; message?: string };
  return e.name && e.name !== "Error"
    ? `${e.name}: ${e.message ?? ""}`
    : (e.message ?? String(err));
}

async function* listed<T>(objects: AsyncIterable<T>): AsyncGenerator<T> {
  try {
    yield* objects;
  } catch (err) {
    throw awsError("ListObjectsV2", err);
  }
}

/**
 * Reads a CloudTrail export in S3 as the replay of a local one does: every log file under the
 * prefix (digests and other files skipped), those whose key shows they are outside the
 * account, Region or time filters skipped without being downloaded, the rest downloaded
 * {@link DOWNLOADS} at a time and handed to the replay loop in key order.
 */
export function s3Source(
  s3: ToolS3Objects,
  where: S3Location,
  filters: ReplayFilters,
  label: string,
): ReplaySource {
  let skipped = 0;
  let read = 0;
  const url = (key: string) => `s3://${where.bucket}/${key}`;

  async function fetch(index: number, key: string, size: number): Promise<Job> {
    const source = url(key);
    let bytes: Uint8Array;
    try {
      bytes = await s3.get(where.bucket, key);
    } catch (err) {
      return {
        index,
        kind: "text",
        source,
        pieces: [],
        size,
        error: `cannot read: ${message(err)}`,
      };
    }
    let text: string;
    if (key.endsWith(".gz") || (bytes[0] === 0x1f && bytes[1] === 0x8b)) {
      try {
        text = (await unzip(bytes)).toString("utf8");
      } catch (err) {
        return {
          index,
          kind: "text",
          source,
          pieces: [],
          size,
          error: `bad gzip: ${message(err)}`,
        };
      }
    } else {
      text = Buffer.from(bytes).toString("utf8");
    }
    return { index, kind: "text", source, pieces: [{ text, line: 1 }], size: bytes.length };
  }

  return {
    label,
    async *jobs(): AsyncGenerator<Job> {
      const pending: Promise<Job>[] = [];
      let index = 0;
      for await (const o of listed(s3.list(where.bucket, where.prefix))) {
        if (o.key.includes("/CloudTrail-Digest/") || !READABLE.some((e) => o.key.endsWith(e))) {
          continue;
        }
        if (!mayMatchPath(parseArchivePath(o.key), filters)) {
          skipped++;
          continue;
        }
        read++;
        pending.push(fetch(index++, o.key, o.size));
        if (pending.length >= DOWNLOADS) yield await pending.shift()!;
      }
      while (pending.length > 0) yield await pending.shift()!;
    },
    skipped: () => skipped,
    objects: () => read,
    emptyReason(records) {
      if (records > 0 || skipped > 0) return null;
      if (read === 0) return "no .json, .jsonl, .ndjson or .gz object under it";
      return `no CloudTrail record in its ${read === 1 ? "object" : `${read} objects`}`;
    },
    summary: () => null,
    close: () => s3.destroy(),
  };
}
