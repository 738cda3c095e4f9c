import "./setup";
import {
  DescribeNetworkAclsCommand,
  DescribeRegionsCommand,
  DescribeSecurityGroupRulesCommand,
  EC2Client,
  RevokeSecurityGroupIngressCommand,
} from "@aws-sdk/client-ec2";
import { createRegionalAccess, describeEnabledRegions } from "@guardrail/aws";
import { ConfigurationError, METRICS } from "@guardrail/core";
import { describe, expect, it } from "vitest";
import { type Env, loadConfig } from "../src/config";
import { SweepTargetsFailedError } from "../src/errors";
import { securityGroupChange } from "../src/pipelines/security-group-change";
import type { SweepDeps } from "../src/pipelines/sweep";
import { createCoveredSweepHandler, sweepCoveredRegions } from "../src/pipelines/sweep-regions";
import {
  awsError,
  BASE_ENV,
  ACCOUNT as HUB,
  ingressRule,
  lambdaContext,
  memoryFiles,
  sshFromWorldIn,
  testDeps,
} from "./helpers";
import { acceptRemediation, ec2, mockAwsPerTest, sns } from "./support/aws-mocks";

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

/** The Region each recorded call of `command` went to. */
async function regionsOf(command: typeof RevokeSecurityGroupIngressCommand) {
  return Promise.all(
    ec2.commandCalls(command).map((c) => (c.thisValue as EC2Client).config.region()),
  );
}

mockAwsPerTest(() => {
  acceptRemediation();
  ec2.on(DescribeSecurityGroupRulesCommand).resolves({
    SecurityGroupRules: [ingressRule("sgr-rdp", "sg-a", 3389, { CidrIpv4: "0.0.0.0/1" })],
  });
  ec2.on(DescribeNetworkAclsCommand).resolves({ NetworkAcls: [] });
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
    const result = await securityGroupChange(sshFromWorldIn(HUB, "eu-west-1"), coveredDeps());
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
    const result = await securityGroupChange(sshFromWorldIn(HUB, "ap-south-2"), deps);
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
