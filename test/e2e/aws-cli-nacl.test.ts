import { DEVELOPER, type LocalStack, startLocalStack } from "@guardrail/sandbox/local";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { awsCli } from "./aws-cli";
import { violations } from "./nacl-oracle";

/** Each aws CLI call starts a Python process: several seconds per test on a busy machine. */
const SLOW = 180_000;

/**
 * Network ACLs judged as AWS evaluates them, driven with the aws CLI against the local stack
 * (the sandbox EC2 endpoint, EventBridge routing and the real functions).
 */

interface Entry {
  readonly RuleNumber: number;
  readonly Egress: boolean;
  readonly RuleAction: string;
  readonly Protocol: string;
  readonly CidrBlock?: string;
  readonly PortRange?: { readonly From: number; readonly To: number };
}

interface Decision {
  readonly event?: { readonly name: string };
  readonly result?: string;
  readonly findings?: readonly { rule: string; mode: string; result: string; reason: string }[];
}

function client(stack: () => LocalStack) {
  return (args: readonly string[]) =>
    awsCli(
      {
        endpoint: stack().endpoints.ec2,
        accessKeyId: DEVELOPER.accessKeyId,
        secretAccessKey: DEVELOPER.secretAccessKey,
        region: stack().region,
      },
      ["ec2", ...args],
    );
}

const entryArgs = (acl: string, n: number, action: string, port: number) => [
  "create-network-acl-entry",
  "--network-acl-id",
  acl,
  "--ingress",
  "--rule-number",
  String(n),
  "--protocol",
  "tcp",
  "--port-range",
  `From=${port},To=${port}`,
  "--cidr-block",
  "0.0.0.0/0",
  "--rule-action",
  action,
];

async function entries(cli: ReturnType<typeof client>, acl: string): Promise<Entry[]> {
  const out = (await cli(["describe-network-acls", "--network-acl-ids", acl])) as {
    NetworkAcls: { Entries: Entry[] }[];
  };
  return (out.NetworkAcls[0]?.Entries ?? []).filter((e) => !e.Egress && e.RuleNumber < 32767);
}

const text = (es: readonly Entry[]) =>
  es.map((e) => `${e.RuleNumber} ${e.RuleAction} ${e.Protocol} ${e.PortRange?.From ?? "all"}`);

function decisions(stack: LocalStack): Decision[] {
  return stack
    .notifications()
    .filter((n) => n.schema === "guardrail.decision/v1")
    .map((n) => n.message as Decision);
}

describe("network ACLs with the aws CLI", () => {
  let stack: LocalStack;
  const cli = client(() => stack);

  beforeAll(async () => {
    stack = await startLocalStack();
  });

  afterAll(async () => {
    await stack.close();
  });

  it("takes no action on an allow a deny shadows, and acts once the deny is deleted", {
    timeout: SLOW,
  }, async () => {
    const { vpcId } = stack.sandbox.defaultVpc();
    const created = (await cli(["create-network-acl", "--vpc-id", vpcId])) as {
      NetworkAcl: { NetworkAclId: string };
    };
    const acl = created.NetworkAcl.NetworkAclId;
    await cli(entryArgs(acl, 90, "deny", 22));
    await cli(entryArgs(acl, 100, "allow", 22));
    await stack.idle(20_000);
    expect(text(await entries(cli, acl))).toEqual(["90 deny 6 22", "100 allow 6 22"]);
    expect(decisions(stack).filter((d) => d.event?.name === "CreateNetworkAclEntry")).toEqual([]);

    await cli([
      "delete-network-acl-entry",
      "--network-acl-id",
      acl,
      "--ingress",
      "--rule-number",
      "90",
    ]);
    await stack.idle(20_000);
    // The allow now lets SSH in from anywhere: the planner denies exactly that, keeping tcp 22
    // from the VPC and office ranges (allows ahead of the deny), and leaves 100 in place.
    const now = await entries(cli, acl);
    expect(text(now)).toEqual([
      "94 allow 6 22",
      "95 allow 6 22",
      "96 allow 6 22",
      "97 allow 6 22",
      "98 allow 6 22",
      "99 deny 6 22",
      "100 allow 6 22",
    ]);
    // The packet oracle over what describe-network-acls lists: first match by rule number.
    const verdict = (address: string) => {
      const ip = address.split(".").reduce((n, o) => n * 256 + Number(o), 0);
      const inBlock = (cidr = "") => {
        const [base = "", bits = "0"] = cidr.split("/");
        const b = base.split(".").reduce((n, o) => n * 256 + Number(o), 0);
        const size = 2 ** (32 - Number(bits));
        return ip >= b && ip < b + size;
      };
      const hit = [...now]
        .sort((x, y) => x.RuleNumber - y.RuleNumber)
        .find((e) => e.PortRange?.From === 22 && inBlock(e.CidrBlock));
      return hit?.RuleAction ?? "deny";
    };
    expect(verdict("198.18.0.1")).toBe("deny");
    expect(verdict("10.1.2.3")).toBe("allow");
    expect(verdict("203.0.113.7")).toBe("allow");
    const [decision] = decisions(stack).filter((d) => d.event?.name === "DeleteNetworkAclEntry");
    expect(decision).toMatchObject({ result: "revoked" });
    expect(decision?.findings?.[0]).toMatchObject({ rule: "nacl-admin-ports", result: "revoked" });
  });

  it("a default entry 100 replaced by tcp 0-1023: the event path and then the sweep deny only tcp 22 from the world", {
    timeout: SLOW,
  }, async () => {
    const { vpcId } = stack.sandbox.defaultVpc();
    const acl = stack.sandbox.seedNetworkAcl({
      vpcId,
      entries: [
        { ruleNumber: 100, egress: false, protocol: "-1", ruleAction: "allow", cidr: "0.0.0.0/0" },
      ],
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
      "From=0,To=1023",
      "--cidr-block",
      "0.0.0.0/0",
      "--rule-action",
      "allow",
    ]);
    await stack.idle(20_000);
    const afterEvent = text(await entries(cli, acl));
    // tcp 22 from the world denied; from the VPC and office ranges, and every other port, kept.
    expect(afterEvent).toEqual([
      "94 allow 6 0",
      "95 allow 6 0",
      "96 allow 6 0",
      "97 allow 6 0",
      "98 allow 6 0",
      "99 deny 6 22",
      "100 allow 6 0",
    ]);
    // The packet oracle: against entry 100 as replaced, no forbidden packet allowed, every
    // other packet's verdict kept.
    const made = [
      {
        RuleNumber: 100,
        Egress: false,
        RuleAction: "allow",
        Protocol: "6",
        CidrBlock: "0.0.0.0/0",
        PortRange: { From: 0, To: 1023 },
      },
    ];
    expect(violations(made, await entries(cli, acl))).toEqual({
      allowedForbidden: [],
      changedCompliant: [],
    });
    const [decision] = decisions(stack).filter((d) => d.event?.name === "ReplaceNetworkAclEntry");
    expect(decision).toMatchObject({ result: "revoked" });
    // The sweep plans with the same planner on the same ACL: nothing more to do, entry 100 stays.
    await stack.runSweep();
    await stack.idle(20_000);
    expect(text(await entries(cli, acl))).toEqual(afterEvent);
    expect(violations(made, await entries(cli, acl)).allowedForbidden).toEqual([]);
  });

  it("reports a subnet moved to an open ACL", { timeout: SLOW }, async () => {
    const { vpcId } = stack.sandbox.defaultVpc();
    // An ACL that already allows everything (made before the guardrail was watching).
    const open = stack.sandbox.seedNetworkAcl({
      vpcId,
      entries: [
        { ruleNumber: 100, egress: false, protocol: "-1", ruleAction: "allow", cidr: "0.0.0.0/0" },
      ],
    });
    const subnet = (await cli([
      "create-subnet",
      "--vpc-id",
      vpcId,
      "--cidr-block",
      "172.31.200.0/24",
    ])) as { Subnet: { SubnetId: string } };
    const acls = (await cli([
      "describe-network-acls",
      "--filters",
      `Name=vpc-id,Values=${vpcId}`,
      "Name=default,Values=true",
    ])) as {
      NetworkAcls: { Associations: { SubnetId: string; NetworkAclAssociationId: string }[] }[];
    };
    const association = acls.NetworkAcls[0]?.Associations.find(
      (a) => a.SubnetId === subnet.Subnet.SubnetId,
    );
    expect(association?.NetworkAclAssociationId).toMatch(/^aclassoc-/);
    await cli([
      "replace-network-acl-association",
      "--association-id",
      association?.NetworkAclAssociationId ?? "",
      "--network-acl-id",
      open,
    ]);
    await stack.idle(20_000);
    const [decision] = decisions(stack).filter(
      (d) => d.event?.name === "ReplaceNetworkAclAssociation",
    );
    // Allow-all is broad: the shipped policy only notifies about it (whenBroad: notify).
    expect(decision).toMatchObject({ result: "notify-only" });
    expect(decision?.findings?.map((f) => `${f.rule}:${f.mode}`)).toEqual([
      "nacl-admin-ports:notify",
    ]);
    expect(text(await entries(cli, open))).toEqual(["100 allow -1 all"]);
  });
});

describe("a late network-ACL event, with the aws CLI", () => {
  let stack: LocalStack;
  const cli = client(() => stack);

  beforeAll(async () => {
    // CloudTrail is late: the entry is deleted and made again before its event arrives.
    stack = await startLocalStack({ eventDelayMs: 15_000 });
  });

  afterAll(async () => {
    await stack.close();
  });

  it("leaves the compliant entry made in place of an offending one in place", {
    timeout: SLOW,
  }, async () => {
    const { vpcId } = stack.sandbox.defaultVpc();
    const acl = stack.sandbox.seedNetworkAcl({ vpcId });
    await cli(entryArgs(acl, 100, "allow", 22));
    await cli([
      "delete-network-acl-entry",
      "--network-acl-id",
      acl,
      "--ingress",
      "--rule-number",
      "100",
    ]);
    await cli(entryArgs(acl, 100, "allow", 443));
    await stack.idle(60_000);
    expect(text(await entries(cli, acl))).toEqual(["100 allow 6 443"]);
    expect(decisions(stack).filter((d) => d.result === "revoked")).toEqual([]);
  });
});
