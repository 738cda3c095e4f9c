import { readFile, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { DEFAULT_POLICY_YAML, GUARDRAIL_FUNCTIONS, loadPolicy } from "@guardrail/core";
import {
  exemptionTagKeys,
  roleName,
  SCP_MAX_CHARACTERS,
  TAG_POLICY_MAX_CHARACTERS,
} from "@guardrail/templates";
import { describe, expect, it } from "vitest";
import { type IoOptions, runCli } from "./support/run";
import { tempDir } from "./support/temp-dir";

const DEPLOYER = "arn:aws:iam::111122223333:role/guardrail-deploy";
const APPROVER = "arn:aws:iam::*:role/security-exemption-approver";
const FLAGS = ["--deployer", DEPLOYER, "--approver", APPROVER];

async function run(argv: string[], options: IoOptions = {}) {
  return runCli(["scp", ...argv], {
    cwd: await tempDir("guardrail-scp-"),
    ...options,
  });
}

interface Statement {
  Sid: string;
  Effect: string;
  Action: string[];
  Resource: string | string[];
  Condition: Record<string, Record<string, string[]>>;
}

describe("guardrail scp", () => {
  it("prints a minified SCP within AWS's 5,120 characters, denying only", async () => {
    const { code, out, err } = await run([...FLAGS, "--regions", "eu-west-1,us-east-1"]);
    expect(code).toBe(0);
    expect(out.endsWith("\n")).toBe(true);
    const text = out.trimEnd();
    expect(text.length).toBeLessThanOrEqual(SCP_MAX_CHARACTERS);
    expect(JSON.stringify(JSON.parse(text))).toBe(text);
    const scp = JSON.parse(text) as { Version: string; Statement: Statement[] };
    expect(scp.Version).toBe("2012-10-17");
    for (const s of scp.Statement) expect(s.Effect).toBe("Deny");
    expect(err).toMatch(
      new RegExp(
        `^SCP of ${text.length} characters \\(limit 5120\\) protecting tag guardrail-exempt`,
      ),
    );
    expect(err).toContain("SCPs do not bind the management account");
  });

  it("lets only the deployers (and StackSets) change or pass the stage's roles in every Region", async () => {
    const { out } = await run([...FLAGS, "--stage", "live", "--regions", "eu-west-1,us-east-1"]);
    const [roles] = (JSON.parse(out) as { Statement: Statement[] }).Statement;
    expect(roles?.Sid).toBe("GuardrailRolesOnlyByDeployers");
    expect(roles?.Action).toEqual(
      expect.arrayContaining([
        "iam:PassRole",
        "iam:PutRolePolicy",
        "iam:UpdateAssumeRolePolicy",
        "iam:CreateRole",
        "iam:DeleteRole",
      ]),
    );
    const expected = ["eu-west-1", "us-east-1"].flatMap((r) =>
      GUARDRAIL_FUNCTIONS.map(
        (fn) => `arn:aws:iam::*:role/${roleName("network-guardrail", "live", r, fn)}`,
      ),
    );
    expect(roles?.Resource).toEqual([
      ...expected,
      "arn:aws:iam::*:role/network-guardrail-live-member",
    ]);
    expect(roles?.Condition).toEqual({
      ArnNotLike: { "aws:PrincipalArn": [DEPLOYER, "arn:aws:iam::*:role/stacksets-exec-*"] },
    });
  });

  it("lets only the approvers add or remove the policy's exemption tag, through EC2 and the tagging API", async () => {
    const { out } = await run([...FLAGS, "--approver", "arn:aws:iam::222233334444:role/ciso"]);
    const [, tags] = (JSON.parse(out) as { Statement: Statement[] }).Statement;
    expect(tags).toEqual({
      Sid: "ExemptionTagOnlyByApprovers",
      Effect: "Deny",
      Action: ["ec2:CreateTags", "ec2:DeleteTags", "tag:TagResources", "tag:UntagResources"],
      Resource: "*",
      Condition: {
        "ForAnyValue:StringEqualsIgnoreCase": {
          "aws:TagKeys": exemptionTagKeys(loadPolicy(DEFAULT_POLICY_YAML)),
        },
        ArnNotLike: { "aws:PrincipalArn": [APPROVER, "arn:aws:iam::222233334444:role/ciso"] },
      },
    });
  });

  it("keeps non-approvers from deleting all of a security group's tags (DeleteTags without tags)", async () => {
    const { out } = await run(FLAGS);
    const [, , all] = (JSON.parse(out) as { Statement: Statement[] }).Statement;
    expect(all).toEqual({
      Sid: "ExemptionTagNotDeletedWithAllTags",
      Effect: "Deny",
      Action: ["ec2:DeleteTags"],
      Resource: "arn:aws:ec2:*:*:security-group/*",
      // aws:TagKeys is absent from a DeleteTags without tags: Null "true" is what matches it.
      Condition: {
        Null: { "aws:TagKeys": "true" },
        ArnNotLike: { "aws:PrincipalArn": [APPROVER] },
      },
    });
  });

  it("reads the tag key from --policy, or ./guardrail.policy.yaml as the stack does", async () => {
    const dir = await tempDir("guardrail-scp-policy-");
    const custom = DEFAULT_POLICY_YAML.replace(/tagKey: guardrail-exempt/, "tagKey: SecOpsWaiver");
    expect(custom).not.toBe(DEFAULT_POLICY_YAML);
    await writeFile(join(dir, "guardrail.policy.yaml"), custom);
    const local = await run(FLAGS, { cwd: dir });
    expect(local.code).toBe(0);
    expect(local.out).toContain('"aws:TagKeys":["SecOpsWaiver"]');
    expect(local.err).toContain("from guardrail.policy.yaml");
    const other = join(dir, "other.yaml");
    await writeFile(other, DEFAULT_POLICY_YAML);
    const given = await run([...FLAGS, "--policy", other], { cwd: dir });
    expect(given.out).toContain('"aws:TagKeys":["guardrail-exempt"]');
  });

  it("prints the tag policy fixing the key's spelling with --tag-policy", async () => {
    const { code, out } = await run(["--tag-policy"]);
    expect(code).toBe(0);
    expect(out.length).toBeLessThanOrEqual(TAG_POLICY_MAX_CHARACTERS);
    expect(JSON.parse(out)).toEqual({
      tags: {
        "guardrail-exempt": {
          tag_key: { "@@assign": "guardrail-exempt" },
          enforced_for: { "@@assign": ["ec2:*"] },
        },
      },
    });
  });

  it("writes the document to --output", async () => {
    const dir = await tempDir("guardrail-scp-out-");
    const { code, out } = await run([...FLAGS, "-o", "scp.json"], { cwd: dir });
    expect(code).toBe(0);
    expect(out).toBe("");
    expect(JSON.parse(await readFile(join(dir, "scp.json"), "utf8")).Statement).toHaveLength(3);
  });

  it.each([
    [["--deployer", DEPLOYER], /give at least one approver/],
    [["--approver", APPROVER], /give at least one deployer/],
    [[...FLAGS, "--approver", "bob"], /approver: "bob" is not an IAM principal ARN/],
    [[...FLAGS, "--regions", "Mars"], /regions: give the Regions/],
  ])("refuses %j with exit 2 and prints nothing", async (argv, message) => {
    const { code, out, err } = await run(argv as string[]);
    expect(code).toBe(2);
    expect(out).toBe("");
    expect(err).toMatch(message as RegExp);
  });

  it("refuses an SCP AWS would reject for its size, saying how to shrink it", async () => {
    const many = Array.from({ length: 80 }, (_, i) => [
      "--approver",
      `arn:aws:iam::${String(100000000000 + i)}:role/security-exemption-approver-${i}`,
    ]).flat();
    const { code, out, err } = await run(["--deployer", DEPLOYER, ...many]);
    expect(code).toBe(2);
    expect(out).toBe("");
    expect(err).toMatch(/over the 5120 AWS Organizations accepts: use wildcards/);
  });
});
