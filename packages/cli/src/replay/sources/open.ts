import { type Command, Option } from "commander";
import { awsClientConfig } from "../../aws";
import type { CliIo } from "../../context";
import { UsageError } from "../../errors";
import { single } from "../../flags";
import type { ReplayFilters } from "../filters";
import { athenaSource } from "./athena";
import { athenaQuery, checkAthenaName } from "./athena-query";
import { parseS3Url, s3Source } from "./s3";
import type { ReplaySource } from "./source";

/** The flags of `replay` that read from AWS instead of local files. */
export interface RemoteOptions {
  athena?: boolean;
  table?: string;
  database: string;
  workgroup: string;
  outputLocation?: string;
  partitions: boolean;
  awsRegion?: string;
  profile?: string;
  endpointUrl?: string;
}

export function addRemoteOptions(command: Command): Command {
  return command
    .option(
      "--athena",
      "read the records from an Athena query over the organisation trail's table (see athena-ddl)",
    )
    .option("--table <name>", "with --athena: the CloudTrail table")
    .addOption(
      new Option("--database <name>", "with --athena: the table's database").default("default"),
    )
    .addOption(
      new Option("--workgroup <name>", "with --athena: the workgroup to run in").default("primary"),
    )
    .option(
      "--output-location <s3-url>",
      "with --athena: where Athena writes the result, when the workgroup sets none",
    )
    .option(
      "--no-partitions",
      "with --athena: the table is not partitioned by account, region and timestamp",
    )
    .option("--aws-region <name>", "Region of the Athena or S3 calls (--region filters records)")
    .option("--profile <name>", "AWS profile for --athena and s3:// (default: AWS_PROFILE)")
    .option("--endpoint-url <url>", "Athena or S3 endpoint (default: AWS's)");
}

/**
 * The source `replay` reads when the flags name one in AWS: `--athena`, or one `s3://` PATH.
 * Null for local files and stdin. The AWS clients are loaded only here, when asked for.
 */
export async function openRemoteSource(
  paths: readonly string[],
  opts: RemoteOptions,
  filters: ReplayFilters,
  io: CliIo,
): Promise<ReplaySource | null> {
  const s3Paths = paths.filter((p) => p.startsWith("s3://"));
  const aws = (service: "ATHENA" | "S3") =>
    awsClientConfig(
      {
        ...(opts.awsRegion ? { region: single("--aws-region", opts.awsRegion, "one Region") } : {}),
        ...(opts.endpointUrl ? { endpointUrl: opts.endpointUrl } : {}),
        ...(opts.profile ? { profile: opts.profile } : {}),
      },
      io,
      service,
    );
  if (opts.athena) {
    if (paths.length > 0) {
      throw new UsageError("--athena reads from Athena: give no PATH with it");
    }
    if (opts.table === undefined) throw new UsageError("--athena needs --table");
    const database = checkAthenaName("--database", opts.database);
    const table = checkAthenaName("--table", opts.table);
    const sql = athenaQuery({ database, table, filters, partitioned: opts.partitions });
    if (opts.outputLocation !== undefined && !opts.outputLocation.startsWith("s3://")) {
      throw new UsageError(`--output-location must be an s3:// URL, not "${opts.outputLocation}"`);
    }
    const { toolAthena } = await import("@guardrail/aws/athena");
    return athenaSource(
      toolAthena(aws("ATHENA")),
      {
        sql,
        database,
        workgroup: opts.workgroup,
        ...(opts.outputLocation ? { outputLocation: opts.outputLocation } : {}),
      },
      `athena:${database}.${table}`,
    );
  }
  const misplaced = [
    ["--table", opts.table],
    ["--output-location", opts.outputLocation],
    ["--no-partitions", opts.partitions ? undefined : true],
  ].find(([, v]) => v !== undefined);
  if (misplaced) throw new UsageError(`${misplaced[0]} is for --athena`);
  if (s3Paths.length === 0) {
    if (opts.awsRegion || opts.profile || opts.endpointUrl) {
      throw new UsageError("--aws-region, --profile and --endpoint-url are for --athena or s3://");
    }
    return null;
  }
  if (paths.length > 1) {
    throw new UsageError("give one s3:// PATH, without other paths");
  }
  const where = parseS3Url(s3Paths[0]!)!;
  const { toolS3Objects } = await import("@guardrail/aws/s3-objects");
  return s3Source(toolS3Objects(aws("S3")), where, filters, s3Paths[0]!);
}
