import type { MemberAccess } from "@guardrail/aws/accounts";
import type { AuditStore } from "@guardrail/aws/audit";
import { type ChainQueue, createChainQueue } from "@guardrail/aws/chain-queue";
import type { AwsClientSettings } from "@guardrail/aws/client-settings";
import { documentClient, ec2Client, snsClient, sqsClient, stsClient } from "@guardrail/aws/clients";
import { createEc2Gateway, type Ec2Gateway } from "@guardrail/aws/ec2";
import { deferred, lazy } from "@guardrail/aws/lazy";
import type { AccountDirectory } from "@guardrail/aws/organization";
import {
  accountDirectoryFor,
  memberAccessFor,
  organizationAccountsFor,
} from "@guardrail/aws/organization-access";
import type { OrganizationAccounts } from "@guardrail/aws/organization-accounts";
import type { PostureStore } from "@guardrail/aws/posture";
import { createRegionalAccess, type RegionalAccess } from "@guardrail/aws/regions";
import type { SecurityHubExport } from "@guardrail/aws/security-hub";
import { createNotifier, type Notifier } from "@guardrail/aws/sns";
import { FUNCTION_ENV, type GuardrailFunction } from "@guardrail/core";
import { type Env, type GuardrailConfig, loadConfig, type PolicyFiles } from "./config";
import type { Observability } from "./middleware";
import { createObservability } from "./observability";

export { createObservability };

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
   * Single-account mode: the EC2 gateway of each covered Region (the function's own role).
   * Absent when the Regions are unknown (local runs), where `ec2` acts everywhere.
   */
  readonly regions?: RegionalAccess;
  /** Organisation mode, the sweep: the organisation's accounts, listed every run. */
  readonly organizationAccounts?: OrganizationAccounts;
  /**
   * Organisation mode, when the policy scopes by account tag, OU or OU tag: what AWS
   * Organizations says about an account. Absent otherwise (scoped rules then only notify).
   */
  readonly directory?: AccountDirectory;
  /** Security Hub export (`GUARDRAIL_SECURITY_HUB=on`); absent when off. */
  readonly securityHub?: SecurityHubExport;
  /** The chain writer's queue: each decision record written is sent there (see `chainDecision`). */
  readonly chain?: ChainQueue;
  /** Where the sweep keeps what is exposed now (see `recordPosture`). */
  readonly posture?: PostureStore;
}

/** Default wait of an already-gone result before the audit write (see `RemediationDeps`). */
export const DEFAULT_SETTLE_MS = 250;

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
  const chainQueueUrl = env[FUNCTION_ENV.chainQueueUrl]?.trim();
  const org = config.organization;
  let members: MemberAccess | undefined;
  let directory: AccountDirectory | undefined;
  let organizationAccounts: OrganizationAccounts | undefined;
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
    organizationAccounts =
      fn === "sweep" ? organizationAccountsFor(fn, config, { sts }) : undefined;
  }
  const ddb = documentClient(aws);
  // The adapters used only after the revoke (and the report code they need) load on first use.
  const hub = lazy(async () =>
    (await import("./later")).securityHubExportFor(fn, config, {
      sts: stsClient(aws),
      ddb,
    }),
  );
  const securityHub: SecurityHubExport | undefined = config.securityHub
    ? {
        gateway: deferred(async () => (await hub()).gateway),
        ledger: deferred(async () => (await hub()).ledger),
      }
    : undefined;
  // Single-account mode: a client per covered Region, each made on first use.
  const home = config.regions[0];
  const regions =
    org === null && home !== undefined
      ? createRegionalAccess({
          home,
          homeGateway: hubGateway,
          makeClient: (region) => ec2Client({ ...aws, region }),
        })
      : undefined;
  return {
    ...observability,
    config,
    ec2: hubGateway,
    audit: deferred(async () => (await import("./later")).createAuditStore(config.tableName, ddb)),
    ...(securityHub ? { securityHub } : {}),
    notifier: createNotifier(config.topicArn, snsClient(aws)),
    clock: () => new Date(),
    settleMs: DEFAULT_SETTLE_MS,
    posture: deferred(async () =>
      (await import("./later")).createPostureStore(config.tableName, documentClient(aws)),
    ),
    ...(chainQueueUrl ? { chain: createChainQueue(chainQueueUrl, sqsClient(aws)) } : {}),
    ...(members ? { members } : {}),
    ...(directory ? { directory } : {}),
    ...(regions ? { regions } : {}),
    ...(organizationAccounts ? { organizationAccounts } : {}),
  };
}
