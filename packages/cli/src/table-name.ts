import { readFile } from "node:fs/promises";
import { dirname, join, resolve } from "node:path";
import { toolDocuments } from "@guardrail/aws";
import { ConfigurationError, FUNCTION_ENV, STACK_OUTPUTS } from "@guardrail/core/runtime";
import { type AwsFlags, awsClientConfig, awsError } from "./aws";
import type { CliIo } from "./context";

/** Where the table name came from, for messages. */
export interface TableName {
  readonly name: string;
  readonly source: string;
}

/**
 * The audit table's name: `--table`, else the deployed stage's outputs (`.sst/outputs.json` in
 * the working directory or a parent), else `GUARDRAIL_TABLE_NAME`.
 *
 * @throws ConfigurationError when none says.
 */
export async function resolveTableName(
  flag: string | undefined,
  cwd: string,
  env: Readonly<Record<string, string | undefined>>,
): Promise<TableName> {
  if (flag) return { name: flag, source: "--table" };
  for (let dir = resolve(cwd); ; dir = dirname(dir)) {
    const file = join(dir, ".sst", "outputs.json");
    const text = await readFile(file, "utf8").catch(() => null);
    if (text !== null) {
      let outputs: unknown;
      try {
        outputs = JSON.parse(text);
      } catch (cause) {
        throw new ConfigurationError(`${file} is not JSON: ${(cause as Error).message}`, { cause });
      }
      const name = (outputs as Record<string, unknown> | null)?.[STACK_OUTPUTS.auditTableName];
      if (typeof name === "string" && name !== "") return { name, source: file };
      throw new ConfigurationError(
        `${file} has no ${STACK_OUTPUTS.auditTableName}: deploy the guardrail, or pass --table`,
      );
    }
    if (dirname(dir) === dir) break;
  }
  const fromEnv = env[FUNCTION_ENV.tableName];
  if (fromEnv) return { name: fromEnv, source: FUNCTION_ENV.tableName };
  throw new ConfigurationError(
    `no audit table: pass --table NAME, deploy the guardrail (its name is then read from .sst/outputs.json), or set ${FUNCTION_ENV.tableName}`,
  );
}

/** The audit table a command reads (`--table`, else the deployed stack's) and a client for it. */
export async function openAuditTable(
  opts: AwsFlags & { readonly table?: string },
  io: CliIo,
): Promise<{
  table: Awaited<ReturnType<typeof resolveTableName>>;
  client: ReturnType<typeof toolDocuments>;
}> {
  const table = await resolveTableName(opts.table, io.cwd, io.env);
  try {
    return { table, client: toolDocuments(awsClientConfig(opts, io, "DYNAMODB")) };
  } catch (error) {
    throw awsError("DynamoDB client", error);
  }
}

/**
 * Reads the audit table: `read` with its name and a document client, any failure reported as
 * the table's, the client destroyed afterwards.
 */
export async function readAuditTable<T>(
  opts: AwsFlags & { readonly table?: string },
  io: CliIo,
  read: (name: string, documents: ReturnType<typeof toolDocuments>["documents"]) => Promise<T>,
): Promise<T> {
  const { table, client } = await openAuditTable(opts, io);
  try {
    return await read(table.name, client.documents);
  } catch (error) {
    throw awsError(`reading ${table.name}`, error);
  } finally {
    client.destroy();
  }
}
