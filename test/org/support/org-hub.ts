import { EC2Client } from "@aws-sdk/client-ec2";
import { OrganizationsClient } from "@aws-sdk/client-organizations";
import { STSClient } from "@aws-sdk/client-sts";
import {
  createAuditStore,
  createEc2Gateway,
  memberAccessFor,
  organizationAccountsFor,
} from "@guardrail/aws";
import { DEFAULT_POLICY_YAML, type GuardrailFunction, loadPolicy } from "@guardrail/core";
import { createObservability, type Env, loadConfig, type SweepDeps } from "@guardrail/functions";
import {
  type AccessKeyEntry,
  Ec2Sandbox,
  OrganizationsSandbox,
  StsSandbox,
} from "@guardrail/sandbox";
import { type LocalDynamo, lambdaContext, startLocalDynamo } from "@guardrail/sandbox/local";
import {
  APP_NAME,
  MEMBER_ACTING_FUNCTIONS,
  memberRoleName,
  renderSpokeTemplate,
  roleArn,
  roleName,
} from "@guardrail/templates";
import { afterAll, beforeAll } from "vitest";

/*
 * The organisation the organisation-sweep end-to-end tests run against: a (sandbox) AWS
 * Organizations whose delegated administrator is the hub, STS with the rendered spoke template's
 * member role in every account but the management one (StackSets skip it), an EC2 sandbox that
 * resolves the member sessions, a local audit table, and the sweep's dependencies wired as
 * production wires them (member access, Organizations) at those sandboxes.
 */

export const ORG_ID = "o-a1b2c3d4e5";
export const MANAGEMENT = "100000000000";
export const HUB = "111122223333";
export const HUB_REGION = "eu-west-1";
export const MEMBER_A = "444455556666";
export const SUSPENDED = "777788889999";
export const STAGE = "prod";
export const EXTERNAL_ID = "guardrail-3f9c1e7a";
export const MEMBER_ROLE = memberRoleName(STAGE);
export const REGIONS = ["eu-west-1", "us-east-1"] as const;

const template = renderSpokeTemplate({
  hubAccount: HUB,
  hubRegion: HUB_REGION,
  externalId: EXTERNAL_ID,
  orgId: ORG_ID,
});
// biome-ignore lint/suspicious/noExplicitAny: the rendered template is JSON to read from.
const memberRole = (template.Resources as Record<string, any>).MemberRole.Properties;

export const hubRole = (fn: GuardrailFunction) => roleName(APP_NAME, STAGE, HUB_REGION, fn);
const HUB_KEY = "AKIAHUBSWEEP";
const KEYS: Record<string, AccessKeyEntry> = {
  [HUB_KEY]: {
    type: "AssumedRole",
    accountId: HUB,
    roleName: hubRole("sweep"),
    sessionName: "sweep",
  },
};
export const OWN_ROLE_ARNS = MEMBER_ACTING_FUNCTIONS.map((fn) => roleArn("aws", HUB, hubRole(fn)));

/** The hub functions' settings in organisation mode, with the audit table and `overrides`. */
export function hubEnvFor(tableName: string, overrides: Env = {}): Env {
  return {
    GUARDRAIL_TABLE_NAME: tableName,
    GUARDRAIL_TOPIC_ARN: `arn:aws:sns:${HUB_REGION}:${HUB}:network-guardrail-prod`,
    GUARDRAIL_OWN_ROLE_ARNS: OWN_ROLE_ARNS.join(","),
    GUARDRAIL_STAGE: STAGE,
    AWS_REGION: HUB_REGION,
    POWERTOOLS_LOG_LEVEL: "SILENT",
    GUARDRAIL_ORG_ID: ORG_ID,
    GUARDRAIL_MEMBER_ROLE_NAME: MEMBER_ROLE,
    GUARDRAIL_EXTERNAL_ID: EXTERNAL_ID,
    GUARDRAIL_REGIONS: REGIONS.join(","),
    ...overrides,
  };
}

/** In process, as the sandbox runs: the default policy's source text, not a deployed bundle's artefact. */
export const SOURCE_POLICY_FILES = {
  exists: () => false,
  read: () => DEFAULT_POLICY_YAML,
  handlerDirs: ["/var/task"],
  parseSource: loadPolicy,
};

/** The sweep's Lambda context in the hub. */
export const sweepContext = lambdaContext("sweep", hubRole("sweep"), {
  accountId: HUB,
  region: HUB_REGION,
});

const RDP = [{ protocol: "tcp", fromPort: 3389, toPort: 3389, cidr: "0.0.0.0/1" }];

/**
 * The organisation, its servers started before the file's tests and closed after them. `clock`
 * is every sandbox's and the sweep's time.
 */
export function useOrganization(clock: () => Date) {
  // The hub account is the organisation's delegated administrator: it may list the accounts.
  const orgs = new OrganizationsSandbox({
    id: ORG_ID,
    managementAccountId: MANAGEMENT,
    accounts: [{ id: HUB }, { id: MEMBER_A }, { id: SUSPENDED }],
    delegatedAdministrators: [HUB],
    accessKeys: KEYS,
    pageSize: 2,
    clock,
  });
  const sts = new StsSandbox({ organization: orgs.organization, accessKeys: KEYS, clock });
  /** StackSets' auto-deployment: the member role appears in an account of the organisation. */
  function deploySpoke(accountId: string) {
    sts.defineRole({
      accountId,
      roleName: memberRole.RoleName,
      trustPolicy: memberRole.AssumeRolePolicyDocument,
      policies: memberRole.Policies.map((p: { PolicyDocument: unknown }) => p.PolicyDocument),
      maxSessionDurationSeconds: memberRole.MaxSessionDuration,
    });
  }
  // Service-managed StackSets never deploy to the management account: no member role there.
  for (const account of [HUB, MEMBER_A, SUSPENDED]) deploySpoke(account);
  orgs.setAccountState(SUSPENDED, "SUSPENDED");

  const ec2 = new Ec2Sandbox({
    accessKeys: KEYS,
    clock,
    resolveCredentials: (key) => sts.resolveCredentials(key),
  });
  let dynamo: LocalDynamo;
  const endpoints = { ec2: "", sts: "", orgs: "" };
  const published: unknown[] = [];

  /** The sweep's deps as production wires them (member access, Organizations), at the sandboxes. */
  function sweepDeps(): SweepDeps {
    const env = hubEnvFor(dynamo.tableName);
    const config = loadConfig("sweep", env, SOURCE_POLICY_FILES);
    const org = config.organization;
    if (org === null) throw new Error("organisation mode expected");
    const credentials = { accessKeyId: HUB_KEY, secretAccessKey: "hub" };
    const hubGateway = createEc2Gateway(
      new EC2Client({ endpoint: endpoints.ec2, region: HUB_REGION, credentials, maxAttempts: 1 }),
      clock,
    );
    const stsClient = new STSClient({
      endpoint: endpoints.sts,
      region: HUB_REGION,
      credentials,
      maxAttempts: 1,
    });
    const organizationAccounts = organizationAccountsFor("sweep", config, {
      sts: async () => stsClient,
      now: clock,
      makeClient: async (region) =>
        new OrganizationsClient({ endpoint: endpoints.orgs, region, credentials, maxAttempts: 1 }),
    });
    if (organizationAccounts === undefined) throw new Error("the sweep reads Organizations");
    return {
      ...createObservability("sweep", env),
      config,
      ec2: hubGateway,
      members: memberAccessFor("sweep", org, hubGateway, {
        sts: async () => stsClient,
        now: clock,
        makeClient: (target, provider) =>
          new EC2Client({
            endpoint: endpoints.ec2,
            region: target.region,
            credentials: provider,
            maxAttempts: 1,
          }),
      }),
      organizationAccounts,
      audit: createAuditStore(dynamo.tableName, async () => dynamo.doc),
      notifier: {
        publish: async (p) => {
          published.push(p);
          return `msg-${published.length}`;
        },
      },
      clock,
      settleMs: 0,
      identity: async () => {
        throw new Error("organisation mode names its targets");
      },
    };
  }

  /** An RDP-to-the-world group in every Region of `account`; answers the group ids by Region. */
  function seedRdp(account: string, name: string): Record<string, string> {
    const ids: Record<string, string> = {};
    for (const region of REGIONS) {
      const { groupId } = ec2.seedSecurityGroup({ accountId: account, region, name });
      ec2.seedRules(groupId, "ingress", RDP, { accountId: account, region });
      ids[region] = groupId;
    }
    return ids;
  }

  /** How many RDP rules are left in each Region's group of `account`. */
  const rdpLeft = (account: string, groups: Record<string, string>) =>
    REGIONS.map(
      (region) =>
        (
          ec2.securityGroupRules(groups[region] as string, { accountId: account, region }) ?? []
        ).filter((r) => r.fromPort === 3389).length,
    );

  beforeAll(async () => {
    dynamo = await startLocalDynamo({
      tableName: "network-guardrail-prod-audit",
      region: HUB_REGION,
      credentials: { accessKeyId: "local", secretAccessKey: "local" },
    });
    endpoints.ec2 = await ec2.listen();
    endpoints.sts = await sts.listen();
    endpoints.orgs = await orgs.listen();
  });

  afterAll(async () => {
    await Promise.all([ec2.close(), sts.close(), orgs.close(), dynamo.close()]);
  });

  return { orgs, sts, ec2, published, deploySpoke, sweepDeps, seedRdp, rdpLeft };
}
