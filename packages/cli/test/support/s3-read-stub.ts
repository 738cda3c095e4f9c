import { createServer, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";

/**
 * A read-only S3 REST endpoint (path style) for `replay s3://`: ListObjectsV2 with S3's
 * pagination (at most `max-keys`, default and cap 1,000, a page; `IsTruncated` and an opaque
 * `NextContinuationToken`), and GetObject returning the stored bytes. Errors in S3's XML shape:
 * `NoSuchBucket`, `NoSuchKey`, `AccessDenied` for keys marked denied.
 * https://docs.aws.amazon.com/AmazonS3/latest/API/API_ListObjectsV2.html
 */

const xml = (s: string) => s.replace(/&/g, "&amp;").replace(/</g, "&lt;").replace(/>/g, "&gt;");

function error(res: ServerResponse, status: number, code: string, message: string) {
  res.writeHead(status, { "content-type": "application/xml" });
  res.end(
    `<?xml version="1.0" encoding="UTF-8"?><Error><Code>${code}</Code><Message>${xml(message)}</Message><RequestId>stub</RequestId></Error>`,
  );
}

export async function startS3ReadStub(bucket: string) {
  const objects = new Map<string, Buffer>();
  const denied = new Set<string>();
  const requests: { method: string; key: string; query: Record<string, string> }[] = [];
  const server = createServer((req, res) => {
    const url = new URL(req.url ?? "/", "http://stub");
    const [, name = "", ...rest] = url.pathname.split("/");
    const key = decodeURIComponent(rest.join("/"));
    requests.push({ method: req.method ?? "", key, query: Object.fromEntries(url.searchParams) });
    req.resume();
    if (name !== bucket)
      return error(res, 404, "NoSuchBucket", "The specified bucket does not exist");
    if (req.method === "GET" && key === "" && url.searchParams.get("list-type") === "2") {
      const prefix = url.searchParams.get("prefix") ?? "";
      const max = Math.min(Number(url.searchParams.get("max-keys") ?? 1000), 1000);
      const token = url.searchParams.get("continuation-token");
      const after = token === null ? "" : Buffer.from(token, "base64").toString("utf8");
      const delimiter = url.searchParams.get("delimiter");
      // With a delimiter, the keys that have it after the prefix roll up into one CommonPrefix.
      const entries = [
        ...new Set(
          [...objects.keys()]
            .filter((k) => k.startsWith(prefix))
            .map((k) => {
              const cut = delimiter ? k.indexOf(delimiter, prefix.length) : -1;
              return cut < 0 ? k : k.slice(0, cut + 1);
            }),
        ),
      ]
        .filter((k) => k > after)
        .sort();
      const page = entries.slice(0, max);
      const truncated = entries.length > max;
      const next = truncated ? Buffer.from(page[page.length - 1]!).toString("base64") : null;
      const folders = page.filter((k) => !objects.has(k));
      res.writeHead(200, { "content-type": "application/xml" });
      res.end(
        `<?xml version="1.0" encoding="UTF-8"?><ListBucketResult xmlns="http://s3.amazonaws.com/doc/2006-03-01/"><Name>${bucket}</Name><Prefix>${xml(prefix)}</Prefix><KeyCount>${page.length}</KeyCount><MaxKeys>${max}</MaxKeys><IsTruncated>${truncated}</IsTruncated>${token === null ? "" : `<ContinuationToken>${token}</ContinuationToken>`}${next === null ? "" : `<NextContinuationToken>${next}</NextContinuationToken>`}${folders.map((k) => `<CommonPrefixes><Prefix>${xml(k)}</Prefix></CommonPrefixes>`).join("")}${page
          .filter((k) => objects.has(k))
          .map(
            (k) =>
              `<Contents><Key>${xml(k)}</Key><LastModified>2025-03-02T00:05:00.000Z</LastModified><ETag>"e"</ETag><Size>${objects.get(k)!.length}</Size><StorageClass>STANDARD</StorageClass></Contents>`,
          )
          .join("")}</ListBucketResult>`,
      );
      return;
    }
    if (req.method === "GET" && key !== "") {
      if (denied.has(key)) return error(res, 403, "AccessDenied", "Access Denied");
      const body = objects.get(key);
      if (!body) return error(res, 404, "NoSuchKey", "The specified key does not exist.");
      res.writeHead(200, {
        "content-type": "application/octet-stream",
        "content-length": body.length,
      });
      res.end(body);
      return;
    }
    error(res, 405, "MethodNotAllowed", `${req.method} ${url.pathname}`);
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  return {
    endpoint: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    objects,
    denied,
    requests,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
