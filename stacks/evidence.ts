import {
  chainAthenaTable,
  EVIDENCE_ENV,
  EVIDENCE_FUNCTIONS,
  EVIDENCE_SIZING,
  type EvidenceFunction,
  FUNCTION_ENV,
  METRICS,
  metricServiceName,
  POSTURE_DIGEST_SCHEDULE,
} from "@guardrail/core";
import { evidenceStatements } from "@guardrail/templates";
import { privateBucket } from "./buckets";
import type { EvidenceSettings } from "./evidence-settings";
import { appFunction, lambdaRole } from "./functions";
import type { DeploySettings } from "./settings";

/** SQS FIFO: Lambda's visibility timeout should be at least six times the function's timeout. */
const VISIBILITY_TIMEOUT_SECONDS = 6 * EVIDENCE_SIZING["chain-writer"].timeoutSeconds;

export interface EvidenceInputs {
  readonly settings: DeploySettings;
  readonly evidence: EvidenceSettings;
  readonly table: aws.dynamodb.Table;
  readonly topic: aws.sns.Topic;
  readonly topicKey: aws.kms.Key;
}

/**
 * The audit evidence: the chain writer's FIFO queue (with a FIFO dead-letter queue), the
 * Object Lock bucket of the chain's copy, its Athena (Glue) table, the chain writer and the
 * weekly posture digest on a schedule.
 */
export function createEvidence(inputs: EvidenceInputs) {
  const { settings, evidence } = inputs;
  const locked = evidence.lockMode !== "NONE";

  const chainDeadLetter = new aws.sqs.Queue("ChainDeadLetterQueue", {
    fifoQueue: true,
    messageRetentionSeconds: 14 * 24 * 3600,
    sqsManagedSseEnabled: true,
  });
  const chainQueue = new aws.sqs.Queue("ChainQueue", {
    fifoQueue: true,
    // Deduplication by the id the senders give (the record's hash), not by content.
    contentBasedDeduplication: false,
    // One writer per account and Region: throughput is per message group.
    deduplicationScope: "messageGroup",
    fifoThroughputLimit: "perMessageGroupId",
    visibilityTimeoutSeconds: VISIBILITY_TIMEOUT_SECONDS,
    messageRetentionSeconds: 14 * 24 * 3600,
    sqsManagedSseEnabled: true,
    redrivePolicy: $jsonStringify({
      deadLetterTargetArn: chainDeadLetter.arn,
      maxReceiveCount: 10,
    }),
  });

  const bucket = privateBucket("EvidenceBucket", {
    objectLockEnabled: locked,
    // Development stages without a lock can be removed with their objects.
    forceDestroy: !locked && !settings.protection,
  });
  if (locked) {
    // The default retention covers any object put without its own (the writer always sends it).
    new aws.s3.BucketObjectLockConfiguration("EvidenceBucketObjectLock", {
      bucket: bucket.id,
      objectLockEnabled: "Enabled",
      rule: { defaultRetention: { mode: evidence.lockMode, days: evidence.retentionDays } },
    });
  }

  const database = new aws.glue.CatalogDatabase("EvidenceDatabase", {
    name: `network_guardrail_${settings.stage.replace(/-/g, "_").toLowerCase()}`,
  });
  new aws.glue.CatalogTable("EvidenceTable", {
    databaseName: database.name,
    name: "guardrail_decisions",
    tableType: "EXTERNAL_TABLE",
    parameters: bucket.bucket.apply(
      (name) => chainAthenaTable(name, evidence.retentionDays).parameters,
    ),
    partitionKeys: chainAthenaTable("-", evidence.retentionDays).partitionKeys.map((c) => ({
      name: c.name,
      type: c.type,
    })),
    storageDescriptor: {
      location: bucket.bucket.apply(
        (name) => chainAthenaTable(name, evidence.retentionDays).location,
      ),
      inputFormat: "org.apache.hadoop.mapred.TextInputFormat",
      outputFormat: "org.apache.hadoop.hive.ql.io.HiveIgnoreKeyTextOutputFormat",
      serDeInfo: { serializationLibrary: chainAthenaTable("-", evidence.retentionDays).serde },
      columns: chainAthenaTable("-", evidence.retentionDays).columns.map((c) => ({
        name: c.name,
        type: c.type,
      })),
    },
  });

  const statementsFor = (fn: EvidenceFunction) =>
    $resolve([
      inputs.table.arn,
      inputs.topic.arn,
      inputs.topicKey.arn,
      chainQueue.arn,
      bucket.arn,
    ]).apply(([tableArn, topicArn, topicKeyArn, chainQueueArn, bucketArn]) =>
      evidenceStatements(fn, { tableArn, topicArn, topicKeyArn, chainQueueArn, bucketArn }),
    );

  const functions = Object.fromEntries(
    EVIDENCE_FUNCTIONS.map((fn) => {
      const f = appFunction(settings, fn, EVIDENCE_SIZING[fn], {
        environment: {
          [FUNCTION_ENV.tableName]: inputs.table.name,
          [FUNCTION_ENV.topicArn]: inputs.topic.arn,
          [FUNCTION_ENV.stage]: settings.stage,
          [EVIDENCE_ENV.bucket]: bucket.bucket,
          [EVIDENCE_ENV.lockMode]: evidence.lockMode,
          [EVIDENCE_ENV.retentionDays]: String(evidence.retentionDays),
          POWERTOOLS_SERVICE_NAME: metricServiceName(settings.stage),
          POWERTOOLS_METRICS_NAMESPACE: METRICS.namespace,
        },
        permissions: statementsFor(fn),
        link: [],
        transform: { role: lambdaRole() },
      });
      return [fn, f] as const;
    }),
  ) as Record<EvidenceFunction, sst.aws.Function>;

  new aws.lambda.EventSourceMapping("ChainWriterQueueMapping", {
    eventSourceArn: chainQueue.arn,
    functionName: functions["chain-writer"].nodes.function.name,
    batchSize: 10,
    functionResponseTypes: ["ReportBatchItemFailures"],
  });

  const digestRule = new aws.cloudwatch.EventRule("PostureDigestSchedule", {
    description: `Network guardrail (${settings.stage}): weekly posture digest`,
    scheduleExpression: POSTURE_DIGEST_SCHEDULE,
  });
  const digest = functions["posture-digest"].nodes.function;
  const digestPermission = new aws.lambda.Permission("PostureDigestSchedulePermission", {
    action: "lambda:InvokeFunction",
    function: digest.name,
    principal: "events.amazonaws.com",
    sourceArn: digestRule.arn,
  });
  new aws.cloudwatch.EventTarget(
    "PostureDigestScheduleTarget",
    { rule: digestRule.name, arn: digest.arn },
    { dependsOn: [digestPermission] },
  );

  return { chainQueue, chainDeadLetter, bucket, functions };
}
