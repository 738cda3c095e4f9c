import { EC2Client } from "@aws-sdk/client-ec2";
import { OrganizationsClient } from "@aws-sdk/client-organizations";
import { AssumeRoleCommand, STSClient } from "@aws-sdk/client-sts";
import { type Ec2Gateway, type MemberAccess, memberAccessFor } from "@guardrail/aws";
import type { GuardrailFunction } from "@guardrail/core";
import { mockClient } from "aws-sdk-client-mock";
import type { GuardrailConfig } from "../../src/config";

/**
 * The Organizations and STS clients the organisation-mode tests mock (per test file, as vitest
 * isolates files); the EC2, SNS and DynamoDB mocks are in `aws-mocks.ts`.
 */
export const orgs = mockClient(OrganizationsClient);
export const sts = mockClient(STSClient);

/** AssumeRole's answer: temporary credentials with this access key id, valid past any test. */
export function assumedRole(accessKeyId: string) {
  return {
    Credentials: {
      AccessKeyId: accessKeyId,
      SecretAccessKey: "s",
      SessionToken: "t",
      Expiration: new Date("2099-01-01T00:00:00Z"),
    },
  };
}

/**
 * AssumeRole answers each role with credentials whose access key id names the role's account
 * (`ASIA<account>`), so that a test can tell which account a client signed for.
 */
export function credentialsPerAccount(): void {
  sts
    .on(AssumeRoleCommand)
    .callsFake((input: { RoleArn: string }) => assumedRole(`ASIA${input.RoleArn.split(":")[4]}`));
}

/**
 * Member access as production wires it (`memberAccessFor`), over the mocked STS and EC2 clients;
 * a member's EC2 client makes one attempt, so that a refused call fails at once.
 */
export function memberAccessOf(
  fn: GuardrailFunction,
  config: GuardrailConfig,
  hub: { readonly ec2: Ec2Gateway; readonly clock: () => Date },
): MemberAccess {
  const org = config.organization;
  if (org === null) throw new Error("organisation mode expected");
  const stsClient = new STSClient({ region: "eu-west-1" });
  return memberAccessFor(fn, org, hub.ec2, {
    sts: async () => stsClient,
    now: hub.clock,
    makeClient: (target, credentials) =>
      new EC2Client({ region: target.region, credentials, maxAttempts: 1 }),
  });
}
