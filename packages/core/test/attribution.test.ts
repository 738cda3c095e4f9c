import { readFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { loadFixture } from "../../../test/fixtures/load";
import {
  type Attribution,
  attributeCaller,
  type CallerFields,
  DEFAULT_ATTRIBUTION_TAGS,
  UNKNOWN_CALLER,
} from "../src/attribution";
import { normalise } from "../src/cloudtrail/normalise";

interface Sample {
  readonly name: string;
  readonly source: string;
  readonly fields: Partial<CallerFields>;
  readonly expected: { tool: Attribution["tool"]; label?: string; sessionName?: string };
}

const SAMPLES = (
  JSON.parse(readFileSync(join(import.meta.dirname, "data", "callers.json"), "utf8")) as {
    samples: Sample[];
  }
).samples;

/** A caller of whom nothing is known: every field absent. */
const NOBODY: CallerFields = UNKNOWN_CALLER;

const TERRAFORM =
  "APN/1.0 HashiCorp/1.0 Terraform/1.9.5 (+https://www.terraform.io) terraform-provider-aws/5.70.0 (+https://registry.terraform.io/providers/hashicorp/aws) aws-sdk-go-v2/1.30.5";
const CFN = "cloudformation.amazonaws.com";

describe("attributeCaller on collected CloudTrail fields", () => {
  it("has a source for every sample", () => {
    expect(SAMPLES.length).toBeGreaterThanOrEqual(15);
    for (const s of SAMPLES) expect(s.source.length, s.name).toBeGreaterThan(20);
  });

  it.each(SAMPLES.map((s) => [s.name, s] as const))("%s", (_name, s) => {
    const a = attributeCaller({ ...NOBODY, ...s.fields });
    expect(a.tool).toBe(s.expected.tool);
    if (s.expected.label !== undefined) expect(a.label).toBe(s.expected.label);
    if (s.expected.sessionName !== undefined) expect(a.sessionName).toBe(s.expected.sessionName);
    expect(a.fixAt.length).toBeGreaterThan(10);
  });
});

describe("attributeCaller on the actor the normaliser reads from real captures", () => {
  it.each([
    ["AuthorizeSecurityGroupEgress/detail_panther_terraform_protocol-minus1_no-ports", "terraform"],
    [
      "AuthorizeSecurityGroupIngress/eventbridge_cfn-invokedBy_referenced-group_1",
      "cloudformation",
    ],
    [
      "AuthorizeSecurityGroupIngress/eventbridge_cfn-invokedBy_referenced-group_2",
      "cloudformation",
    ],
    ["AuthorizeSecurityGroupIngress/detail_iamuser-cli_cidrIp_elastic", "aws-cli"],
    ["AuthorizeSecurityGroupEgress/detail_ec2-instance-role_cidrIp_elastic", "aws-cli"],
    ["AuthorizeSecurityGroupIngress/detail_panther_go-sdk", "sdk"],
    ["AuthorizeSecurityGroupIngress/cross-account-caller_assumed-role", "sdk"],
    ["AuthorizeSecurityGroupIngress/detail_assumedrole-console_cidrIp_2025", "console"],
    ["AuthorizeSecurityGroupIngress/eventbridge_root-console_cidrIp", "console"],
    [
      "AuthorizeSecurityGroupIngress/aws-service-caller_minimal-userIdentity_invokedBy",
      "aws-service",
    ],
  ] as const)("%s → %s", (id, tool) => {
    const [eventName = "", caseName = ""] = id.split("/");
    const result = normalise(loadFixture(eventName, caseName));
    if (result.status !== "handled") throw new Error(`${id} is ${result.status}`);
    expect(attributeCaller(result.event.actor).tool).toBe(tool);
  });
});

describe("where to fix it", () => {
  const stackTags = {
    "aws:cloudformation:stack-name": "web-prod",
    "aws:cloudformation:stack-id":
      "arn:aws:cloudformation:eu-west-1:123456789012:stack/web-prod/0f1e2d3c-4b5a-6978-8796-a5b4c3d2e1f0",
    "aws:cloudformation:logical-id": "WebSecurityGroup",
  };

  it("names the CloudFormation stack from the group's aws:cloudformation tags", () => {
    const a = attributeCaller(
      {
        ...NOBODY,
        arn: "arn:aws:sts::123456789012:assumed-role/cfn-deployer/AWSCloudFormation",
        invokedBy: CFN,
        sourceIp: CFN,
        userAgent: CFN,
      },
      stackTags,
    );
    expect(a.tool).toBe("cloudformation");
    expect(a.evidence).toEqual(["userIdentity.invokedBy", "sourceIPAddress", "userAgent"]);
    expect(a.stack).toEqual({
      name: "web-prod",
      id: stackTags["aws:cloudformation:stack-id"],
      logicalId: "WebSecurityGroup",
    });
    expect(a.fixAt).toContain('CloudFormation stack "web-prod" (resource WebSecurityGroup)');
  });

  it("says it does not know the stack when the group carries no stack tag", () => {
    const a = attributeCaller({
      ...NOBODY,
      invokedBy: CFN,
      arn: "arn:aws:sts::1:assumed-role/r/s",
    });
    expect(a.stack).toBeNull();
    expect(a.fixAt).toContain("no aws:cloudformation:stack-name tag");
  });

  it("reads Terraform's workspace and repository only from tags", () => {
    const tags = { "terraform:workspace": "prod", git_repo: "acme/network", Name: "web" };
    const a = attributeCaller({ ...NOBODY, userAgent: TERRAFORM }, tags);
    expect(a).toMatchObject({ tool: "terraform", workspace: "prod", repository: "acme/network" });
    expect(a.fixAt).toBe(
      'the Terraform code of workspace "prod" in repository "acme/network": change the rule there, or the next apply opens it again',
    );
    const untagged = attributeCaller({
      ...NOBODY,
      userAgent: TERRAFORM,
      arn: "arn:aws:iam::1:user/ci",
    });
    expect(untagged).toMatchObject({ workspace: null, repository: null, stack: null });
    expect(untagged.fixAt).toContain("no workspace or repository tag");
    expect(untagged.fixAt).toContain("arn:aws:iam::1:user/ci");
  });

  it("uses the policy's tag keys instead of the defaults", () => {
    const keys = { workspaceTags: ["tfc-workspace"], repositoryTags: ["vcs"] };
    const tags = { "tfc-workspace": "network-prod", vcs: "gh:acme/net", Workspace: "ignored" };
    expect(attributeCaller({ ...NOBODY, userAgent: TERRAFORM }, tags, keys)).toMatchObject({
      workspace: "network-prod",
      repository: "gh:acme/net",
    });
    expect(DEFAULT_ATTRIBUTION_TAGS.workspaceTags).toContain("Workspace");
  });

  it("never gives a stack to Terraform, nor a workspace to CloudFormation", () => {
    const tags = { ...stackTags, Workspace: "prod" };
    expect(attributeCaller({ ...NOBODY, userAgent: TERRAFORM }, tags).stack).toBeNull();
    expect(attributeCaller({ ...NOBODY, invokedBy: CFN }, tags).workspace).toBeNull();
  });

  it("prefers CloudFormation's own fields to the console flag of the session that started it", () => {
    const a = attributeCaller({
      ...NOBODY,
      invokedBy: CFN,
      console: true,
      userAgent: "AWS Internal",
    });
    expect(a.tool).toBe("cloudformation");
    expect(a.evidence).toEqual(["userIdentity.invokedBy"]);
  });

  it("reads the version up to an SDK's escape of the user agent (`1.9.5--https-//…`)", () => {
    const escaped =
      "aws-sdk-js/3.700.0 ua/2.1 APN/1.0 HashiCorp/1.0 Terraform/1.9.5--https-//www.terraform.io-";
    expect(attributeCaller({ ...NOBODY, userAgent: escaped }).label).toBe("Terraform 1.9.5");
    expect(
      attributeCaller({ ...NOBODY, userAgent: "APN/1.0 HashiCorp/1.0 OpenTofu/1.6.0-beta1" })
        .version,
    ).toBe("1.6.0-beta1");
  });

  it("attributes nothing it cannot read", () => {
    const a = attributeCaller(NOBODY);
    expect(a).toMatchObject({ tool: "unknown", principal: null, evidence: [] });
    expect(a.fixAt).toContain("unknown principal");
  });
});
