import {
  AthenaClient,
  GetQueryExecutionCommand,
  paginateGetQueryResults,
  type QueryExecution,
  StartQueryExecutionCommand,
} from "@aws-sdk/client-athena";
import { GuardrailError } from "@guardrail/core";
import type { ToolClientConfig } from "./tool-clients";

/** A query Athena ran and could not finish (FAILED or CANCELLED), with Athena's reason. */
export class AthenaQueryError extends GuardrailError {
  constructor(
    readonly queryExecutionId: string,
    readonly state: string,
    reason: string,
    options?: { cause?: unknown },
  ) {
    super("ATHENA_QUERY_FAILED", `Athena query ${queryExecutionId} ${state}: ${reason}`, options);
  }
}

export interface AthenaQuery {
  readonly sql: string;
  /** The database the query runs in (`QueryExecutionContext.Database`). */
  readonly database: string;
  readonly workgroup: string;
  /**
   * Where Athena writes the result (`s3://bucket/prefix/`). Needed only when the workgroup has no
   * output location of its own; a workgroup that enforces its settings overrides it.
   */
  readonly outputLocation?: string;
}

/** One page of result rows: each row is its columns' values, null for SQL NULL. */
export interface AthenaPage {
  readonly columns: readonly string[];
  readonly rows: readonly (readonly (string | null)[])[];
}

export interface AthenaRun {
  readonly queryExecutionId: string;
  /** What Athena scanned, once the query succeeded (bytes), for the user's cost estimate. */
  readonly scannedBytes: number | null;
  readonly pages: AsyncIterable<AthenaPage>;
}

/**
 * GetQueryResults returns at most 1,000 rows a call.
 * https://docs.aws.amazon.com/athena/latest/APIReference/API_GetQueryResults.html
 */
export const ATHENA_PAGE_ROWS = 1000;

export interface AthenaPolling {
  /** First wait between GetQueryExecution calls (ms); doubles up to `maxDelayMs`. */
  readonly firstDelayMs: number;
  readonly maxDelayMs: number;
  readonly sleep: (ms: number) => Promise<void>;
}

const DEFAULT_POLLING: AthenaPolling = {
  firstDelayMs: 250,
  maxDelayMs: 5000,
  sleep: (ms) => new Promise((resolve) => setTimeout(resolve, ms)),
};

/** Athena for the CLI: run one query and read its result page by page. */
export interface ToolAthena {
  /**
   * Starts the query, polls GetQueryExecution with a doubling delay until it is done, and returns
   * its result's pages. @throws AthenaQueryError when the query failed or was cancelled.
   */
  run(query: AthenaQuery): Promise<AthenaRun>;
  destroy(): void;
}

/** A tool's calls retry a little more than the SDK's default three attempts. */
const ATTEMPTS = 5;

function reasonOf(q: QueryExecution | undefined): string {
  const status = q?.Status;
  const detail = status?.AthenaError?.ErrorMessage;
  return status?.StateChangeReason ?? detail ?? "no reason given";
}

/**
 * Results are read with GetQueryResults rather than from the CSV Athena writes to S3: NULL comes
 * back apart from "" (a Datum without VarCharValue), there is no CSV quoting of JSON text to
 * undo, and no S3 client or bucket Region to deal with. The price is a round trip per 1,000
 * rows, for a query that selects only the guardrail's few event names out of a whole trail.
 */
export function toolAthena(
  config: ToolClientConfig,
  polling: Partial<AthenaPolling> = {},
): ToolAthena {
  const client = new AthenaClient({ ...config, maxAttempts: ATTEMPTS });
  const poll = { ...DEFAULT_POLLING, ...polling };
  return {
    async run(query) {
      const started = await client.send(
        new StartQueryExecutionCommand({
          QueryString: query.sql,
          QueryExecutionContext: { Database: query.database },
          WorkGroup: query.workgroup,
          ...(query.outputLocation
            ? { ResultConfiguration: { OutputLocation: query.outputLocation } }
            : {}),
        }),
      );
      const id = started.QueryExecutionId;
      if (!id) throw new AthenaQueryError("(none)", "NOT STARTED", "no QueryExecutionId returned");
      let delay = poll.firstDelayMs;
      for (;;) {
        const out = await client.send(new GetQueryExecutionCommand({ QueryExecutionId: id }));
        const state = out.QueryExecution?.Status?.State;
        if (state === "SUCCEEDED") {
          return {
            queryExecutionId: id,
            scannedBytes: out.QueryExecution?.Statistics?.DataScannedInBytes ?? null,
            pages: pages(id),
          };
        }
        if (state === "FAILED" || state === "CANCELLED") {
          throw new AthenaQueryError(id, state, reasonOf(out.QueryExecution));
        }
        await poll.sleep(delay);
        delay = Math.min(delay * 2, poll.maxDelayMs);
      }
    },
    destroy: () => client.destroy(),
  };

  async function* pages(id: string): AsyncGenerator<AthenaPage> {
    let first = true;
    const results = paginateGetQueryResults(
      { client, pageSize: ATHENA_PAGE_ROWS },
      { QueryExecutionId: id },
    );
    for await (const out of results) {
      const columns = (out.ResultSet?.ResultSetMetadata?.ColumnInfo ?? []).map((c) => c.Name ?? "");
      let rows = (out.ResultSet?.Rows ?? []).map((r) =>
        (r.Data ?? []).map((d) => (d.VarCharValue === undefined ? null : d.VarCharValue)),
      );
      // A SELECT's first row is its header: the column names again.
      if (first && rows[0]?.every((v, i) => v === columns[i])) rows = rows.slice(1);
      first = false;
      yield { columns, rows };
    }
  }
}
