import type { AthenaQuery, ToolAthena } from "@guardrail/aws/athena";
import { awsError } from "../../aws";
import type { TextPiece } from "../../input";
import type { Job } from "../process";
import { AthenaRowError, athenaRecord } from "./athena-rows";
import type { ReplaySource } from "./source";

const MIB = 1024 * 1024;

async function* readPages<T>(pages: AsyncIterable<T>): AsyncGenerator<T> {
  try {
    yield* pages;
  } catch (err) {
    throw awsError("GetQueryResults", err);
  }
}

/**
 * Runs the query and hands its result to the replay loop a page at a time: each row becomes the
 * CloudTrail record it was read from, named `athena:<query id>:<row>`. A row that cannot be
 * turned back into a record is reported in place, and the rest are judged.
 */
export function athenaSource(athena: ToolAthena, query: AthenaQuery, label: string): ReplaySource {
  let scanned: number | null = null;
  let queryId: string | null = null;
  return {
    label,
    async *jobs(): AsyncGenerator<Job> {
      let run: Awaited<ReturnType<ToolAthena["run"]>>;
      try {
        run = await athena.run(query);
      } catch (err) {
        throw awsError("Athena query", err);
      }
      queryId = run.queryExecutionId;
      scanned = run.scannedBytes;
      const source = `athena:${run.queryExecutionId}`;
      let index = 0;
      let row = 0;
      for await (const page of readPages(run.pages)) {
        let pieces: TextPiece[] = [];
        let size = 0;
        for (const values of page.rows) {
          row++;
          try {
            const text = JSON.stringify(athenaRecord(page.columns, values));
            pieces.push({ text, line: row });
            size += text.length;
          } catch (err) {
            if (!(err instanceof AthenaRowError)) throw err;
            if (pieces.length > 0) {
              yield { index: index++, kind: "text", source, pieces, size };
              pieces = [];
              size = 0;
            }
            const at = `${source}:${row}`;
            yield {
              index: index++,
              kind: "text",
              source: at,
              pieces: [],
              size: 0,
              error: err.message,
            };
          }
        }
        if (pieces.length > 0) yield { index: index++, kind: "text", source, pieces, size };
      }
    },
    skipped: () => 0,
    emptyReason: () => null,
    summary: () =>
      queryId === null
        ? null
        : `Athena query ${queryId} scanned ${scanned === null ? "an unknown amount" : `${(scanned / MIB).toFixed(1)} MiB`}\n`,
    close: () => athena.destroy(),
  };
}
