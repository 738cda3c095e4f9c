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

function message(err: unknown): string {
  const e = err as { name?: string; message?: string };
  return e.name && e.name !== "Error"
    ? `${e.name}: ${e.message ?? ""}`
    : (e.message ?? String(err));
}

const DAY_MS = 86_400_000;

/** A prefix that ends at the export's root: `AWSLogs/` or `AWSLogs/o-xxxx/`. */
const ROOT = /(?:^|\/)AWSLogs\/(?:o-[a-z0-9]+\/)?$/;
const ORG_FOLDER = /\/o-[a-z0-9]+\/$/;
const ACCOUNT_FOLDER = /\/\d{12}\/$/;

const dayPrefix = (ms: number) => new Date(ms).toISOString().slice(0, 10).replace(/-/g, "/");

/**
 * The prefixes to list, in key order, for a PATH at the export's root: the filters pick the
 * account and Region folders (listed with a delimiter when the filters leave them open) and, with
 * `--since`, the day folders, so that a week of one Region is listed without walking the rest of
 * a year-long, organisation-wide export. Any other prefix is listed as it is. Days get the same
 * slack as {@link mayMatchPath}.
 */
export async function* listingPrefixes(
  s3: Pick<ToolS3Objects, "folders">,
  bucket: string,
  prefix: string,
  filters: ReplayFilters,
  now: number = Date.now(),
): AsyncGenerator<string> {
  if (!ROOT.test(prefix)) {
    yield prefix;
    return;
  }
  if (filters.accounts && ORG_FOLDER.test(`/${prefix}`)) {
    for (const account of [...filters.accounts].sort()) {
      yield* accountPrefixes(s3, bucket, `${prefix}${account}/`, filters, now);
    }
    return;
  }
  // Collected first, so that the listing's key order is kept across organisation folders.
  const folders: string[] = [];
  for await (const folder of s3.folders(bucket, prefix)) folders.push(folder);
  for (const folder of folders) {
    if (ORG_FOLDER.test(`/${folder}`)) {
      yield* listingPrefixes(s3, bucket, folder, filters, now);
    } else if (ACCOUNT_FOLDER.test(`/${folder}`)) {
      const account = folder.slice(-13, -1);
      if (!filters.accounts || filters.accounts.includes(account)) {
        yield* accountPrefixes(s3, bucket, folder, filters, now);
      }
    }
  }
}

/** The Region folders (or their day folders) of one account folder, in key order. */
async function* accountPrefixes(
  s3: Pick<ToolS3Objects, "folders">,
  bucket: string,
  account: string,
  filters: ReplayFilters,
  now: number,
): AsyncGenerator<string> {
  const trail = `${account}CloudTrail/`;
  const regions: string[] = [];
  if (filters.regions) {
    regions.push(...[...filters.regions].sort().map((r) => `${trail}${r}/`));
  } else {
    for await (const folder of s3.folders(bucket, trail)) regions.push(folder);
  }
  for (const region of regions) {
    if (filters.since === undefined) {
      yield region;
      continue;
    }
    const first = Math.floor(filters.since / DAY_MS) * DAY_MS - DAY_MS;
    const end = Math.min(filters.until ?? now, now);
    const last = Math.floor((end + DAY_MS - 1) / DAY_MS) * DAY_MS;
    for (let day = first; day <= last; day += DAY_MS) yield `${region}${dayPrefix(day)}/`;
  }
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
    try {
      const bytes = await s3.get(where.bucket, key);
      // Bytes as a local file's: gunzipped on the replay thread (gzip by its magic number),
      // pre-filtered, judged.
      return { index, kind: "bytes", source, bytes, size: bytes.length };
    } catch (err) {
      return {
        index,
        kind: "bytes",
        source,
        bytes: new Uint8Array(0),
        size,
        error: `cannot read: ${message(err)}`,
      };
    }
  }

  return {
    label,
    async *jobs(): AsyncGenerator<Job> {
      const pending: Promise<Job>[] = [];
      let index = 0;
      const objects = async function* () {
        for await (const prefix of listingPrefixes(s3, where.bucket, where.prefix, filters)) {
          yield* s3.list(where.bucket, prefix);
        }
      };
      for await (const o of listed(objects())) {
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
    emptyReason(records) {
      if (records > 0 || skipped > 0) return null;
      if (read === 0) return "no .json, .jsonl, .ndjson or .gz object under it";
      return `no CloudTrail record in its ${read === 1 ? "object" : `${read} objects`}`;
    },
    summary: () => null,
    close: () => s3.destroy(),
  };
}
