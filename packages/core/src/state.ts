import { ruleAction } from "./cloudtrail/network-acl";
import {
  groupInfoOption,
  icmpFor,
  portsFor,
  securityGroupRuleChange,
  securityGroupRulePeer,
  securityGroupRuleShape,
  singlePeer,
} from "./cloudtrail/rule";
import { InvalidEventError, InvalidInputError } from "./errors";
import type { NetworkAclEntryChange, SecurityGroupRuleChange } from "./model";
import { DEFAULT_NETWORK_ACL_RULE_NUMBERS, MAX_NETWORK_ACL_RULE_NUMBER } from "./nacl";
import { parseCidr } from "./net/cidr";
import { parsePort } from "./net/ports";
import { parseProtocol } from "./net/protocol";

/**
 * Current state (DescribeSecurityGroupRules, DescribeNetworkAcls) as rule changes, so that the
 * sweep and `guardrail scan` evaluate exactly what the event path evaluates.
 *
 * The input types are structural copies of the SDK's shapes, so core needs no SDK import and
 * the SDK's own objects can be passed as they are.
 */

/** The SDK's `SecurityGroupRule` (DescribeSecurityGroupRules), as far as the guardrail reads it. */
export interface SecurityGroupRuleState {
  readonly SecurityGroupRuleId?: string;
  readonly GroupId?: string;
  readonly GroupOwnerId?: string;
  readonly IsEgress?: boolean;
  readonly IpProtocol?: string;
  readonly FromPort?: number;
  readonly ToPort?: number;
  readonly CidrIpv4?: string;
  readonly CidrIpv6?: string;
  readonly PrefixListId?: string;
  readonly ReferencedGroupInfo?: { readonly GroupId?: string; readonly UserId?: string };
  readonly Description?: string;
}

/** The SDK's `NetworkAclEntry` (DescribeNetworkAcls → NetworkAcls[].Entries[]). */
export interface NetworkAclEntryState {
  readonly RuleNumber?: number;
  /** Protocol number as a string, `-1` for all. */
  readonly Protocol?: string;
  readonly RuleAction?: string;
  readonly Egress?: boolean;
  readonly CidrBlock?: string;
  readonly Ipv6CidrBlock?: string;
  readonly PortRange?: { readonly From?: number; readonly To?: number };
  readonly IcmpTypeCode?: { readonly Type?: number; readonly Code?: number };
}

/** One piece of state read: a change to evaluate, an entry deliberately skipped, or bad input. */
export type StateConversion<T> =
  | { readonly status: "ok"; readonly change: T }
  | { readonly status: "skipped"; readonly reason: string }
  | { readonly status: "invalid"; readonly error: InvalidInputError };

type Fields = Readonly<Record<string, unknown>>;

function fields(value: unknown, path: string): Fields {
  if (typeof value !== "object" || value === null || Array.isArray(value)) {
    throw new InvalidInputError(path, "expected an object");
  }
  return value as Fields;
}

function own(obj: Fields, key: string): unknown {
  return Object.hasOwn(obj, key) ? obj[key] : undefined;
}

function text(obj: Fields, key: string, path: string): string {
  const v = own(obj, key);
  if (typeof v !== "string" || v === "") {
    throw new InvalidInputError(`${path}.${key}`, "expected a non-empty string");
  }
  return v;
}

function optText(obj: Fields, key: string, path: string): string | null {
  const v = own(obj, key);
  return v === undefined || v === null || v === "" ? null : text(obj, key, path);
}

function flag(obj: Fields, key: string, path: string): boolean {
  const v = own(obj, key);
  if (typeof v !== "boolean") throw new InvalidInputError(`${path}.${key}`, "expected a boolean");
  return v;
}

function convert<T>(read: () => T): StateConversion<T> {
  try {
    return { status: "ok", change: read() };
  } catch (error) {
    if (error instanceof InvalidInputError) return { status: "invalid", error };
    // The shared readers raise InvalidEventError; state is not an event, so re-type it.
    const path = error instanceof InvalidEventError ? error.path : "$";
    const detail =
      error instanceof InvalidEventError
        ? error.detail
        : `unexpected failure (${error instanceof Error ? error.message : String(error)})`;
    return { status: "invalid", error: new InvalidInputError(path, detail, { cause: error }) };
  }
}

/**
 * A described security-group rule as a change with a known direction and its rule id.
 *
 * @example
 * const result = fromSecurityGroupRule({
 *   SecurityGroupRuleId: "sgr-0123456789abcdef0", GroupId: "sg-0123456789abcdef0",
 *   IsEgress: false, IpProtocol: "tcp", FromPort: 22, ToPort: 22, CidrIpv4: "0.0.0.0/0",
 * });
 * if (result.status === "ok") evaluate(result.change);
 */
export function fromSecurityGroupRule(
  rule: SecurityGroupRuleState,
  path = "SecurityGroupRule",
): StateConversion<SecurityGroupRuleChange> {
  return convert(() => {
    const r = fields(rule, path);
    const at = (key: string) => ({ value: own(r, key), path: `${path}.${key}` });
    return securityGroupRuleChange({
      groupId: text(r, "GroupId", path),
      direction: flag(r, "IsEgress", path) ? "egress" : "ingress",
      shape: securityGroupRuleShape(at("IpProtocol"), at("FromPort"), at("ToPort")),
      peer: securityGroupRulePeer(
        at,
        "PascalCase",
        [groupInfoOption("ReferencedGroupInfo", at("ReferencedGroupInfo"), "PascalCase")],
        path,
      ),
      ruleId: text(r, "SecurityGroupRuleId", path),
      description: optText(r, "Description", path),
    });
  });
}

/**
 * A described network-ACL entry as a change with operation `state`. The default `*` entries
 * come back `skipped` (see {@link DEFAULT_NETWORK_ACL_RULE_NUMBERS}).
 *
 * @example
 * const result = fromNetworkAclEntry("acl-0123456789abcdef0", {
 *   RuleNumber: 100, Protocol: "6", RuleAction: "allow", Egress: false,
 *   CidrBlock: "0.0.0.0/0", PortRange: { From: 22, To: 22 },
 * });
 */
export function fromNetworkAclEntry(
  networkAclId: string,
  entry: NetworkAclEntryState,
  path = `NetworkAcl(${networkAclId}).Entries`,
): StateConversion<NetworkAclEntryChange> {
  const ruleNumber =
    typeof entry === "object" && entry !== null ? own(entry as Fields, "RuleNumber") : undefined;
  if (typeof ruleNumber === "number" && DEFAULT_NETWORK_ACL_RULE_NUMBERS.includes(ruleNumber)) {
    return {
      status: "skipped",
      reason: `rule ${ruleNumber} is the default deny-all entry (*): it cannot allow anything, nor be changed`,
    };
  }
  return convert(() => {
    if (typeof networkAclId !== "string" || !networkAclId) {
      throw new InvalidInputError("networkAclId", "expected a network ACL id");
    }
    const e = fields(entry, path);
    const at = (key: string) => ({ value: own(e, key), path: `${path}.${key}` });
    const protocol = parseProtocol(own(e, "Protocol"), `${path}.Protocol`);
    const rangePath = `${path}.PortRange`;
    const range = own(e, "PortRange") == null ? {} : fields(own(e, "PortRange"), rangePath);
    const icmpPath = `${path}.IcmpTypeCode`;
    const icmp = own(e, "IcmpTypeCode") == null ? {} : fields(own(e, "IcmpTypeCode"), icmpPath);
    const v4 = at("CidrBlock");
    const v6 = at("Ipv6CidrBlock");
    return {
      kind: "network-acl-entry",
      networkAclId,
      ruleNumber: parsePort(
        own(e, "RuleNumber"),
        `${path}.RuleNumber`,
        1,
        MAX_NETWORK_ACL_RULE_NUMBER,
      ),
      egress: flag(e, "Egress", path),
      ruleAction: ruleAction(at("RuleAction")),
      protocol,
      ports: portsFor(
        protocol,
        { value: own(range, "From"), path: `${rangePath}.From` },
        { value: own(range, "To"), path: `${rangePath}.To` },
      ),
      icmp: icmpFor(
        protocol,
        { value: own(icmp, "Type"), path: `${icmpPath}.Type` },
        { value: own(icmp, "Code"), path: `${icmpPath}.Code` },
      ),
      cidr: singlePeer(
        [
          { name: "CidrBlock", value: v4.value, read: () => parseCidr(v4.value, v4.path) },
          { name: "Ipv6CidrBlock", value: v6.value, read: () => parseCidr(v6.value, v6.path) },
        ],
        path,
      ),
      operation: "state",
    };
  });
}
