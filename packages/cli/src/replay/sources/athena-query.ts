import { EVENT_SPECS } from "@guardrail/core/runtime";
import { UsageError } from "../../errors";
import type { ReplayFilters } from "../filters";

/**
 * The columns `replay --athena` reads, as Athena names them (lower case). `useridentity` is a
 * struct: it is cast to JSON in the query, since GetQueryResults renders a struct as
 * `{type=AssumedRole, arn=...}`, which is not JSON. `requestparameters` and `responseelements`
 * are strings holding the record's JSON text (the CloudTrail table in the Athena docs declares
 * them STRING). https://docs.aws.amazon.com/athena/latest/ug/cloudtrail-logs.html
 */
export const ATHENA_COLUMNS = [
  "eventversion",
  "useridentity",
  "eventtime",
  "eventsource",
  "eventname",
  "awsregion",
  "sourceipaddress",
  "useragent",
  "errorcode",
  "errormessage",
  "requestparameters",
  "responseelements",
  "requestid",
  "eventid",
  "readonly",
  "eventtype",
  "recipientaccountid",
  "sessioncredentialfromconsole",
] as const;

/** Struct columns, cast to JSON text (Athena engine version 3 keeps the field names). */
const STRUCT_COLUMNS = new Set<string>(["useridentity"]);

/** Database, table and column names the query may name: Athena's own, no quoting tricks. */
const NAME = /^[A-Za-z0-9_]+$/;

export interface AthenaQueryOptions {
  readonly database: string;
  readonly table: string;
  readonly filters: ReplayFilters;
  /**
   * The table is partitioned by `account`, `region` and `timestamp` (yyyy/MM/dd), as
   * `guardrail athena-ddl` makes it: the filters prune partitions, so Athena reads only the
   * days, accounts and Regions asked for. Off for a table without those partitions.
   */
  readonly partitioned: boolean;
}

const DAY_MS = 86_400_000;

const sqlString = (s: string) => `'${s.replace(/'/g, "''")}'`;
const list = (values: readonly string[]) => values.map(sqlString).join(", ");
const isoSecond = (ms: number) => new Date(ms).toISOString().replace(/\.\d{3}Z$/, "Z");
const partitionDay = (ms: number) => new Date(ms).toISOString().slice(0, 10).replace(/-/g, "/");

export function checkAthenaName(flag: string, value: string): string {
  if (!NAME.test(value)) {
    throw new UsageError(
      `${flag} takes letters, digits and underscores (an Athena name), not "${value}"`,
    );
  }
  return value;
}

/**
 * The query over the organisation trail's table: only the EC2 calls the guardrail knows
 * (`EVENT_SPECS`, so a newly handled event is selected without touching this), within the
 * filters, in event time order. Failed and read-only calls of those names are selected too, so
 * that every verdict matches what a replay of the log files gives for them.
 */
export function athenaQuery(o: AthenaQueryOptions): string {
  const { filters: f } = o;
  if (f.since === undefined) {
    throw new UsageError("--athena needs --since: a query without it scans the whole trail");
  }
  const columns = ATHENA_COLUMNS.map((c) =>
    STRUCT_COLUMNS.has(c) ? `json_format(CAST(${c} AS JSON)) AS ${c}` : c,
  );
  const where = [
    "eventsource = 'ec2.amazonaws.com'",
    `eventname IN (${list(Object.keys(EVENT_SPECS).sort())})`,
  ];
  if (o.partitioned) {
    // CloudTrail files an event under the day it delivered it, which can be the day after the
    // event (a file written just after midnight): a day of slack on both sides.
    where.push(`"timestamp" >= ${sqlString(partitionDay(f.since - DAY_MS))}`);
    if (f.until !== undefined) {
      where.push(`"timestamp" <= ${sqlString(partitionDay(f.until - 1 + DAY_MS))}`);
    }
    if (f.accounts) where.push(`account IN (${list(f.accounts)})`);
    if (f.regions) where.push(`region IN (${list(f.regions)})`);
  } else {
    if (f.accounts) where.push(`recipientaccountid IN (${list(f.accounts)})`);
    if (f.regions) where.push(`awsregion IN (${list(f.regions)})`);
  }
  // CloudTrail writes eventTime as yyyy-MM-ddTHH:mm:ssZ, which orders as text. Whole seconds,
  // rounded outwards: the replay's own filter then cuts at the exact instant.
  where.push(`eventtime >= ${sqlString(isoSecond(f.since))}`);
  if (f.until !== undefined)
    where.push(`eventtime < ${sqlString(isoSecond(Math.ceil(f.until / 1000) * 1000))}`);
  return [
    "SELECT",
    columns.map((c) => `  ${c}`).join(",\n"),
    `FROM "${checkAthenaName("--database", o.database)}"."${checkAthenaName("--table", o.table)}"`,
    `WHERE ${where.join("\n  AND ")}`,
    "ORDER BY eventtime, eventid",
    "",
  ].join("\n");
}
