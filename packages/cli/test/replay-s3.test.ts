import { mkdtemp, readFile, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join, relative } from "node:path";
import { gzipSync } from "node:zlib";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { parseArchivePath } from "../src/input";
import { main } from "../src/main";
import type { ReplayLine } from "../src/replay/record";
import { type ArchiveManifest, writeArchive } from "./support/archive";
import { jsonLines, memoryIo } from "./support/io";
import { runCli, STUB_AWS_ENV } from "./support/run";
import { startS3ReadStub } from "./support/s3-read-stub";

/*
 * `guardrail replay s3://bucket/prefix` against an S3 wire stub, with the real SDK client: the
 * same synthetic export is replayed from a local folder and from S3, and the lines must agree.
 */

const BUCKET = "org-trail-logs";
const ORG = "AWSLogs/o-exampleorgid/";
/** The organisation trail's export, as `guardrail replay` is given it. */
const ORG_EXPORT = `s3://${BUCKET}/${ORG}`;

let dir: string;
let archive: ArchiveManifest;
let s3: Awaited<ReturnType<typeof startS3ReadStub>>;

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), "guardrail-s3-"));
  archive = await writeArchive({
    dir,
    accounts: ["111122223333", "444455556666"],
    regions: ["eu-west-1", "us-east-1"],
    startDay: "2025-03-01",
    days: 4,
    filesPerDay: 3,
    recordsPerFile: 40,
    ec2Share: 0.3,
    corruptFiles: 1,
    digests: true,
    seed: 7,
  });
  s3 = await startS3ReadStub(BUCKET);
  // The organisation trail's layout: the org folder between AWSLogs/ and the account.
  for (const path of [...archive.files.map((f) => f.path), ...archive.digestFiles]) {
    const key = relative(join(dir, "AWSLogs"), path).split("\\").join("/");
    s3.objects.set(`${ORG}${key}`, await readFile(path));
  }
});

afterAll(async () => {
  await s3.close();
  await rm(dir, { recursive: true, force: true });
});

const run = (argv: string[]) =>
  runCli(argv, { env: { ...STUB_AWS_ENV, AWS_ENDPOINT_URL_S3: s3.endpoint } });

/** `guardrail replay --format json …argv`, against the S3 stub. */
const replayJson = (...argv: string[]) => run(["replay", "--format", "json", ...argv]);

const withoutSource = ({ source: _, ...rest }: ReplayLine) => rest;

describe("replay s3://bucket/prefix", () => {
  it("gives the lines a replay of the same export on disk gives, in the same order", async () => {
    const local = await replayJson("--jobs", "0", join(dir, "AWSLogs"));
    const remote = await replayJson("--jobs", "2", ORG_EXPORT);
    // One corrupt log file: reported in both, the rest judged.
    expect(local.code).toBe(3);
    expect(remote.code).toBe(3);
    const want = jsonLines(local.out);
    const got = jsonLines(remote.out);
    expect(want.length).toBeGreaterThan(500);
    expect(got.map(withoutSource)).toEqual(want.map(withoutSource));
    expect(got.filter((l) => l.outcome === "violation").length).toBeGreaterThan(0);
    expect(got.find((l) => l.outcome === "invalid")?.reason).toMatch(/^bad gzip:/);
    expect(got[0]!.source).toMatch(
      new RegExp(
        `^s3://${BUCKET}/${ORG}111122223333/CloudTrail/eu-west-1/2025/03/01/.+\\.json\\.gz#\\d+$`,
      ),
    );
    // Digests are listed but never downloaded.
    expect(s3.requests.some((r) => r.key.includes("CloudTrail-Digest"))).toBe(false);
  });

  it("skips the objects whose key is outside the filters without downloading them", async () => {
    const filters = [
      "--account",
      "444455556666",
      "--region",
      "us-east-1",
      "--since",
      "2025-03-03T00:00:00Z",
      "--until",
      "2025-03-05",
    ];
    const local = await replayJson("--jobs", "0", ...filters, join(dir, "AWSLogs"));
    const before = s3.requests.length;
    const remote = await replayJson("--jobs", "0", ...filters, ORG_EXPORT);
    expect(jsonLines(remote.out).map(withoutSource)).toEqual(
      jsonLines(local.out).map(withoutSource),
    );
    expect(jsonLines(remote.out).length).toBeGreaterThan(0);
    const gets = s3.requests.slice(before).filter((r) => r.key !== "");
    expect(gets.length).toBeGreaterThan(0);
    for (const g of gets) {
      const p = parseArchivePath(g.key)!;
      expect(p.account).toBe("444455556666");
      expect(p.region).toBe("us-east-1");
      // A day of slack before --since, as for local files.
      expect(p.day >= "2025-03-02").toBe(true);
    }
    // 2 accounts x 2 Regions x 4 days x 3 files; only 444455556666/us-east-1 from 03-02 is read.
    expect(gets).toHaveLength(3 * 3);
    // Only that account's, that Region's and those days' folders are listed: nothing else.
    const lists = s3.requests.slice(before).filter((r) => r.query["list-type"] === "2");
    expect(lists.map((r) => r.query.prefix)).toEqual(
      ["02", "03", "04", "05"].map((d) => `${ORG}444455556666/CloudTrail/us-east-1/2025/03/${d}/`),
    );
    const table = await run(["replay", ...filters, "--jobs", "0", ORG_EXPORT]);
    expect(table.out).toMatch(/ from 9 files\./);
  });

  it("finds the organisation, account and Region folders with a delimiter when no filter names them", async () => {
    const before = s3.requests.length;
    const r = await run([
      "replay",
      "--jobs",
      "0",
      "--since",
      "2025-03-04",
      "--until",
      "2025-03-05",
      `s3://${BUCKET}/AWSLogs/`,
    ]);
    expect(r.code).toBe(0);
    const lists = s3.requests.slice(before).filter((q) => q.query["list-type"] === "2");
    const folders = lists.filter((q) => q.query.delimiter === "/").map((q) => q.query.prefix);
    expect(folders).toEqual([
      "AWSLogs/",
      ORG,
      `${ORG}111122223333/CloudTrail/`,
      `${ORG}444455556666/CloudTrail/`,
    ]);
    // 2 accounts x 2 Regions x the days 03-03 to 03-05 (a day of slack before --since).
    expect(lists.filter((q) => q.query.delimiter === undefined)).toHaveLength(2 * 2 * 3);
    // Days 03-03 and 03-04 of every account and Region: 2 x 2 x 2 days x 3 files.
    expect(r.out).toMatch(/ from 24 files\./);
  });

  it("lists past 1,000 keys, page by page", async () => {
    const other = await startS3ReadStub("many-logs");
    try {
      const record = {
        eventVersion: "1.08",
        eventTime: "2025-03-01T10:00:00Z",
        eventSource: "sts.amazonaws.com",
        eventName: "GetCallerIdentity",
        awsRegion: "us-east-1",
        eventID: "e-1",
        readOnly: true,
        recipientAccountId: "111122223333",
      };
      const body = gzipSync(JSON.stringify({ Records: [record, record] }));
      for (let i = 0; i < 1205; i++) {
        other.objects.set(`exports/part-${String(i).padStart(5, "0")}.json.gz`, body);
      }
      const io = memoryIo({ env: { ...STUB_AWS_ENV, AWS_ENDPOINT_URL_S3: other.endpoint } });
      expect(
        await main(
          ["replay", "--jobs", "0", "--all-records", "--format", "json", "s3://many-logs/exports/"],
          io,
        ),
      ).toBe(0);
      expect(jsonLines(io.stdout.text())).toHaveLength(2410);
      const lists = other.requests.filter((r) => r.query["list-type"] === "2");
      expect(lists).toHaveLength(2);
      expect(lists[1]!.query["continuation-token"]).toBeTruthy();
    } finally {
      await other.close();
    }
  });

  it("reports an object it may not read in place, and reads the rest", async () => {
    const key = [...s3.objects.keys()].find((k) => k.includes("/eu-west-1/2025/03/02/"))!;
    s3.denied.add(key);
    try {
      const r = await replayJson("--jobs", "0", "--region", "eu-west-1", ORG_EXPORT);
      expect(r.code).toBe(3);
      const denied = jsonLines(r.out).find((l) => l.source === `s3://${BUCKET}/${key}`)!;
      expect(denied.outcome).toBe("invalid");
      expect(denied.reason).toMatch(/^cannot read: AccessDenied/);
      expect(r.err).toContain(`warning: s3://${BUCKET}/${key}: cannot read: AccessDenied`);
      expect(jsonLines(r.out).filter((l) => l.outcome !== "invalid").length).toBeGreaterThan(100);
    } finally {
      s3.denied.delete(key);
    }
  });

  it("fails with exit 3 on a bucket that does not exist or a prefix that holds no log", async () => {
    const missing = await run(["replay", "s3://no-such-bucket/AWSLogs/"]);
    expect(missing.code).toBe(3);
    expect(missing.err).toContain("ListObjectsV2");
    expect(missing.err).toContain("NoSuchBucket");
    const empty = await run(["replay", `s3://${BUCKET}/nothing-here/`]);
    expect(empty.code).toBe(3);
    expect(empty.err).toContain("no .json, .jsonl, .ndjson or .gz object under it");
  });

  it("takes one s3:// PATH, alone", async () => {
    const mixed = await run(["replay", `s3://${BUCKET}/a/`, "local.json"]);
    expect(mixed.code).toBe(2);
    expect(mixed.err).toContain("give one s3:// PATH");
    const bad = await run(["replay", "s3://No_Bucket/x"]);
    expect(bad.code).toBe(2);
    expect(bad.err).toContain("does not name an S3 bucket");
  });
});
