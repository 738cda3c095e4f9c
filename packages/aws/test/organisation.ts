import type { OrganizationConfig } from "@guardrail/core";

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
