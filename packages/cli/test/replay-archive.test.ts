import { mkdtemp, readFile, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { gunzipSync, gzipSync } from "node:zlib";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { Job } from "../src/replay/process";
import type { ReplayLine } from "../src/replay/record";
import {
  type ArchiveManifest,
  type ArchiveRecord,
  TEMPLATES,
  writeArchive,
} from "./support/archive";
import { jsonLines } from "./support/io";
import { replayConfig, replayTotals } from "./support/replay";
import { runCli } from "./support/run";

const ACCOUNTS = ["111122223333", "444455556666", "777788889999"];
/** The templates of an event name the guardrail handles: what replay lists by default. */
const HANDLED_TEMPLATES = new Set(
  (Object.keys(TEMPLATES) as (keyof typeof TEMPLATES)[]).filter(
    (t) =>
      ![
        "ec2-describe",
        "ec2-create-tags",
        "logs-create-stream",
        "s3-get-object",
        "sts-assume-role",
        "kms-decrypt",
      ].includes(t),
  ),
);
const REGIONS = ["eu-west-1", "us-east-1"];

let dir: string;
let archive: ArchiveManifest;
let records: readonly ArchiveRecord[];

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), "guardrail-archive-"));
  archive = await writeArchive({
    dir,
    accounts: ACCOUNTS,
    regions: REGIONS,
    startDay: "2025-03-01",
    days: 4,
    filesPerDay: 3,
    recordsPerFile: 60,
    ec2Share: 0.3,
    corruptFiles: 2,
    digests: true,
    collectRecords: true,
    seed: 42,
  });
  records = archive.records ?? [];
});

afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

const run = (argv: string[], stdin?: Buffer) => runCli(argv, stdin === undefined ? {} : { stdin });
/** `guardrail replay …flags` of the generated archive. */
const replayArchive = (...flags: string[]) => run(["replay", ...flags, dir]);

/** What replay must say about one generated record, from its template's expectation. */
function expectLine(line: ReplayLine, rec: ArchiveRecord) {
  const e = TEMPLATES[rec.template].expect;
  expect(line, `${rec.template} ${line.source}`).toMatchObject({
    eventId: rec.eventId,
    eventTime: rec.eventTime,
    account: rec.account,
    region: rec.region,
    outcome: e.outcome,
  });
  if ("rules" in e) {
    const counting = line.findings.filter((f) => !f.exemption);
    expect([...new Set(counting.map((f) => f.rule))].sort()).toEqual(e.rules);
    expect(new Set(counting.map((f) => f.mode))).toEqual(new Set([e.mode]));
  }
  if ("reason" in e) expect(line.reason?.startsWith(e.reason)).toBe(true);
  if (e.outcome === "violation" && "mode" in e && e.mode === "enforce") {
    expect(line.actions.length).toBeGreaterThan(0);
  } else {
    expect(line.actions).toEqual([]);
  }
}

describe("replay of a CloudTrail S3 export", () => {
  it("builds an archive of thousands of records across accounts, regions and days", () => {
    expect(archive.totalRecords).toBeGreaterThan(3000);
    expect(new Set(records.map((r) => r.account)).size).toBe(3);
    expect(new Set(records.map((r) => r.region)).size).toBe(2);
    expect(new Set(records.map((r) => r.eventTime.slice(0, 10))).size).toBe(4);
    expect(archive.files.filter((f) => f.corrupt)).toHaveLength(2);
    expect(archive.byTemplate["s3-get-object"]).toBeGreaterThan(archive.byTemplate["sg-ssh-world"]);
  });

  it("decides every record as its template says with --all-records, in path order, reporting the corrupt files in place", async () => {
    const { code, out, err } = await replayArchive(
      "--format",
      "json",
      "--all-records",
      "--jobs",
      "2",
    );
    const lines = jsonLines(out);
    // One line per readable record, plus one per corrupt file; digests are not read.
    expect(lines).toHaveLength(archive.totalRecords + 2);
    const corrupt = archive.files.filter((f) => f.corrupt).map((f) => f.path);
    const invalid = lines.filter((l) => l.outcome === "invalid");
    expect(invalid.map((l) => l.source)).toEqual(corrupt);
    expect(invalid[0]?.reason).toMatch(/^bad gzip/);
    const good = lines.filter((l) => l.outcome !== "invalid");
    for (const [i, line] of good.entries()) expectLine(line, records[i]!);
    // The corrupt file sits where its path puts it: after every record of earlier files.
    const at = lines.findIndex((l) => l.source === corrupt[0]);
    const before = archive.files.findIndex((f) => f.path === corrupt[0]);
    expect(at).toBe(archive.files.slice(0, before).reduce((s, f) => s + f.records, 0));
    expect(code).toBe(3);
    expect(err).toContain(`warning: ${corrupt[0]}: bad gzip`);
  });

  it("lists by default only the handled event names, in path order, and counts the rest", async () => {
    const { code, out } = await replayArchive("--format", "json", "--jobs", "2");
    const lines = jsonLines(out).filter((l) => l.outcome !== "invalid");
    const handled = records.filter((r) => HANDLED_TEMPLATES.has(r.template));
    expect(handled.length).toBeGreaterThan(100);
    expect(handled.length).toBeLessThan(records.length / 2);
    expect(lines).toHaveLength(handled.length);
    for (const [i, line] of lines.entries()) expectLine(line, handled[i]!);
    expect(code).toBe(3);
    const table = await replayArchive();
    const unlisted = (records.length - handled.length).toLocaleString("en-US");
    expect(table.out).toMatch(
      new RegExp(
        `\\n${unlisted} not a handled event \\(\\d[\\d,]* of them not parsed\\): counted only`,
      ),
    );
  });

  it("writes the same JSON Lines on worker threads as on one thread", async () => {
    for (const flags of [[], ["--all-records"]]) {
      const threaded = await replayArchive("--format", "json", ...flags, "--jobs", "2");
      const single = await replayArchive("--format", "json", ...flags, "--jobs", "0");
      expect(threaded.out).toBe(single.out);
    }
  });

  it.each([false, true])(
    "totals the same whether each line is built (json) or only counted (table), all records: %s",
    async (allRecords) => {
      const jobs = archive.files.map(
        (f, index): Job => ({ index, kind: "file", path: f.path, size: 0 }),
      );
      const totals = (format: "json" | "table") =>
        replayTotals(replayConfig({ format, allRecords }), jobs);
      const json = await totals("json");
      expect(json.records).toBe(archive.totalRecords);
      expect(await totals("table")).toEqual(json);
    },
  );

  it("totals outcomes, rules and accounts in the table", async () => {
    const { code, out } = await replayArchive();
    expect(code).toBe(3);
    const count = (pred: (r: ArchiveRecord) => boolean) => records.filter(pred).length;
    const outcome = (o: string) => count((r) => TEMPLATES[r.template].expect.outcome === o);
    const row = (label: string) =>
      out
        .split("\n")
        .find((l) => l.startsWith(`${label} `))
        ?.trim()
        .split(/\s{2,}/);
    expect(out).toContain(
      `Read ${archive.totalRecords.toLocaleString("en-US")} records from ${archive.files.length} files`,
    );
    expect(row("violation")?.[1]).toBe(outcome("violation").toLocaleString("en-US"));
    expect(row("compliant")?.[1]).toBe(outcome("compliant").toLocaleString("en-US"));
    expect(row("invalid")?.[1]).toBe("2");
    const ssh = count((r) => ["sg-ssh-world", "sg-rdp-world-v6"].includes(r.template));
    expect(row("admin-ports")?.slice(1, 3)).toEqual(["critical", ssh.toLocaleString("en-US")]);
    const acct = ACCOUNTS[0]!;
    const acctViolations = count(
      (r) => r.account === acct && TEMPLATES[r.template].expect.outcome === "violation",
    );
    expect(row(acct)?.[2]).toBe(acctViolations.toLocaleString("en-US"));
    expect(out).toMatch(/Unreadable input \(2\), the rest was processed/);
  });

  it("selects by account, region and time, and skips files whose path is outside", async () => {
    const filters = [
      "--account",
      ACCOUNTS[1]!,
      "--region",
      "us-east-1",
      "--since",
      "2025-03-02T06:00:00Z",
      "--until",
      "2025-03-03",
    ];
    const { out } = await replayArchive("--format", "json", "--all-records", ...filters);
    const lines = jsonLines(out);
    const want = records.filter(
      (r) =>
        r.account === ACCOUNTS[1] &&
        r.region === "us-east-1" &&
        r.eventTime >= "2025-03-02T06:00:00Z" &&
        r.eventTime < "2025-03-03T00:00:00Z",
    );
    expect(want.length).toBeGreaterThan(50);
    expect(lines.map((l) => l.eventId)).toEqual(want.map((r) => r.eventId));
    const table = await replayArchive(...filters);
    // Only that account's us-east-1 files from 1 to 3 March are opened (one day of slack).
    const opened = archive.files.filter(
      (f) =>
        f.account === ACCOUNTS[1] &&
        f.region === "us-east-1" &&
        f.day >= "2025-03-01" &&
        f.day <= "2025-03-03",
    ).length;
    expect(table.out).toContain(
      `from ${opened} files (${archive.files.length - opened} skipped by path filters)`,
    );
  });

  it("keeps only events with a finding of --rule", async () => {
    const { out } = await replayArchive("--format", "json", "--rule", "smtp-egress");
    const lines = jsonLines(out).filter((l) => l.outcome !== "invalid");
    const want = records.filter((r) => r.template === "sg-smtp-egress");
    expect(lines.map((l) => l.eventId)).toEqual(want.map((r) => r.eventId));
  });

  it("writes CSV with one row per finding and one per event without findings", async () => {
    const { out } = await replayArchive(
      "--format",
      "csv",
      "--all-records",
      "--account",
      ACCOUNTS[2]!,
    );
    const rows = out.trimEnd().split("\n");
    expect(rows[0]).toBe(
      "eventTime,eventId,eventName,account,region,actor,outcome,rule,mode,severity,resource,reason,exemption,actions,source,policyId",
    );
    const mine = records.filter((r) => r.account === ACCOUNTS[2]);
    const expected = mine.reduce((n, r) => {
      const e = TEMPLATES[r.template].expect;
      return n + ("rules" in e ? e.rules.length : 1);
    }, 0);
    // Corrupt files have no account in their line, so the account filter cannot exclude them.
    const corruptRows = rows.filter((r) => r.includes(",invalid,")).length;
    expect(rows.length - 1 - corruptRows).toBe(expected);
    const ssh = rows.find((r) => r.includes(",admin-ports,"));
    expect(ssh).toMatch(/,violation,admin-ports,enforce,critical,sgr-0[0-9a-f]{16},/);
    expect(ssh).toMatch(/revoke sg-0[0-9a-f]{16} ingress sgr-/);
  });

  it("reads the same records from stdin, gzip streams written back to back", async () => {
    const files = archive.files.filter((f) => !f.corrupt && f.account === ACCOUNTS[0]).slice(0, 5);
    const bodies = await Promise.all(files.map((f) => readFile(f.path)));
    const stdin = gzipSync(Buffer.concat(bodies.map((b) => gunzipSync(b))));
    const { code, out } = await run(["replay", "--format", "json", "--all-records", "-"], stdin);
    expect(code).toBe(0);
    const lines = jsonLines(out);
    const want = records.filter((r) => files.some((f) => archive.files[r.file]?.path === f.path));
    expect(lines.map((l) => l.eventId)).toEqual(want.map((r) => r.eventId));
    expect(lines[0]?.source).toBe("-:1#0");
  });

  it("exits 1 with --fail-on violation, for CI", async () => {
    const clean = archive.files.find((f) => !f.corrupt)!.path;
    const { code } = await run(["replay", "--fail-on", "violation", "--format", "json", clean]);
    expect(code).toBe(1);
  });
});
