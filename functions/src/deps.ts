import { Logger } from "@aws-lambda-powertools/logger";
import type { LogLevel } from "@aws-lambda-powertools/logger/types";
import { Metrics } from "@aws-lambda-powertools/metrics";
import { EC2Client } from "@aws-sdk/client-ec2";
import { type GuardrailFunction, METRICS, metricServiceName } from "@guardrail/core";
import { type AuditStore, createAuditStore } from "./adapters/audit";
import { createEc2Gateway, type Ec2Gateway } from "./adapters/ec2";
import { lazy } from "./adapters/lazy";
import { createNotifier, type Notifier } from "./adapters/sns";
import { type Env, type GuardrailConfig, loadConfig } from "./config";
import type { Observability } from "./middleware";

/** What every remediation handler (and the sweep) is built from. Tests pass their own. */
export interface RemediationDeps extends Observability {
  readonly config: GuardrailConfig;
  readonly ec2: Ec2Gateway;
  readonly audit: AuditStore;
  readonly notifier: Notifier;
  readonly clock: () => Date;
  /**
   * How long a delivery that found the rule already gone waits before recording, so that a
   * concurrent delivery of the same event that did revoke records (and notifies) first.
   */
  readonly settleMs: number;
}

/** Default wait of an already-gone result before the audit write (see `RemediationDeps`). */
export const DEFAULT_SETTLE_MS = 250;

/** Logger and metrics of one function. The metric `service` dimension is the stage's. */
export function createObservability(fn: GuardrailFunction, env: Env = process.env): Observability {
  const serviceName =
    env.POWERTOOLS_SERVICE_NAME?.trim() ||
    metricServiceName(env.GUARDRAIL_STAGE?.trim() || "default");
  return {
    logger: new Logger({
      serviceName,
      persistentKeys: { function: fn },
      ...(env.POWERTOOLS_LOG_LEVEL ? { logLevel: env.POWERTOOLS_LOG_LEVEL as LogLevel } : {}),
    }),
    metrics: new Metrics({ namespace: METRICS.namespace, serviceName }),
  };
}

/**
 * The production wiring: settings from the environment (throws at cold start when one is
 * missing), the EC2 client at module scope, SNS and DynamoDB clients on first use.
 */
export function defaultRemediationDeps(
  fn: GuardrailFunction,
  env: Env = process.env,
): RemediationDeps {
  const observability = createObservability(fn, env);
  const config = loadConfig(fn, env);
  observability.logger.info("configuration loaded", {
    policySource: config.policySource,
    rules: config.policy.rules.map((r) => r.id),
    stage: config.stage,
    version: config.version,
  });
  const ec2 = new EC2Client({ retryMode: "standard", maxAttempts: 5 });
  const sns = lazy(
    async () => new (await import("@aws-sdk/client-sns")).SNSClient({ retryMode: "standard" }),
  );
  const ddb = lazy(async () => {
    const [{ DynamoDBClient }, { DynamoDBDocumentClient }] = await Promise.all([
      import("@aws-sdk/client-dynamodb"),
      import("@aws-sdk/lib-dynamodb"),
    ]);
    return DynamoDBDocumentClient.from(new DynamoDBClient({ retryMode: "standard" }), {
      marshallOptions: { removeUndefinedValues: true },
    });
  });
  return {
    ...observability,
    config,
    ec2: createEc2Gateway(ec2),
    audit: createAuditStore(config.tableName, ddb),
    notifier: createNotifier(config.topicArn, sns),
    clock: () => new Date(),
    settleMs: DEFAULT_SETTLE_MS,
  };
}
