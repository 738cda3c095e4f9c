import { AuthorizeSecurityGroupIngressCommand } from "@aws-sdk/client-ec2";
import { StsSandbox } from "@guardrail/sandbox";
import { APPROVER, DEVELOPER, type LocalStack, startLocalStack } from "@guardrail/sandbox/local";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { main } from "../src/main";
import { memoryIo } from "./support/io";

const KEY = "guardrail-exempt";
const day = (days: number) => new Date(Date.now() + days * 86_400_000).toISOString().slice(0, 10);

/**
 * `guardrail exemptions adopt` against the local stack: tags set before the guardrail was
 * deployed are notified as unverified until an approver adopts them, and then honoured.
 */
describe("guardrail exemptions adopt", { timeout: 60_000 }, () => {
  let stack: LocalStack;
  let sts: StsSandbox;
  let stsEndpoint: string;
  let policyFile: string;
  let legacy: string;
  let broken: string;

  beforeAll(async () => {
    stack = await startLocalStack();
    const accessKeys = {
      [DEVELOPER.accessKeyId]: {
        type: "IAMUser" as const,
        accountId: stack.accountId,
        userName: DEVELOPER.userName,
      },
      [APPROVER.accessKeyId]: {
        type: "AssumedRole" as const,
        accountId: stack.accountId,
        roleName: APPROVER.roleName,
        sessionName: APPROVER.sessionName,
      },
    };
    sts = new StsSandbox({ accessKeys, defaultAccountId: stack.accountId });
    stsEndpoint = await sts.listen(0);
    const { mkdtemp, writeFile } = await import("node:fs/promises");
    const { tmpdir } = await import("node:os");
    const { join } = await import("node:path");
    const { sandboxPolicyYaml } = await import("@guardrail/sandbox/local");
    policyFile = join(await mkdtemp(join(tmpdir(), "adopt-")), "policy.yaml");
    await writeFile(policyFile, sandboxPolicyYaml(stack.accountId));
    // Tagged and opened before the guardrail was deployed: no event, no record.
    legacy = stack.sandbox.seedSecurityGroup({
      name: "legacy-app",
      tags: { [KEY]: `reason=legacy app;expires=${day(20)};rules=internet-exposure` },
      ingress: [{ protocol: "tcp", fromPort: 8080, toPort: 8080, cidr: "0.0.0.0/0" }],
    }).groupId;
    broken = stack.sandbox.seedSecurityGroup({
      name: "legacy-broken",
      tags: { [KEY]: `reason=everything;expires=${day(20)}` },
    }).groupId;
  });

  afterAll(async () => {
    await sts.close();
    await stack.close();
  });

  async function adopt(
    who: { accessKeyId: string; secretAccessKey: string },
    extra: string[] = [],
  ) {
    const io = memoryIo({
      env: { AWS_ACCESS_KEY_ID: who.accessKeyId, AWS_SECRET_ACCESS_KEY: who.secretAccessKey },
    });
    const code = await main(
      [
        "exemptions",
        "adopt",
        "--policy",
        policyFile,
        "--table",
        stack.tableName,
        "--region",
        stack.region,
        "--endpoint-url",
        stack.endpoints.ec2,
        "--dynamodb-endpoint-url",
        stack.endpoints.dynamo,
        "--sts-endpoint-url",
        stsEndpoint,
        ...extra,
      ],
      io,
    );
    return { code, out: io.stdout.text(), err: io.stderr.text() };
  }

  it("notifies an unrecorded tag's finding as an unverified exemption, and keeps the rule", async () => {
    const { result } = await stack.runSweep();
    await stack.idle();
    expect(result.counts).toMatchObject({ revoked: 0, exempt: 0 });
    const decisions = await stack.dynamo.decisions(stack.accountId);
    const finding = decisions.find((d) => d.resourceId === legacy)?.findings[0];
    expect(finding).toMatchObject({ rule: "internet-exposure", result: "notify-only" });
    expect(finding?.reason).toContain(`unverified exemption: tag ${KEY} on ${legacy}`);
  });

  it("refuses a developer, who is not an approver", async () => {
    const { code, out } = await adopt(DEVELOPER, ["--group", legacy]);
    expect(code).toBe(1);
    expect(out).toMatch(new RegExp(`${legacy} +${KEY} +not-approver`));
  });

  it("records the approver's adoption, not the invalid tag, and the sweep then honours it", async () => {
    const { code, out, err } = await adopt(APPROVER);
    expect(err).toBe("");
    expect(code).toBe(1);
    expect(out).toContain(`as arn:aws:iam::${stack.accountId}:role/${APPROVER.roleName}`);
    expect(out).toMatch(new RegExp(`${legacy} +${KEY} +adopted`));
    expect(out).toMatch(new RegExp(`${broken} +${KEY} +invalid .*rules is missing`));
    const items = await stack.dynamo.exemptions(stack.accountId);
    expect(items.find((i) => i.groupId === legacy)).toMatchObject({
      status: "adopted",
      record: {
        via: "adopt",
        approver: `arn:aws:iam::${stack.accountId}:role/${APPROVER.roleName}`,
      },
    });
    // A compliant change to the group makes the sweep record it again (it records what changed).
    await stack.developerEc2().send(
      new AuthorizeSecurityGroupIngressCommand({
        GroupId: legacy,
        IpPermissions: [
          { IpProtocol: "tcp", FromPort: 443, ToPort: 443, IpRanges: [{ CidrIp: "0.0.0.0/0" }] },
        ],
      }),
    );
    await stack.idle();
    const { result } = await stack.runSweep();
    expect(result.counts).toMatchObject({ revoked: 0, exempt: 1, "notify-only": 0 });
    const decisions = await stack.dynamo.decisions(stack.accountId);
    const waived = decisions
      .filter((d) => d.resourceId === legacy && d.source === "sweep")
      .flatMap((d) => d.findings)
      .find((f) => f.result === "exempt");
    expect(waived?.exemption).toMatchObject({
      kind: "tag",
      approvedBy: `arn:aws:iam::${stack.accountId}:role/${APPROVER.roleName}`,
    });
  });

  it("leaves a tag already on record alone", async () => {
    const { code, out } = await adopt(APPROVER, ["--group", legacy]);
    expect(code).toBe(0);
    expect(out).toMatch(new RegExp(`${legacy} +${KEY} +recorded`));
  });
});
