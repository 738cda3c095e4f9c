import type { Job } from "../process";

/**
 * Where replay's records come from when they are not local files or stdin: an Athena query, an
 * S3 prefix. A source only reads and cuts its input into jobs; the replay loop judges them the
 * same way whatever their origin.
 */
export interface ReplaySource {
  /** The input as messages and the HTML report name it (`s3://bucket/prefix`, `athena:db.table`). */
  readonly label: string;
  /** Jobs numbered from 0, in the order their results are reported. */
  jobs(): AsyncIterable<Job>;
  /** Objects the filters skipped without reading them; complete once `jobs()` has ended. */
  skipped(): number;
  /** A line for stderr once the jobs have ended (what the query scanned), or null. */
  summary(): string | null;
  /**
   * Why a run that found `records` records read nothing worth reporting (a prefix holding no
   * log file), or null when the result stands (an Athena query may rightly return no row).
   */
  emptyReason(records: number): string | null;
  close(): void;
}
