import {
  createOrganizationAccounts,
  MemberRoleError,
  organizationAccountsFor,
} from "@guardrail/aws";
import "./setup";
import {
  CreateNetworkAclEntryCommand,
  DeleteNetworkAclEntryCommand,
  DescribeNetworkAclsCommand,
  DescribeSecurityGroupRulesCommand,
  EC2Client,
  RevokeSecurityGroupIngressCommand,
} from "@aws-sdk/client-ec2";
import {
  ListAccountsCommand,
  ListAccountsForParentCommand,
  ListOrganizationalUnitsForParentCommand,
  OrganizationsClient,
} from "@aws-sdk/client-organizations";
import { PublishCommand } from "@aws-sdk/client-sns";
import { AssumeRoleCommand, STSClient } from "@aws-sdk/client-sts";
import { PutCommand } from "@aws-sdk/lib-dynamodb";
import { ConfigurationError, DEFAULT_POLICY_YAML, isOwnPrincipal, METRICS } from "@guardrail/core";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { organizationOf } from "../../packages/aws/test/organisation";
import { loadFixture } from "../../test/fixtures/load";
import { type Env, loadConfig, readOrganization } from "../src/config";
import { SweepTargetsFailedError } from "../src/errors";
import { networkAclChange } from "../src/pipelines/network-acl-change";
import { securityGroupChange } from "../src/pipelines/security-group-change";
import {
  createOrganizationSweepHandler,
  createSweepHandler,
  type SweepDeps,
  sweepOrganization,
  sweepTargets,
} from "../src/pipelines/sweep";
import {
  aclWithSshFromWorld,
  awsError,
  BASE_ENV,
  EXTERNAL_ID,
  ACCOUNT as HUB,
  ingressRule,
  lambdaContext,
  MEMBER_A,
  MEMBER_B,
  MEMBER_ROLE,
  memoryFiles,
  ORG_ENV as ORG_MODE_ENV,
  policyFiles,
  sshFromWorldIn,
  testDeps,
} from "./helpers";
import { acceptRemediation, auditItems, ddb, ec2, resetAwsMocks, sns } from "./support/aws-mocks";
import { credentialsPerAccount, memberAccessOf, orgs, sts } from "./support/organisation";

const ORG_ENV: Env = {
  ...ORG_MODE_ENV,
  GUARDRAIL_ACCOUNTS: `${MEMBER_A},${MEMBER_B}`,
  GUARDRAIL_REGIONS: "eu-west-1,us-east-1",
};

/** The hub's own credentials: its function role's. */
const credentials = { accessKeyId: "AKIAHUB", secretAccessKey: "hub" };
const hubClient = new EC2Client({ region: "eu-west-1", credentials });

/** Test deps in organisation mode: real member access over mocked STS and EC2 clients. */
function orgDeps(
  fn: "security-group-change" | "network-acl-change" | "sweep" = "security-group-change",
  env: Env = ORG_ENV,
  policyYaml?: string,
): SweepDeps {
  const base = testDeps({ fn, ec2Client: hubClient });
  const config = loadConfig(fn, env, policyFiles(policyYaml));
  return {
    ...base,
    config,
    members: memberAccessOf(fn, config, base),
    identity: async () => {
      throw new Error("organisation mode names its targets");
    },
  } satisfies SweepDeps;
}

/** Where a recorded EC2 call went: its client's Region and the access key it signed with. */
async function whereCalled(
  command:
    | typeof RevokeSecurityGroupIngressCommand
    | typeof DeleteNetworkAclEntryCommand
    | typeof CreateNetworkAclEntryCommand
    | typeof DescribeNetworkAclsCommand,
) {
  const calls =
    command === DeleteNetworkAclEntryCommand
      ? ec2.commandCalls(DeleteNetworkAclEntryCommand)
      : command === CreateNetworkAclEntryCommand
        ? ec2.commandCalls(CreateNetworkAclEntryCommand)
        : command === DescribeNetworkAclsCommand
          ? ec2.commandCalls(DescribeNetworkAclsCommand)
          : ec2.commandCalls(RevokeSecurityGroupIngressCommand);
  return Promise.all(
    calls.map(async (call) => {
      const client = call.thisValue as EC2Client;
      const credentials = await client.config.credentials();
      return { region: await client.config.region(), accessKeyId: credentials.accessKeyId };
    }),
  );
}

beforeEach(() => {
  resetAwsMocks();
  orgs.reset();
  sts.reset();
  credentialsPerAccount();
  acceptRemediation();
});

afterEach(() => {
  resetAwsMocks();
  orgs.reset();
  sts.reset();
});

describe("organisation mode settings", () => {
  it("reads the organisation, member role, external id, accounts and Regions", () => {
    const config = loadConfig("sweep", ORG_ENV, memoryFiles());
    // The organisation the adapter tests run in: members A and B, eu-west-1 and us-east-1.
    expect(config.organization).toEqual(organizationOf(HUB));
  });

  it("lets the sweep run without an account list: its accounts come from AWS Organizations", () => {
    const config = loadConfig(
      "sweep",
      { ...ORG_ENV, GUARDRAIL_ACCOUNTS: undefined, GUARDRAIL_DENY_ACCOUNTS: MEMBER_B },
      memoryFiles(),
    );
    expect(config.organization).toMatchObject({ accounts: [], denyAccounts: [MEMBER_B] });
  });

  it("stays in single-account mode without GUARDRAIL_ORG_ID", () => {
    expect(loadConfig("sweep", BASE_ENV, memoryFiles()).organization).toBeNull();
  });

  it("never evaluates the member role's own changes, in any account (loop guard)", () => {
    const { policy } = loadConfig("security-group-change", ORG_ENV, memoryFiles());
    const actor = {
      arn: `arn:aws:sts::${MEMBER_B}:assumed-role/${MEMBER_ROLE}/guardrail-security-group-change`,
      type: "AssumedRole",
      accountId: MEMBER_B,
      sessionIssuerArn: `arn:aws:iam::${MEMBER_B}:role/${MEMBER_ROLE}`,
      invokedBy: null,
      sourceIp: null,
      userAgent: null,
      console: false,
    };
    expect(isOwnPrincipal(actor, policy)).toBe(true);
    expect(
      isOwnPrincipal(
        { ...actor, sessionIssuerArn: `arn:aws:iam::${MEMBER_B}:role/${MEMBER_ROLE}-x` },
        policy,
      ),
    ).toBe(false);
  });

  it("reads the external id from SST's linked secret, and accepts JSON lists", () => {
    const org = readOrganization(
      "sweep",
      {
        ...ORG_ENV,
        GUARDRAIL_EXTERNAL_ID: undefined,
        SST_RESOURCE_GuardrailExternalId: JSON.stringify({ value: "from-secret" }),
        GUARDRAIL_ACCOUNTS: `["${MEMBER_A}", "${MEMBER_A}"]`,
        GUARDRAIL_REGIONS: undefined,
      },
      [`arn:aws:iam::${HUB}:role/x`],
    );
    expect(org).toMatchObject({
      externalId: "from-secret",
      externalIdSource: "SST_RESOURCE_GuardrailExternalId",
      accounts: [MEMBER_A],
      regions: ["eu-west-1"],
    });
  });

  it("has no hub target when its own account is unknown, so it assumes the member role everywhere", () => {
    const org = readOrganization("security-group-change", ORG_ENV, []);
    expect(org?.hub).toBeNull();
  });

  it.each<[string, Env, string]>([
    ["a malformed organisation id", { GUARDRAIL_ORG_ID: "org-1" }, "is not an organisation id"],
    [
      "no member role name",
      { GUARDRAIL_MEMBER_ROLE_NAME: undefined },
      "GUARDRAIL_MEMBER_ROLE_NAME is not set",
    ],
    ["no external id", { GUARDRAIL_EXTERNAL_ID: undefined }, "the external id is needed"],
    [
      "a malformed external id",
      { GUARDRAIL_EXTERNAL_ID: "a b" },
      "GUARDRAIL_EXTERNAL_ID must be 2 to 1224",
    ],
    [
      "an empty secret",
      { GUARDRAIL_EXTERNAL_ID: undefined, SST_RESOURCE_GuardrailExternalId: "{}" },
      'has no "value"',
    ],
    [
      "a malformed account",
      { GUARDRAIL_ACCOUNTS: "4444,x" },
      'GUARDRAIL_ACCOUNTS: "4444" is not a 12-digit account id',
    ],
    [
      "a malformed Region",
      { GUARDRAIL_REGIONS: "eu-west-1,Mars" },
      'GUARDRAIL_REGIONS: "Mars" is not a region name',
    ],
    [
      "a malformed denied account",
      { GUARDRAIL_DENY_ACCOUNTS: "12" },
      'GUARDRAIL_DENY_ACCOUNTS: "12" is not a 12-digit account id',
    ],
    [
      "no Regions for the sweep",
      { GUARDRAIL_REGIONS: "", AWS_REGION: undefined },
      "the sweep needs the Regions",
    ],
  ])("fails at cold start on %s", (_, change, message) => {
    const run = () => loadConfig("sweep", { ...ORG_ENV, ...change }, memoryFiles());
    expect(run).toThrow(ConfigurationError);
    expect(run).toThrow(message);
  });

  it("never echoes the external id in an error", () => {
    const secret = "not valid because of spaces";
    expect(() =>
      loadConfig("sweep", { ...ORG_ENV, GUARDRAIL_EXTERNAL_ID: secret }, memoryFiles()),
    ).toThrow(expect.objectContaining({ message: expect.not.stringContaining(secret) }));
  });

  it("lets event-driven functions run without a sweep account list", () => {
    const config = loadConfig(
      "security-group-change",
      { ...ORG_ENV, GUARDRAIL_ACCOUNTS: undefined },
      memoryFiles(),
    );
    expect(config.organization?.accounts).toEqual([]);
  });
});

describe("organisation mode: event-driven remediation", () => {
  it("revokes in the member account and Region of the event, through its member role", async () => {
    const result = await securityGroupChange(sshFromWorldIn(MEMBER_A, "us-east-1"), orgDeps());
    expect(result).toMatchObject({ status: "decided", result: "revoked" });
    expect(sts).toHaveReceivedCommandExactlyOnceWith(AssumeRoleCommand, {
      RoleArn: `arn:aws:iam::${MEMBER_A}:role/${MEMBER_ROLE}`,
      ExternalId: EXTERNAL_ID,
      RoleSessionName: "guardrail-security-group-change",
    });
    expect(await whereCalled(RevokeSecurityGroupIngressCommand)).toEqual([
      { region: "us-east-1", accessKeyId: `ASIA${MEMBER_A}` },
    ]);
    const item = auditItems()[0];
    expect(item).toMatchObject({
      account: MEMBER_A,
      region: "us-east-1",
      gsi1pk: `ACCOUNT#${MEMBER_A}`,
    });
  });

  it("keeps each account and Region apart, one session per account", async () => {
    const deps = orgDeps();
    await securityGroupChange(sshFromWorldIn(MEMBER_A, "eu-west-1"), deps);
    await securityGroupChange(sshFromWorldIn(MEMBER_B, "us-east-1"), deps);
    await securityGroupChange(sshFromWorldIn(MEMBER_A, "us-east-1"), deps);
    expect(await whereCalled(RevokeSecurityGroupIngressCommand)).toEqual([
      { region: "eu-west-1", accessKeyId: `ASIA${MEMBER_A}` },
      { region: "us-east-1", accessKeyId: `ASIA${MEMBER_B}` },
      { region: "us-east-1", accessKeyId: `ASIA${MEMBER_A}` },
    ]);
    expect(sts).toHaveReceivedCommandTimes(AssumeRoleCommand, 2);
  });

  it("acts with its own role in the hub's own account and Region", async () => {
    await securityGroupChange(sshFromWorldIn(HUB, "eu-west-1"), orgDeps());
    expect(sts).not.toHaveReceivedCommand(AssumeRoleCommand);
    expect(ec2.commandCalls(RevokeSecurityGroupIngressCommand)[0]?.thisValue).toBe(hubClient);
  });

  it("remediates NACL entries in the member account of the event", async () => {
    const event = loadFixture("ReplaceNetworkAclEntry", "tcp-6_ssh-from-world_replaces-rule-100");
    // An EventBridge envelope, as forwarded from the member's bus: both levels name the member.
    // A created entry: a replaced one is only reported.
    Object.assign(event, { account: MEMBER_B, region: "us-east-1" });
    Object.assign(event.detail, {
      recipientAccountId: MEMBER_B,
      awsRegion: "us-east-1",
      eventName: "CreateNetworkAclEntry",
    });
    ec2.on(DescribeNetworkAclsCommand).resolves(aclWithSshFromWorld());
    const result = await networkAclChange(event, orgDeps("network-acl-change"));
    expect(result.status).toBe("decided");
    // The ACL is read where the entry is, with the member role, like the delete.
    expect(await whereCalled(DescribeNetworkAclsCommand)).toEqual([
      { region: "us-east-1", accessKeyId: `ASIA${MEMBER_B}` },
    ]);
    // The planner's inserts (tcp 22 kept for the VPC and office ranges), with the member role.
    expect(await whereCalled(CreateNetworkAclEntryCommand)).toEqual(
      Array(6).fill({ region: "us-east-1", accessKeyId: `ASIA${MEMBER_B}` }),
    );
  });

  it("fails, revoking and recording nothing, when the member role is refused", async () => {
    sts.on(AssumeRoleCommand).rejects(awsError("AccessDenied", "not authorized"));
    const error = await securityGroupChange(sshFromWorldIn(MEMBER_B, "eu-west-1"), orgDeps()).catch(
      (e: unknown) => e,
    );
    expect(error).toBeInstanceOf(MemberRoleError);
    expect(error).toMatchObject({ account: MEMBER_B, awsCode: "AccessDenied" });
    expect(ec2).not.toHaveReceivedCommand(RevokeSecurityGroupIngressCommand);
    expect(ddb).not.toHaveReceivedCommand(PutCommand);
    expect(sns).not.toHaveReceivedCommand(PublishCommand);
  });

  it("ignores the member role's own revokes without assuming anything", async () => {
    const event = sshFromWorldIn(MEMBER_A, "eu-west-1");
    event.userIdentity = {
      type: "AssumedRole",
      arn: `arn:aws:sts::${MEMBER_A}:assumed-role/${MEMBER_ROLE}/guardrail-sweep`,
      accountId: MEMBER_A,
      sessionContext: {
        sessionIssuer: { type: "Role", arn: `arn:aws:iam::${MEMBER_A}:role/${MEMBER_ROLE}` },
      },
    };
    const result = await securityGroupChange(event, orgDeps());
    expect(result).toMatchObject({ status: "ignored", reason: "own-principal" });
    expect(sts).not.toHaveReceivedCommand(AssumeRoleCommand);
  });

  it("applies a rule scoped to some accounts only there", async () => {
    const scopedPolicy = DEFAULT_POLICY_YAML.replace(
      "  - id: admin-ports\n",
      `  - id: admin-ports\n    scope: { accounts: ["${MEMBER_A}"] }\n`,
    ).replace(
      "  - id: internet-exposure\n",
      `  - id: internet-exposure\n    scope: { accounts: ["${MEMBER_A}"] }\n`,
    );
    const deps = orgDeps("security-group-change", ORG_ENV, scopedPolicy);
    expect((await securityGroupChange(sshFromWorldIn(MEMBER_B, "eu-west-1"), deps)).status).toBe(
      "compliant",
    );
    expect((await securityGroupChange(sshFromWorldIn(MEMBER_A, "eu-west-1"), deps)).result).toBe(
      "revoked",
    );
  });
});

/** What each swept target's EC2 holds: one group with ssh open to the world, no NACL. */
function sshOpenInEveryTarget() {
  ec2.on(DescribeSecurityGroupRulesCommand).resolves({
    SecurityGroupRules: [ingressRule("sgr-ssh", "sg-a", 22)],
  });
  ec2.on(DescribeNetworkAclsCommand).resolves({ NetworkAcls: [] });
}

describe("organisation mode: sweep over accounts and Regions", () => {
  beforeEach(sshOpenInEveryTarget);

  it("lists every configured account × Region", () => {
    const org = loadConfig("sweep", ORG_ENV, memoryFiles()).organization;
    expect(org && sweepTargets(org)).toEqual([
      { account: MEMBER_A, region: "eu-west-1" },
      { account: MEMBER_A, region: "us-east-1" },
      { account: MEMBER_B, region: "eu-west-1" },
      { account: MEMBER_B, region: "us-east-1" },
    ]);
  });

  it("sweeps and remediates each target through its member role, one summary each", async () => {
    const handler = createOrganizationSweepHandler(orgDeps("sweep"));
    const result = await handler({ id: "run-1", "detail-type": "Scheduled Event" }, lambdaContext);
    expect(result.failures).toEqual([]);
    expect(result.targets.map((t) => [t.account, t.region, t.runId])).toEqual([
      [MEMBER_A, "eu-west-1", `run-1:${MEMBER_A}:eu-west-1`],
      [MEMBER_A, "us-east-1", `run-1:${MEMBER_A}:us-east-1`],
      [MEMBER_B, "eu-west-1", `run-1:${MEMBER_B}:eu-west-1`],
      [MEMBER_B, "us-east-1", `run-1:${MEMBER_B}:us-east-1`],
    ]);
    const revokes = await whereCalled(RevokeSecurityGroupIngressCommand);
    expect(
      revokes.sort((a, b) =>
        `${a.accessKeyId}${a.region}`.localeCompare(`${b.accessKeyId}${b.region}`),
      ),
    ).toEqual([
      { region: "eu-west-1", accessKeyId: `ASIA${MEMBER_A}` },
      { region: "us-east-1", accessKeyId: `ASIA${MEMBER_A}` },
      { region: "eu-west-1", accessKeyId: `ASIA${MEMBER_B}` },
      { region: "us-east-1", accessKeyId: `ASIA${MEMBER_B}` },
    ]);
    expect(sts).toHaveReceivedCommandTimes(AssumeRoleCommand, 2);
    expect(sns).toHaveReceivedCommandTimes(PublishCommand, 4);
    const ids = ddb.commandCalls(PutCommand).map((c) => c.args[0].input.Item?.pk);
    expect(ids).toContain(`DECISION#sweep:run-1:${MEMBER_B}:us-east-1:sg-a`);
  });

  it("works on at most four targets at once", async () => {
    let inFlight = 0;
    let most = 0;
    ec2.on(DescribeNetworkAclsCommand).callsFake(async () => {
      inFlight++;
      most = Math.max(most, inFlight);
      await new Promise((r) => setTimeout(r, 20));
      inFlight--;
      return { NetworkAcls: [] };
    });
    const accounts = ["100000000001", "100000000002", "100000000003"];
    const deps = orgDeps("sweep", {
      ...ORG_ENV,
      GUARDRAIL_ACCOUNTS: accounts.join(","),
      GUARDRAIL_REGIONS: "eu-west-1,us-east-1,ap-southeast-2",
    });
    const result = await sweepOrganization({ id: "run-2" }, deps);
    expect(result.targets).toHaveLength(9);
    expect(most).toBe(4);
  });

  it("sweeps the other targets when STS fails for one account, then fails naming it", async () => {
    sts
      .on(AssumeRoleCommand, { RoleArn: `arn:aws:iam::${MEMBER_B}:role/${MEMBER_ROLE}` })
      .rejects(awsError("RegionDisabledException"));
    const error = await sweepOrganization({ id: "run-3" }, orgDeps("sweep")).catch(
      (e: unknown) => e,
    );
    expect(error).toBeInstanceOf(SweepTargetsFailedError);
    expect((error as SweepTargetsFailedError).failures).toEqual([
      expect.objectContaining({
        account: MEMBER_B,
        region: "eu-west-1",
        code: "MEMBER_ROLE_UNAVAILABLE",
      }),
      expect.objectContaining({
        account: MEMBER_B,
        region: "us-east-1",
        code: "MEMBER_ROLE_UNAVAILABLE",
      }),
    ]);
    expect((error as Error).message).toBe(
      `2 of 4 sweep target(s) failed: ${MEMBER_B}/eu-west-1 (MEMBER_ROLE_UNAVAILABLE), ${MEMBER_B}/us-east-1 (MEMBER_ROLE_UNAVAILABLE)`,
    );
    expect(await whereCalled(RevokeSecurityGroupIngressCommand)).toHaveLength(2);
  });

  it("refuses to build the single-account sweep in organisation mode, and the reverse", () => {
    expect(() => createSweepHandler(orgDeps("sweep"))).toThrow(ConfigurationError);
    expect(() =>
      createOrganizationSweepHandler({
        ...testDeps({ fn: "sweep" }),
        identity: async () => ({ account: HUB, region: "eu-west-1" }),
      }),
    ).toThrow("the organisation sweep needs organisation mode");
  });
});

const NEW_MEMBER = "222233334444";
const SUSPENDED = "555566667777";

/** The organisation sweep's deps, its accounts from (mocked) AWS Organizations. */
function orgSweepDeps(env: Env = ORG_MODE_ENV, policyYaml?: string): SweepDeps {
  const deps = orgDeps("sweep", env, policyYaml);
  const stsClient = new STSClient({ region: "eu-west-1", credentials });
  const organizationAccounts = organizationAccountsFor("sweep", deps.config, {
    sts: async () => stsClient,
    makeClient: async (region) => new OrganizationsClient({ region, credentials }),
  });
  return { ...deps, ...(organizationAccounts ? { organizationAccounts } : {}) };
}

describe("the organisation sweep's accounts from AWS Organizations", () => {
  beforeEach(() => {
    sshOpenInEveryTarget();
    orgs
      .on(ListAccountsCommand, { NextToken: undefined })
      .resolves({
        Accounts: [
          { Id: MEMBER_A, State: "ACTIVE" },
          { Id: SUSPENDED, State: "SUSPENDED", Status: "SUSPENDED" },
        ],
        NextToken: "page-2",
      })
      .on(ListAccountsCommand, { NextToken: "page-2" })
      .resolves({
        Accounts: [
          { Id: MEMBER_B, Status: "ACTIVE" },
          { Id: NEW_MEMBER, State: "ACTIVE" },
        ],
      });
  });

  it("sweeps every active account Organizations lists, every page, and skips the suspended one", async () => {
    const result = await sweepOrganization({ id: "run-o" }, orgSweepDeps());
    expect(result.targets.map((t) => t.account)).toEqual([MEMBER_A, MEMBER_B, NEW_MEMBER]);
    expect(result.skippedAccounts).toEqual([
      { account: SUSPENDED, reason: "not-active", state: "SUSPENDED" },
    ]);
    expect(
      sts.commandCalls(AssumeRoleCommand).map((c) => c.args[0].input.RoleArn?.split(":")[4]),
    ).not.toContain(SUSPENDED);
    expect(orgs).toHaveReceivedCommandTimes(ListAccountsCommand, 2);
  });

  it("reads Organizations again on the next run: an account that joined is swept", async () => {
    const deps = orgSweepDeps();
    orgs.on(ListAccountsCommand).resolvesOnce({ Accounts: [{ Id: MEMBER_A, State: "ACTIVE" }] });
    expect((await sweepOrganization({ id: "r1" }, deps)).targets.map((t) => t.account)).toEqual([
      MEMBER_A,
    ]);
    orgs.on(ListAccountsCommand).resolves({
      Accounts: [
        { Id: MEMBER_A, State: "ACTIVE" },
        { Id: NEW_MEMBER, State: "ACTIVE" },
      ],
    });
    expect((await sweepOrganization({ id: "r2" }, deps)).targets.map((t) => t.account)).toEqual([
      MEMBER_A,
      NEW_MEMBER,
    ]);
  });

  it("narrows to the allow list and leaves out the deny list", async () => {
    const deps = orgSweepDeps({
      ...ORG_MODE_ENV,
      GUARDRAIL_ACCOUNTS: `${MEMBER_A},${MEMBER_B}`,
      GUARDRAIL_DENY_ACCOUNTS: MEMBER_B,
    });
    const result = await sweepOrganization({ id: "run-l" }, deps);
    expect(result.targets.map((t) => t.account)).toEqual([MEMBER_A]);
  });

  it("reports an account without the member role as not deployed, not as a failure", async () => {
    sts
      .on(AssumeRoleCommand, { RoleArn: `arn:aws:iam::${NEW_MEMBER}:role/${MEMBER_ROLE}` })
      .rejects(awsError("AccessDenied"));
    const deps = orgSweepDeps() as SweepDeps & ReturnType<typeof testDeps>;
    const result = await sweepOrganization({ id: "run-n" }, deps);
    expect(result.failures).toEqual([]);
    expect(result.notDeployed).toEqual([NEW_MEMBER]);
    expect(result.targets.map((t) => t.account)).toEqual([MEMBER_A, MEMBER_B]);
    expect(deps.addMetric).toHaveBeenCalledWith(METRICS.accountsNotDeployed, "Count", 1);
  });

  it("fails the run when Organizations cannot be read: it would otherwise sweep nothing", async () => {
    orgs.on(ListAccountsCommand).rejects(awsError("AccessDeniedException"));
    await expect(sweepOrganization({ id: "run-e" }, orgSweepDeps())).rejects.toMatchObject({
      name: "AccessDeniedException",
    });
    expect(ec2.calls()).toHaveLength(0);
  });

  it("lists only the accounts below the OUs every rule is scoped to, sub-OUs included", async () => {
    const OU = "ou-ab12-34cd56ef";
    const CHILD = "ou-ab12-11112222";
    orgs
      .on(ListAccountsForParentCommand, { ParentId: OU })
      .resolves({ Accounts: [{ Id: MEMBER_A, State: "ACTIVE" }] })
      .on(ListAccountsForParentCommand, { ParentId: CHILD })
      .resolves({ Accounts: [{ Id: MEMBER_B, State: "ACTIVE" }] })
      .on(ListOrganizationalUnitsForParentCommand, { ParentId: OU })
      .resolves({ OrganizationalUnits: [{ Id: CHILD }] })
      .on(ListOrganizationalUnitsForParentCommand, { ParentId: CHILD })
      .resolves({ OrganizationalUnits: [] });
    const policy = [
      "version: 1",
      "rules:",
      "  - id: admin-ports",
      "    kind: security-group-ports",
      "    description: No RDP from the internet.",
      "    mode: enforce",
      "    options:",
      "      ports: [tcp/3389]",
      "    scope:",
      `      organizationalUnits: [${OU}]`,
      "",
    ].join("\n");
    const deps = orgSweepDeps(ORG_MODE_ENV, policy);
    const listed = await deps.organizationAccounts?.list();
    expect(listed?.map((a) => a.id)).toEqual([MEMBER_A, MEMBER_B]);
    expect(orgs).not.toHaveReceivedCommand(ListAccountsCommand);
  });

  it("reads the account's State, then the retiring Status", async () => {
    orgs.on(ListAccountsCommand).resolves({
      Accounts: [{ Id: MEMBER_A, Status: "SUSPENDED" }, { Id: MEMBER_B }, { Name: "no id" }],
    });
    const reader = createOrganizationAccounts({
      client: async () => new OrganizationsClient({ region: "us-east-1", credentials }),
      organizationalUnits: null,
    });
    expect(await reader.list()).toEqual([
      { id: MEMBER_A, state: "SUSPENDED" },
      { id: MEMBER_B, state: "UNKNOWN" },
    ]);
  });
});
