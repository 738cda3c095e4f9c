import { DEVELOPER, type LocalStack, startLocalStack } from "@guardrail/sandbox/local";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { awsCli } from "./aws-cli";
import { type DescribedEntry, verdict, violations } from "./nacl-oracle";

/** Each aws CLI call starts a Python process: several seconds per test on a busy machine. */
const SLOW = 180_000;

/**
 * Remediation without collateral, driven with the aws CLI against the local stack that
 * `npm start -- --serve` runs (the sandbox EC2 endpoint, EventBridge routing, the real
 * functions and the sweep). After each change the ACL is read back with describe-network-acls
 * and judged by an oracle written apart from the planner (./nacl-oracle.ts): no forbidden
 * packet allowed, every other packet's verdict kept.
 */

interface Decision {
  readonly event?: { readonly name: string };
  readonly result?: string;
  readonly findings?: readonly {
    rule: string;
    result: string;
    action?: { type: string; inserted?: string[]; check?: string };
  }[];
}

const seeded = (
  ruleNumber: number,
  egress: boolean,
  ruleAction: "allow" | "deny",
  from: number,
  to: number,
) => ({
  ruleNumber,
  egress,
  protocol: "6",
  ruleAction,
  cidr: "0.0.0.0/0",
  fromPort: from,
  toPort: to,
});

/** The entry as describe-network-acls prints it. */
const described = (
  n: number,
  egress: boolean,
  action: string,
  protocol: string,
  from?: number,
  to?: number,
): DescribedEntry => ({
  RuleNumber: n,
  Egress: egress,
  RuleAction: action,
  Protocol: protocol,
  CidrBlock: "0.0.0.0/0",
  ...(from === undefined ? {} : { PortRange: { From: from, To: to ?? from } }),
});

describe("remediation without collateral, with the aws CLI", () => {
  let stack: LocalStack;
  let vpcId: string;

  const cli = (args: readonly string[]) =>
    awsCli(
      {
        endpoint: stack.endpoints.ec2,
        accessKeyId: DEVELOPER.accessKeyId,
        secretAccessKey: DEVELOPER.secretAccessKey,
        region: stack.region,
      },
      ["ec2", ...args],
    );

  async function entries(acl: string): Promise<DescribedEntry[]> {
    const out = (await cli(["describe-network-acls", "--network-acl-ids", acl])) as {
      NetworkAcls: { Entries: DescribedEntry[] }[];
    };
    return out.NetworkAcls[0]?.Entries ?? [];
  }

  const decisions = (name: string) =>
    stack
      .notifications()
      .filter((n) => n.schema === "guardrail.decision/v1")
      .map((n) => n.message as Decision)
      .filter((d) => d.event?.name === name);

  /** The oracle's verdict on the ACL now, against the ACL as the user left it. */
  async function judged(acl: string, made: readonly DescribedEntry[]) {
    // The oracle is not vacuous: the ACL as the user left it allows forbidden packets.
    expect(violations(made, made).allowedForbidden.length).toBeGreaterThan(0);
    const now = await entries(acl);
    expect(violations(made, now)).toEqual({ allowedForbidden: [], changedCompliant: [] });
    return now;
  }

  const reaches22 = (acl: readonly DescribedEntry[], address: string) =>
    verdict(acl, { egress: false, protocol: 6, port: 22, address });

  beforeAll(async () => {
    stack = await startLocalStack();
    vpcId = stack.sandbox.defaultVpc().vpcId;
  });

  afterAll(async () => {
    await stack.close();
  });

  it("egress allow tcp 0-1023 to the world: only tcp 25 to public addresses is denied, 80 and 443 kept", {
    timeout: SLOW,
  }, async () => {
    const acl = stack.sandbox.seedNetworkAcl({ vpcId });
    await cli([
      "create-network-acl-entry",
      "--network-acl-id",
      acl,
      "--egress",
      "--rule-number",
      "100",
      "--protocol",
      "tcp",
      "--port-range",
      "From=0,To=1023",
      "--cidr-block",
      "0.0.0.0/0",
      "--rule-action",
      "allow",
    ]);
    await stack.idle(20_000);
    const now = await judged(acl, [described(100, true, "allow", "6", 0, 1023)]);
    // Entry 100 stays; the web ports still leave; tcp 25 to the world does not.
    expect(now.some((e) => e.Egress && e.RuleNumber === 100 && e.RuleAction === "allow")).toBe(
      true,
    );
    for (const port of [80, 443]) {
      expect(verdict(now, { egress: true, protocol: 6, port, address: "52.1.2.3" })).toBe("allow");
    }
    expect(verdict(now, { egress: true, protocol: 6, port: 25, address: "52.1.2.3" })).toBe("deny");
    expect(verdict(now, { egress: true, protocol: 6, port: 25, address: "10.1.2.3" })).toBe(
      "allow",
    );
    const [decision] = decisions("CreateNetworkAclEntry");
    expect(decision?.result).toBe("revoked");
    expect(decision?.findings?.[0]).toMatchObject({
      rule: "nacl-smtp-egress",
      action: { type: "insert-network-acl-entries", check: expect.stringMatching(/^checked: /) },
    });
  });

  it("a replaced entry opening tcp 22 to the world is remediated; office and VPC ranges keep port 22", {
    timeout: SLOW,
  }, async () => {
    const acl = stack.sandbox.seedNetworkAcl({
      vpcId,
      entries: [seeded(100, false, "allow", 443, 443)],
    });
    await cli([
      "replace-network-acl-entry",
      "--network-acl-id",
      acl,
      "--ingress",
      "--rule-number",
      "100",
      "--protocol",
      "tcp",
      "--port-range",
      "From=22,To=22",
      "--cidr-block",
      "0.0.0.0/0",
      "--rule-action",
      "allow",
    ]);
    await stack.idle(20_000);
    const made = [described(100, false, "allow", "6", 22)];
    const now = await judged(acl, made);
    expect(reaches22(now, "52.1.2.3")).toBe("deny");
    for (const address of ["203.0.113.7", "172.31.5.5", "10.1.2.3"]) {
      expect(reaches22(now, address), address).toBe(reaches22(made, address));
      expect(reaches22(now, address), address).toBe("allow");
    }
    const [decision] = decisions("ReplaceNetworkAclEntry");
    expect(decision).toMatchObject({ result: "revoked" });
    expect(decision?.findings?.[0]?.action?.type).toBe("insert-network-acl-entries");
  });

  it("a deny deleted in front of an allow of tcp 0-1023 from the world: exactly the forbidden ports denied", {
    timeout: SLOW,
  }, async () => {
    const acl = stack.sandbox.seedNetworkAcl({
      vpcId,
      entries: [seeded(90, false, "deny", 22, 22), seeded(100, false, "allow", 0, 1023)],
    });
    await cli([
      "delete-network-acl-entry",
      "--network-acl-id",
      acl,
      "--ingress",
      "--rule-number",
      "90",
    ]);
    await stack.idle(20_000);
    const made = [described(100, false, "allow", "6", 0, 1023)];
    const now = await judged(acl, made);
    expect(reaches22(now, "52.1.2.3")).toBe("deny");
    expect(verdict(now, { egress: false, protocol: 6, port: 443, address: "52.1.2.3" })).toBe(
      "allow",
    );
    // Office and VPC ranges reach port 22 now, as the deletion left them (before it, nobody did).
    for (const address of ["203.0.113.7", "172.31.5.5"]) {
      expect(reaches22(now, address), address).toBe("allow");
    }
    expect(decisions("DeleteNetworkAclEntry")[0]).toMatchObject({ result: "revoked" });
    // The sweep plans the same ACL with the same planner: nothing more is done.
    await stack.runSweep();
    await stack.idle(20_000);
    expect(await entries(acl)).toEqual(now);
  });
});
