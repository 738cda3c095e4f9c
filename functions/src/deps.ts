import { Logger } from "@aws-lambda-powertools/logger";
import type { LogLevel } from "@aws-lambda-powertools/logger/types";
import { Metrics } from "@aws-lambda-powertools/metrics";
import { EC2Client } from "@aws-sdk/client-ec2";
import type { OrganizationsClient } from "@aws-sdk/client-organizations";
import type { STSClient } from "@aws-sdk/client-sts";
import {
  type EvidenceFunction,
  FUNCTION_ENV,
  type GuardrailFunction,
  METRICS,
  metricServiceName,
  organizationContextNeeded,
} from "@guardrail/core";
import {
  createCredentialCache,
  createMemberAccess,
  type MemberAccess,
  type MemberAccessOptions,
  type MemberCredentials,
} from "./adapters/accounts";
import { type AuditStore, createAuditStore } from "./adapters/audit";
import { type ChainQueue, createChainQueue } from "./adapters/chain";
import { createEc2Gateway, type Ec2Gateway } from "./adapters/ec2";
import { ec2RetryStrategy } from "./adapters/ec2-retry";
import { lazy } from "./adapters/lazy";
import { type AccountDirectory, createAccountDirectory } from "./adapters/organization";
import { createPostureStore, type PostureStore } from "./adapters/posture";
import { createNotifier, type Notifier } from "./adapters/sns";
import {
  type AccountTarget,
  type Env,
  type GuardrailConfig,
  loadConfig,
  type OrganizationConfig,
} from "./config";
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
  /**
   * Organisation mode: the EC2 gateway of each (account, Region). Absent in single-account
   * mode, where `ec2` acts everywhere.
   */
  readonly members?: MemberAccess;
  /**
   * Organisation mode, when the policy scopes by account tag, OU or OU tag: what AWS
   * Organizations says about an account. Absent otherwise (scoped rules then only notify).
   */
  readonly directory?: AccountDirectory;
  /** The chain writer's queue: each decision record written is sent there (see `chainDecision`). */
  readonly chain?: ChainQueue;
  /** Where the sweep keeps what is exposed now (see `recordPosture`). */
  readonly posture?: PostureStore;
}

/**
 * The dependencies of one run in `target`: `ec2` acts in that account and Region (through the
 * member role in organisation mode). Unchanged in single-account mode.
 *
 * @throws MemberRoleError when the member role cannot be assumed.
 */
export async function forTarget<D extends RemediationDeps>(
  deps: D,
  target: AccountTarget,
): Promise<D> {
  if (deps.members === undefined) return deps;
  return { ...deps, ec2: await deps.members.gateway(target) };
}

/**
 * Organisation mode wiring: member-role sessions per account (session name `guardrail-<fn>`,
 * shown in each member's CloudTrail) and EC2 clients per account and Region. `makeClient` and
 * `now` are for local runs and tests; production uses the SDK's defaults.
 */
export function memberAccessFor(
  fn: GuardrailFunction,
  org: OrganizationConfig,
  hubGateway: Ec2Gateway,
  options: {
    readonly sts: () => Promise<STSClient>;
    readonly makeClient?: MemberAccessOptions["makeClient"];
    readonly now?: () => Date;
  },
): MemberAccess {
  const now = options.now ?? (() => new Date());
  return createMemberAccess({
    organization: org,
    hubGateway,
    now,
    ...(options.makeClient ? { makeClient: options.makeClient } : {}),
    credentials: createCredentialCache({
      sts: options.sts,
      roleArnFor: (account) => `arn:${org.partition}:iam::${account}:role/${org.memberRoleName}`,
      externalId: org.externalId,
      sessionName: `guardrail-${fn}`,
      now,
    }),
  });
}

/** The Organizations endpoint's Region of each partition (the API is global). */
const ORGANIZATIONS_REGION: Readonly<Record<string, string>> = {
  aws: "us-east-1",
  "aws-us-gov": "us-gov-west-1",
  "aws-cn": "cn-northwest-1",
};

/**
 * Organisation mode, for policies that scope by account tag, OU or OU tag: reads them from AWS
 * Organizations, through GUARDRAIL_ORGANIZATIONS_ROLE_ARN when set. Undefined when the policy
 * needs none of them, so that no Organizations call is ever made for it.
 */
export function accountDirectoryFor(
  fn: GuardrailFunction,
  config: GuardrailConfig,
  options: {
    readonly sts: () => Promise<STSClient>;
    readonly logger: Logger;
    readonly now?: () => Date;
    readonly makeClient?: (
      region: string,
      credentials: (() => Promise<MemberCredentials>) | undefined,
    ) => Promise<OrganizationsClient>;
  },
): AccountDirectory | undefined {
  const org = config.organization;
  const needs = organizationContextNeeded(config.policy);
  if (org === null || !(needs.accountTags || needs.organizationalUnits)) return undefined;
  const now = options.now ?? (() => new Date());
  const roleArn = org.organizationsRoleArn;
  const credentials =
    roleArn === null
      ? undefined
      : (() => {
          const cache = createCredentialCache({
            sts: options.sts,
            roleArnFor: () => roleArn,
            sessionName: `guardrail-${fn}-organizations`,
            now,
          });
          const account = roleArn.split(":")[4] ?? "";
          return () => cache.get(account);
        })();
  const region = ORGANIZATIONS_REGION[org.partition] ?? "us-east-1";
  const makeClient =
    options.makeClient ??
    (async (r: string, c: (() => Promise<MemberCredentials>) | undefined) =>
      new (await import("@aws-sdk/client-organizations")).OrganizationsClient({
        region: r,
        retryMode: "standard",
        maxAttempts: 5,
        ...(c ? { credentials: c } : {}),
      }));
  return createAccountDirectory({
    client: lazy(() => makeClient(region, credentials)),
    needs,
    now,
    onError: (what, error) =>
      options.logger.warn("could not read from AWS Organizations; scoped rules only notify", {
        what,
        error,
      }),
  });
}

/**
 * How long one SNS Publish attempt may take. Three attempts (standard retries) fit well inside
 * the 30 s timeout of the event functions.
 */
export const NOTIFY_REQUEST_TIMEOUT_MS = 5_000;

/**
 * Settings of the SNS client. A hung connection must fail the publish (which releases the
 * notification claim for the retry) well inside the function's timeout, rather than hold the
 * invocation until Lambda kills it. The SDK only logs a warning for a request over
 * `requestTimeout` unless `throwOnRequestTimeout` is set.
 */
export function notifyClientOptions(requestTimeout = NOTIFY_REQUEST_TIMEOUT_MS) {
  return {
    retryMode: "standard",
    requestHandler: { requestTimeout, throwOnRequestTimeout: true },
  } as const;
}

/** Default wait of an already-gone result before the audit write (see `RemediationDeps`). */
export const DEFAULT_SETTLE_MS = 250;

/** Logger and metrics of one function. The metric `service` dimension is the stage's. */
export function createObservability(
  fn: GuardrailFunction | EvidenceFunction,
  env: Env = process.env,
): Observability {
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
    policyId: config.policyId,
    rules: config.policy.rules.map((r) => r.id),
    stage: config.stage,
    version: config.version,
  });
  // Throttles are absorbed inside the invocation (see ec2RetryStrategy).
  const ec2 = new EC2Client({ retryStrategy: ec2RetryStrategy() });
  const sns = lazy(
    async () => new (await import("@aws-sdk/client-sns")).SNSClient(notifyClientOptions()),
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
  const hubGateway = createEc2Gateway(ec2);
  const chainQueueUrl = env[FUNCTION_ENV.chainQueueUrl]?.trim();
  const org = config.organization;
  let members: MemberAccess | undefined;
  let directory: AccountDirectory | undefined;
  if (org !== null) {
    observability.logger.info("organisation mode", {
      orgId: org.orgId,
      memberRoleName: org.memberRoleName,
      externalIdSource: org.externalIdSource,
      hub: org.hub,
      accounts: org.accounts.length,
      regions: org.regions,
    });
    const sts = lazy(
      async () =>
        new (await import("@aws-sdk/client-sts")).STSClient({
          retryMode: "standard",
          maxAttempts: 5,
        }),
    );
    members = memberAccessFor(fn, org, hubGateway, { sts });
    directory = accountDirectoryFor(fn, config, { sts, logger: observability.logger });
  }
  return {
    ...observability,
    config,
    ec2: hubGateway,
    audit: createAuditStore(config.tableName, ddb),
    notifier: createNotifier(config.topicArn, sns),
    clock: () => new Date(),
    settleMs: DEFAULT_SETTLE_MS,
    posture: createPostureStore(config.tableName, ddb),
    ...(chainQueueUrl
      ? {
          chain: createChainQueue(
            chainQueueUrl,
            async () =>
              new (await import("@aws-sdk/client-sqs")).SQSClient({ retryMode: "standard" }),
          ),
        }
      : {}),
    ...(members ? { members } : {}),
    ...(directory ? { directory } : {}),
  };
}
