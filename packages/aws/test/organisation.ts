import {
  ListParentsCommand,
  ListTagsForResourceCommand,
  type OrganizationsClient,
} from "@aws-sdk/client-organizations";
import type { OrganizationConfig } from "@guardrail/core";
import type { AwsClientStub } from "aws-sdk-client-mock";

/*
 * The organisation the organisation-mode tests run in: here for the adapter tests, and
 * re-exported by functions/test/helpers.ts, whose ORG_ENV is this organisation as settings.
 */

export const ORG_ID = "o-a1b2c3d4e5";
export const MEMBER_A = "444455556666";
export const MEMBER_B = "777788889999";
export const MEMBER_ROLE = "network-guardrail-prod-member";
export const EXTERNAL_ID = "guardrail-3f9c1e";

/** The organisation with its hub in `hub`'s eu-west-1: members A and B, in eu-west-1 and us-east-1. */
export function organizationOf(hub: string): OrganizationConfig {
  return {
    orgId: ORG_ID,
    memberRoleName: MEMBER_ROLE,
    externalId: EXTERNAL_ID,
    externalIdSource: "GUARDRAIL_EXTERNAL_ID",
    partition: "aws",
    hub: { account: hub, region: "eu-west-1" },
    accounts: [MEMBER_A, MEMBER_B],
    denyAccounts: [],
    regions: ["eu-west-1", "us-east-1"],
    organizationsRoleArn: null,
  };
}

/**
 * The organisation tree the account-directory tests read, on a mocked Organizations client:
 * Root → Workloads (env=prod) → Payments (team=payments) → MEMBER_A; Root → Sandbox → MEMBER_B.
 */
export function mockOrganisationTree(orgs: AwsClientStub<OrganizationsClient>): void {
  orgs.on(ListParentsCommand, { ChildId: MEMBER_A }).resolves({
    Parents: [{ Id: "ou-ab12-payments1", Type: "ORGANIZATIONAL_UNIT" }],
  });
  orgs.on(ListParentsCommand, { ChildId: "ou-ab12-payments1" }).resolves({
    Parents: [{ Id: "ou-ab12-workload1", Type: "ORGANIZATIONAL_UNIT" }],
  });
  orgs
    .on(ListParentsCommand, { ChildId: "ou-ab12-workload1" })
    .resolves({ Parents: [{ Id: "r-ab12", Type: "ROOT" }] });
  orgs.on(ListParentsCommand, { ChildId: MEMBER_B }).resolves({
    Parents: [{ Id: "ou-ab12-sandbox01", Type: "ORGANIZATIONAL_UNIT" }],
  });
  orgs
    .on(ListParentsCommand, { ChildId: "ou-ab12-sandbox01" })
    .resolves({ Parents: [{ Id: "r-ab12", Type: "ROOT" }] });
  orgs
    .on(ListTagsForResourceCommand, { ResourceId: MEMBER_A, NextToken: undefined })
    .resolves({ Tags: [{ Key: "env", Value: "prod" }], NextToken: "p2" })
    .on(ListTagsForResourceCommand, { ResourceId: MEMBER_A, NextToken: "p2" })
    .resolves({ Tags: [{ Key: "owner", Value: "payments" }] });
  orgs
    .on(ListTagsForResourceCommand, { ResourceId: MEMBER_B })
    .resolves({ Tags: [{ Key: "env", Value: "dev" }] });
  orgs
    .on(ListTagsForResourceCommand, { ResourceId: "ou-ab12-workload1" })
    .resolves({ Tags: [{ Key: "env", Value: "prod" }] });
  orgs
    .on(ListTagsForResourceCommand, { ResourceId: "ou-ab12-payments1" })
    .resolves({ Tags: [{ Key: "team", Value: "payments" }] });
  orgs.on(ListTagsForResourceCommand, { ResourceId: "ou-ab12-sandbox01" }).resolves({ Tags: [] });
}
