import { PolicyValidationError } from "../src/errors";
import type {
  Action,
  Actor,
  Direction,
  EventMeta,
  NetworkAclEntryChange,
  Peer,
  PrefixListChange,
  SecurityGroupRuleChange,
} from "../src/model";
import { parseCidr } from "../src/net/cidr";
import type { Protocol } from "../src/net/protocol";
import { thrownBy } from "./thrown";

/** Evaluation time used by every policy test, so expiry dates are stable. */
export const NOW = new Date("2026-06-15T12:00:00Z");

export const GROUP = "sg-0123456789abcdef0";
export const ACL = "acl-0af9cb843511d66d4";
export const PREFIX_LIST = "pl-0123456789abcdef0";

export interface SgRuleInput {
  groupId?: string | null;
  direction?: SecurityGroupRuleChange["direction"];
  protocol?: Protocol;
  /** `[port]`, `[from, to]`, or null for all ports. */
  ports?: readonly [number] | readonly [number, number] | null;
  /** `[type, code]`. */
  icmp?: readonly [number, number] | null;
  cidr?: string;
  prefixListId?: string;
  referencedGroupId?: string | null;
  ruleId?: string | null;
}

function range(ports: SgRuleInput["ports"]) {
  if (ports === null || ports === undefined) return null;
  return { from: ports[0], to: ports[1] ?? ports[0] };
}

/** A single-peer security-group rule change; tcp 22 from 0.0.0.0/0 ingress unless told. */
export function sgRule(input: SgRuleInput = {}): SecurityGroupRuleChange {
  const protocol = input.protocol ?? "tcp";
  const hasPorts = protocol === "tcp" || protocol === "udp";
  let peer: Peer;
  if (input.prefixListId !== undefined)
    peer = { kind: "prefix-list", prefixListId: input.prefixListId };
  else if (input.referencedGroupId !== undefined) {
    peer = { kind: "security-group", groupId: input.referencedGroupId };
  } else peer = { kind: "cidr", cidr: parseCidr(input.cidr ?? "0.0.0.0/0") };
  return {
    kind: "security-group-rule",
    groupId: input.groupId === undefined ? GROUP : input.groupId,
    direction: input.direction ?? "ingress",
    protocol,
    ports: hasPorts ? range(input.ports === undefined ? [22] : input.ports) : null,
    icmp:
      protocol === "icmp" || protocol === "icmpv6"
        ? input.icmp
          ? { type: input.icmp[0], code: input.icmp[1] }
          : { type: -1, code: -1 }
        : null,
    peer,
    ruleId: input.ruleId === undefined ? "sgr-0aaaaaaaaaaaaaaa1" : input.ruleId,
  };
}

export interface NaclInput {
  egress?: boolean;
  ruleAction?: "allow" | "deny";
  protocol?: Protocol;
  ports?: readonly [number] | readonly [number, number] | null;
  icmp?: readonly [number, number] | null;
  cidr?: string;
  ruleNumber?: number;
  networkAclId?: string;
  operation?: NetworkAclEntryChange["operation"];
}

/** A network-ACL entry; ingress allow tcp 22 from 0.0.0.0/0 unless told. */
export function naclEntry(input: NaclInput = {}): NetworkAclEntryChange {
  const protocol = input.protocol ?? "tcp";
  const hasPorts = protocol === "tcp" || protocol === "udp";
  return {
    kind: "network-acl-entry",
    networkAclId: input.networkAclId ?? ACL,
    ruleNumber: input.ruleNumber ?? 100,
    egress: input.egress ?? false,
    ruleAction: input.ruleAction ?? "allow",
    protocol,
    ports: hasPorts ? range(input.ports === undefined ? [22] : input.ports) : null,
    icmp: input.icmp ? { type: input.icmp[0], code: input.icmp[1] } : null,
    cidr: parseCidr(input.cidr ?? "0.0.0.0/0"),
    operation: input.operation ?? "create",
  };
}

/** The action that revokes these rules of a group by their ids. */
export function revokeRules(
  direction: Direction | null,
  ruleIds: string[],
  groupId = GROUP,
): Extract<Action, { type: "revoke-security-group-rules" }> {
  return { type: "revoke-security-group-rules", groupId, direction, ruleIds };
}

export function prefixListChange(id = PREFIX_LIST, added: string[] = []): PrefixListChange {
  return {
    kind: "prefix-list",
    prefixListId: id,
    added: added.map((c) => parseCidr(c)),
    removed: [],
  };
}

export function actor(input: Partial<Actor> = {}): Actor {
  return {
    arn: "arn:aws:sts::111122223333:assumed-role/developer/alice",
    type: "AssumedRole",
    accountId: "111122223333",
    sessionIssuerArn: "arn:aws:iam::111122223333:role/developer",
    invokedBy: null,
    sourceIp: "192.0.2.10",
    userAgent: "aws-cli/2.15.0",
    console: false,
    ...input,
  };
}

/** The caller fields of a session `session` of the IAM role `role` in `account`. */
export function roleSession(
  role: string,
  session: string,
  account = "111122223333",
): Partial<Actor> {
  return {
    arn: `arn:aws:sts::${account}:assumed-role/${role}/${session}`,
    sessionIssuerArn: `arn:aws:iam::${account}:role/${role}`,
  };
}

export function eventMeta(
  input: Partial<Omit<EventMeta, "actor">> & { actor?: Partial<Actor> } = {},
): EventMeta {
  return {
    eventId: "6f1b2c1e-2d55-4a55-9f1e-0d4d5c0b9d11",
    eventName: "AuthorizeSecurityGroupIngress",
    eventTime: "2026-06-15T11:59:58Z",
    account: "111122223333",
    region: "eu-west-1",
    ...input,
    actor: actor(input.actor),
  };
}

/** The admin-ports rule as a policy file writes it: tcp 22 from the internet, enforced. */
export const ADMIN_PORTS_RULE = {
  id: "admin-ports",
  kind: "security-group-ports",
  description: "No SSH from the internet.",
  label: "admin port",
  mode: "enforce",
  options: { ports: ["tcp/22"] },
};

/** The issues of the PolicyValidationError that `run` throws (fails the test if it throws none). */
export function issuesOf(run: () => unknown): PolicyValidationError["issues"] {
  return thrownBy(run, PolicyValidationError).issues;
}
