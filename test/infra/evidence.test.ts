import {
  AUDIT_RETENTION_DAYS,
  CHAIN_CONSUME_ACTIONS,
  ConfigurationError,
  chainAthenaTable,
  EVIDENCE_FUNCTIONS,
  FUNCTION_DATA_ACCESS,
  GUARDRAIL_FUNCTIONS,
} from "@guardrail/core";
import {
  componentName,
  type EvidenceScope,
  evidenceStatements,
  functionStatements,
  type PermissionScope,
  parameterArn,
} from "@guardrail/templates";
import { beforeAll, describe, expect, it, vi } from "vitest";
import { readEvidenceSettings } from "../../stacks/evidence-settings";
import { type RecordedResource, runStack, type StackRun } from "./sst-harness";

vi.mock("../../.sst/platform/src/components/rpc/rpc", async () =>
  (await import("./sst-rpc-mock")).mockedRpcModule(),
);

const scope: PermissionScope = {
  partition: "aws",
  region: "eu-west-1",
  accountId: "111122223333",
  tableArn: "arn:aws:dynamodb:eu-west-1:111122223333:table/audit",
  topicArn: "arn:aws:sns:eu-west-1:111122223333:topic",
  topicKeyArn: "arn:aws:kms:eu-west-1:111122223333:key/k",
  deadLetterQueueArn: "arn:aws:sqs:eu-west-1:111122223333:dlq",
  slackWebhookParameterArn: parameterArn("aws", "eu-west-1", "111122223333", "/gr/dev/slack"),
  chainQueueArn: "arn:aws:sqs:eu-west-1:111122223333:chain.fifo",
};
const evidenceScope: EvidenceScope = {
  tableArn: scope.tableArn,
  topicArn: scope.topicArn,
  topicKeyArn: scope.topicKeyArn,
  chainQueueArn: scope.chainQueueArn!,
  bucketArn: "arn:aws:s3:::evidence",
};

describe("evidence settings", () => {
  it("locks production stages in compliance mode and development stages not at all by default", () => {
    expect(readEvidenceSettings(true, {})).toEqual({
      lockMode: "COMPLIANCE",
      retentionDays: AUDIT_RETENTION_DAYS,
    });
    expect(readEvidenceSettings(false, {})).toEqual({
      lockMode: "NONE",
      retentionDays: AUDIT_RETENTION_DAYS,
    });
    expect(
      readEvidenceSettings(false, {
        GUARDRAIL_EVIDENCE_LOCK_MODE: "governance",
        GUARDRAIL_EVIDENCE_RETENTION_DAYS: "30",
      }),
    ).toEqual({ lockMode: "GOVERNANCE", retentionDays: 30 });
  });

  it("refuses a production stage without compliance mode, an unknown mode and a bad retention", () => {
    expect(() =>
      readEvidenceSettings(true, { GUARDRAIL_EVIDENCE_LOCK_MODE: "GOVERNANCE" }),
    ).toThrow(ConfigurationError);
    expect(() => readEvidenceSettings(false, { GUARDRAIL_EVIDENCE_LOCK_MODE: "LEGAL" })).toThrow(
      /COMPLIANCE, GOVERNANCE or NONE/,
    );
    for (const days of ["0", "1.5", "36501", "ten"]) {
      expect(() => readEvidenceSettings(true, { GUARDRAIL_EVIDENCE_RETENTION_DAYS: days })).toThrow(
        ConfigurationError,
      );
    }
  });
});

describe("evidence permissions", () => {
  it("lets only the chain writer write CHAIN# items and the S3 copy, without update, delete or bypass", () => {
    expect(evidenceStatements("chain-writer", evidenceScope)).toEqual([
      {
        effect: "allow",
        actions: ["dynamodb:GetItem", "dynamodb:PutItem"],
        resources: [scope.tableArn],
        conditions: [
          {
            test: "ForAllValues:StringLike",
            variable: "dynamodb:LeadingKeys",
            values: ["CHAIN#*"],
          },
        ],
      },
      {
        effect: "allow",
        actions: [...CHAIN_CONSUME_ACTIONS],
        resources: [evidenceScope.chainQueueArn],
      },
      {
        effect: "allow",
        actions: ["s3:PutObject", "s3:PutObjectRetention"],
        resources: ["arn:aws:s3:::evidence/chain/*"],
      },
    ]);
    const everything = [
      ...GUARDRAIL_FUNCTIONS.flatMap((fn) => functionStatements(fn, scope)),
      ...EVIDENCE_FUNCTIONS.flatMap((fn) => evidenceStatements(fn, evidenceScope)),
    ];
    for (const s of everything) {
      for (const a of s.actions) {
        expect(a).not.toMatch(/^s3:(Delete|Bypass|PutBucket|PutObjectLegalHold)/);
        expect(a).not.toBe("dynamodb:DeleteItem");
      }
    }
    const chainWriters = [
      ...GUARDRAIL_FUNCTIONS.flatMap((fn) =>
        functionStatements(fn, scope).filter((s) =>
          s.conditions?.some((c) => c.values.includes("CHAIN#*")),
        ),
      ),
    ];
    expect(chainWriters).toEqual([]);
  });

  it("lets every decision writer, and only them, send to the chain queue", () => {
    for (const fn of GUARDRAIL_FUNCTIONS) {
      const send = functionStatements(fn, scope).filter((s) =>
        s.actions.includes("sqs:SendMessage"),
      );
      const toChain = send.filter((s) => s.resources.includes(evidenceScope.chainQueueArn));
      expect(toChain.length, fn).toBe(FUNCTION_DATA_ACCESS[fn].audit ? 1 : 0);
      for (const s of toChain) expect(s.actions).toEqual(["sqs:SendMessage"]);
    }
  });

  it("lets the digest read the posture and publish, nothing more", () => {
    expect(evidenceStatements("posture-digest", evidenceScope)).toEqual([
      {
        effect: "allow",
        actions: ["dynamodb:Query"],
        resources: [scope.tableArn],
        conditions: [
          {
            test: "ForAllValues:StringLike",
            variable: "dynamodb:LeadingKeys",
            values: ["POSTURE#*"],
          },
        ],
      },
      { effect: "allow", actions: ["sns:Publish"], resources: [scope.topicArn] },
      {
        effect: "allow",
        actions: ["kms:GenerateDataKey", "kms:Decrypt"],
        resources: [scope.topicKeyArn],
      },
    ]);
  });
});

interface PolicyStatement {
  Effect: string;
  Action: string | string[];
  Resource: string | string[];
}

function rolePolicy(stack: StackRun, name: string): PolicyStatement[] {
  const role = stack.one("aws:iam/role:Role", `${name}Role`);
  const policies = role.inputs.inlinePolicies as { policy: string }[];
  return policies.flatMap((p) => JSON.parse(p.policy).Statement as PolicyStatement[]);
}

describe("the deployed evidence resources", () => {
  let prod: StackRun;
  let dev: StackRun;
  beforeAll(async () => {
    prod = await runStack("prod", {
      GUARDRAIL_EVIDENCE_RETENTION_DAYS: "2555",
      GUARDRAIL_ALERT_EMAIL: "oncall@example.com",
    });
    dev = await runStack("dev");
  }, 480_000);

  const bucketOf = (s: StackRun) => s.one("aws:s3/bucket:Bucket", "EvidenceBucket");

  it("creates the production bucket with Object Lock in compliance mode and the retention from settings", () => {
    expect(bucketOf(prod).inputs).toMatchObject({ objectLockEnabled: true, forceDestroy: false });
    expect(
      prod.one(
        "aws:s3/bucketObjectLockConfiguration:BucketObjectLockConfiguration",
        "EvidenceBucketObjectLock",
      ).inputs,
    ).toMatchObject({
      objectLockEnabled: "Enabled",
      rule: { defaultRetention: { mode: "COMPLIANCE", days: 2555 } },
    });
    expect(
      prod.one(
        "aws:s3/bucketPublicAccessBlock:BucketPublicAccessBlock",
        "EvidenceBucketPublicAccess",
      ).inputs,
    ).toMatchObject({
      blockPublicAcls: true,
      blockPublicPolicy: true,
      ignorePublicAcls: true,
      restrictPublicBuckets: true,
    });
    const writer = prod.one(
      "aws:lambda/function:Function",
      `${componentName("chain-writer")}Function`,
    );
    expect(writer.inputs.environment.variables).toMatchObject({
      GUARDRAIL_EVIDENCE_LOCK_MODE: "COMPLIANCE",
      GUARDRAIL_EVIDENCE_RETENTION_DAYS: "2555",
    });
  });

  it("creates a development bucket without Object Lock that sst remove can delete", () => {
    expect(bucketOf(dev).inputs).toMatchObject({ objectLockEnabled: false, forceDestroy: true });
    expect(
      dev.of("aws:s3/bucketObjectLockConfiguration:BucketObjectLockConfiguration"),
    ).toHaveLength(0);
  });

  it("feeds the chain writer from a FIFO queue with partial batch responses and a FIFO dead-letter queue", () => {
    const queue = prod.one("aws:sqs/queue:Queue", "ChainQueue");
    expect(queue.inputs).toMatchObject({
      fifoQueue: true,
      contentBasedDeduplication: false,
      deduplicationScope: "messageGroup",
      fifoThroughputLimit: "perMessageGroupId",
      visibilityTimeoutSeconds: 360,
    });
    expect(prod.one("aws:sqs/queue:Queue", "ChainDeadLetterQueue").inputs.fifoQueue).toBe(true);
    const mapping = prod.one(
      "aws:lambda/eventSourceMapping:EventSourceMapping",
      "ChainWriterQueueMapping",
    );
    expect(mapping.inputs).toMatchObject({
      eventSourceArn: queue.state.arn,
      batchSize: 10,
      functionResponseTypes: ["ReportBatchItemFailures"],
    });
  });

  it("grants the deployed roles exactly the evidence statements", () => {
    const bucketArn = String(bucketOf(prod).state.arn);
    const writer = rolePolicy(prod, componentName("chain-writer"));
    const s3 = writer.filter((s) => [s.Action].flat().some((a) => a.startsWith("s3:")));
    expect(s3).toEqual([
      expect.objectContaining({
        Action: ["s3:PutObject", "s3:PutObjectRetention"],
        Resource: [`${bucketArn}/chain/*`],
      }),
    ]);
    const queueArn = String(prod.one("aws:sqs/queue:Queue", "ChainQueue").state.arn);
    for (const fn of GUARDRAIL_FUNCTIONS) {
      const sends = rolePolicy(prod, componentName(fn)).filter((s) =>
        [s.Resource].flat().includes(queueArn),
      );
      expect(sends.length, fn).toBe(FUNCTION_DATA_ACCESS[fn].audit ? 1 : 0);
      const lambda = prod.one("aws:lambda/function:Function", `${componentName(fn)}Function`);
      expect(Boolean(lambda.inputs.environment.variables.GUARDRAIL_CHAIN_QUEUE_URL), fn).toBe(
        FUNCTION_DATA_ACCESS[fn].audit,
      );
    }
  });

  it("defines the Athena table over the S3 layout with partition projection", () => {
    const table = prod.one("aws:glue/catalogTable:CatalogTable", "EvidenceTable");
    const bucket = String(bucketOf(prod).state.bucket ?? bucketOf(prod).state.id);
    const expected = chainAthenaTable(bucket, 2555);
    expect(table.inputs.partitionKeys).toEqual(expected.partitionKeys);
    expect(table.inputs.parameters).toMatchObject({
      "projection.enabled": "true",
      "projection.date.range": "NOW-2555DAYS,NOW",
    });
    expect(String(table.inputs.parameters["storage.location.template"])).toMatch(
      /\/chain\/account=\$\{account\}\/region=\$\{region\}\/date=\$\{date\}\/$/,
    );
    expect(table.inputs.storageDescriptor.serDeInfo.serializationLibrary).toBe(
      "org.openx.data.jsonserde.JsonSerDe",
    );
  });

  it("schedules the weekly digest", () => {
    const rule = prod.one("aws:cloudwatch/eventRule:EventRule", "PostureDigestSchedule");
    expect(rule.inputs.scheduleExpression).toBe("cron(0 8 ? * MON *)");
    const target: RecordedResource = prod.one(
      "aws:cloudwatch/eventTarget:EventTarget",
      "PostureDigestScheduleTarget",
    );
    expect(target.inputs.arn).toBe(
      prod.one("aws:lambda/function:Function", `${componentName("posture-digest")}Function`).state
        .arn,
    );
  });
});
