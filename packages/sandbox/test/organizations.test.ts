import { DescribeRegionsCommand, EC2Client } from "@aws-sdk/client-ec2";
import * as organizations from "@aws-sdk/client-organizations";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { awsCli } from "../../../test/e2e/aws-cli";
import { Ec2Sandbox, OrganizationsSandbox } from "../src/index";
import { ORG } from "./organisation";

const orgs = new OrganizationsSandbox({
  id: ORG.id,
  managementAccountId: ORG.management,
  ous: [
    { id: ORG.prodOu, name: "prod", tags: { env: "prod" } },
    { id: ORG.teamOu, name: "team", parent: ORG.prodOu },
  ],
  accounts: [
    { id: ORG.hub, name: "security" },
    { id: ORG.memberA, name: "payments", parent: ORG.teamOu, tags: { team: "payments" } },
  ],
  delegatedAdministrators: [ORG.hub],
  accessKeys: { AKIAMGMT: ORG.management, AKIADELEGATED: ORG.hub, AKIAMEMBER: ORG.memberA },
  pageSize: 2,
});
let endpoint = "";
const client = (key: string) =>
  new organizations.OrganizationsClient({
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
    for await (const page of organizations.paginateListAccounts(
      { client: client("AKIADELEGATED") },
      {},
    )) {
      pages.push(page.Accounts?.length ?? 0);
      for (const a of page.Accounts ?? []) ids.push(`${a.Id} ${a.State} ${a.Status}`);
    }
    expect(pages).toEqual([2, 1]);
    expect(ids).toEqual([
      `${ORG.management} ACTIVE ACTIVE`,
      `${ORG.hub} ACTIVE ACTIVE`,
      `${ORG.memberA} ACTIVE ACTIVE`,
    ]);
  });

  it("lists an account that joins, and a suspended or closed one with its state", async () => {
    orgs.addAccount({ id: ORG.memberB, parent: ORG.prodOu });
    orgs.setAccountState(ORG.memberA, "SUSPENDED");
    const out = await client("AKIAMGMT").send(
      new organizations.ListAccountsCommand({ MaxResults: 20 }),
    );
    expect(out.Accounts?.map((a) => [a.Id, a.State])).toEqual([
      [ORG.management, "ACTIVE"],
      [ORG.hub, "ACTIVE"],
      [ORG.memberA, "SUSPENDED"],
      [ORG.memberB, "ACTIVE"],
    ]);
    orgs.setAccountState(ORG.memberA, "CLOSED");
    const closed = await client("AKIAMGMT").send(
      new organizations.ListAccountsCommand({ MaxResults: 20 }),
    );
    expect(closed.Accounts?.find((a) => a.Id === ORG.memberA)).toMatchObject({
      State: "CLOSED",
      Status: "SUSPENDED",
    });
    expect(orgs.organization.accounts).toContain(ORG.memberB);
    orgs.setAccountState(ORG.memberA, "ACTIVE");
    orgs.removeAccount(ORG.memberB);
  });

  it("walks OUs, parents and tags", async () => {
    const c = client("AKIAMGMT");
    const [ous, below, parents, tags, org] = await Promise.all([
      c.send(new organizations.ListOrganizationalUnitsForParentCommand({ ParentId: ORG.prodOu })),
      c.send(new organizations.ListAccountsForParentCommand({ ParentId: ORG.teamOu })),
      c.send(new organizations.ListParentsCommand({ ChildId: ORG.teamOu })),
      c.send(new organizations.ListTagsForResourceCommand({ ResourceId: ORG.memberA })),
      c.send(new organizations.DescribeOrganizationCommand({})),
    ]);
    expect(ous.OrganizationalUnits?.map((o) => o.Id)).toEqual([ORG.teamOu]);
    expect(below.Accounts?.map((a) => a.Id)).toEqual([ORG.memberA]);
    expect(parents.Parents).toEqual([{ Id: ORG.prodOu, Type: "ORGANIZATIONAL_UNIT" }]);
    expect(tags.Tags).toEqual([{ Key: "team", Value: "payments" }]);
    expect(org.Organization).toMatchObject({ Id: ORG.id, MasterAccountId: ORG.management });
  });

  it("answers with Organizations' errors", async () => {
    await expect(
      client("AKIAMEMBER").send(new organizations.ListAccountsCommand({})),
    ).rejects.toMatchObject({
      name: "AccessDeniedException",
      $metadata: { httpStatusCode: 400 },
    });
    await expect(
      client("AKIAOUTSIDE").send(new organizations.ListAccountsCommand({})),
    ).rejects.toMatchObject({
      name: "AWSOrganizationsNotInUseException",
    });
    await expect(
      client("AKIAMGMT").send(
        new organizations.ListAccountsForParentCommand({ ParentId: "ou-a1b2-99999999" }),
      ),
    ).rejects.toMatchObject({ name: "ParentNotFoundException" });
    await expect(
      client("AKIAMGMT").send(new organizations.ListAccountsCommand({ MaxResults: 21 })),
    ).rejects.toMatchObject({ name: "InvalidInputException" });
  });

  it("is read by the aws CLI too", async () => {
    const out = (await awsCli(
      { endpoint, accessKeyId: "AKIAMGMT", secretAccessKey: "x", region: "us-east-1" },
      ["organizations", "list-accounts"],
    )) as { Accounts: { Id: string; State: string }[] };
    expect(out.Accounts.map((a) => a.Id)).toEqual([ORG.management, ORG.hub, ORG.memberA]);
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
