import {
  AuthorizeSecurityGroupEgressCommand,
  type AuthorizeSecurityGroupEgressCommandInput,
  AuthorizeSecurityGroupIngressCommand,
  CreateNetworkAclEntryCommand,
  type EC2Client,
  type IpPermission,
  RevokeSecurityGroupEgressCommand,
  type RevokeSecurityGroupEgressCommandInput,
  type RevokeSecurityGroupEgressCommandOutput,
  RevokeSecurityGroupIngressCommand,
  type RevokeSecurityGroupIngressCommandOutput,
} from "@aws-sdk/client-ec2";
import {
  type Action,
  type ActionOutcome,
  ALREADY_GONE_ERROR_CODES,
  protocolNumber,
  type SecurityGroupPermission,
} from "@guardrail/core";
import { awsErrorCode, errorMessage } from "./errors";

/**
 * One remediation action that takes several EC2 calls, carried out with `client`; `now` stamps
 * the confirmation of an action taken.
 */
type Ec2Remediation<A extends Action> = (
  client: EC2Client,
  action: A,
  now: () => Date,
) => Promise<ActionOutcome>;

type Insert = Extract<Action, { type: "insert-network-acl-entries" }>;
type Narrow = Extract<Action, { type: "narrow-security-group-rule" }>;

const GONE: ReadonlySet<string> = new Set(ALREADY_GONE_ERROR_CODES);

type Direction = "ingress" | "egress";

/** AuthorizeSecurityGroupIngress or AuthorizeSecurityGroupEgress, by the rule's direction. */
function authorize(
  client: EC2Client,
  direction: Direction,
  input: AuthorizeSecurityGroupEgressCommandInput,
) {
  return direction === "ingress"
    ? client.send(new AuthorizeSecurityGroupIngressCommand(input))
    : client.send(new AuthorizeSecurityGroupEgressCommand(input));
}

/** RevokeSecurityGroupIngress or RevokeSecurityGroupEgress, by the rule's direction. */
export function revoke(
  client: EC2Client,
  direction: Direction,
  input: RevokeSecurityGroupEgressCommandInput,
): Promise<RevokeSecurityGroupIngressCommandOutput | RevokeSecurityGroupEgressCommandOutput> {
  return direction === "ingress"
    ? client.send(new RevokeSecurityGroupIngressCommand(input))
    : client.send(new RevokeSecurityGroupEgressCommand(input));
}

function failed(action: Action, error: unknown, what: string): ActionOutcome {
  return {
    action,
    status: "failed",
    error: { code: awsErrorCode(error), message: `${what}: ${errorMessage(error)}` },
  };
}

/**
 * Creates the planned entries one by one, in the plan's order (allows before denies), and stops
 * at the first failure: a deny created without the allows ahead of it would deny compliant
 * traffic, while allows created alone change no verdict (they lie inside the entry they precede
 * and allow what it allows).
 */
export const insertNetworkAclEntries: Ec2Remediation<Insert> = async (client, action, now) => {
  for (const e of action.entries) {
    const v6 = e.cidr.includes(":");
    try {
      await client.send(
        new CreateNetworkAclEntryCommand({
          NetworkAclId: e.networkAclId,
          RuleNumber: e.ruleNumber,
          Egress: e.egress,
          RuleAction: e.ruleAction,
          Protocol: String(protocolNumber(e.protocol)),
          ...(v6 ? { Ipv6CidrBlock: e.cidr } : { CidrBlock: e.cidr }),
          ...(e.ports ? { PortRange: { From: e.ports.from, To: e.ports.to } } : {}),
          ...(e.icmp ? { IcmpTypeCode: { Type: e.icmp.type, Code: e.icmp.code } } : {}),
        }),
      );
    } catch (error) {
      return failed(action, error, `CreateNetworkAclEntry #${e.ruleNumber}`);
    }
  }
  return { action, status: "revoked", confirmedAt: now().toISOString() };
};

function toIpPermission(p: SecurityGroupPermission, ruleId: string): IpPermission {
  const ports = p.fromPort === null ? {} : { FromPort: p.fromPort, ToPort: p.toPort ?? p.fromPort };
  const description = `guardrail: compliant remainder of ${ruleId}`;
  const cidr = p.cidr as string;
  return {
    IpProtocol: p.protocol,
    ...ports,
    ...(cidr.includes(":")
      ? { Ipv6Ranges: [{ CidrIpv6: cidr, Description: description }] }
      : { IpRanges: [{ CidrIp: cidr, Description: description }] }),
  };
}

/**
 * EC2's answer when an Authorize would take a group over "Inbound or outbound rules per security
 * group" (60 by default, counted separately for IPv4 and IPv6):
 * https://docs.aws.amazon.com/vpc/latest/userguide/amazon-vpc-limits.html#vpc-limits-security-groups
 */
const QUOTA_REACHED = "RulesPerSecurityGroupLimitExceeded";

function permissionWords(p: SecurityGroupPermission): string {
  const ports =
    p.fromPort === null
      ? ""
      : p.fromPort === p.toPort
        ? ` ${p.fromPort}`
        : ` ${p.fromPort}-${p.toPort}`;
  return `${p.protocol === "-1" ? "all" : p.protocol}${ports} ${p.cidr ?? ""}`.trim();
}

/**
 * Narrows a security-group rule: authorizes each permission of the compliant remainder (one
 * call each, so that one already present, `InvalidPermission.Duplicate`, counts as done and
 * does not hold back the others), then revokes the rule by id. Any other failure stops before
 * the revoke: the rule is never revoked without its remainder in place. The group's rule quota
 * reached (`RulesPerSecurityGroupLimitExceeded`) is `not-taken`: the finding notifies.
 */
export const narrowSecurityGroupRule: Ec2Remediation<Narrow> = async (client, action, now) => {
  for (const p of action.remainder) {
    const input = { GroupId: action.groupId, IpPermissions: [toIpPermission(p, action.ruleId)] };
    try {
      await authorize(client, action.direction, input);
    } catch (error) {
      const code = awsErrorCode(error);
      if (code === "InvalidPermission.Duplicate") continue;
      if (code === QUOTA_REACHED) {
        // The remainder authorized so far lies inside the rule, which stays: no verdict changed.
        return {
          action,
          status: "not-taken",
          error: {
            code,
            message: `the group's ${action.direction} rule quota is reached (Authorize ${permissionWords(p)}); the rule was not revoked`,
          },
        };
      }
      return failed(action, error, `Authorize ${permissionWords(p)}`);
    }
  }
  const input = { GroupId: action.groupId, SecurityGroupRuleIds: [action.ruleId] };
  try {
    await revoke(client, action.direction, input);
  } catch (error) {
    if (GONE.has(awsErrorCode(error))) {
      return { action, status: "already-gone", confirmedAt: now().toISOString() };
    }
    return failed(action, error, `Revoke ${action.ruleId}`);
  }
  return { action, status: "revoked", confirmedAt: now().toISOString() };
};
