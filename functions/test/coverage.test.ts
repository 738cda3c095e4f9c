import "./setup";
import {
  DescribeNetworkAclsCommand,
  DescribeRegionsCommand,
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
import { AssumeRoleCommand, STSClient } from "@aws-sdk/client-sts";
import {
  createCredentialCache,
  createMemberAccess,
  createOrganizationAccounts,
  createRegionalAccess,
  describeEnabledRegions,
  organizationAccountsFor,
} from "@guardrail/aws";
import { ConfigurationError, METRICS } from "@guardrail/core";
import { mockClient } from "aws-sdk-client-mock";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { loadFixture } from "../../test/fixtures/load";
import { type Env, loadConfig } from "../src/config";
import { SweepTargetsFailedError } from "../src/errors";
import { securityGroupChange } from "../src/pipelines/security-group-change";
import { type SweepDeps, sweepOrganization } from "../src/pipelines/sweep";
import { createCoveredSweepHandler, sweepCoveredRegions } from "../src/pipelines/sweep-regions";
import {
  awsError,
  BASE_ENV,
  ACCOUNT as HUB,
  ingressRule,
  lambdaContext,
  MEMBER_A,
  MEMBER_B,
  MEMBER_ROLE,
  memoryFiles,
  ORG_ENV,
  testDeps,
} from "./helpers";
import { acceptWrites, ddb, ec2, sns, untaggedGroups } from "./support/aws-mocks";

const orgs = mockClient(OrganizationsClient);
const sts = mockClient(STSClient);
const MOCKS = [ec2, orgs, sts, sns, ddb];

const credentials = { accessKeyId: "AKIDTEST", secretAccessKey: "secret" };
const COVERED_ENV: Env = {
  ...BASE_ENV,
  AWS_REGION: "us-east-1",
  GUARDRAIL_REGIONS: "us-east-1,eu-west-1",
};

/** Single-account deps covering us-east-1 (home) and eu-west-1, a client per Region. */
function coveredDeps(env: Env = COVERED_ENV): SweepDeps & ReturnType<typeof testDeps> {
  const base = testDeps({ ec2Client: new EC2Client({ region: "us-east-1", credentials }) });
  const config = loadConfig("sweep", env, memoryFiles());
  return {
    ...base,
    config,
    regions: createRegionalAccess({
      home: "us-east-1",
      homeGateway: base.ec2,
      makeClient: (region) => new EC2Client({ region, credentials }),
    }),
    identity: async () => ({ account: HUB, region: "us-east-1" }),
  };
}

/** The ssh-from-world fixture, as made in `region`. */
function sshFromWorldIn(region: string) {
  const e = loadFixture(
    "AuthorizeSecurityGroupIngress",
    "items-form_tcp-22_same-rule-as-legacy-flat",
  );
  e.recipientAccountId = HUB;
  e.awsRegion = region;
  e.userIdentity.accountId = HUB;
  return e;
}

/** The Region each recorded call of `command` went to. */
async function regionsOf(command: typeof RevokeSecurityGroupIngressCommand) {
  return Promise.all(
    ec2.commandCalls(command).map((c) => (c.thisValue as EC2Client).config.region()),
  );
}

beforeEach(() => {
  for (const m of MOCKS) m.reset();
  untaggedGroups();
  ec2.on(RevokeSecurityGroupIngressCommand).resolves({ Return: true });
  ec2.on(DescribeSecurityGroupRulesCommand).resolves({
    SecurityGroupRules: [ingressRule("sgr-rdp", "sg-a", 3389, { CidrIpv4: "0.0.0.0/1" })],
  });
  ec2.on(DescribeNetworkAclsCommand).resolves({ NetworkAcls: [] });
  acceptWrites();
});

afterEach(() => {
  for (const m of MOCKS) m.reset();
});

describe("events from every covered Region", () => {
  it("reads GUARDRAIL_REGIONS with the function's own Region first", () => {
    expect(loadConfig("sweep", COVERED_ENV, memoryFiles()).regions).toEqual([
      "us-east-1",
      "eu-west-1",
    ]);
    expect(
      loadConfig("sweep", { ...BASE_ENV, AWS_REGION: "eu-west-1" }, memoryFiles()).regions,
    ).toEqual(["eu-west-1"]);
    expect(loadConfig("sweep", BASE_ENV, memoryFiles()).regions).toEqual([]);
    expect(() =>
      loadConfig("sweep", { ...COVERED_ENV, GUARDRAIL_REGIONS: "eu-west-1,Mars" }, memoryFiles()),
    ).toThrow(ConfigurationError);
  });

  it("revokes in the event's own Region, with that Region's client", async () => {
    const result = await securityGroupChange(sshFromWorldIn("eu-west-1"), coveredDeps());
    expect(result).toMatchObject({ status: "decided", result: "revoked" });
    expect(await regionsOf(RevokeSecurityGroupIngressCommand)).toEqual(["eu-west-1"]);
  });

  it("keeps one client per Region across events", async () => {
    const deps = coveredDeps();
    const regions = deps.regions;
    expect(regions?.gateway("eu-west-1")).toBe(regions?.gateway("eu-west-1"));
    expect(regions?.gateway("us-east-1")).toBe(deps.ec2);
    expect(() => regions?.gateway("Mars")).toThrow(/is not a Region name/);
  });

  it("reports an uncovered Region's event as not covered: no call, no failure, counted", async () => {
    const deps = coveredDeps();
    const result = await securityGroupChange(sshFromWorldIn("ap-south-2"), deps);
    expect(result).toEqual({
      status: "not-covered",
      eventId: expect.any(String),
      reason: "ap-south-2 is not among the covered Regions (us-east-1, eu-west-1)",
    });
    expect(ec2.calls()).toHaveLength(0);
    expect(sns.calls()).toHaveLength(0);
    expect(deps.addMetric).toHaveBeenCalledWith(METRICS.eventsNotCovered, "Count", 1);
    expect(deps.addMetric).not.toHaveBeenCalledWith(
      METRICS.remediationFailures,
      expect.anything(),
      expect.anything(),
    );
  });
});

describe("the sweep over every covered Region", () => {
  it("sweeps each covered Region with its own client and reports Regions enabled since", async () => {
    const deps = {
      ...coveredDeps(),
      enabledRegions: async () => ["us-east-1", "eu-west-1", "ap-south-2"],
    };
    const result = await createCoveredSweepHandler(deps)({ id: "run-1" }, lambdaContext);
    expect(result.targets.map((t) => [t.region, t.runId])).toEqual([
      ["us-east-1", "run-1:us-east-1"],
      ["eu-west-1", "run-1:eu-west-1"],
    ]);
    expect((await regionsOf(RevokeSecurityGroupIngressCommand)).sort()).toEqual([
      "eu-west-1",
      "us-east-1",
    ]);
    expect(result.notCovered).toEqual(["ap-south-2"]);
    expect(deps.addMetric).toHaveBeenCalledWith(METRICS.regionsNotCovered, "Count", 1);
  });

  it("keeps the plain run id when one Region is covered", async () => {
    const deps = coveredDeps({ ...BASE_ENV, AWS_REGION: "us-east-1" });
    const result = await sweepCoveredRegions({ id: "run-2" }, deps);
    expect(result.targets.map((t) => t.runId)).toEqual(["run-2"]);
    expect(result.notCovered).toEqual([]);
  });

  it("sweeps the other Regions when one fails, and when DescribeRegions fails, then fails naming them", async () => {
    const deps = {
      ...coveredDeps(),
      enabledRegions: async () => {
        throw awsError("UnauthorizedOperation");
      },
    };
    ec2.on(DescribeSecurityGroupRulesCommand).callsFake(async (_input, getClient) => {
      if ((await getClient().config.region()) === "eu-west-1")
        throw awsError("InternalError", "x", "server");
      return { SecurityGroupRules: [] };
    });
    const error = await sweepCoveredRegions({ id: "run-3" }, deps).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(SweepTargetsFailedError);
    expect((error as SweepTargetsFailedError).failures.map((f) => [f.region, f.code])).toEqual([
      ["eu-west-1", expect.any(String)],
      ["us-east-1", "UnauthorizedOperation"],
    ]);
  });

  it("refuses to build the covered-Region sweep in organisation mode", () => {
    const env = {
      ...COVERED_ENV,
      GUARDRAIL_ORG_ID: "o-a1b2c3d4e5",
      GUARDRAIL_MEMBER_ROLE_NAME: "m",
      GUARDRAIL_EXTERNAL_ID: "guardrail-1",
    };
    expect(() => createCoveredSweepHandler(coveredDeps(env))).toThrow(ConfigurationError);
  });

  it("lists the enabled Regions, leaving out those not opted in", async () => {
    ec2.on(DescribeRegionsCommand).resolves({
      Regions: [
        { RegionName: "us-east-1", OptInStatus: "opt-in-not-required" },
        { RegionName: "ap-south-2", OptInStatus: "opted-in" },
        { RegionName: "me-south-1", OptInStatus: "not-opted-in" },
      ],
    });
    const client = new EC2Client({ region: "us-east-1", credentials });
    expect(await describeEnabledRegions(client)).toEqual(["us-east-1", "ap-south-2"]);
    expect(ec2).toHaveReceivedCommandWith(DescribeRegionsCommand, {});
    ec2.on(DescribeRegionsCommand).resolves({ Regions: [] });
    await expect(describeEnabledRegions(client)).rejects.toThrow(/no Region/);
  });
});

const NEW_MEMBER = "222233334444";
const SUSPENDED = "555566667777";

/** Organisation sweep deps, the accounts from (mocked) AWS Organizations. */
function orgSweepDeps(env: Env = ORG_ENV, policyYaml?: string): SweepDeps {
  const base = testDeps({ fn: "sweep" });
  const config = loadConfig(
    "sweep",
    env,
    memoryFiles(policyYaml ? { "/var/task/policy.yaml": policyYaml } : {}),
  );
  const org = config.organization;
  if (org === null) throw new Error("organisation mode expected");
  const stsClient = new STSClient({ region: "eu-west-1", credentials });
  const organizationAccounts = organizationAccountsFor("sweep", config, {
    sts: async () => stsClient,
    makeClient: async (region) => new OrganizationsClient({ region, credentials }),
  });
  return {
    ...base,
    config,
    members: createMemberAccess({
      organization: org,
      hubGateway: base.ec2,
      credentials: createCredentialCache({
        sts: async () => stsClient,
        roleArnFor: (a) => `arn:aws:iam::${a}:role/${MEMBER_ROLE}`,
        sessionName: "guardrail-sweep",
        now: base.clock,
      }),
      makeClient: (t, c) => new EC2Client({ region: t.region, credentials: c }),
    }),
    ...(organizationAccounts ? { organizationAccounts } : {}),
    identity: async () => {
      throw new Error("organisation mode names its targets");
    },
  };
}

describe("the organisation sweep's accounts from AWS Organizations", () => {
  beforeEach(() => {
    sts.on(AssumeRoleCommand).callsFake((input: { RoleArn: string }) => ({
      Credentials: {
        AccessKeyId: `ASIA${input.RoleArn.split(":")[4]}`,
        SecretAccessKey: "s",
        SessionToken: "t",
        Expiration: new Date("2099-01-01T00:00:00Z"),
      },
    }));
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
      ...ORG_ENV,
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
    const deps = orgSweepDeps(ORG_ENV, policy);
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
