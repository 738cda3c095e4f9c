import { Logger } from "@aws-lambda-powertools/logger";
import type { LogLevel } from "@aws-lambda-powertools/logger/types";
import { Metrics } from "@aws-lambda-powertools/metrics";
import {
  type AccountDirectory,
  type AuditStore,
  type AwsClientSettings,
  accountDirectoryFor,
  createAuditStore,
  createEc2Gateway,
  createNotifier,
  documentClient,
  type Ec2Gateway,
  ec2Client,
  type MemberAccess,
  memberAccessFor,
  type Notifier,
  snsClient,
  stsClient,
} from "@guardrail/aws";
import {
  type AccountTarget,
  type GuardrailFunction,
  METRICS,
  metricServiceName,
} from "@guardrail/core";
import { type Env, type GuardrailConfig, loadConfig, type PolicyFiles } from "./config";
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

/** What a run outside Lambda changes in the production wiring; nothing in production. */
export interface DepsOptions {
  /** Endpoints, credentials and retries of the SDK clients (a local stack's). */
  readonly aws?: AwsClientSettings;
  /** Logger and metrics; default: `createObservability`. */
  readonly observability?: Observability;
  /** Where the policy file is looked for; default: `defaultPolicyFiles`. */
  readonly files?: PolicyFiles;
}

/**
 * The production wiring: settings from the environment (throws at cold start when one is
 * missing), the EC2 client at module scope, SNS and DynamoDB clients on first use.
 */
export function defaultRemediationDeps(
  fn: GuardrailFunction,
  env: Env = process.env,
  options: DepsOptions = {},
): RemediationDeps {
  const aws = options.aws ?? {};
  const observability = options.observability ?? createObservability(fn, env);
  const config =
    options.files === undefined ? loadConfig(fn, env) : loadConfig(fn, env, options.files);
  observability.logger.info("configuration loaded", {
    policySource: config.policySource,
    policyId: config.policyId,
    rules: config.policy.rules.map((r) => r.id),
    stage: config.stage,
    version: config.version,
  });
  const hubGateway = createEc2Gateway(ec2Client(aws));
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
    const sts = stsClient(aws);
    members = memberAccessFor(fn, org, hubGateway, { sts });
    directory = accountDirectoryFor(fn, config, { sts, logger: observability.logger });
  }
  return {
    ...observability,
    config,
    ec2: hubGateway,
    audit: createAuditStore(config.tableName, documentClient(aws)),
    notifier: createNotifier(config.topicArn, snsClient(aws)),
    clock: () => new Date(),
    settleMs: DEFAULT_SETTLE_MS,
    ...(members ? { members } : {}),
    ...(directory ? { directory } : {}),
  };
}
