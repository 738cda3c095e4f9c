import {
  ConfigurationError,
  FUNCTION_EC2_ACTIONS,
  GUARDRAIL_FUNCTIONS,
  ORG_FUNCTION_ENV,
} from "@guardrail/core";
import {
  functionStatements,
  memberRoleName,
  ORGANIZATIONS_READ_ACTIONS,
  organizationStatements,
  type PermissionScope,
} from "@guardrail/templates";
import { describe, expect, it } from "vitest";
import { organizationEnvironment } from "../../stacks/organization";
import { type OrganizationSettings, readOrganizationSettings } from "../../stacks/settings";

const ENV = {
  GUARDRAIL_ORG_ID: "o-a1b2c3d4e5",
  GUARDRAIL_ACCOUNTS: "444455556666, 777788889999",
};

describe("organisation deploy settings", () => {
  it("are off without GUARDRAIL_ORG_ID", () => {
    expect(readOrganizationSettings("prod", {})).toBeNull();
  });

  it("default the member role name as the spoke template does, and read the rest", () => {
    expect(readOrganizationSettings("prod", ENV)).toEqual({
      orgId: "o-a1b2c3d4e5",
      memberRoleName: memberRoleName("prod"),
      externalId: null,
      accounts: ["444455556666", "777788889999"],
      regions: [],
      organizationsRoleArn: null,
    });
    expect(
      readOrganizationSettings("staging", {
        ...ENV,
        GUARDRAIL_MEMBER_ROLE_NAME: "guardrail-remediator",
        GUARDRAIL_EXTERNAL_ID: "inline-id-1",
        GUARDRAIL_REGIONS: '["eu-west-1", "us-east-1"]',
        GUARDRAIL_ORGANIZATIONS_ROLE_ARN: "arn:aws:iam::999999999999:role/org-reader",
      }),
    ).toEqual({
      orgId: "o-a1b2c3d4e5",
      memberRoleName: "guardrail-remediator",
      externalId: "inline-id-1",
      accounts: ["444455556666", "777788889999"],
      regions: ["eu-west-1", "us-east-1"],
      organizationsRoleArn: "arn:aws:iam::999999999999:role/org-reader",
    });
  });

  it.each<[string, Record<string, string>, string]>([
    ["a malformed org id", { GUARDRAIL_ORG_ID: "org" }, "is not an organisation id"],
    ["no accounts to sweep", { GUARDRAIL_ACCOUNTS: "" }, "must list the accounts the sweep visits"],
    ["a malformed account", { GUARDRAIL_ACCOUNTS: "1234" }, '"1234" is not a 12-digit account id'],
    ["a malformed Region", { GUARDRAIL_REGIONS: "mars" }, '"mars" is not a region name'],
    ["bad JSON", { GUARDRAIL_REGIONS: "[eu-west-1" }, "GUARDRAIL_REGIONS is not valid JSON"],
    ["a malformed role name", { GUARDRAIL_MEMBER_ROLE_NAME: "a b" }, "is not an IAM role name"],
    [
      "a malformed read role",
      { GUARDRAIL_ORGANIZATIONS_ROLE_ARN: "reader" },
      "is not an IAM role ARN",
    ],
  ])("fail the deploy on %s", (_, change, message) => {
    const run = () => readOrganizationSettings("prod", { ...ENV, ...change });
    expect(run).toThrow(ConfigurationError);
    expect(run).toThrow(message);
  });

  it("never echo a malformed external id", () => {
    const secret = "has spaces so is wrong";
    expect(() =>
      readOrganizationSettings("prod", { ...ENV, GUARDRAIL_EXTERNAL_ID: secret }),
    ).toThrow(expect.objectContaining({ message: expect.not.stringContaining(secret) }));
  });
});

const ORG: OrganizationSettings = {
  orgId: "o-a1b2c3d4e5",
  memberRoleName: "network-guardrail-prod-member",
  externalId: null,
  accounts: ["444455556666"],
  regions: ["eu-west-1"],
  organizationsRoleArn: null,
};

describe("organisation grants", () => {
  const grants = (readsOrganization: boolean, organizationsRoleArn: string | null = null) => ({
    orgId: ORG.orgId,
    memberRoleName: ORG.memberRoleName,
    organizationsRoleArn,
    readsOrganization,
  });

  const inOrganization = {
    test: "StringEquals",
    variable: "aws:ResourceOrgID",
    values: ["o-a1b2c3d4e5"],
  };

  it("let only EC2-acting functions assume the member role, named exactly, in any account of the organisation", () => {
    for (const fn of GUARDRAIL_FUNCTIONS) {
      const statements = organizationStatements(fn, "aws", grants(false));
      expect(statements, fn).toEqual(
        FUNCTION_EC2_ACTIONS[fn].length === 0
          ? []
          : [
              {
                effect: "allow",
                actions: ["sts:AssumeRole"],
                resources: ["arn:aws:iam::*:role/network-guardrail-prod-member"],
                conditions: [inOrganization],
              },
            ],
      );
    }
  });

  it("read Organizations through the read role when one is given", () => {
    expect(
      organizationStatements(
        "sweep",
        "aws-us-gov",
        grants(true, "arn:aws:iam::999999999999:role/r"),
      ),
    ).toEqual([
      {
        effect: "allow",
        actions: ["sts:AssumeRole"],
        resources: ["arn:aws-us-gov:iam::*:role/network-guardrail-prod-member"],
        conditions: [inOrganization],
      },
      {
        effect: "allow",
        actions: ["sts:AssumeRole"],
        resources: ["arn:aws:iam::999999999999:role/r"],
        conditions: [inOrganization],
      },
    ]);
  });

  it("read Organizations with the function's own role otherwise, with two named actions", () => {
    const statements = organizationStatements("security-group-change", "aws", grants(true));
    expect(statements[1]).toEqual({
      effect: "allow",
      actions: [...ORGANIZATIONS_READ_ACTIONS],
      resources: ["*"],
    });
    for (const a of ORGANIZATIONS_READ_ACTIONS) expect(a).toMatch(/^organizations:List[A-Za-z]+$/);
  });

  it("are appended to the function's statements only in organisation mode", () => {
    const scope: PermissionScope = {
      partition: "aws",
      region: "eu-west-1",
      accountId: "111122223333",
      tableArn: "arn:aws:dynamodb:eu-west-1:111122223333:table/t",
      topicArn: "arn:aws:sns:eu-west-1:111122223333:t",
      topicKeyArn: "arn:aws:kms:eu-west-1:111122223333:key/k",
      deadLetterQueueArn: "arn:aws:sqs:eu-west-1:111122223333:q",
      slackWebhookParameterArn: "arn:aws:ssm:eu-west-1:111122223333:parameter/p",
    };
    const single = functionStatements("sweep", scope);
    const org = functionStatements("sweep", scope, grants(false));
    expect(org.slice(0, single.length)).toEqual(single);
    expect(org.slice(single.length)).toEqual(organizationStatements("sweep", "aws", grants(false)));
  });
});

describe("organisation environment of the functions", () => {
  it("tells the acting functions everything but a secret external id", () => {
    expect(organizationEnvironment("sweep", ORG)).toEqual({
      [ORG_FUNCTION_ENV.orgId]: "o-a1b2c3d4e5",
      [ORG_FUNCTION_ENV.memberRoleName]: "network-guardrail-prod-member",
      [ORG_FUNCTION_ENV.accounts]: "444455556666",
      [ORG_FUNCTION_ENV.regions]: "eu-west-1",
    });
  });

  it("passes an inline external id and a read role through", () => {
    const env = organizationEnvironment("security-group-change", {
      ...ORG,
      externalId: "inline-id-1",
      regions: [],
      organizationsRoleArn: "arn:aws:iam::999999999999:role/r",
    });
    expect(env[ORG_FUNCTION_ENV.externalId]).toBe("inline-id-1");
    expect(env[ORG_FUNCTION_ENV.organizationsRoleArn]).toBe("arn:aws:iam::999999999999:role/r");
    expect(env).not.toHaveProperty(ORG_FUNCTION_ENV.regions);
  });

  it("tells the Slack notifier nothing, and nobody anything in single-account mode", () => {
    expect(organizationEnvironment("slack-notifier", ORG)).toEqual({});
    expect(organizationEnvironment("sweep", null)).toEqual({});
  });
});
