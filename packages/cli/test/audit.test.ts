import { mkdir, readFile, writeFile } from "node:fs/promises";
import type { Server } from "node:http";
import { createRequire } from "node:module";
import type { AddressInfo } from "node:net";
import { join } from "node:path";
import { DynamoDBClient } from "@aws-sdk/client-dynamodb";
import { DynamoDBDocumentClient } from "@aws-sdk/lib-dynamodb";
import { createAuditStore, createLocalAuditTable } from "@guardrail/aws";
import {
  type AuditItem,
  auditItem,
  buildDecision,
  defaultPolicy,
  evaluate,
  normalise,
  planActions,
} from "@guardrail/core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { loadFixture } from "../../../test/fixtures/load";
import { renderAuditTable } from "../src/commands/audit";
import { main } from "../src/main";
import { runBin } from "./bin";
import { jsonLines, memoryIo } from "./support/io";
import { tempDir } from "./support/temp-dir";

const dynalite = createRequire(import.meta.url)("dynalite") as (options: {
  createTableMs?: number;
}) => Server;

const TABLE = "guardrail-audit-test";
const REGION = "eu-west-1";
const env = { AWS_ACCESS_KEY_ID: "AKIAAUDITTEST", AWS_SECRET_ACCESS_KEY: "x", AWS_REGION: REGION };
const ACCOUNTS = ["111122223333", "444455556666"];
const DAY = 86_400_000;

let server: Server;
let endpoint: string;
/** What was written, newest first, as the adapter stored it. */
let written: AuditItem[] = [];

async function createTable(client: DynamoDBClient) {
  await createLocalAuditTable(client, TABLE);
}

/**
 * A real decision: a fixture event (SSH opened to the world) moved to another account, time and
 * group, normalised, evaluated with the default policy and revoked; then written by the
 * functions' own audit adapter.
 */
function decisionItem(n: number, account: string, at: Date, groupId: string): AuditItem {
  const event = loadFixture(
    "AuthorizeSecurityGroupIngress",
    "detail_assumedrole-console_cidrIp_2025",
  );
  event.eventID = `00000000-0000-4000-8000-${String(n).padStart(12, "0")}`;
  event.eventTime = at.toISOString().replace(/\.\d{3}Z$/, "Z");
  event.recipientAccountId = account;
  event.requestParameters.groupId = groupId;
  event.responseElements.securityGroupRuleSet.items[0].groupId = groupId;
  const result = normalise(event);
  if (result.status !== "handled") throw new Error(`fixture not handled: ${result.status}`);
  const evaluation = evaluate(result.changes, defaultPolicy(), { now: at, event: result.event });
  const outcomes = planActions(evaluation).map((action) => ({
    action,
    status: "revoked" as const,
    confirmedAt: new Date(at.getTime() + 2_000).toISOString(),
  }));
  const decision = buildDecision({
    source: "event",
    event: result.event,
    evaluation,
    outcomes,
    decidedAt: new Date(at.getTime() + 2_000),
    guardrailVersion: "0.1.0-test",
    policyId: "3f2a9c81d0e4",
  });
  if (!decision) throw new Error("no decision");
  return auditItem(decision);
}

beforeAll(async () => {
  server = dynalite({ createTableMs: 0 });
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
  endpoint = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  const client = new DynamoDBClient({
    endpoint,
    region: REGION,
    credentials: { accessKeyId: env.AWS_ACCESS_KEY_ID, secretAccessKey: "x" },
  });
  await createTable(client);
  const doc = DynamoDBDocumentClient.from(client, {
    marshallOptions: { removeUndefinedValues: true },
  });
  const store = createAuditStore(TABLE, async () => doc);
  const now = Date.now();
  const items: AuditItem[] = [];
  // 12 decisions over 12 days, alternating accounts; two groups per account.
  for (let n = 0; n < 12; n++) {
    const account = ACCOUNTS[n % 2]!;
    const groupId = `sg-0${account.slice(0, 4)}${n % 4 < 2 ? "aaaa" : "bbbb"}00000000`;
    items.push(decisionItem(n, account, new Date(now - n * DAY - 3_600_000), groupId));
  }
  for (const item of items) {
    expect(await store.putDecision(item, `writer-${item.id}`)).toEqual({ status: "created" });
  }
  written = items;
});

afterAll(async () => {
  await new Promise<void>((r) => server.close(() => r()));
});

async function audit(args: string[], cwd?: string) {
  const io = memoryIo({ env, ...(cwd ? { cwd } : {}) });
  const code = await main(["audit", "--endpoint-url", endpoint, ...args], io);
  return { code, out: io.stdout.text(), err: io.stderr.text() };
}

const ids = (jsonl: string) => jsonLines<{ id: string }>(jsonl).map((d) => d.id);

describe("guardrail audit against dynalite, items written by the functions' audit adapter", () => {
  it("lists the last 7 days by default, newest first", async () => {
    const { code, out } = await audit(["--table", TABLE, "--format", "json"]);
    expect(code).toBe(0);
    expect(ids(out)).toEqual(written.slice(0, 7).map((i) => i.id));
    const first = JSON.parse(out.split("\n")[0]!);
    expect(first).toMatchObject({ type: "decision", result: "revoked", source: "event" });
    expect(first.pk).toBeUndefined();
  });

  it("selects one account through the by-account index", async () => {
    const { out } = await audit([
      "--table",
      TABLE,
      "--since",
      "30d",
      "--account",
      ACCOUNTS[1]!,
      "--format",
      "json",
    ]);
    expect(ids(out)).toEqual(written.filter((i) => i.account === ACCOUNTS[1]).map((i) => i.id));
  });

  it("selects one resource through the by-resource index, within a window", async () => {
    const resource = written[4]!.resourceId;
    const since = new Date(Date.now() - 10 * DAY).toISOString();
    const { out } = await audit([
      "--table",
      TABLE,
      "--since",
      since,
      "--resource",
      resource,
      "--format",
      "json",
    ]);
    const want = written.filter((i) => i.resourceId === resource && i.gsi1sk >= since);
    expect(want.length).toBeGreaterThanOrEqual(2);
    expect(ids(out)).toEqual(want.map((i) => i.id));
  });

  it("prints a table: what was opened and what was done, newest first, and totals", async () => {
    const { out } = await audit(["--table", TABLE, "--since", "3d"]);
    const lines = out.trimEnd().split("\n");
    expect(lines[0]).toMatch(new RegExp(`^3 decisions in ${TABLE} from `));
    expect(lines[2]).toMatch(
      /^time \(UTC\)\s+account\s+region\s+resource\s+severity\s+opened\s+rules\s+done\s+actor$/,
    );
    expect(lines[4]).toContain(written[0]!.resourceId);
    expect(lines[4]).toMatch(
      /critical\s+ingress tcp 22 from 0\.0\.0\.0\/0\s+admin-ports, internet-exposure\s+revoked\s+voclabs\/user289515=Jia_Jia/,
    );
    expect(lines.at(-1)).toBe("revoked 3");
  });

  it("lists the most severe first and shows each exemption's reason and expiry (golden)", () => {
    const at = (d: string) => new Date(`2025-03-0${d}T10:00:00Z`);
    const revoked = decisionItem(100, ACCOUNTS[0]!, at("1"), "sg-0aaaaaaaaaaaaaaa1");
    const exempt: AuditItem = {
      ...decisionItem(101, ACCOUNTS[1]!, at("3"), "sg-0bbbbbbbbbbbbbbb2"),
      result: "exempt",
      severity: "info",
    };
    const waived: AuditItem = {
      ...exempt,
      findings: exempt.findings.map((f) => {
        const { action: _action, ...rest } = f;
        return {
          ...rest,
          result: "exempt" as const,
          exemption: { kind: "tag" as const, reason: "vendor appliance", expires: "2099-12-31" },
        };
      }),
    };
    const notified: AuditItem = {
      ...decisionItem(102, ACCOUNTS[0]!, at("2"), "sg-0ccccccccccccccc3"),
      result: "notify-only",
      severity: "medium",
    };
    const answer = { items: [waived, notified, revoked], truncated: false, via: "scan" as const };
    const text = renderAuditTable(
      answer,
      TABLE,
      Date.parse("2025-03-01T00:00:00Z"),
      Date.parse("2025-03-04T00:00:00Z"),
    );
    expect(text.split("\n").map((l) => l.trimEnd())).toEqual([
      "3 decisions in guardrail-audit-test from 2025-03-01T00:00Z to 2025-03-04T00:00Z.",
      "",
      "time (UTC)           account       region     resource              severity  opened                         rules                           done                                              actor",
      "-------------------  ------------  ---------  --------------------  --------  -----------------------------  ------------------------------  ------------------------------------------------  --------------------------",
      "2025-03-01 10:00:00  111122223333  us-east-1  sg-0aaaaaaaaaaaaaaa1  critical  ingress tcp 22 from 0.0.0.0/0  admin-ports, internet-exposure  revoked                                           voclabs/user289515=Jia_Jia",
      "2025-03-02 10:00:00  111122223333  us-east-1  sg-0ccccccccccccccc3  medium    ingress tcp 22 from 0.0.0.0/0  admin-ports, internet-exposure  notified only                                     voclabs/user289515=Jia_Jia",
      "2025-03-03 10:00:00  444455556666  us-east-1  sg-0bbbbbbbbbbbbbbb2  info      ingress tcp 22 from 0.0.0.0/0  admin-ports, internet-exposure  exempt (tag: vendor appliance, until 2099-12-31)  voclabs/user289515=Jia_Jia",
      "",
      "exempt 1, notify-only 1, revoked 1",
      "",
    ]);
  });

  it("writes the table to -o FILE", async () => {
    const dir = await tempDir("guardrail-audit-o-");
    const { code, out, err } = await audit(["--table", TABLE, "-o", join(dir, "a.txt")]);
    expect([code, out, err]).toEqual([0, "", `wrote ${join(dir, "a.txt")}\n`]);
    expect(await readFile(join(dir, "a.txt"), "utf8")).toMatch(/^7 decisions in /);
  });

  it("takes one account and one Region: a list or a mistyped one is a usage error", async () => {
    const list = await audit(["--table", TABLE, "--account", "111122223333,444455556666"]);
    expect([list.code, list.err]).toEqual([
      2,
      'error: --account takes one value, not "111122223333,444455556666": the by-account index reads one account\n',
    ]);
    const region = await audit(["--table", TABLE, "--region", "eu-westt-1"]);
    expect([region.code, region.err]).toEqual([
      2,
      'error: --region "eu-westt-1" is not an AWS Region (such as us-east-1, eu-west-1)\n',
    ]);
  });

  it("writes CSV, one row per decision", async () => {
    const { out } = await audit(["--table", TABLE, "--since", "5d", "--format", "csv"]);
    const rows = out.trimEnd().split("\n");
    expect(rows[0]).toBe(
      "time,id,source,account,region,resourceType,resourceId,outcome,result,severity,rules,actions,actor,eventName,eventId,exposureSeconds,error,policyId",
    );
    expect(rows).toHaveLength(6);
    // The policy that made each decision, as recorded.
    expect(rows[1]?.endsWith(",3f2a9c81d0e4")).toBe(true);
    expect(rows[1]).toContain(`,${written[0]!.id},event,${written[0]!.account},`);
    expect(rows[1]).toContain(",revoked: ingress tcp 22 from 0.0.0.0/0");
  });

  it("warns when --limit cuts the list", async () => {
    const { out, err } = await audit([
      "--table",
      TABLE,
      "--since",
      "30d",
      "--limit",
      "2",
      "--format",
      "json",
    ]);
    expect(ids(out)).toEqual(written.slice(0, 2).map((i) => i.id));
    expect(err).toBe("warning: more than 2 decisions match; raise --limit to see them all\n");
  });

  it("reads the table name from the deployed stage's .sst/outputs.json", async () => {
    const dir = await tempDir("guardrail-outputs-");
    await mkdir(join(dir, ".sst"));
    await writeFile(join(dir, ".sst", "outputs.json"), JSON.stringify({ auditTableName: TABLE }));
    await mkdir(join(dir, "sub"));
    const { code, out } = await audit(["--since", "2d", "--format", "json"], join(dir, "sub"));
    expect(code).toBe(0);
    expect(ids(out)).toEqual(written.slice(0, 2).map((i) => i.id));
  });

  it("says how to name the table when nothing does", async () => {
    const dir = await tempDir("guardrail-notable-");
    const { code, err } = await audit([], dir);
    expect(code).toBe(2);
    expect(err).toMatch(/no audit table: pass --table NAME, deploy the guardrail/);
  });

  it("reports a table that does not exist as an AWS failure, exit 3", async () => {
    const { code, err } = await audit(["--table", "nope"]);
    expect(code).toBe(3);
    expect(err).toMatch(
      /^error \[AWS_CALL_FAILED\]: querying audit table nope: ResourceNotFoundException/,
    );
  });

  it("works through the real executable", async () => {
    const { code, stdout } = await runBin(
      ["audit", "--table", TABLE, "--endpoint-url", endpoint, "--since", "1d", "--format", "json"],
      { env },
    );
    expect(code).toBe(0);
    expect(ids(stdout)).toEqual([written[0]!.id]);
  });
});
