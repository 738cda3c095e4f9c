import { GetObjectCommand, paginateListObjectsV2, S3Client } from "@aws-sdk/client-s3";
import type { ToolClientConfig } from "./tool-clients";

export interface S3ObjectInfo {
  readonly key: string;
  readonly size: number;
}

/** Reading a bucket's objects, for `guardrail replay s3://bucket/prefix`. */
export interface ToolS3Objects {
  /** Every object under `prefix`, in key order, one ListObjectsV2 page (up to 1,000) at a time. */
  list(bucket: string, prefix: string): AsyncIterable<S3ObjectInfo>;
  /** The "folders" right under `prefix` (ListObjectsV2 with `Delimiter: "/"`), in key order. */
  folders(bucket: string, prefix: string): AsyncIterable<string>;
  /** The object's bytes, as stored (a `.json.gz` log file stays gzip). */
  get(bucket: string, key: string): Promise<Uint8Array>;
  destroy(): void;
}

/** A tool's calls retry a little more than the SDK's default three attempts. */
const ATTEMPTS = 5;

/**
 * @param config with an endpoint (a local S3), requests are path-style: a bucket name is not a
 *   host name there.
 */
export function toolS3Objects(config: ToolClientConfig): ToolS3Objects {
  const client = new S3Client({
    ...config,
    maxAttempts: ATTEMPTS,
    // A trail bucket usually lives in the logging account's Region, not the caller's.
    followRegionRedirects: true,
    ...(config.endpoint ? { forcePathStyle: true } : {}),
  });
  return {
    async *list(bucket, prefix) {
      for await (const out of paginateListObjectsV2(
        { client },
        { Bucket: bucket, Prefix: prefix },
      )) {
        for (const o of out.Contents ?? []) {
          if (o.Key !== undefined) yield { key: o.Key, size: o.Size ?? 0 };
        }
      }
    },
    async *folders(bucket, prefix) {
      const input = { Bucket: bucket, Prefix: prefix, Delimiter: "/" };
      for await (const out of paginateListObjectsV2({ client }, input)) {
        for (const p of out.CommonPrefixes ?? []) {
          if (p.Prefix !== undefined) yield p.Prefix;
        }
      }
    },
    async get(bucket, key) {
      const out = await client.send(new GetObjectCommand({ Bucket: bucket, Key: key }));
      if (!out.Body) return new Uint8Array();
      return out.Body.transformToByteArray();
    },
    destroy: () => client.destroy(),
  };
}
