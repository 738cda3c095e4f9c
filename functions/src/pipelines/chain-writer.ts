import type {
  ChainArchive,
  ChainQueue,
  ChainStore,
  PutDecisionResult,
  StoredHead,
} from "@guardrail/aws";
import {
  type AuditItem,
  appendEntry,
  auditItem,
  type ChainEntry,
  type ChainedRecord,
  chainedRecord,
  type Decision,
  recordHash,
} from "@guardrail/core";
import type { Context, SQSBatchResponse, SQSEvent } from "aws-lambda";
import { type Observability, withObservability } from "../middleware";

export interface ChainWriterDeps extends Observability {
  readonly store: ChainStore;
  /** The S3 copy; absent when no bucket is configured. */
  readonly archive?: ChainArchive;
  readonly clock: () => Date;
  readonly retentionDays: number;
}

/** What one append came to. */
export type AppendResult =
  | { readonly status: "appended"; readonly entry: ChainEntry }
  /** The record is the chain's last already (a redelivered message). */
  | { readonly status: "duplicate"; readonly seq: number };

/** How many times an append re-reads the head after finding its position taken. */
const APPEND_TRIES = 5;

/**
 * Appends one record to its account and Region's chain. The queue makes this the only writer
 * of that chain; the conditional writes make a crash or a redelivery safe anyway:
 * - the entry is written at head + 1 only if that position is free;
 * - a position found taken by this very record (a crash after the entry, before the head)
 *   is finished: copied to S3 again and the head moved;
 * - a position taken by another record means the head is behind it: the head is moved there
 *   and the append tries the next position.
 * The S3 copy is written before the head moves, so a head never names an entry without its copy.
 */
export async function appendRecord(
  input: ChainedRecord | AuditItem,
  deps: ChainWriterDeps,
): Promise<AppendResult> {
  const record = chainedRecord(input);
  const account = String(record.account);
  const region = String(record.region);
  const hash = recordHash(record);
  for (let i = 0; i < APPEND_TRIES; i++) {
    const head = await deps.store.head(account, region);
    if (head !== null && head.recordHash === hash && head.decisionId === String(record.id)) {
      return { status: "duplicate", seq: head.seq };
    }
    const next = appendEntry(head, {
      account,
      region,
      record,
      now: deps.clock(),
      retentionDays: deps.retentionDays,
    });
    let entry = next;
    if (!(await deps.store.putEntry(next))) {
      const taken = await deps.store.entry(account, region, next.seq);
      if (taken === null) continue;
      if (taken.recordHash !== hash) {
        await finish(taken, head, deps);
        continue;
      }
      entry = taken;
    }
    await finish(entry, head, deps);
    return { status: "appended", entry };
  }
  throw new Error(`the chain ${account}#${region} kept moving: ${APPEND_TRIES} tries`);
}

async function finish(entry: ChainEntry, head: StoredHead | null, deps: ChainWriterDeps) {
  const [account = "", region = ""] = entry.chain.split("#");
  await deps.archive?.put(entry);
  await deps.store.advanceHead(account, region, head?.seq ?? null, entry);
}

/**
 * The chain writer's SQS handler (FIFO, partial batch responses). Messages of one group come in
 * order; when one fails, it and every later message of the batch are returned as failures so
 * that SQS redelivers them in the same order (a FIFO queue must not skip ahead).
 * https://docs.aws.amazon.com/lambda/latest/dg/services-sqs-errorhandling.html
 */
export async function writeChain(
  event: SQSEvent,
  deps: ChainWriterDeps,
): Promise<SQSBatchResponse> {
  const failures: { itemIdentifier: string }[] = [];
  let failed = false;
  for (const message of event.Records) {
    if (failed) {
      failures.push({ itemIdentifier: message.messageId });
      continue;
    }
    try {
      const record = JSON.parse(message.body) as ChainedRecord;
      if (typeof record.account !== "string" || typeof record.region !== "string") {
        // Not a decision record: nothing to chain, and redelivering it would not help.
        deps.logger.error("chain queue message is not a decision record; dropped", {
          messageId: message.messageId,
        });
        continue;
      }
      const out = await appendRecord(record, deps);
      deps.logger.info("chained", {
        decisionId: record.id,
        ...(out.status === "appended" ? { seq: out.entry.seq } : { duplicateOf: out.seq }),
      });
    } catch (error) {
      deps.logger.error("could not append to the chain; SQS redelivers", {
        messageId: message.messageId,
        error,
      });
      failed = true;
      failures.push({ itemIdentifier: message.messageId });
    }
  }
  return { batchItemFailures: failures };
}

/**
 * Queues a decision record for the chain after its audit write, when that write created or
 * replaced the record (a duplicate changed nothing; a take-over only moved its notification).
 * Never throws: a record the chain misses is reported by `guardrail audit --verify` as
 * unchained, and logged here as an error.
 */
export async function chainDecision(
  decision: Decision,
  recorded: PutDecisionResult["status"],
  deps: Observability & { readonly chain?: ChainQueue },
): Promise<void> {
  if (!deps.chain || (recorded !== "created" && recorded !== "replaced")) return;
  const item: AuditItem = auditItem(decision);
  try {
    await deps.chain.send(item);
  } catch (error) {
    deps.logger.error("could not queue the decision for the hash chain", {
      decisionId: decision.id,
      error,
    });
  }
}

/** The chain-writer Lambda handler, built from its dependencies. */
export function createChainWriterHandler(deps: ChainWriterDeps) {
  return withObservability((event: SQSEvent, _context: Context) => writeChain(event, deps), deps);
}
