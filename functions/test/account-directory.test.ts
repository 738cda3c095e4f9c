import { accountDirectoryFor } from "@guardrail/aws";
import "./setup";
import { Logger } from "@aws-lambda-powertools/logger";
import { RevokeSecurityGroupIngressCommand } from "@aws-sdk/client-ec2";
import { ListTagsForResourceCommand, OrganizationsClient } from "@aws-sdk/client-organizations";
import { AssumeRoleCommand, STSClient } from "@aws-sdk/client-sts";
import { ConfigurationError, DEFAULT_POLICY_YAML } from "@guardrail/core";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { createAccountDirectory } from "../../packages/aws/src/organization";
import { loadConfig } from "../src/config";
import { defaultRemediationDeps } from "../src/deps";
import { securityGroupChange } from "../src/pipelines/security-group-change";
import {
  awsError,
  BASE_ENV,
  MEMBER_B as DEV,
  deployedPolicyEnv,
  memoryFiles,
  mockOrganisationTree,
  ORG_ENV,
  MEMBER_A as PROD,
  policyFiles,
  sshFromWorldIn,
  testDeps,
} from "./helpers";
import { acceptRemediation, ec2, publishedMessages, resetAwsMocks } from "./support/aws-mocks";
import { assumedRole, memberAccessOf, orgs, sts } from "./support/organisation";

const T0 = new Date("2026-06-15T12:00:00Z");

const client = new OrganizationsClient({ region: "us-east-1" });

beforeEach(() => {
  resetAwsMocks();
  orgs.reset();
  sts.reset();
  mockOrganisationTree(orgs);
});
afterEach(() => {
  resetAwsMocks();
  orgs.reset();
  sts.reset();
});

/** The security-group rules that flag ssh from the world apply only in accounts tagged env=prod. */
const PROD_ONLY = DEFAULT_POLICY_YAML.replace(
  "  - id: admin-ports\n",
  "  - id: admin-ports\n    scope: { accountTags: { env: prod } }\n",
).replace(
  "  - id: internet-exposure\n",
  "  - id: internet-exposure\n    scope: { accountTags: { env: prod } }\n",
);

describe("account directory wiring", () => {
  const logger = new Logger({ serviceName: "test", logLevel: "SILENT" });
  const stsClient = new STSClient({ region: "eu-west-1" });

  it("is made only in organisation mode, for a policy that scopes by tags or OUs", () => {
    const plain = loadConfig("sweep", { ...ORG_ENV, GUARDRAIL_ACCOUNTS: PROD }, memoryFiles());
    expect(
      accountDirectoryFor("sweep", plain, { sts: async () => stsClient, logger }),
    ).toBeUndefined();
    const single = loadConfig("security-group-change", BASE_ENV, policyFiles(PROD_ONLY));
    expect(
      accountDirectoryFor("security-group-change", single, { sts: async () => stsClient, logger }),
    ).toBeUndefined();
    const scoped = loadConfig("security-group-change", ORG_ENV, policyFiles(PROD_ONLY));
    expect(
      accountDirectoryFor("security-group-change", scoped, { sts: async () => stsClient, logger }),
    ).toBeDefined();
  });

  it("reads Organizations through GUARDRAIL_ORGANIZATIONS_ROLE_ARN when set", async () => {
    sts.on(AssumeRoleCommand).resolves(assumedRole("ASIAORG"));
    const config = loadConfig(
      "security-group-change",
      { ...ORG_ENV, GUARDRAIL_ORGANIZATIONS_ROLE_ARN: "arn:aws:iam::999999999999:role/org-reader" },
      policyFiles(PROD_ONLY),
    );
    const made: { region: string; accessKeyId: string | undefined }[] = [];
    const d = accountDirectoryFor("security-group-change", config, {
      sts: async () => stsClient,
      logger,
      makeClient: async (region, credentials) => {
        made.push({ region, accessKeyId: (await credentials?.())?.accessKeyId });
        return client;
      },
    });
    await d?.context(PROD);
    expect(made).toEqual([{ region: "us-east-1", accessKeyId: "ASIAORG" }]);
    expect(sts).toHaveReceivedCommandWith(AssumeRoleCommand, {
      RoleArn: "arn:aws:iam::999999999999:role/org-reader",
      RoleSessionName: "guardrail-security-group-change-organizations",
    });
    expect(sts.commandCalls(AssumeRoleCommand)[0]?.args[0].input).not.toHaveProperty("ExternalId");
  });

  it("refuses a malformed GUARDRAIL_ORGANIZATIONS_ROLE_ARN at cold start", () => {
    expect(() =>
      loadConfig(
        "security-group-change",
        { ...ORG_ENV, GUARDRAIL_ORGANIZATIONS_ROLE_ARN: "org-reader" },
        memoryFiles(),
      ),
    ).toThrow(ConfigurationError);
  });

  it("builds the production directory without calling AWS", () => {
    const deps = defaultRemediationDeps("security-group-change", {
      ...ORG_ENV,
      ...deployedPolicyEnv(),
      POWERTOOLS_LOG_LEVEL: "SILENT",
    });
    expect(deps.members).toBeDefined();
    expect(deps.directory).toBeUndefined();
    expect(orgs.calls()).toHaveLength(0);
  });
});

describe("remediation with account tags from Organizations", () => {
  function deps(failOrganizations = false) {
    if (failOrganizations)
      orgs.on(ListTagsForResourceCommand).rejects(awsError("AccessDeniedException"));
    const base = testDeps({ policyYaml: PROD_ONLY });
    const config = loadConfig("security-group-change", ORG_ENV, policyFiles(PROD_ONLY));
    return {
      ...base,
      config,
      members: memberAccessOf("security-group-change", config, base),
      directory: createAccountDirectory({
        client: async () => client,
        needs: { accountTags: true, organizationalUnits: false, ouTags: false },
        now: () => T0,
      }),
    };
  }

  beforeEach(() => {
    sts.on(AssumeRoleCommand).resolves(assumedRole("ASIAM"));
    acceptRemediation();
  });

  it("revokes in an account tagged env=prod", async () => {
    const result = await securityGroupChange(sshFromWorldIn(PROD), deps());
    expect(result).toMatchObject({ status: "decided", result: "revoked" });
  });

  it("leaves an account tagged otherwise alone", async () => {
    const result = await securityGroupChange(sshFromWorldIn(DEV), deps());
    expect(result.status).toBe("compliant");
    expect(ec2).not.toHaveReceivedCommand(RevokeSecurityGroupIngressCommand);
  });

  it("only notifies, saying why, when Organizations cannot be read", async () => {
    const result = await securityGroupChange(sshFromWorldIn(PROD), deps(true));
    expect(result).toMatchObject({ status: "decided", result: "notify-only" });
    expect(ec2).not.toHaveReceivedCommand(RevokeSecurityGroupIngressCommand);
    expect(JSON.stringify(publishedMessages()[0]?.body)).toContain("the account's tags not known");
  });
});
