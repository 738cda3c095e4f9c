import "./setup";
import {
  ListParentsCommand,
  ListTagsForResourceCommand,
  OrganizationsClient,
} from "@aws-sdk/client-organizations";
import { mockClient } from "aws-sdk-client-mock";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { createAccountDirectory } from "../src/organization";
import { awsError } from "./helpers";
import { MEMBER_B as DEV, mockOrganisationTree, MEMBER_A as PROD } from "./organisation";

const orgs = mockClient(OrganizationsClient);
const T0 = new Date("2026-06-15T12:00:00Z");
let now = T0;

const client = new OrganizationsClient({ region: "us-east-1" });
const all = { accountTags: true, organizationalUnits: true, ouTags: true };

function directory(needs = all, errors: string[] = []) {
  return createAccountDirectory({
    client: async () => client,
    needs,
    now: () => now,
    onError: (what) => errors.push(what),
  });
}

beforeEach(() => {
  orgs.reset();
  now = T0;
  mockOrganisationTree(orgs);
});
afterEach(() => {
  orgs.reset();
});

describe("account directory (AWS Organizations)", () => {
  it("reads the account's tags (every page) and the OUs above it, root first, with their tags", async () => {
    expect(await directory().context(PROD)).toEqual({
      accountTags: { env: "prod", owner: "payments" },
      organizationalUnits: [
        { id: "ou-ab12-workload1", tags: { env: "prod" } },
        { id: "ou-ab12-payments1", tags: { team: "payments" } },
      ],
    });
  });

  it("reads only what the policy needs", async () => {
    expect(
      await directory({ accountTags: true, organizationalUnits: false, ouTags: false }).context(
        DEV,
      ),
    ).toEqual({ accountTags: { env: "dev" } });
    expect(orgs).not.toHaveReceivedCommand(ListParentsCommand);
    orgs.resetHistory();
    expect(
      await directory({ accountTags: false, organizationalUnits: true, ouTags: false }).context(
        DEV,
      ),
    ).toEqual({ organizationalUnits: [{ id: "ou-ab12-sandbox01" }] });
    expect(orgs).not.toHaveReceivedCommand(ListTagsForResourceCommand);
  });

  it("keeps reads for 15 minutes, OU tags shared between accounts", async () => {
    const d = directory();
    await d.context(PROD);
    const calls = orgs.calls().length;
    await d.context(PROD);
    expect(orgs.calls()).toHaveLength(calls);
    now = new Date(T0.getTime() + 15 * 60_000);
    await d.context(PROD);
    expect(orgs.calls().length).toBeGreaterThan(calls);
  });

  it("leaves out what it could not read, says so, and tries again next time", async () => {
    orgs
      .on(ListTagsForResourceCommand, { ResourceId: PROD, NextToken: undefined })
      .rejectsOnce(awsError("AccessDeniedException"));
    const errors: string[] = [];
    const d = directory(all, errors);
    const first = await d.context(PROD);
    expect(first).not.toHaveProperty("accountTags");
    expect(first.organizationalUnits).toHaveLength(2);
    expect(errors).toEqual([`tags of account ${PROD}`]);
    mockOrganisationTree(orgs);
    expect((await d.context(PROD)).accountTags).toEqual({ env: "prod", owner: "payments" });
  });

  it("refuses an endless chain of parents", async () => {
    orgs.on(ListParentsCommand, { ChildId: DEV }).resolves({
      Parents: [{ Id: "ou-ab12-sandbox01", Type: "ORGANIZATIONAL_UNIT" }],
    });
    orgs.on(ListParentsCommand, { ChildId: "ou-ab12-sandbox01" }).resolves({
      Parents: [{ Id: "ou-ab12-sandbox01", Type: "ORGANIZATIONAL_UNIT" }],
    });
    const errors: string[] = [];
    expect(await directory(all, errors).context(DEV)).toEqual({ accountTags: { env: "dev" } });
    expect(errors).toEqual([`OUs of account ${DEV}`]);
  });
});
