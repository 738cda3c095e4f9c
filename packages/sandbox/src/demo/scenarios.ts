import {
  AuthorizeSecurityGroupEgressCommand,
  AuthorizeSecurityGroupIngressCommand,
  CreateNetworkAclCommand,
  CreateNetworkAclEntryCommand,
  CreateSecurityGroupCommand,
  CreateTagsCommand,
  DescribeNetworkAclsCommand,
  DescribeSecurityGroupsCommand,
  type EC2Client,
} from "@aws-sdk/client-ec2";
import { ConfigurationError } from "@guardrail/core";

/**
 * The scenarios of the course notes the demo plays (shared/seed: security groups and NACLs), as
 * plain data: each EC2 call is sent through the AWS SDK by the demo and through the aws CLI by
 * the end-to-end tests, and shown as the aws CLI command a human would type.
 */

/** What the guardrail is expected to do with a change. */
export type Verdict = "revoked" | "compliant" | "exempt" | "notify-only" | "failed";

/** Ids the scenarios refer to by name: `vpc` (the default VPC) and each created resource. */
export type Refs = Record<string, string>;

export type Ec2Call =
  | {
      readonly kind: "create-security-group";
      readonly ref: string;
      readonly name: string;
      readonly description: string;
    }
  | {
      readonly kind: "authorize-security-group-ingress" | "authorize-security-group-egress";
      readonly group: string;
      readonly protocol: "tcp" | "udp";
      readonly port: number;
      readonly cidr: string;
    }
  | {
      readonly kind: "create-tags";
      readonly resource: string;
      readonly key: string;
      readonly value: string;
      /** Who tags: the developer (default) or the security team's approver. */
      readonly as?: "developer" | "approver";
    }
  | { readonly kind: "create-network-acl"; readonly ref: string }
  | {
      readonly kind: "create-network-acl-entry";
      readonly acl: string;
      readonly ruleNumber: number;
      readonly protocol: "tcp" | "udp";
      readonly fromPort: number;
      readonly toPort: number;
      readonly cidr: string;
      readonly ruleAction: "allow" | "deny";
      readonly egress: boolean;
    };

/** A call that opens (or closes) traffic: the one whose fate the guardrail decides. */
export type ChangeCall = Extract<
  Ec2Call,
  {
    kind:
      | "authorize-security-group-ingress"
      | "authorize-security-group-egress"
      | "create-network-acl-entry";
  }
>;

export interface Scenario {
  readonly id: string;
  readonly title: string;
  /** Why the verdict is what it is, in a few words. */
  readonly why: string;
  /** Calls made first (not judged): creating the group, tagging it. */
  readonly setup: readonly Ec2Call[];
  readonly change: ChangeCall;
  readonly expected: Verdict;
}

/** The office range and the blocked range of the default policy (`networks.office`/`blocked`). */
export const OFFICE_RANGE = "203.0.113.0/24";
export const MALICIOUS_RANGE = "198.51.100.0/24";
export const EXEMPT_TAG_KEY = "guardrail-exempt";

/** A change opening TCP `port` of a group (by its ref) to the whole internet. */
export function fromAnywhere(group: string, port: number): ChangeCall {
  return {
    kind: "authorize-security-group-ingress",
    group,
    protocol: "tcp",
    port,
    cidr: "0.0.0.0/0",
  };
}

/** A change letting a group (by its ref) reach TCP `port` anywhere on the internet. */
function toAnywhere(group: string, port: number): ChangeCall {
  return {
    kind: "authorize-security-group-egress",
    group,
    protocol: "tcp",
    port,
    cidr: "0.0.0.0/0",
  };
}

/** `YYYY-MM-DD`, `days` after `now` (UTC). */
export function isoDay(now: Date, days: number): string {
  return new Date(now.getTime() + days * 86_400_000).toISOString().slice(0, 10);
}

/**
 * The demo's scenarios. `now` dates the tag exemption (valid for 30 days), as a developer would.
 */
export function demoScenarios(now: Date = new Date()): Scenario[] {
  const exemption = `reason=python app demo;expires=${isoDay(now, 30)};rules=internet-exposure`;
  return [
    {
      id: "ssh-world",
      title: "Open SSH to the world",
      why: "admin port from a public range",
      setup: [
        {
          kind: "create-security-group",
          ref: "web",
          name: "my-security-group",
          description: "Security group for web server",
        },
      ],
      change: fromAnywhere("web", 22),
      expected: "revoked",
    },
    {
      id: "python-8080",
      title: "Open 8080 for a Python app",
      why: "only web ports may face the internet",
      setup: [
        {
          kind: "create-security-group",
          ref: "python",
          name: "python-app-sg",
          description: "Security group for Python app",
        },
      ],
      change: fromAnywhere("python", 8080),
      expected: "revoked",
    },
    {
      id: "python-8080-exempt",
      title: "8080 again, group tagged exempt by the approver",
      why: `the approver's tag ${EXEMPT_TAG_KEY} waives internet-exposure until its expiry`,
      setup: [
        {
          kind: "create-tags",
          resource: "python",
          key: EXEMPT_TAG_KEY,
          value: exemption,
          as: "approver",
        },
      ],
      change: fromAnywhere("python", 8080),
      expected: "exempt",
    },
    {
      id: "http-world",
      title: "Allow HTTP (80) to the world",
      why: "web ports may face the internet",
      setup: [
        {
          kind: "create-security-group",
          ref: "shop",
          name: "ecommerce-web-sg",
          description: "E-commerce web servers",
        },
      ],
      change: fromAnywhere("shop", 80),
      expected: "compliant",
    },
    {
      id: "https-world",
      title: "Allow HTTPS (443) to the world",
      why: "web ports may face the internet",
      setup: [],
      change: fromAnywhere("shop", 443),
      expected: "compliant",
    },
    {
      id: "ssh-office",
      title: "SSH from the office range",
      why: `${OFFICE_RANGE} is the office network`,
      setup: [],
      change: {
        kind: "authorize-security-group-ingress",
        group: "shop",
        protocol: "tcp",
        port: 22,
        cidr: OFFICE_RANGE,
      },
      expected: "compliant",
    },
    {
      id: "smtp-25",
      title: "Egress SMTP (25) to the internet",
      why: "outbound port 25 is how spam leaves",
      setup: [],
      change: toAnywhere("shop", 25),
      expected: "revoked",
    },
    {
      id: "submission-587",
      title: "Egress mail submission (587)",
      why: "587 is the sanctioned way to send mail",
      setup: [],
      change: toAnywhere("shop", 587),
      expected: "compliant",
    },
    {
      id: "nacl-rdp-world",
      title: "NACL entry opening RDP (3389) to the world",
      why: "admin port allowed from a public range",
      setup: [{ kind: "create-network-acl", ref: "acl" }],
      change: {
        kind: "create-network-acl-entry",
        acl: "acl",
        ruleNumber: 100,
        protocol: "tcp",
        fromPort: 3389,
        toPort: 3389,
        cidr: "0.0.0.0/0",
        ruleAction: "allow",
        egress: false,
      },
      expected: "revoked",
    },
    {
      id: "nacl-deny-malicious",
      title: "NACL deny of a malicious range",
      why: "a deny entry only removes access",
      setup: [],
      change: {
        kind: "create-network-acl-entry",
        acl: "acl",
        ruleNumber: 90,
        protocol: "tcp",
        fromPort: 80,
        toPort: 80,
        cidr: MALICIOUS_RANGE,
        ruleAction: "deny",
        egress: false,
      },
      expected: "compliant",
    },
  ];
}

function ref(refs: Refs, name: string): string {
  const id = refs[name];
  if (id === undefined)
    throw new ConfigurationError(`scenario refers to "${name}" before creating it`);
  return id;
}

/** The IANA number EC2 stores for a NACL protocol (the aws CLI sends `tcp` as `6` too). */
const PROTOCOL_NUMBER = { tcp: "6", udp: "17" } as const;

/** The call as `aws ec2 …` arguments (after `ec2`), with the ids filled in. */
export function cliArgs(call: Ec2Call, refs: Refs): string[] {
  switch (call.kind) {
    case "create-security-group":
      return [
        "create-security-group",
        "--group-name",
        call.name,
        "--description",
        call.description,
        "--vpc-id",
        ref(refs, "vpc"),
      ];
    case "authorize-security-group-ingress":
    case "authorize-security-group-egress":
      return [
        call.kind,
        "--group-id",
        ref(refs, call.group),
        "--protocol",
        call.protocol,
        "--port",
        String(call.port),
        "--cidr",
        call.cidr,
      ];
    case "create-tags":
      return [
        "create-tags",
        "--resources",
        ref(refs, call.resource),
        "--tags",
        JSON.stringify([{ Key: call.key, Value: call.value }]),
      ];
    case "create-network-acl":
      return ["create-network-acl", "--vpc-id", ref(refs, "vpc")];
    case "create-network-acl-entry":
      return [
        "create-network-acl-entry",
        "--network-acl-id",
        ref(refs, call.acl),
        "--rule-number",
        String(call.ruleNumber),
        "--protocol",
        call.protocol,
        "--port-range",
        `From=${call.fromPort},To=${call.toPort}`,
        call.egress ? "--egress" : "--ingress",
        "--cidr-block",
        call.cidr,
        "--rule-action",
        call.ruleAction,
      ];
  }
}

/** Quotes an argument for a POSIX shell only when it needs it. */
export function shellQuote(arg: string): string {
  if (/^[\w@%+=:,./-]+$/.test(arg)) return arg;
  return `'${arg.replace(/'/g, `'\\''`)}'`;
}

/** `aws ec2 …` as a human would type it. */
export function cliCommand(call: Ec2Call, refs: Refs): string {
  return ["aws", "ec2", ...cliArgs(call, refs).map(shellQuote)].join(" ");
}

/** What a call answered: its request id, and the id of what it created. */
export interface CallResult {
  readonly requestId: string;
  readonly created?: { readonly ref: string; readonly id: string };
}

/** Sends the call through the AWS SDK. */
export async function sendCall(ec2: EC2Client, call: Ec2Call, refs: Refs): Promise<CallResult> {
  switch (call.kind) {
    case "create-security-group": {
      const out = await ec2.send(
        new CreateSecurityGroupCommand({
          GroupName: call.name,
          Description: call.description,
          VpcId: ref(refs, "vpc"),
        }),
      );
      return {
        requestId: out.$metadata.requestId ?? "",
        created: { ref: call.ref, id: out.GroupId ?? "" },
      };
    }
    case "authorize-security-group-ingress":
    case "authorize-security-group-egress": {
      const input = {
        GroupId: ref(refs, call.group),
        IpPermissions: [
          {
            IpProtocol: call.protocol,
            FromPort: call.port,
            ToPort: call.port,
            IpRanges: [{ CidrIp: call.cidr }],
          },
        ],
      };
      const out =
        call.kind === "authorize-security-group-ingress"
          ? await ec2.send(new AuthorizeSecurityGroupIngressCommand(input))
          : await ec2.send(new AuthorizeSecurityGroupEgressCommand(input));
      return { requestId: out.$metadata.requestId ?? "" };
    }
    case "create-tags": {
      const out = await ec2.send(
        new CreateTagsCommand({
          Resources: [ref(refs, call.resource)],
          Tags: [{ Key: call.key, Value: call.value }],
        }),
      );
      return { requestId: out.$metadata.requestId ?? "" };
    }
    case "create-network-acl": {
      const out = await ec2.send(new CreateNetworkAclCommand({ VpcId: ref(refs, "vpc") }));
      return {
        requestId: out.$metadata.requestId ?? "",
        created: { ref: call.ref, id: out.NetworkAcl?.NetworkAclId ?? "" },
      };
    }
    case "create-network-acl-entry": {
      const out = await ec2.send(
        new CreateNetworkAclEntryCommand({
          NetworkAclId: ref(refs, call.acl),
          RuleNumber: call.ruleNumber,
          Protocol: PROTOCOL_NUMBER[call.protocol],
          PortRange: { From: call.fromPort, To: call.toPort },
          Egress: call.egress,
          CidrBlock: call.cidr,
          RuleAction: call.ruleAction,
        }),
      );
      return { requestId: out.$metadata.requestId ?? "" };
    }
  }
}

/** The id a create call's JSON output names (the aws CLI prints the SDK's output shape). */
export function createdIdOf(call: Ec2Call, output: unknown): string | undefined {
  const o = output as { GroupId?: string; NetworkAcl?: { NetworkAclId?: string } } | null;
  if (call.kind === "create-security-group") return o?.GroupId;
  if (call.kind === "create-network-acl") return o?.NetworkAcl?.NetworkAclId;
  return undefined;
}

/** Which describe call shows a change, as `aws ec2 …` arguments. */
export function describeArgs(change: ChangeCall, refs: Refs): string[] {
  return change.kind === "create-network-acl-entry"
    ? ["describe-network-acls", "--network-acl-ids", ref(refs, change.acl)]
    : ["describe-security-groups", "--group-ids", ref(refs, change.group)];
}

interface DescribedPermission {
  readonly IpProtocol?: string;
  readonly FromPort?: number;
  readonly ToPort?: number;
  readonly IpRanges?: readonly { readonly CidrIp?: string }[];
}

/** Whether IPv4 block `outer` contains block `inner` (false for anything that is not IPv4). */
function ipv4Contains(outer: string, inner: string): boolean {
  const parse = (cidr: string): [number, number] | null => {
    const m = /^(\d+)\.(\d+)\.(\d+)\.(\d+)\/(\d+)$/.exec(cidr);
    if (!m) return null;
    const octets = m.slice(1, 5).map(Number);
    const bits = Number(m[5]);
    if (octets.some((o) => o > 255) || bits > 32) return null;
    return [octets.reduce((a, o) => a * 256 + o, 0), bits];
  };
  const o = parse(outer);
  const i = parse(inner);
  if (o === null || i === null || o[1] > i[1]) return false;
  const size = 2 ** (32 - o[1]);
  return Math.floor(o[0] / size) === Math.floor(i[0] / size);
}

interface DescribedEntry {
  readonly RuleNumber?: number;
  readonly Egress?: boolean;
  readonly Protocol?: string;
  readonly CidrBlock?: string;
  readonly RuleAction?: string;
  readonly PortRange?: { readonly From?: number; readonly To?: number };
}

/**
 * Whether the describe output (SDK or aws CLI JSON: the same shape) still holds the change.
 * A group or ACL missing from the output is an error, not "gone".
 */
export function changePresent(change: ChangeCall, described: unknown): boolean {
  if (change.kind === "create-network-acl-entry") {
    const acl = (described as { NetworkAcls?: { Entries?: DescribedEntry[] }[] })?.NetworkAcls?.[0];
    if (acl === undefined) throw new ConfigurationError("describe-network-acls returned no ACL");
    const entries = acl.Entries ?? [];
    const protocol = PROTOCOL_NUMBER[change.protocol];
    const there = entries.some(
      (e) =>
        e.RuleNumber === change.ruleNumber &&
        e.Egress === change.egress &&
        e.Protocol === protocol &&
        e.CidrBlock === change.cidr &&
        e.RuleAction === change.ruleAction &&
        e.PortRange?.From === change.fromPort &&
        e.PortRange?.To === change.toPort,
    );
    if (!there || change.ruleAction !== "allow") return there;
    // An allow entry's access is gone when a deny placed before it (lower rule number, first
    // match wins) takes all of its traffic: the guardrail may insert one instead of deleting
    // an entry that also allows compliant traffic.
    const deniedBefore = entries.some(
      (e) =>
        e.RuleAction === "deny" &&
        e.Egress === change.egress &&
        (e.RuleNumber ?? Number.POSITIVE_INFINITY) < change.ruleNumber &&
        (e.Protocol === "-1" ||
          (e.Protocol === protocol &&
            (e.PortRange?.From ?? 0) <= change.fromPort &&
            (e.PortRange?.To ?? 65535) >= change.toPort)) &&
        e.CidrBlock !== undefined &&
        ipv4Contains(e.CidrBlock, change.cidr),
    );
    return !deniedBefore;
  }
  const group = (
    described as {
      SecurityGroups?: {
        IpPermissions?: DescribedPermission[];
        IpPermissionsEgress?: DescribedPermission[];
      }[];
    }
  )?.SecurityGroups?.[0];
  if (group === undefined)
    throw new ConfigurationError("describe-security-groups returned no group");
  const permissions =
    change.kind === "authorize-security-group-egress"
      ? group.IpPermissionsEgress
      : group.IpPermissions;
  return (permissions ?? []).some(
    (p) =>
      p.IpProtocol === change.protocol &&
      p.FromPort === change.port &&
      p.ToPort === change.port &&
      (p.IpRanges ?? []).some((r) => r.CidrIp === change.cidr),
  );
}

/** Describes the change's group or ACL through the SDK and says whether the change is there. */
export async function changePresentSdk(
  ec2: EC2Client,
  change: ChangeCall,
  refs: Refs,
): Promise<boolean> {
  const described =
    change.kind === "create-network-acl-entry"
      ? await ec2.send(new DescribeNetworkAclsCommand({ NetworkAclIds: [ref(refs, change.acl)] }))
      : await ec2.send(new DescribeSecurityGroupsCommand({ GroupIds: [ref(refs, change.group)] }));
  return changePresent(change, described);
}
