import type { SendMessageCommandInput, SQSClient } from "@aws-sdk/client-sqs";
import { type AuditItem, canonicalJson, chainedRecord, chainId, recordHash } from "@guardrail/core";
import { AuditWriteError, callAs } from "./errors";
import { tracedOnFirstUse } from "./trace";

// Apart from the rest of the chain (chain.ts, with its S3 archive): the decision writers send
// to the queue, and a module that names S3 would put the S3 client in their bundles.

/** Hands decision records to the chain writer, in the order they were written. */
export interface ChainQueue {
  /** @throws AuditWriteError */
  send(item: AuditItem): Promise<void>;
}

/** What `send` hands to SQS for `item`: the chained record, its group and deduplication id. */
function chainMessage(queueUrl: string, item: AuditItem): SendMessageCommandInput {
  const record = chainedRecord(item);
  return {
    QueueUrl: queueUrl,
    MessageBody: canonicalJson(record),
    MessageGroupId: chainId(item.account, item.region),
    MessageDeduplicationId: recordHash(record),
  };
}

/**
 * The FIFO queue in front of the chain writer. One message group per account and Region: SQS
 * hands a group's messages to one consumer at a time and in order, so the chain has a single
 * writer per account and Region while the decision writers never wait for each other. The
 * deduplication id is the record's hash: a redelivery within SQS's 5-minute deduplication
 * interval is dropped by SQS.
 * https://docs.aws.amazon.com/AWSSimpleQueueService/latest/SQSDeveloperGuide/using-messagegroupid-property.html
 */
export function createChainQueue(queueUrl: string, untraced: () => Promise<SQSClient>): ChainQueue {
  const client = tracedOnFirstUse(untraced);
  return {
    async send(item) {
      const { SendMessageCommand } = await import("./sdk/sqs");
      const command = new SendMessageCommand(chainMessage(queueUrl, item));
      await callAs(AuditWriteError, `SendMessage of ${item.id} to the chain queue`, async () =>
        (await client()).send(command),
      );
    },
  };
}
