import { randomUUID } from "node:crypto";
import { createServer, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import type { AthenaPage } from "@guardrail/aws/athena";
import { readBody } from "../../../sandbox/src/http";

/**
 * An Athena endpoint for tests: the JSON 1.1 protocol the SDK speaks (`POST /`,
 * `X-Amz-Target: AmazonAthena.<Operation>`), with the three calls `replay --athena` makes and
 * Athena's own rules and error shapes:
 * - StartQueryExecution needs a known workgroup and an output location, from the workgroup or
 *   the request (`InvalidRequestException` otherwise);
 * - GetQueryExecution goes QUEUED → RUNNING → SUCCEEDED (or FAILED with a StateChangeReason);
 * - GetQueryResults refuses a query that has not succeeded and more than 1,000 rows a call, and
 *   puts the header row (the column names) first on the first page, with NULL as a Datum
 *   without VarCharValue.
 * https://docs.aws.amazon.com/athena/latest/APIReference/API_GetQueryResults.html
 */

/** A query's whole result, in the adapter's page shape: the stub hands it out page by page. */
export type StubAnswer = AthenaPage;

export interface StubQuery {
  readonly sql: string;
  readonly database: string | undefined;
  readonly workgroup: string;
  readonly outputLocation: string | undefined;
}

export interface AthenaStubOptions {
  /** The result of a query, or why it fails (Athena's StateChangeReason). */
  readonly answer: (query: StubQuery) => StubAnswer | { readonly fail: string };
  /** Workgroups and the output location each sets (none: the request must give one). */
  readonly workgroups?: Readonly<Record<string, { readonly outputLocation?: string }>>;
  /** GetQueryExecution calls that see QUEUED or RUNNING before the final state. */
  readonly pollsBeforeDone?: number;
}

interface Execution {
  readonly query: StubQuery;
  readonly answer: StubAnswer | { readonly fail: string };
  polls: number;
}

export interface AthenaStubCall {
  readonly operation: string;
  readonly body: Record<string, unknown>;
}

function send(res: ServerResponse, status: number, body: unknown) {
  res.writeHead(status, {
    "content-type": "application/x-amz-json-1.1",
    "x-amzn-requestid": randomUUID(),
  });
  res.end(JSON.stringify(body));
}

const invalid = (res: ServerResponse, message: string) =>
  send(res, 400, { __type: "InvalidRequestException", Message: message });

export async function startAthenaStub(options: AthenaStubOptions) {
  const workgroups = options.workgroups ?? { primary: { outputLocation: "s3://athena-results/" } };
  const executions = new Map<string, Execution>();
  const calls: AthenaStubCall[] = [];
  let throttle = 0;
  const server = createServer(async (req, res) => {
    const target = String(req.headers["x-amz-target"] ?? "");
    const body = JSON.parse((await readBody(req, 1024 * 1024)) || "{}") as Record<string, unknown>;
    const operation = target.startsWith("AmazonAthena.") ? target.slice(13) : target;
    calls.push({ operation, body });
    if (throttle > 0) {
      throttle--;
      send(res, 400, {
        __type: "TooManyRequestsException",
        Message: "Rate exceeded",
        Reason: "CONCURRENT_QUERY_LIMIT_EXCEEDED",
      });
      return;
    }
    if (operation === "StartQueryExecution") {
      const name = (body.WorkGroup as string | undefined) ?? "primary";
      const wg = workgroups[name];
      if (!wg) return invalid(res, `WorkGroup ${name} is not found.`);
      const context = body.QueryExecutionContext as { Database?: string } | undefined;
      const requested = (body.ResultConfiguration as { OutputLocation?: string } | undefined)
        ?.OutputLocation;
      const outputLocation = wg.outputLocation ?? requested;
      if (outputLocation === undefined) {
        return invalid(
          res,
          "No output location provided. An output location is required either through the Workgroup result configuration setting or as an API input.",
        );
      }
      const query: StubQuery = {
        sql: String(body.QueryString ?? ""),
        database: context?.Database,
        workgroup: name,
        outputLocation,
      };
      const id = randomUUID();
      executions.set(id, { query, answer: options.answer(query), polls: 0 });
      return send(res, 200, { QueryExecutionId: id });
    }
    const id = String(body.QueryExecutionId ?? "");
    const execution = executions.get(id);
    if (!execution) return invalid(res, `QueryExecution ${id} was not found`);
    const done = execution.polls >= (options.pollsBeforeDone ?? 0);
    const failed = "fail" in execution.answer;
    if (operation === "GetQueryExecution") {
      const state = done
        ? failed
          ? "FAILED"
          : "SUCCEEDED"
        : execution.polls === 0
          ? "QUEUED"
          : "RUNNING";
      execution.polls++;
      return send(res, 200, {
        QueryExecution: {
          QueryExecutionId: id,
          Query: execution.query.sql,
          StatementType: "DML",
          WorkGroup: execution.query.workgroup,
          ResultConfiguration: { OutputLocation: `${execution.query.outputLocation}${id}.csv` },
          Status: {
            State: state,
            ...("fail" in execution.answer && done
              ? {
                  StateChangeReason: execution.answer.fail,
                  AthenaError: { ErrorCategory: 2, ErrorType: 1301, Retryable: false },
                }
              : {}),
          },
          Statistics: done
            ? { DataScannedInBytes: 5 * 1024 * 1024, EngineExecutionTimeInMillis: 900 }
            : {},
        },
      });
    }
    if (operation === "GetQueryResults") {
      if (!done || "fail" in execution.answer) {
        return invalid(
          res,
          `Query has not yet finished. Current state: ${done ? "FAILED" : "RUNNING"}`,
        );
      }
      const max = (body.MaxResults as number | undefined) ?? 1000;
      if (max > 1000 || max < 1) {
        return invalid(
          res,
          `1 validation error detected: Value '${max}' at 'maxResults' failed to satisfy constraint: Member must have value less than or equal to 1000`,
        );
      }
      const { columns, rows } = execution.answer;
      const all = [columns, ...rows];
      const start = body.NextToken === undefined ? 0 : Number(String(body.NextToken).slice(6));
      if (!Number.isInteger(start) || start < 0 || start > all.length) {
        return invalid(res, "Invalid NextToken");
      }
      const page = all.slice(start, start + max);
      const next = start + max < all.length ? `token-${start + max}` : undefined;
      return send(res, 200, {
        UpdateCount: 0,
        ResultSet: {
          Rows: page.map((r) => ({
            Data: r.map((v) => (v === null ? {} : { VarCharValue: v })),
          })),
          ResultSetMetadata: {
            ColumnInfo: columns.map((c) => ({
              CatalogName: "hive",
              SchemaName: "",
              TableName: "",
              Name: c,
              Label: c,
              Type: "varchar",
              Precision: 2147483647,
              Scale: 0,
              Nullable: "UNKNOWN",
              CaseSensitive: true,
            })),
          },
        },
        ...(next ? { NextToken: next } : {}),
      });
    }
    send(res, 400, { __type: "UnknownOperationException", Message: `unknown operation ${target}` });
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  return {
    endpoint: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    calls,
    executions,
    /** The next `n` calls are refused as Athena refuses past its rate limits. */
    throttleNext: (n: number) => {
      throttle = n;
    },
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
