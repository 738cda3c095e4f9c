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
import {
  createObservability,
  createOrganizationSweepHandler,
  type Env,
  loadConfig,
  type SweepDeps,
} from "@guardrail/functions";
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
import { afterAll, beforeAll, describe, expect, it } from "vitest";

/*
 * Account discovery end to end: the organisation sweep takes its accounts from the (sandbox)
 * AWS Organizations every run, through the hub's delegated-administrator read, and enters each
 * through the member role the rendered spoke template defines. No GUARDRAIL_ACCOUNTS is set.
 */

const ORG_ID = "o-a1b2c3d4e5";
const MANAGEMENT = "100000000000";
const HUB = "111122223333";
const HUB_REGION = "eu-west-1";
const MEMBER_A = "444455556666";
const JOINER = "555566667777";
const SUSPENDED = "777788889999";
const STAGE = "prod";
const EXTERNAL_ID = "guardrail-3f9c1e7a";
const MEMBER_ROLE = memberRoleName(STAGE);
const REGIONS = ["eu-west-1", "us-east-1"] as const;

const template = renderSpokeTemplate({
  hubAccount: HUB,
  hubRegion: HUB_REGION,
  externalId: EXTERNAL_ID,
  orgId: ORG_ID,
});
// biome-ignore lint/suspicious/noExplicitAny: the rendered template is JSON to read from.
const memberRole = (template.Resources as Record<string, any>).MemberRole.Properties;

const hubRole = (fn: GuardrailFunction) => roleName(APP_NAME, STAGE, HUB_REGION, fn);
const HUB_KEY = "AKIAHUBSWEEP";
const KEYS: Record<string, AccessKeyEntry> = {
  [HUB_KEY]: {
    type: "AssumedRole",
    accountId: HUB,
    roleName: hubRole("sweep"),
    sessionName: "sweep",
  },
};
const OWN_ROLE_ARNS = MEMBER_ACTING_FUNCTIONS.map((fn) => roleArn("aws", HUB, hubRole(fn)));

const now = new Date("2026-06-15T12:00:00Z");
const clock = () => new Date(now);

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

function hubEnv(): Env {
  return {
    GUARDRAIL_TABLE_NAME: dynamo.tableName,
    GUARDRAIL_TOPIC_ARN: `arn:aws:sns:${HUB_REGION}:${HUB}:network-guardrail-prod`,
    GUARDRAIL_OWN_ROLE_ARNS: OWN_ROLE_ARNS.join(","),
    GUARDRAIL_STAGE: STAGE,
    AWS_REGION: HUB_REGION,
    POWERTOOLS_LOG_LEVEL: "SILENT",
    GUARDRAIL_ORG_ID: ORG_ID,
    GUARDRAIL_MEMBER_ROLE_NAME: MEMBER_ROLE,
    GUARDRAIL_EXTERNAL_ID: EXTERNAL_ID,
    GUARDRAIL_REGIONS: REGIONS.join(","),
  };
}

const published: unknown[] = [];

/** The sweep's deps as production wires them (member access, Organizations), at the sandboxes. */
function sweepDeps(): SweepDeps {
  const env = hubEnv();
  const config = loadConfig("sweep", env, {
    exists: () => false,
    read: () => DEFAULT_POLICY_YAML,
    handlerDirs: ["/var/task"],
    parseSource: loadPolicy,
  });
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

const RDP = [{ protocol: "tcp", fromPort: 3389, toPort: 3389, cidr: "0.0.0.0/1" }];

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

const rdpLeft = (account: string, groups: Record<string, string>) =>
  REGIONS.map(
    (region) =>
      (
        ec2.securityGroupRules(groups[region] as string, { accountId: account, region }) ?? []
      ).filter((r) => r.fromPort === 3389).length,
  );

async function runSweep(id: string) {
  const result = await createOrganizationSweepHandler(sweepDeps())(
    { id, "detail-type": "Scheduled Event" },
    lambdaContext("sweep", hubRole("sweep"), { accountId: HUB, region: HUB_REGION }),
  );
  await ec2.drainEvents();
  return result;
}

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

describe("organisation sweep: accounts from AWS Organizations, every run", () => {
  it("sweeps an account added to the organisation on the next run, without configuration changes; skips a suspended one", async () => {
    const a = seedRdp(MEMBER_A, "rdp-a");
    const joiner = seedRdp(JOINER, "rdp-joiner");
    const suspended = seedRdp(SUSPENDED, "rdp-suspended");

    const first = await runSweep("run-1");
    expect(first.failures).toEqual([]);
    expect([...new Set(first.targets.map((t) => t.account))]).toEqual([HUB, MEMBER_A]);
    expect(rdpLeft(MEMBER_A, a)).toEqual([0, 0]);
    expect(rdpLeft(JOINER, joiner)).toEqual([1, 1]);
    expect(first.skippedAccounts).toEqual([
      { account: SUSPENDED, reason: "not-active", state: "SUSPENDED" },
    ]);
    // The management account has no member role (StackSets skip it): not deployed, not failed.
    expect(first.notDeployed).toEqual([MANAGEMENT]);

    // The account joins; StackSets' auto-deployment creates its member role.
    orgs.addAccount({ id: JOINER, name: "joiner" });
    deploySpoke(JOINER);
    const second = await runSweep("run-2");
    expect(second.failures).toEqual([]);
    expect(second.targets.map((t) => `${t.account}/${t.region}`)).toContain(`${JOINER}/us-east-1`);
    expect(rdpLeft(JOINER, joiner)).toEqual([0, 0]);
    // A suspended account is never entered: no session was issued for it.
    expect(rdpLeft(SUSPENDED, suspended)).toEqual([1, 1]);
    expect(sts.issuedSessions().map((s) => s.roleArn)).not.toContain(
      `arn:aws:iam::${SUSPENDED}:role/${MEMBER_ROLE}`,
    );
    // The accounts were read from Organizations on each run, all pages.
    expect(orgs.calls("ListAccounts")).toBeGreaterThanOrEqual(4);
  });
});
