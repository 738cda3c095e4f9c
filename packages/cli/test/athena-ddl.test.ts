import { mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { main } from "../src/main";
import { memoryIo } from "./support/io";

/*
 * `guardrail athena-ddl`'s statement, compared with golden files in test/fixtures/athena/.
 * Run with UPDATE_GOLDEN=1 to rewrite them, then read the diff.
 */

const GOLDEN = join(import.meta.dirname, "..", "..", "..", "test", "fixtures", "athena");

/** `aws organizations list-accounts` output, trimmed to what matters. */
const LIST_ACCOUNTS = JSON.stringify({
  Accounts: [
    {
      Id: "444455556666",
      Arn: "arn:aws:organizations::111122223333:account/o-exampleorgid/444455556666",
      Status: "ACTIVE",
    },
    {
      Id: "111122223333",
      Arn: "arn:aws:organizations::111122223333:account/o-exampleorgid/111122223333",
      Status: "ACTIVE",
    },
  ],
});

const BASE = ["athena-ddl", "--bucket", "org-trail-logs", "--org-id", "o-exampleorgid"];

const CASES: readonly { name: string; args: string[] }[] = [
  {
    name: "ddl-enum-accounts",
    args: [
      ...BASE,
      "--account",
      "111122223333,444455556666",
      "--region",
      "us-east-1,eu-west-1",
      "--start",
      "2024-01-01",
    ],
  },
  {
    name: "ddl-accounts-file",
    args: [
      ...BASE,
      "--accounts-file",
      "accounts.json",
      "--region",
      "us-east-1",
      "--start",
      "2024-06-01",
      "--table",
      "trail",
      "--database",
      "security",
    ],
  },
  {
    name: "ddl-injected",
    args: [
      ...BASE,
      "--injected-accounts",
      "--prefix",
      "/central/",
      "--region",
      "eu-west-1",
      "--start",
      "2023-01-01",
    ],
  },
];

function scratch(): string {
  const dir = mkdtempSync(join(tmpdir(), "guardrail-ddl-"));
  writeFileSync(join(dir, "accounts.json"), LIST_ACCOUNTS);
  writeFileSync(
    join(dir, "accounts.txt"),
    "# production\n111122223333\n444455556666, 777788889999\n",
  );
  return dir;
}

describe("guardrail athena-ddl", () => {
  it.each(CASES)("prints the golden statement for $name", async ({ name, args }) => {
    const io = memoryIo({ cwd: scratch() });
    expect(await main(args, io)).toBe(0);
    const file = join(GOLDEN, `${name}.sql`);
    if (process.env.UPDATE_GOLDEN) writeFileSync(file, io.stdout.text());
    expect(io.stdout.text()).toBe(readFileSync(file, "utf8"));
  });

  it("projects the organisation trail's layout: account, Region and day under the org folder", async () => {
    const io = memoryIo({ cwd: scratch() });
    await main(
      [
        ...BASE,
        "--accounts-file",
        "accounts.txt",
        "--region",
        "us-east-1",
        "--start",
        "2024-01-01",
      ],
      io,
    );
    const ddl = io.stdout.text();
    expect(ddl).toContain(
      // biome-ignore lint/suspicious/noTemplateCurlyInString: Athena's own ${...} placeholders.
      "'storage.location.template' = 's3://org-trail-logs/AWSLogs/o-exampleorgid/${account}/CloudTrail/${region}/${timestamp}'",
    );
    expect(ddl).toContain("'projection.account.values' = '111122223333,444455556666,777788889999'");
    expect(ddl).toContain("'projection.timestamp.range' = '2024/01/01,NOW'");
  });

  it.each([
    [
      ["--region", "us-east-1", "--start", "2024-01-01"],
      "give one of --account, --accounts-file or --injected-accounts",
    ],
    [
      [
        "--injected-accounts",
        "--account",
        "111122223333",
        "--region",
        "us-east-1",
        "--start",
        "2024-01-01",
      ],
      "give one of",
    ],
    [
      ["--account", "1234", "--region", "us-east-1", "--start", "2024-01-01"],
      "must be a 12-digit account id",
    ],
    [
      ["--injected-accounts", "--region", "us-east-9", "--start", "2024-01-01"],
      "is not an AWS Region",
    ],
    [["--injected-accounts", "--start", "2024-01-01"], "--region is required"],
    [
      ["--injected-accounts", "--region", "us-east-1", "--start", "last year"],
      "--start must be a day",
    ],
    [
      ["--injected-accounts", "--region", "us-east-1", "--start", "2024-01-01", "--table", "a-b"],
      "--table takes letters",
    ],
  ])("refuses %j with exit 2", async (extra, message) => {
    const io = memoryIo({ cwd: scratch() });
    expect(await main([...BASE, ...extra], io)).toBe(2);
    expect(io.stderr.text()).toContain(message);
    expect(io.stdout.text()).toBe("");
  });

  it("refuses a bad organisation id and an accounts file that cannot be read", async () => {
    const io = memoryIo({ cwd: scratch() });
    expect(
      await main(
        ["athena-ddl", "--bucket", "b-logs", "--org-id", "org1", "--injected-accounts"],
        io,
      ),
    ).toBe(2);
    expect(io.stderr.text()).toContain("--org-id must be an organisation id");
    const missing = memoryIo({ cwd: scratch() });
    expect(
      await main(
        [...BASE, "--accounts-file", "nope.json", "--region", "us-east-1", "--start", "2024-01-01"],
        missing,
      ),
    ).toBe(3);
    expect(missing.stderr.text()).toContain("cannot read nope.json");
  });
});

describe("the table athena-ddl makes is the one replay --athena queries", () => {
  it("has every column the query selects, and the partitions it prunes", async () => {
    const { ATHENA_COLUMNS } = await import("../src/replay/sources/athena-query");
    const ddl = readFileSync(join(GOLDEN, "ddl-injected.sql"), "utf8");
    const [columns, partitions] = ddl.split("PARTITIONED BY") as [string, string];
    const top = [...columns.matchAll(/^ {2}(\w+) /gm)].map((m) => m[1]);
    for (const c of ATHENA_COLUMNS) expect(top).toContain(c);
    expect([...partitions.matchAll(/`(\w+)` STRING/g)].map((m) => m[1])).toEqual([
      "account",
      "region",
      "timestamp",
    ]);
  });
});
