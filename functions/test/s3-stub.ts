import { createServer, type IncomingHttpHeaders } from "node:http";
import type { AddressInfo } from "node:net";
import { readBody } from "../../packages/sandbox/src/http";

/** One stored object version, with the headers its PUT carried. */
export interface StoredObject {
  readonly key: string;
  readonly body: string;
  readonly headers: IncomingHttpHeaders;
}

function xmlEscape(s: string): string {
  return s.replace(/&/g, "&amp;").replace(/</g, "&lt;").replace(/>/g, "&gt;");
}

function error(code: string, message: string): string {
  return `<?xml version="1.0" encoding="UTF-8"?><Error><Code>${code}</Code><Message>${xmlEscape(message)}</Message><RequestId>stub</RequestId></Error>`;
}

/**
 * An S3 REST endpoint (path style) for PutObject, GetObject and ListObjectsV2, with S3's Object
 * Lock rules on PUT: lock headers on a bucket without Object Lock are refused
 * (`InvalidRequest`), as is a locked PUT without an integrity checksum (Content-MD5 or
 * `x-amz-checksum-*`); a mode without a retain-until date (or the reverse) is refused too.
 * https://docs.aws.amazon.com/AmazonS3/latest/API/API_PutObject.html
 */
export async function startS3Stub(buckets: Record<string, { objectLock: boolean }>) {
  const objects = new Map<string, StoredObject[]>();
  let failures = 0;
  const server = createServer(async (req, res) => {
    const url = new URL(req.url ?? "/", "http://stub");
    const [, bucket = "", ...rest] = url.pathname.split("/");
    const key = decodeURIComponent(rest.join("/"));
    const body = await readBody(req, 16 * 1024 * 1024);
    res.setHeader("content-type", "application/xml");
    const config = buckets[bucket];
    if (!config) {
      res.writeHead(404);
      res.end(error("NoSuchBucket", "The specified bucket does not exist"));
      return;
    }
    if (req.method === "PUT" && key !== "") {
      if (failures > 0) {
        failures--;
        res.writeHead(500);
        res.end(error("InternalError", "stub failure"));
        return;
      }
      const mode = req.headers["x-amz-object-lock-mode"];
      const until = req.headers["x-amz-object-lock-retain-until-date"];
      if ((mode === undefined) !== (until === undefined)) {
        res.writeHead(400);
        res.end(
          error(
            "InvalidRequest",
            "x-amz-object-lock-retain-until-date and x-amz-object-lock-mode must both be supplied",
          ),
        );
        return;
      }
      if (mode !== undefined && !config.objectLock) {
        res.writeHead(400);
        res.end(error("InvalidRequest", "Bucket is missing Object Lock Configuration"));
        return;
      }
      const checksum = Object.keys(req.headers).some(
        (h) =>
          h === "content-md5" || (h.startsWith("x-amz-checksum-") && h !== "x-amz-checksum-mode"),
      );
      if (mode !== undefined && !checksum) {
        res.writeHead(400);
        res.end(
          error(
            "InvalidRequest",
            "Content-MD5 OR x-amz-checksum- HTTP header is required for Put Object requests with Object Lock parameters",
          ),
        );
        return;
      }
      const path = `${bucket}/${key}`;
      objects.set(path, [...(objects.get(path) ?? []), { key, body, headers: req.headers }]);
      res.writeHead(200, { etag: `"${objects.size}"` });
      res.end();
      return;
    }
    if (req.method === "GET" && key === "" && url.searchParams.get("list-type") === "2") {
      const prefix = url.searchParams.get("prefix") ?? "";
      const keys = [...objects.keys()]
        .filter((p) => p.startsWith(`${bucket}/${prefix}`))
        .map((p) => p.slice(bucket.length + 1))
        .sort();
      res.writeHead(200);
      res.end(
        `<?xml version="1.0" encoding="UTF-8"?><ListBucketResult><Name>${bucket}</Name><Prefix>${xmlEscape(prefix)}</Prefix><KeyCount>${keys.length}</KeyCount><MaxKeys>1000</MaxKeys><IsTruncated>false</IsTruncated>${keys
          .map((k) => `<Contents><Key>${xmlEscape(k)}</Key><Size>1</Size></Contents>`)
          .join("")}</ListBucketResult>`,
      );
      return;
    }
    if (req.method === "GET" && key !== "") {
      const versions = objects.get(`${bucket}/${key}`);
      const latest = versions?.[versions.length - 1];
      if (!latest) {
        res.writeHead(404);
        res.end(error("NoSuchKey", "The specified key does not exist."));
        return;
      }
      res.writeHead(200, { "content-type": "application/json" });
      res.end(latest.body);
      return;
    }
    res.writeHead(405);
    res.end(error("MethodNotAllowed", `${req.method} ${url.pathname}`));
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const endpoint = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  return {
    endpoint,
    /** Every version of every object, by `bucket/key`. */
    objects,
    failNext: (n: number) => {
      failures = n;
    },
    /** Replaces an object's content (what a writer without Object Lock could do). */
    overwrite: (bucket: string, key: string, body: string) => {
      objects.set(`${bucket}/${key}`, [{ key, body, headers: {} }]);
    },
    remove: (bucket: string, key: string) => objects.delete(`${bucket}/${key}`),
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
