import { mkdir, mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { gunzipSync, gzipSync } from "node:zlib";
import { EVENT_SPECS } from "@guardrail/core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { loadFixture } from "../../../test/fixtures/load";
import { listInputFiles, parseText } from "../src/input";
import { HANDLED_EVENT_NAMES, isListed, scanLogFile } from "../src/replay/prefilter";
import type { Job } from "../src/replay/process";
import { BENCH_ARCHIVE, writeArchive } from "./support/archive";
import { jsonLines } from "./support/io";
import { replayConfig, replayTotals } from "./support/replay";
import { runCli as run } from "./support/run";

/**
 * The pre-filter must not change what replay says: without `--all-records`, the output is
 * exactly the `--all-records` output less the records whose event name the guardrail does not
 * handle, decided by an oracle that parses every record.
 */

let dir: string;

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), "guardrail-prefilter-"));
});

afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

/** The oracle: every record of every input, parsed in full, and its `eventName`. */
async function listedSources(paths: readonly string[]): Promise<Set<string>> {
  const out = new Set<string>();
  for (const f of await listInputFiles(paths)) {
    let buf = await readFile(f.path);
    try {
      if (buf[0] === 0x1f && buf[1] === 0x8b) buf = gunzipSync(buf);
    } catch {
      continue;
    }
    for (const item of parseText(buf.toString("utf8"), f.path)) {
      if (item.kind !== "record") continue;
      const r = item.value as { eventName?: unknown; detail?: { eventName?: unknown } };
      const name = r.detail !== undefined ? r.detail?.eventName : r.eventName;
      if (typeof name === "string" && Object.hasOwn(EVENT_SPECS, name)) {
        out.add(`${item.source}#${item.index}`);
      }
    }
  }
  return out;
}

/** Replays `paths` both ways and holds the default output to the full one less unlisted records. */
async function sameAsFull(paths: readonly string[], jobs = "0") {
  const full = await run(["replay", "--format", "json", "--all-records", "--jobs", jobs, ...paths]);
  const filtered = await run(["replay", "--format", "json", "--jobs", jobs, ...paths]);
  expect(filtered.code).toBe(full.code);
  expect(filtered.err).toBe(full.err);
  const listed = await listedSources(paths);
  const want = jsonLines(full.out).filter(
    // Input that could not be read is always listed (its source has no `#index`).
    (l) => listed.has(l.source) || !l.source.includes("#"),
  );
  expect(want.length).toBeGreaterThan(0);
  expect(jsonLines(filtered.out)).toEqual(want);
  return { full: jsonLines(full.out), filtered: jsonLines(filtered.out), listed };
}

const totals = (allRecords: boolean, jobs: Job[]) =>
  replayTotals(replayConfig({ format: "table", allRecords }), jobs);

const logFile = (records: readonly unknown[]) => Buffer.from(JSON.stringify({ Records: records }));

describe("replay's pre-filter", () => {
  it("knows every event the guardrail handles, from EVENT_SPECS", () => {
    expect([...HANDLED_EVENT_NAMES].sort()).toEqual(Object.keys(EVENT_SPECS).sort());
  });

  it("gives the same results as a full parse on a generated S3 export", async () => {
    const archive = await writeArchive({
      ...BENCH_ARCHIVE,
      dir: join(dir, "archive"),
      days: 2,
      filesPerDay: 3,
      recordsPerFile: 200,
      corruptFiles: 1,
      seed: 11,
    });
    const { full, filtered } = await sameAsFull([archive.root], "2");
    expect(full.length).toBe(archive.totalRecords + 1);
    // 5% of the records are security-group and network-ACL calls.
    expect(filtered.length).toBeLessThan(full.length / 10);

    const jobs: Job[] = archive.files.map((f, index) => ({
      index,
      kind: "file",
      path: f.path,
      size: 0,
    }));
    const all = await totals(true, jobs);
    const pre = await totals(false, jobs);
    expect(pre.records).toBe(all.records);
    // Nearly every unlisted record was counted from its bytes alone, never parsed.
    expect(pre.unlisted).toBe(full.length - filtered.length);
    expect(pre.unparsed).toBeGreaterThan(pre.unlisted * 0.95);
    for (const key of [
      "byRule",
      "byActor",
      "byDay",
      "actions",
      "actionsByType",
      "revokingEvents",
      "problems",
      "unreadable",
    ] as const) {
      expect(pre[key], key).toEqual(all[key]);
    }
    for (const o of ["violation", "compliant", "exempt", "invalid"]) {
      expect(pre.byOutcome[o], o).toBe(all.byOutcome[o]);
    }
    expect(pre.byOutcome.ignored).toBe((all.byOutcome.ignored ?? 0) - pre.unlisted);
  });

  it("gives the same results as a full parse on the captured fixtures", async () => {
    const { filtered, listed } = await sameAsFull(["test/fixtures/cloudtrail"]);
    expect(filtered.length).toBe(listed.size);
  });

  it("gives the same results as a full parse on the fixtures as one log file, escapes included", async () => {
    const record = loadFixture(
      "AuthorizeSecurityGroupIngress",
      "detail_assumedrole-console_cidrIp_2025",
    ) as Record<string, unknown>;
    const s3 = { ...record, eventSource: "s3.amazonaws.com", eventName: "GetObject" };
    const file = join(dir, "escaped.json");
    // The event name escaped: the bytes never hold "AuthorizeSecurityGroupIngress".
    const escaped = JSON.stringify({ ...record, eventID: "escaped-name" }).replace(
      '"eventName":"AuthorizeSecurityGroupIngress"',
      '"eventName":"Authorize\\u0053ecurityGroupIngress"',
    );
    expect(escaped).toContain("\\u0053");
    // A handled name in another field of an unhandled event (an IAM policy, say).
    const policy = { ...s3, requestParameters: { action: "AuthorizeSecurityGroupIngress" } };
    const text = `{"Records":[${JSON.stringify(s3)},${escaped},${JSON.stringify(policy)},${JSON.stringify(record)}]}`;
    await writeFile(file, text);
    const scan = scanLogFile(Buffer.from(text));
    expect(scan).toEqual({
      total: 4,
      candidates: [
        expect.objectContaining({ index: 1 }),
        expect.objectContaining({ index: 2 }),
        expect.objectContaining({ index: 3 }),
      ],
    });
    const { filtered } = await sameAsFull([file]);
    expect(filtered.map((l) => [l.eventId, l.outcome])).toEqual([
      ["escaped-name", "violation"],
      [record.eventID, "violation"],
    ]);
  });

  it("parses the whole file, as a full parse does, when a candidate record is not JSON", async () => {
    const text =
      '{"Records":[{"eventName":"GetObject"},{"eventName":"AuthorizeSecurityGroupIngress","x":tru}]}';
    await writeFile(join(dir, "broken.json"), text);
    const { full } = await sameAsFull([join(dir, "broken.json")]);
    expect(full).toHaveLength(1);
    expect(full[0]?.reason).toMatch(/not JSON/);
  });

  it("falls back to a full parse for any other layout", async () => {
    const sub = join(dir, "layouts");
    await mkdir(sub, { recursive: true });
    const rec = { eventSource: "ec2.amazonaws.com", eventName: "ModifySecurityGroupRules" };
    const other = { eventSource: "s3.amazonaws.com", eventName: "GetObject" };
    await writeFile(join(sub, "a.jsonl"), `${JSON.stringify(rec)}\n${JSON.stringify(other)}\n`);
    await writeFile(join(sub, "b.json"), JSON.stringify([other, rec]));
    await writeFile(join(sub, "c.json.gz"), gzipSync(JSON.stringify({ Records: [rec] }, null, 2)));
    await writeFile(join(sub, "d.json"), `{"Records":[${JSON.stringify(rec)}`);
    await writeFile(join(sub, "e.json"), `{"Records":[${JSON.stringify(rec)}],"x":1}`);
    await sameAsFull([sub]);
  });
});

describe("scanLogFile", () => {
  const sg = { eventSource: "ec2.amazonaws.com", eventName: "AuthorizeSecurityGroupEgress" };
  const other = { eventSource: "s3.amazonaws.com", eventName: "GetObject" };

  it("finds the records holding a handled name, and counts the rest", () => {
    const scan = scanLogFile(logFile([other, sg, other, other, sg]));
    expect(scan?.total).toBe(5);
    expect(scan?.candidates.map((c) => c.index)).toEqual([1, 4]);
  });

  it("cuts each candidate exactly at its record's braces", () => {
    const tricky = { ...sg, note: 'a "quoted" {brace} [bracket] \\ back' };
    const buf = logFile([other, tricky]);
    const c = scanLogFile(buf)?.candidates[0];
    expect(JSON.parse(buf.toString("utf8", c?.start, c?.end))).toEqual(tricky);
  });

  it("flags a record with any \\u escape, and never a name that only contains a handled one", () => {
    const scan = scanLogFile(
      logFile([
        { ...other, userAgent: "caf\u00e9" },
        { ...other, note: "\u0001" },
        { ...other, eventName: "AuthorizeSecurityGroupIngressX" },
        { ...other, eventName: "xModifySecurityGroupRules" },
      ]),
    );
    expect(scan?.candidates.map((c) => c.index)).toEqual([1]);
  });

  it("reads whitespace between the values, an empty log file, and no more", () => {
    expect(scanLogFile(Buffer.from(JSON.stringify({ Records: [sg, other] }, null, 2)))).toEqual({
      total: 2,
      candidates: [expect.objectContaining({ index: 0 })],
    });
    expect(scanLogFile(Buffer.from('{"Records":[]}\n'))).toEqual({ total: 0, candidates: [] });
    for (const text of [
      '{"Records":[{"a":1}',
      '{"Records":[{"a":"1}]}',
      '{"Records":[{"a":1}]}{"Records":[]}',
      '{"Records":[{"a":1}],"Records":[]}',
      '{"Records":[1,2]}',
      '[{"eventName":"GetObject"}]',
      '{"eventName":"GetObject"}',
    ]) {
      expect(scanLogFile(Buffer.from(text)), text).toBeNull();
    }
  });
});

describe("isListed", () => {
  it("lists a record or an EventBridge event of a handled name, and anything that is not an object", () => {
    expect(isListed({ eventName: "CreateNetworkAclEntry" })).toBe(true);
    expect(isListed({ detail: { eventName: "ReplaceNetworkAclEntry" } })).toBe(true);
    expect(isListed({ "detail-type": "AWS API Call via CloudTrail" })).toBe(false);
    expect(isListed({ eventName: "GetObject" })).toBe(false);
    expect(isListed({ eventname: "CreateNetworkAclEntry" })).toBe(false);
    expect(isListed({ eventName: "constructor" })).toBe(false);
    expect(isListed({})).toBe(false);
    expect(isListed(42)).toBe(true);
    expect(isListed([{ eventName: "GetObject" }])).toBe(true);
  });
});
