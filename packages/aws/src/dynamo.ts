import type { DynamoDBDocumentClient, GetCommandOutput } from "@aws-sdk/lib-dynamodb";
import { AUDIT_TABLE } from "@guardrail/core";
import { AuditWriteError, awsErrorCode, callFailed, LookupFailedError } from "./errors";

/** The document client's module, loaded on first use (see `lazy`). */
export type DocLib = typeof import("./sdk/dynamodb");

/** How a failed call is reported, by its label ("PutItem sightings"). */
export type Failure = (label: string, error: unknown) => Error;

/** A write that failed: `AuditWriteError` with the AWS code and message. */
export const writeFailed: Failure = (label, error) => callFailed(AuditWriteError, label, error);

/** A read that failed: `LookupFailedError` with the AWS code. */
export const lookupFailed: Failure = (label, error) =>
  new LookupFailedError(`${label}: ${awsErrorCode(error)}`, { cause: error });

/** A conditional write whose condition did not hold. */
export function isConditionFailure(error: unknown): boolean {
  return awsErrorCode(error) === "ConditionalCheckFailedException";
}

/** Options of one call: how its failure is reported, and what a failed condition answers. */
export interface SendOptions<O> {
  /** Default: `writeFailed`. */
  readonly fail?: Failure;
  /** The answer when the call's condition did not hold (otherwise that is a failure too). */
  readonly conditionFailed?: (error: unknown) => O | Promise<O>;
}

/** One call on the table: the client and module loaded, its failure reported by its label. */
export type Send = <O>(
  label: string,
  call: (ddb: DynamoDBDocumentClient, lib: DocLib) => Promise<O>,
  options?: SendOptions<O>,
) => Promise<O>;

/** The `send` of one table's adapters over a lazily created client. */
export function sender(client: () => Promise<DynamoDBDocumentClient>): Send {
  const lib = () => import("./sdk/dynamodb");
  return async (label, call, { fail = writeFailed, conditionFailed } = {}) => {
    const loaded = await lib();
    const ddb = await client();
    try {
      return await call(ddb, loaded);
    } catch (error) {
      if (conditionFailed && isConditionFailure(error)) return conditionFailed(error);
      if (error instanceof AuditWriteError || error instanceof LookupFailedError) throw error;
      throw fail(label, error);
    }
  };
}

/**
 * Reads one item of `tableName` by its key (eventually consistent), or undefined; a failure is
 * a `LookupFailedError` named by `label` ("GetItem posture").
 */
export function itemReader(
  send: Send,
  tableName: string,
): (label: string, key: Record<string, unknown>) => Promise<GetCommandOutput["Item"]> {
  return async (label, key) => {
    const out = await send(
      label,
      (ddb, { GetCommand }) => ddb.send(new GetCommand({ TableName: tableName, Key: key })),
      { fail: lookupFailed },
    );
    return out.Item;
  };
}

/**
 * A conditional write: true when it was written, false when its condition did not hold. Any
 * other failure is reported by `fail` (default: `writeFailed`).
 */
export function writeIf(
  send: Send,
  label: string,
  call: (ddb: DynamoDBDocumentClient, lib: DocLib) => Promise<unknown>,
  fail?: Failure,
): Promise<boolean> {
  return send(
    label,
    async (ddb, lib) => {
      await call(ddb, lib);
      return true;
    },
    { conditionFailed: () => false, ...(fail ? { fail } : {}) },
  );
}

/** One page of a Query or a Scan: its items and where the next page starts. */
interface ItemPage {
  readonly Items?: Record<string, unknown>[];
  readonly LastEvaluatedKey?: Record<string, unknown>;
}

/** Every item of a paginated Query or Scan: `read(start)` from the start until no next page. */
export async function allItems(
  read: (start: Record<string, unknown> | undefined) => Promise<ItemPage>,
): Promise<Record<string, unknown>[]> {
  const items: Record<string, unknown>[] = [];
  let start: Record<string, unknown> | undefined;
  do {
    const page = await read(start);
    items.push(...(page.Items ?? []));
    start = page.LastEvaluatedKey;
  } while (start);
  return items;
}

/** The key condition of a Query for one audit-table partition's sort keys under `prefix`. */
export function sortKeyPrefix(pk: string, prefix: string) {
  return {
    KeyConditionExpression: "#pk = :pk AND begins_with(#sk, :prefix)",
    ExpressionAttributeNames: { "#pk": AUDIT_TABLE.partitionKey, "#sk": AUDIT_TABLE.sortKey },
    ExpressionAttributeValues: { ":pk": pk, ":prefix": prefix },
  };
}

/**
 * How a store over the audit table (posture, interactions, ledger, chain) is made: from the
 * table's name and its document client, made on first use.
 */
export type TableStore<S> = (tableName: string, client: () => Promise<DynamoDBDocumentClient>) => S;
