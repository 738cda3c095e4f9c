import type { OrganizationsClient } from "@aws-sdk/client-organizations";
import type { STSClient } from "@aws-sdk/client-sts";
import {
  type GuardrailFunction,
  type OrganizationConfig,
  organizationContextNeeded,
  type Policy,
  sweptOrganizationalUnits,
} from "@guardrail/core";
import {
  createCredentialCache,
  createMemberAccess,
  type MemberAccess,
  type MemberAccessOptions,
  type MemberCredentials,
} from "./accounts";
import type { Ec2Gateway } from "./ec2";
import { lazy } from "./lazy";
import { type AccountDirectory, createAccountDirectory } from "./organization";
import { createOrganizationAccounts, type OrganizationAccounts } from "./organization-accounts";

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
  config: { readonly organization: OrganizationConfig | null; readonly policy: Policy },
  options: {
    readonly sts: () => Promise<STSClient>;
    readonly logger: { warn(message: string, extra: Record<string, unknown>): void };
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
  return createAccountDirectory({
    client: organizationsClient(fn, org, { ...options, now }),
    needs,
    now,
    onError: (what, error) =>
      options.logger.warn("could not read from AWS Organizations; scoped rules only notify", {
        what,
        error,
      }),
  });
}

type OrganizationsClientFactory = (
  region: string,
  credentials: (() => Promise<MemberCredentials>) | undefined,
) => Promise<OrganizationsClient>;

/**
 * The AWS Organizations client, made on first use: through GUARDRAIL_ORGANIZATIONS_ROLE_ARN
 * (a role in the management account) when set, else with the function's own role (the hub is
 * then a delegated administrator). The API is global: the client talks to the partition's
 * Organizations Region.
 */
function organizationsClient(
  fn: GuardrailFunction,
  org: OrganizationConfig,
  options: {
    readonly sts: () => Promise<STSClient>;
    readonly now: () => Date;
    readonly makeClient?: OrganizationsClientFactory;
  },
): () => Promise<OrganizationsClient> {
  const roleArn = org.organizationsRoleArn;
  const credentials =
    roleArn === null
      ? undefined
      : (() => {
          const cache = createCredentialCache({
            sts: options.sts,
            roleArnFor: () => roleArn,
            sessionName: `guardrail-${fn}-organizations`,
            now: options.now,
          });
          const account = roleArn.split(":")[4] ?? "";
          return () => cache.get(account);
        })();
  const region = ORGANIZATIONS_REGION[org.partition] ?? "us-east-1";
  const makeClient =
    options.makeClient ??
    (async (r: string, c: (() => Promise<MemberCredentials>) | undefined) =>
      new (await import("./sdk/organizations")).OrganizationsClient({
        region: r,
        retryMode: "standard",
        maxAttempts: 5,
        ...(c ? { credentials: c } : {}),
      }));
  return lazy(() => makeClient(region, credentials));
}

/**
 * Organisation mode, the sweep: the accounts to visit, from AWS Organizations every run (every
 * account, or those below the OUs every enabled rule of the policy is scoped to).
 */
export function organizationAccountsFor(
  fn: GuardrailFunction,
  config: { readonly organization: OrganizationConfig | null; readonly policy: Policy },
  options: {
    readonly sts: () => Promise<STSClient>;
    readonly now?: () => Date;
    readonly makeClient?: OrganizationsClientFactory;
  },
): OrganizationAccounts | undefined {
  const org = config.organization;
  if (org === null) return undefined;
  return createOrganizationAccounts({
    client: organizationsClient(fn, org, { ...options, now: options.now ?? (() => new Date()) }),
    organizationalUnits: sweptOrganizationalUnits(config.policy),
  });
}
