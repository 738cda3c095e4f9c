import type { NetworkAclChange, NetworkAclEntryChange } from "../model";
import { MAX_NETWORK_ACL_RULE_NUMBER } from "../nacl";
import { parseCidr } from "../net/cidr";
import { parsePort } from "../net/ports";
import { parseProtocol } from "../net/protocol";
import type { ParseContext } from "./context";
import {
  type At,
  absent,
  asBoolean,
  asObject,
  asString,
  at,
  atEither,
  describe,
  fail,
  field,
  join,
  optObject,
  readField,
} from "./json";
import { icmpFor, portsFor, singlePeer } from "./rule";

// `§N`: sections of docs/cloudtrail-shapes.md, the CloudTrail shapes read here.

export function ruleNumber(value: At): number {
  if (absent(value.value)) fail(value.path, "missing: expected a rule number");
  return parsePort(value.value, value.path, 1, MAX_NETWORK_ACL_RULE_NUMBER);
}

export function ruleAction(value: At): "allow" | "deny" {
  const text = typeof value.value === "string" ? value.value.trim().toLowerCase() : null;
  if (text === "allow" || text === "deny") return text;
  fail(value.path, `expected "allow" or "deny", got ${describe(value.value)}`);
}

/**
 * CreateNetworkAclEntry / ReplaceNetworkAclEntry (§8). The protocol key is `aclProtocol` and
 * holds a number as a string; `portRange` and `icmpTypeCode` are `{}` when not applicable.
 * A replace event does not carry the entry it replaced (§12.12).
 */
export function parseNetworkAclEntry(
  ctx: ParseContext,
  operation: "create" | "replace",
): NetworkAclEntryChange[] {
  const path = ctx.request.path;
  const req = asObject(ctx.request.value, path);
  // `aclProtocol` in every capture; `protocol` is the API member's own name, accepted too.
  const protocolAt = atEither(req, "aclProtocol", "protocol", path);
  const protocol = parseProtocol(protocolAt.value, protocolAt.path);
  const portRangePath = join(path, "portRange");
  const portRange = optObject(field(req, "portRange"), portRangePath) ?? {};
  const icmpPath = join(path, "icmpTypeCode");
  const icmpTypeCode = optObject(field(req, "icmpTypeCode"), icmpPath) ?? {};
  const v4 = at(req, "cidrBlock", path);
  const v6 = at(req, "ipv6CidrBlock", path);
  return [
    {
      kind: "network-acl-entry",
      networkAclId: readField(req, "networkAclId", path, asString),
      ruleNumber: ruleNumber(at(req, "ruleNumber", path)),
      egress: readField(req, "egress", path, asBoolean),
      ruleAction: ruleAction(at(req, "ruleAction", path)),
      protocol,
      // For any protocol but TCP/UDP all ports are allowed, whatever portRange says.
      ports: portsFor(
        protocol,
        at(portRange, "from", portRangePath),
        at(portRange, "to", portRangePath),
      ),
      icmp: icmpFor(
        protocol,
        at(icmpTypeCode, "type", icmpPath),
        at(icmpTypeCode, "code", icmpPath),
      ),
      cidr: singlePeer(
        [
          { name: "cidrBlock", value: v4.value, read: () => parseCidr(v4.value, v4.path) },
          { name: "ipv6CidrBlock", value: v6.value, read: () => parseCidr(v6.value, v6.path) },
        ],
        v4.path,
      ),
      operation,
    },
  ];
}

/**
 * DeleteNetworkAclEntry: `networkAclId`, `ruleNumber`, `egress`. The event does not carry the
 * entry deleted; what it opened is known only from the ACL as it is after the delete.
 */
export function parseDeleteNetworkAclEntry(ctx: ParseContext): NetworkAclChange[] {
  const path = ctx.request.path;
  const req = asObject(ctx.request.value, path);
  return [
    {
      kind: "network-acl",
      networkAclId: readField(req, "networkAclId", path, asString),
      operation: "delete-entry",
      ruleNumber: ruleNumber(at(req, "ruleNumber", path)),
      egress: readField(req, "egress", path, asBoolean),
    },
  ];
}

/**
 * ReplaceNetworkAclAssociation: `associationId` (the subnet's current association) and
 * `networkAclId` (the ACL the subnet moves to); the response names `newAssociationId`.
 */
export function parseReplaceNetworkAclAssociation(ctx: ParseContext): NetworkAclChange[] {
  const path = ctx.request.path;
  const req = asObject(ctx.request.value, path);
  const response = optObject(ctx.response.value, ctx.response.path) ?? {};
  const fresh = field(response, "newAssociationId");
  return [
    {
      kind: "network-acl",
      networkAclId: readField(req, "networkAclId", path, asString),
      operation: "associate",
      associationId: readField(req, "associationId", path, asString),
      ...(typeof fresh === "string" && fresh !== "" ? { newAssociationId: fresh } : {}),
    },
  ];
}
