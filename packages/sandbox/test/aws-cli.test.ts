import { execFile } from "node:child_process";
import { promisify } from "node:util";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { Ec2Sandbox } from "../src/index";
import { HTTPS_IN_FROM_WORLD, startSandbox } from "./helpers";

// The aws CLI (botocore) parses EC2 XML independently of the JS SDK: a second opinion on every
// element name. Debian's awscli lives at /usr/bin/aws; another `aws` may shadow it on PATH.
// `npm test` installs it (scripts/require-tools.mjs): these tests are never skipped.
const AWS_CLI = "/usr/bin/aws";

const run = promisify(execFile);

let sandbox: Ec2Sandbox;
let endpoint: string;

beforeAll(async () => {
  ({ sandbox, endpoint } = await startSandbox());
});

afterAll(async () => {
  await sandbox.close();
});

/** Runs `aws ec2 <args>` against the sandbox; returns parsed JSON, or the failure's exit code and stderr. */
async function aws(
  ...args: string[]
): Promise<{ json: Record<string, unknown> } | { code: number; stderr: string }> {
  try {
    const { stdout } = await run(
      AWS_CLI,
      ["--endpoint-url", endpoint, "--output", "json", "--no-cli-pager", "ec2", ...args],
      {
        env: {
          PATH: process.env.PATH ?? "/usr/bin:/bin",
          HOME: process.env.HOME ?? "/tmp",
          AWS_ACCESS_KEY_ID: "AKIACLITEST000000001",
          AWS_SECRET_ACCESS_KEY: "sandbox-secret",
          AWS_DEFAULT_REGION: "us-east-1",
          // Keep a developer's own profile, pager and retries out of the comparison.
          AWS_CONFIG_FILE: "/dev/null",
          AWS_SHARED_CREDENTIALS_FILE: "/dev/null",
          AWS_PAGER: "",
          AWS_MAX_ATTEMPTS: "1",
        },
        timeout: 20_000,
      },
    );
    return { json: stdout.trim() === "" ? {} : JSON.parse(stdout) };
  } catch (e) {
    const err = e as { code?: number; stderr?: string };
    return { code: err.code ?? -1, stderr: err.stderr ?? String(e) };
  }
}

function json(result: Awaited<ReturnType<typeof aws>>): Record<string, unknown> {
  if (!("json" in result)) throw new Error(`aws CLI failed (${result.code}): ${result.stderr}`);
  return result.json;
}

describe("replies read by the aws CLI", () => {
  it(`describes groups, rules and VPCs with every member parsed`, async () => {
    const { groupId, ingressRuleIds } = sandbox.seedSecurityGroup({
      name: "cli-web",
      ingress: [
        { protocol: "tcp", fromPort: 22, toPort: 22, cidr: "0.0.0.0/0", description: "ssh" },
      ],
    });
    const [groups, rules, vpcs] = await Promise.all([
      aws("describe-security-groups", "--group-ids", groupId),
      aws("describe-security-group-rules", "--filters", `Name=group-id,Values=${groupId}`),
      aws("describe-vpcs"),
    ]);
    expect(json(groups)).toMatchObject({
      SecurityGroups: [
        {
          GroupId: groupId,
          GroupName: "cli-web",
          OwnerId: "123456789012",
          IpPermissions: [
            {
              IpProtocol: "tcp",
              FromPort: 22,
              ToPort: 22,
              IpRanges: [{ CidrIp: "0.0.0.0/0", Description: "ssh" }],
            },
          ],
          IpPermissionsEgress: [{ IpProtocol: "-1", IpRanges: [{ CidrIp: "0.0.0.0/0" }] }],
        },
      ],
    });
    expect(json(rules)).toMatchObject({
      SecurityGroupRules: expect.arrayContaining([
        expect.objectContaining({
          SecurityGroupRuleId: ingressRuleIds[0],
          GroupId: groupId,
          IsEgress: false,
          CidrIpv4: "0.0.0.0/0",
          FromPort: 22,
        }),
      ]),
    });
    expect(json(vpcs)).toMatchObject({
      Vpcs: [{ IsDefault: true, CidrBlock: "172.31.0.0/16", State: "available" }],
    });
  });

  it(`authorizes and reads NACL entries and prefix-list entries`, async () => {
    const { groupId } = sandbox.seedSecurityGroup({ name: "cli-authorize" });
    const aclId = sandbox.seedNetworkAcl({
      entries: [HTTPS_IN_FROM_WORLD],
    });
    const plId = sandbox.seedPrefixList({
      name: "cli-pl",
      entries: [{ cidr: "198.51.100.0/24", description: "hq" }],
    });
    const [authorized, acls, entries] = await Promise.all([
      aws(
        "authorize-security-group-ingress",
        "--group-id",
        groupId,
        "--protocol",
        "tcp",
        "--port",
        "3389",
        "--cidr",
        "10.1.2.3/8",
      ),
      aws("describe-network-acls", "--network-acl-ids", aclId),
      aws("get-managed-prefix-list-entries", "--prefix-list-id", plId),
    ]);
    expect(json(authorized)).toMatchObject({
      Return: true,
      SecurityGroupRules: [
        { GroupId: groupId, FromPort: 3389, CidrIpv4: "10.0.0.0/8", IsEgress: false },
      ],
    });
    expect(json(acls)).toMatchObject({
      NetworkAcls: [
        {
          NetworkAclId: aclId,
          IsDefault: false,
          Entries: expect.arrayContaining([
            expect.objectContaining({
              RuleNumber: 100,
              Protocol: "6",
              PortRange: { From: 443, To: 443 },
              Egress: false,
            }),
          ]),
        },
      ],
    });
    expect(json(entries)).toEqual({ Entries: [{ Cidr: "198.51.100.0/24", Description: "hq" }] });
  });

  it(`reports EC2 error codes the CLI understands`, async () => {
    const { vpcId } = sandbox.seedVpc({ cidrBlock: "10.60.0.0/16" });
    const { groupId } = sandbox.seedSecurityGroup({ name: "cli-errors", vpcId });
    const result = await aws(
      "revoke-security-group-ingress",
      "--group-id",
      groupId,
      "--protocol",
      "tcp",
      "--port",
      "22",
      "--cidr",
      "0.0.0.0/0",
    );
    expect("code" in result && result.code).toBe(254);
    // The CLI may add "(reached max retries: 0)" before the colon.
    expect("stderr" in result && result.stderr).toMatch(
      /An error occurred \(InvalidPermission\.NotFound\) when calling the RevokeSecurityGroupIngress operation[^\n]*: The specified rule does not exist in this security group\./,
    );
  });
});
