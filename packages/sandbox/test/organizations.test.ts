import { DescribeRegionsCommand, EC2Client } from "@aws-sdk/client-ec2";
import {
  DescribeOrganizationCommand,
  ListAccountsCommand,
  ListAccountsForParentCommand,
  ListOrganizationalUnitsForParentCommand,
  ListParentsCommand,
  ListTagsForResourceCommand,
  OrganizationsClient,
  paginateListAccounts,
} from "@aws-sdk/client-organizations";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { awsCli } from "../../../test/e2e/aws-cli";
import { Ec2Sandbox, OrganizationsSandbox } from "../src/index";

const ORG = "o-a1b2c3d4e5";
const MGMT = "111111111111";
const DELEGATED = "222222222222";
const MEMBER = "333333333333";
const LATE = "444444444444";
const PROD_OU = "ou-a1b2-11111111";
const TEAM_OU = "ou-a1b2-22222222";

const orgs = new OrganizationsSandbox({
  id: ORG,
  managementAccountId: MGMT,
  ous: [
    { id: PROD_OU, name: "prod", tags: { env: "prod" } },
    { id: TEAM_OU, name: "team", parent: PROD_OU },
  ],
  accounts: [
    { id: DELEGATED, name: "security" },
    { id: MEMBER, name: "payments", parent: TEAM_OU, tags: { team: "payments" } },
  ],
  delegatedAdministrators: [DELEGATED],
  accessKeys: { AKIAMGMT: MGMT, AKIADELEGATED: DELEGATED, AKIAMEMBER: MEMBER },
  pageSize: 2,
});
let endpoint = "";
const client = (key: string) =>
  new OrganizationsClient({
    endpoint,
    region: "us-east-1",
    credentials: { accessKeyId: key, secretAccessKey: "x" },
    maxAttempts: 1,
  });

beforeAll(async () => {
  endpoint = await orgs.listen();
});
afterAll(async () => {
  await orgs.close();
});

describe("the Organizations sandbox", () => {
  it("lists every account with its state, page by page, as the SDK reads it", async () => {
    const ids: string[] = [];
    const pages: number[] = [];
    for await (const page of paginateListAccounts({ client: client("AKIADELEGATED") }, {})) {
      pages.push(page.Accounts?.length ?? 0);
      for (const a of page.Accounts ?? []) ids.push(`${a.Id} ${a.State} ${a.Status}`);
    }
    expect(pages).toEqual([2, 1]);
    expect(ids).toEqual([
      `${MGMT} ACTIVE ACTIVE`,
      `${DELEGATED} ACTIVE ACTIVE`,
      `${MEMBER} ACTIVE ACTIVE`,
    ]);
  });

  it("lists an account that joins, and a suspended or closed one with its state", async () => {
    orgs.addAccount({ id: LATE, parent: PROD_OU });
    orgs.setAccountState(MEMBER, "SUSPENDED");
    const out = await client("AKIAMGMT").send(new ListAccountsCommand({ MaxResults: 20 }));
    expect(out.Accounts?.map((a) => [a.Id, a.State])).toEqual([
      [MGMT, "ACTIVE"],
      [DELEGATED, "ACTIVE"],
      [MEMBER, "SUSPENDED"],
      [LATE, "ACTIVE"],
    ]);
    orgs.setAccountState(MEMBER, "CLOSED");
    const closed = await client("AKIAMGMT").send(new ListAccountsCommand({ MaxResults: 20 }));
    expect(closed.Accounts?.find((a) => a.Id === MEMBER)).toMatchObject({
      State: "CLOSED",
      Status: "SUSPENDED",
    });
    expect(orgs.organization.accounts).toContain(LATE);
    orgs.setAccountState(MEMBER, "ACTIVE");
    orgs.removeAccount(LATE);
  });

  it("walks OUs, parents and tags", async () => {
    const c = client("AKIAMGMT");
    const [ous, below, parents, tags, org] = await Promise.all([
      c.send(new ListOrganizationalUnitsForParentCommand({ ParentId: PROD_OU })),
      c.send(new ListAccountsForParentCommand({ ParentId: TEAM_OU })),
      c.send(new ListParentsCommand({ ChildId: TEAM_OU })),
      c.send(new ListTagsForResourceCommand({ ResourceId: MEMBER })),
      c.send(new DescribeOrganizationCommand({})),
    ]);
    expect(ous.OrganizationalUnits?.map((o) => o.Id)).toEqual([TEAM_OU]);
    expect(below.Accounts?.map((a) => a.Id)).toEqual([MEMBER]);
    expect(parents.Parents).toEqual([{ Id: PROD_OU, Type: "ORGANIZATIONAL_UNIT" }]);
    expect(tags.Tags).toEqual([{ Key: "team", Value: "payments" }]);
    expect(org.Organization).toMatchObject({ Id: ORG, MasterAccountId: MGMT });
  });

  it("answers with Organizations' errors", async () => {
    await expect(client("AKIAMEMBER").send(new ListAccountsCommand({}))).rejects.toMatchObject({
      name: "AccessDeniedException",
      $metadata: { httpStatusCode: 400 },
    });
    await expect(client("AKIAOUTSIDE").send(new ListAccountsCommand({}))).rejects.toMatchObject({
      name: "AWSOrganizationsNotInUseException",
    });
    await expect(
      client("AKIAMGMT").send(new ListAccountsForParentCommand({ ParentId: "ou-a1b2-99999999" })),
    ).rejects.toMatchObject({ name: "ParentNotFoundException" });
    await expect(
      client("AKIAMGMT").send(new ListAccountsCommand({ MaxResults: 21 })),
    ).rejects.toMatchObject({ name: "InvalidInputException" });
  });

  it("is read by the aws CLI too", async () => {
    const out = (await awsCli(
      { endpoint, accessKeyId: "AKIAMGMT", secretAccessKey: "x", region: "us-east-1" },
      ["organizations", "list-accounts"],
    )) as { Accounts: { Id: string; State: string }[] };
    expect(out.Accounts.map((a) => a.Id)).toEqual([MGMT, DELEGATED, MEMBER]);
  }, 60_000);
});

describe("DescribeRegions in the EC2 sandbox", () => {
  const ec2 = new Ec2Sandbox({
    regions: [
      { name: "us-east-1", optInStatus: "opt-in-not-required" },
      { name: "ap-south-2", optInStatus: "opted-in" },
      { name: "me-south-1", optInStatus: "not-opted-in" },
    ],
  });
  let ec2Endpoint = "";
  beforeAll(async () => {
    ec2Endpoint = await ec2.listen(0, "127.0.0.1");
  });
  afterAll(async () => {
    await ec2.close();
  });
  const sdk = () =>
    new EC2Client({
      endpoint: ec2Endpoint,
      region: "us-east-1",
      credentials: { accessKeyId: "AKIADEV", secretAccessKey: "x" },
      maxAttempts: 1,
    });

  it("answers the enabled Regions, or all of them with AllRegions", async () => {
    const enabled = await sdk().send(new DescribeRegionsCommand({}));
    expect(enabled.Regions?.map((r) => [r.RegionName, r.OptInStatus, r.Endpoint])).toEqual([
      ["us-east-1", "opt-in-not-required", "ec2.us-east-1.amazonaws.com"],
      ["ap-south-2", "opted-in", "ec2.ap-south-2.amazonaws.com"],
    ]);
    const all = await sdk().send(new DescribeRegionsCommand({ AllRegions: true }));
    expect(all.Regions?.map((r) => r.RegionName)).toEqual([
      "us-east-1",
      "ap-south-2",
      "me-south-1",
    ]);
    const filtered = await sdk().send(
      new DescribeRegionsCommand({
        AllRegions: true,
        Filters: [{ Name: "opt-in-status", Values: ["not-opted-in"] }],
      }),
    );
    expect(filtered.Regions?.map((r) => r.RegionName)).toEqual(["me-south-1"]);
    await expect(
      sdk().send(new DescribeRegionsCommand({ RegionNames: ["xx-nowhere-1"] })),
    ).rejects.toMatchObject({ name: "InvalidParameterValue" });
  });

  it("is read by the aws CLI the same way", async () => {
    const out = (await awsCli(
      { endpoint: ec2Endpoint, accessKeyId: "AKIADEV", secretAccessKey: "x", region: "us-east-1" },
      ["ec2", "describe-regions"],
    )) as { Regions: { RegionName: string; OptInStatus: string }[] };
    expect(out.Regions.map((r) => r.RegionName)).toEqual(["us-east-1", "ap-south-2"]);
  }, 60_000);
});
