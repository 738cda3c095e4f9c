import { readFileSync } from "node:fs";
import { resolve } from "node:path";
import type { Command } from "commander";
import { type AthenaTableSpec, athenaTableDdl } from "../athena/ddl";
import type { CliIo, CommandContext } from "../context";
import { EXIT, InputError, UsageError } from "../errors";
import { checkAccounts, checkRegions } from "../flags";
import { listFlag } from "../replay/filters";
import { checkAthenaName } from "../replay/sources/athena-query";

export interface AthenaDdlOptions {
  bucket?: string;
  prefix?: string;
  orgId?: string;
  table: string;
  database: string;
  account?: string[];
  accountsFile?: string;
  injectedAccounts?: boolean;
  region?: string[];
  start?: string;
}

const collect = (v: string, prev: string[] = []) => [...prev, v];

export function registerAthenaDdl(program: Command, ctx: CommandContext): void {
  program
    .command("athena-ddl")
    .summary("print an Athena table for the organisation trail, for replay --athena")
    .description(
      "Print a CREATE EXTERNAL TABLE statement for an organisation trail's S3 export " +
        "(s3://BUCKET/[PREFIX/]AWSLogs/ORG-ID/<account>/CloudTrail/<region>/<yyyy>/<MM>/<dd>/), " +
        "partitioned by account, region and day with partition projection, so that a query " +
        "reads only the accounts, Regions and days it names. Run it once in Athena; " +
        "`guardrail replay --athena --table NAME` then queries it.\n\n" +
        "Accounts are either listed in the table (--account or --accounts-file: an account " +
        "that joins later needs the table made again) or injected (--injected-accounts: " +
        "nothing to keep up to date, and every query must name its accounts: replay " +
        "--athena --account ...).",
    )
    .option("--bucket <name>", "the trail's S3 bucket")
    .option("--prefix <prefix>", "the trail's S3 key prefix, if it has one")
    .option("--org-id <id>", "the organisation id (o-...), the folder under AWSLogs/")
    .option("--table <name>", "the table's name", "cloudtrail_org")
    .option("--database <name>", "the table's database", "default")
    .option("--account <id>", "an account to project (repeat or comma-separate)", collect)
    .option(
      "--accounts-file <file>",
      "accounts to project: the JSON of `aws organizations list-accounts`, or ids separated by " +
        "spaces, commas or lines (# starts a comment)",
    )
    .option("--injected-accounts", "let each query name its accounts instead of listing them")
    .option("--region <name>", "a Region to project (repeat or comma-separate)", collect)
    .option("--start <date>", "first day of the projected range (yyyy-MM-dd); it ends at NOW")
    .addHelpText(
      "after",
      `
Examples:
  guardrail athena-ddl --bucket org-trail --org-id o-exampleorgid --accounts-file accounts.json \\
    --region us-east-1,eu-west-1 --start 2024-01-01 > table.sql
  aws organizations list-accounts > accounts.json
  guardrail athena-ddl --bucket org-trail --org-id o-exampleorgid --injected-accounts \\
    --region us-east-1 --start 2024-01-01
`,
    )
    .action(async (opts: AthenaDdlOptions) => {
      ctx.io.stdout.write(await athenaDdl(opts, ctx.io));
      ctx.exit(EXIT.ok);
    });
}

/** Account ids in a file: `aws organizations list-accounts` JSON, or ids in plain text. */
export function readAccountsFile(path: string, io: CliIo): string[] {
  let text: string;
  try {
    text = readFileSync(resolve(io.cwd, path), "utf8");
  } catch (err) {
    throw new InputError(path, `cannot read ${path}: ${(err as Error).message}`);
  }
  const trimmed = text.trim();
  if (trimmed.startsWith("{")) {
    let doc: unknown;
    try {
      doc = JSON.parse(trimmed);
    } catch (err) {
      throw new InputError(path, `${path} is not JSON: ${(err as Error).message}`);
    }
    const accounts = (doc as { Accounts?: unknown }).Accounts;
    if (!Array.isArray(accounts)) {
      throw new InputError(
        path,
        `${path} has no "Accounts" list (aws organizations list-accounts)`,
      );
    }
    return accounts.map((a) => String((a as { Id?: unknown }).Id));
  }
  return text
    .split("\n")
    .map((l) => l.replace(/#.*/, ""))
    .flatMap((l) => l.split(/[\s,]+/))
    .filter((v) => v !== "");
}

/** The statement for the flags. @throws UsageError for a missing or malformed flag. */
export async function athenaDdl(opts: AthenaDdlOptions, io: CliIo): Promise<string> {
  if (!opts.bucket) throw new UsageError("--bucket is required");
  if (!/^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$/.test(opts.bucket)) {
    throw new UsageError(`--bucket "${opts.bucket}" is not an S3 bucket name`);
  }
  if (!opts.orgId || !/^o-[a-z0-9]{10,32}$/.test(opts.orgId)) {
    throw new UsageError(
      `--org-id must be an organisation id (o- and 10 to 32 letters or digits), not "${opts.orgId ?? ""}"`,
    );
  }
  const prefix = (opts.prefix ?? "").replace(/^\/+|\/+$/g, "");
  if (/['\s]/.test(prefix))
    throw new UsageError(`--prefix "${opts.prefix}" has a quote or a space`);
  const given = [
    opts.account !== undefined,
    opts.accountsFile !== undefined,
    !!opts.injectedAccounts,
  ];
  if (given.filter(Boolean).length !== 1) {
    throw new UsageError("give one of --account, --accounts-file or --injected-accounts");
  }
  let accounts: AthenaTableSpec["accounts"] = { kind: "injected" };
  if (!opts.injectedAccounts) {
    const ids =
      opts.accountsFile !== undefined
        ? readAccountsFile(opts.accountsFile, io)
        : (listFlag(opts.account) ?? []);
    const flag =
      opts.accountsFile !== undefined ? `--accounts-file ${opts.accountsFile}` : "--account";
    if (ids.length === 0) throw new UsageError(`${flag}: no account id`);
    checkAccounts(flag, ids);
    accounts = { kind: "enum", ids: [...new Set(ids)].sort() };
  }
  const regions = listFlag(opts.region);
  if (!regions) throw new UsageError("--region is required: the Regions the trail logs");
  await checkRegions("--region", regions);
  if (
    !opts.start ||
    !/^\d{4}-\d{2}-\d{2}$/.test(opts.start) ||
    Number.isNaN(Date.parse(opts.start))
  ) {
    throw new UsageError(`--start must be a day (yyyy-MM-dd), not "${opts.start ?? ""}"`);
  }
  return athenaTableDdl({
    database: checkAthenaName("--database", opts.database),
    table: checkAthenaName("--table", opts.table),
    bucket: opts.bucket,
    prefix,
    orgId: opts.orgId,
    accounts,
    regions: [...new Set(regions)],
    startDay: opts.start,
  });
}
