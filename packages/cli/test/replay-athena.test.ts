import { mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { toolAthena } from "@guardrail/aws/athena";
import { EVENT_SPECS } from "@guardrail/core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { listFixtures, loadFixture } from "../../../test/fixtures/load";
import type { ReplayLine } from "../src/replay/record";
import { ATHENA_COLUMNS } from "../src/replay/sources/athena-query";
import { type StubAnswer, type StubQuery, startAthenaStub } from "./support/athena-stub";
import { jsonLines } from "./support/io";
import { runCli, STUB_AWS_ENV } from "./support/run";

/*
 * `guardrail replay --athena` end to end, with the real Athena SDK client against a wire stub.
 * The rows are built here the way Athena returns them, from the CloudTrail table in the Athena
 * docs (struct fields lower-cased and filled with nulls, fields outside the struct dropped,
 * every value as text), independently of the CLI's mapper, and the verdicts are compared with a
 * replay of the same records from a file.
 */

type Obj = Record<string, unknown>;

/** The `useridentity` struct of the Athena docs' CloudTrail table: field → nested struct. */
interface Struct {
  readonly [field: string]: Struct | "string" | "map";
}
const USER_IDENTITY: Struct = {
  type: "string",
  principalid: "string",
  arn: "string",
  accountid: "string",
  invokedby: "string",
  accesskeyid: "string",
  username: "string",
  onbehalfof: { userid: "string", identitystorearn: "string" },
  sessioncontext: {
    attributes: { mfaauthenticated: "string", creationdate: "string" },
    sessionissuer: {
      type: "string",
      principalid: "string",
      arn: "string",
      accountid: "string",
      username: "string",
    },
    ec2roledelivery: "string",
    webidfederationdata: { federatedprovider: "string", attributes: "map" },
  },
};

const isObj = (v: unknown): v is Obj => typeof v === "object" && v !== null && !Array.isArray(v);

/** What `CAST(struct AS JSON)` gives: every declared field, lower-case, null when absent. */
function structJson(value: Obj, struct: Struct): Obj {
  const lower = new Map(Object.entries(value).map(([k, v]) => [k.toLowerCase(), v]));
  const out: Obj = {};
  for (const [field, type] of Object.entries(struct)) {
    const v = lower.get(field);
    if (v === undefined || v === null) out[field] = null;
    else if (type === "string") out[field] = typeof v === "string" ? v : JSON.stringify(v);
    else if (type === "map") out[field] = v;
    else out[field] = isObj(v) ? structJson(v, type) : null;
  }
  return out;
}

/** A STRING column: the JSON SerDe gives an object's JSON text, a scalar's text. */
function text(v: unknown): string | null {
  if (v === undefined || v === null) return null;
  if (typeof v === "string") return v;
  return typeof v === "object" ? JSON.stringify(v) : String(v);
}

/** One CloudTrail record as a row of the query's result. */
function athenaRow(record: Obj): (string | null)[] {
  const byLower = new Map(Object.entries(record).map(([k, v]) => [k.toLowerCase(), v]));
  return ATHENA_COLUMNS.map((c) => {
    const v = byLower.get(c);
    if (c === "useridentity") {
      return isObj(v) ? JSON.stringify(structJson(v, USER_IDENTITY)) : null;
    }
    return text(v);
  });
}

/** The bare CloudTrail record of a fixture (the detail of an EventBridge event). */
function bareRecord(value: Obj): Obj {
  return isObj(value.detail) ? value.detail : value;
}

/** What the query's WHERE keeps: EC2 calls the guardrail knows. */
const selected = (r: Obj) =>
  r.eventSource === "ec2.amazonaws.com" &&
  typeof r.eventName === "string" &&
  Object.hasOwn(EVENT_SPECS, r.eventName);

let stub: Awaited<ReturnType<typeof startAthenaStub>>;
let answer: (q: StubQuery) => StubAnswer | { fail: string } = () => ({
  columns: ATHENA_COLUMNS,
  rows: [],
});

beforeAll(async () => {
  stub = await startAthenaStub({ answer: (q) => answer(q) });
});
afterAll(async () => {
  await stub.close();
});

const run = (argv: string[], env: Record<string, string> = {}) =>
  runCli(argv, { env: { ...STUB_AWS_ENV, AWS_ENDPOINT_URL_ATHENA: stub.endpoint, ...env } });

const withoutSource = ({ source: _, ...rest }: ReplayLine & { policyId?: string }) => rest;

const ATHENA = ["replay", "--athena", "--table", "cloudtrail_org", "--jobs", "0"];

describe("replay --athena: Athena rows give the verdicts of the original records", () => {
  const records = listFixtures()
    .map((f) => bareRecord(loadFixture(f.eventName, f.caseName) as Obj))
    .filter(selected);

  it("judges every fixture the query selects exactly as a replay of the record itself", async () => {
    expect(records.length).toBeGreaterThan(40);
    const dir = mkdtempSync(join(tmpdir(), "guardrail-athena-"));
    const file = join(dir, "records.jsonl");
    writeFileSync(file, records.map((r) => JSON.stringify(r)).join("\n"));
    const fromFile = await run(["replay", "--format", "json", "--jobs", "0", file]);
    expect(fromFile.code).toBe(0);

    answer = () => ({ columns: ATHENA_COLUMNS, rows: records.map(athenaRow) });
    const fromAthena = await run([...ATHENA, "--since", "2000-01-01", "--format", "json"]);
    expect(fromAthena.err).toMatch(/Athena query [0-9a-f-]+ scanned 5\.0 MiB/);
    expect(fromAthena.code).toBe(0);

    const expected = jsonLines(fromFile.out);
    const got = jsonLines(fromAthena.out);
    expect(got).toHaveLength(records.length);
    expect(got.map(withoutSource)).toEqual(expected.map(withoutSource));
    // Real verdicts, not a pile of invalid lines that happen to agree.
    const outcomes = new Set(got.map((l) => l.outcome));
    expect(outcomes).toContain("violation");
    expect(outcomes).toContain("compliant");
    expect(got.filter((l) => l.outcome === "violation").length).toBeGreaterThan(10);
    expect(got[0]!.source).toMatch(/^athena:[0-9a-f-]+:1#0$/);
  });

  it("reads a result of many pages, 1,000 rows a call, without the header row", async () => {
    const base = records.find(
      (r) => r.eventName === "AuthorizeSecurityGroupIngress" && r.errorCode === undefined,
    )!;
    const rows = Array.from({ length: 2500 }, (_, i) =>
      athenaRow({ ...base, eventID: `00000000-0000-4000-8000-${String(i).padStart(12, "0")}` }),
    );
    answer = () => ({ columns: ATHENA_COLUMNS, rows });
    const before = stub.calls.length;
    const r = await run([...ATHENA, "--since", "2000-01-01", "--format", "json"]);
    expect(r.code).toBe(0);
    const got = jsonLines(r.out);
    expect(got).toHaveLength(2500);
    expect(got[2499]!.eventId).toBe("00000000-0000-4000-8000-000000002499");
    const pages = stub.calls.slice(before).filter((c) => c.operation === "GetQueryResults");
    expect(pages.map((c) => c.body.MaxResults)).toEqual([1000, 1000, 1000]);
  });
});

describe("replay --athena: the query", () => {
  const GOLDEN = join(import.meta.dirname, "..", "..", "..", "test", "fixtures", "athena");
  const CASES: readonly { name: string; args: string[] }[] = [
    { name: "window", args: ["--since", "2025-03-01", "--until", "2025-04-01"] },
    {
      name: "accounts-regions",
      args: [
        "--from",
        "2025-03-01T06:30:00Z",
        "--account",
        "111122223333,444455556666",
        "--region",
        "eu-west-1",
        "--database",
        "trails",
      ],
    },
    {
      name: "no-partitions",
      args: ["--since", "2025-03-01", "--no-partitions", "--account", "111122223333"],
    },
  ];

  it.each(CASES)("sends the golden SQL for $name", async ({ name, args }) => {
    let sql = "";
    answer = (q) => {
      sql = q.sql;
      return { columns: ATHENA_COLUMNS, rows: [] };
    };
    const r = await run([...ATHENA, ...args, "--format", "json"]);
    expect(r.code).toBe(0);
    const file = join(GOLDEN, `${name}.sql`);
    if (process.env.UPDATE_GOLDEN) writeFileSync(file, sql);
    expect(sql).toBe(readFileSync(file, "utf8"));
  });

  it("selects every event name of EVENT_SPECS, so a new event is replayed without a change here", async () => {
    let sql = "";
    answer = (q) => {
      sql = q.sql;
      return { columns: ATHENA_COLUMNS, rows: [] };
    };
    await run([...ATHENA, "--since", "7d"]);
    const names = /eventname IN \(([^)]*)\)/.exec(sql)![1]!.split(", ");
    expect(names.map((n) => n.slice(1, -1)).sort()).toEqual(Object.keys(EVENT_SPECS).sort());
  });

  it("runs in the workgroup and database given, with the output location asked for", async () => {
    const local = await startAthenaStub({
      answer: () => ({ columns: ATHENA_COLUMNS, rows: [] }),
      workgroups: { analysts: {} },
    });
    try {
      const argv = [...ATHENA, "--since", "7d", "--workgroup", "analysts", "--database", "trails"];
      const missing = await run(argv, { AWS_ENDPOINT_URL_ATHENA: local.endpoint });
      expect(missing.code).toBe(3);
      expect(missing.err).toContain("No output location provided");
      const ok = await run([...argv, "--output-location", "s3://athena-results/guardrail/"], {
        AWS_ENDPOINT_URL_ATHENA: local.endpoint,
      });
      expect(ok.code).toBe(0);
      const start = local.calls.filter((c) => c.operation === "StartQueryExecution").at(-1)!;
      expect(start.body).toMatchObject({
        WorkGroup: "analysts",
        QueryExecutionContext: { Database: "trails" },
        ResultConfiguration: { OutputLocation: "s3://athena-results/guardrail/" },
      });
    } finally {
      await local.close();
    }
  });

  it("refuses a query over the whole trail, and flags that only make sense with --athena", async () => {
    const whole = await run([...ATHENA]);
    expect(whole.code).toBe(2);
    expect(whole.err).toContain("--athena needs --since");
    const stray = await run(["replay", "--table", "t", "x.json"]);
    expect(stray.code).toBe(2);
    expect(stray.err).toContain("--table is for --athena");
    const bad = await run(["replay", "--athena", "--table", "t; drop", "--since", "7d"]);
    expect(bad.code).toBe(2);
    expect(bad.err).toContain("--table takes letters, digits and underscores");
  });
});

describe("replay --athena: what Athena really returns", () => {
  const record = bareRecord(
    loadFixture("AuthorizeSecurityGroupIngress", "detail_assumedrole-console_cidrIp_2025") as Obj,
  );

  it("reports Athena's reason when the query fails, with exit 3", async () => {
    answer = () => ({
      fail: "CONSTRAINT_VIOLATION: For the injected projected partition column account, the WHERE clause must contain only static equality conditions, and at least one such condition must be present.",
    });
    const r = await run([...ATHENA, "--since", "7d"]);
    expect(r.code).toBe(3);
    expect(r.err).toMatch(
      /error \[ATHENA_QUERY_FAILED\]: Athena query [0-9a-f-]+ FAILED: CONSTRAINT_VIOLATION/,
    );
  });

  it("reports a row whose struct has no field names (engine version 2) in place, and judges the rest", async () => {
    const legacy = athenaRow(record);
    legacy[1] = JSON.stringify(["AssumedRole", "AROA", "arn:aws:sts::1:assumed-role/x/y"]);
    answer = () => ({
      columns: ATHENA_COLUMNS,
      rows: [athenaRow(record), legacy, athenaRow(record)],
    });
    const r = await run([...ATHENA, "--since", "2000-01-01", "--format", "json"]);
    expect(r.code).toBe(3);
    const got = jsonLines(r.out);
    expect(got.map((l) => l.outcome)).toEqual(["violation", "invalid", "violation"]);
    expect(got[1]!.reason).toContain("Athena engine version 2");
    expect(got[1]!.source).toMatch(/^athena:[0-9a-f-]+:2$/);
    expect(r.err).toContain("warning: athena:");
  });

  it("keeps NULL apart from text: a NULL errorcode is a successful call", async () => {
    const row = athenaRow(record);
    expect(row[ATHENA_COLUMNS.indexOf("errorcode")]).toBeNull();
    answer = () => ({ columns: ATHENA_COLUMNS, rows: [row] });
    const r = await run([...ATHENA, "--since", "2000-01-01", "--format", "json"]);
    expect(jsonLines(r.out)[0]!.outcome).toBe("violation");
  });

  it("retries a throttled call (TooManyRequestsException) and goes on", async () => {
    answer = () => ({ columns: ATHENA_COLUMNS, rows: [athenaRow(record)] });
    stub.throttleNext(2);
    const r = await run([...ATHENA, "--since", "2000-01-01", "--format", "json"]);
    expect(r.code).toBe(0);
    expect(jsonLines(r.out)).toHaveLength(1);
  });

  it("polls a running query with a doubling delay, capped", async () => {
    const slow = await startAthenaStub({
      answer: () => ({ columns: ATHENA_COLUMNS, rows: [athenaRow(record)] }),
      pollsBeforeDone: 6,
    });
    const waits: number[] = [];
    const athena = toolAthena(
      {
        endpoint: slow.endpoint,
        region: "us-east-1",
        credentials: { accessKeyId: "AKIDEXAMPLE", secretAccessKey: "secret" },
      },
      { firstDelayMs: 100, maxDelayMs: 1000, sleep: async (ms) => void waits.push(ms) },
    );
    try {
      const result = await athena.run({
        sql: "SELECT 1",
        database: "default",
        workgroup: "primary",
      });
      expect(waits).toEqual([100, 200, 400, 800, 1000, 1000]);
      const pages = [];
      for await (const p of result.pages) pages.push(p);
      expect(pages).toHaveLength(1);
      expect(pages[0]!.rows).toHaveLength(1);
      expect(pages[0]!.columns).toEqual(ATHENA_COLUMNS);
    } finally {
      athena.destroy();
      await slow.close();
    }
  });
});
