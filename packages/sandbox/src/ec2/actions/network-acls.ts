import { GuardrailError, parseProtocol, protocolNumber } from "@guardrail/core";
import {
  Ec2ApiError,
  invalidParameterValue,
  missingParameter,
  networkAclNotFound,
  vpcNotFound,
} from "../errors";
import { type NaclEntry, type NetworkAcl, naclEntryKey, type RegionState } from "../model";
import { canonicalCidr } from "../permissions";
import type { QueryParams } from "../query";
import { type XmlObject, xmlList } from "../xml";
import { type ActionContext, createTagged, describeOwned, lookup, tagSet } from "./common";

export function naclEntryItem(e: NaclEntry): XmlObject {
  return {
    ruleNumber: e.ruleNumber,
    protocol: e.protocol,
    ruleAction: e.ruleAction,
    egress: e.egress,
    cidrBlock: e.cidrBlock,
    ipv6CidrBlock: e.ipv6CidrBlock,
    icmpTypeCode: e.icmpTypeCode && { code: e.icmpTypeCode.code, type: e.icmpTypeCode.type },
    portRange: e.portRange && { from: e.portRange.from, to: e.portRange.to },
  };
}

/** Entries as EC2 lists them: egress first, then by rule number. */
export function sortedEntries(acl: NetworkAcl): NaclEntry[] {
  return [...acl.entries.values()].sort(
    (a, b) => Number(b.egress) - Number(a.egress) || a.ruleNumber - b.ruleNumber,
  );
}

function naclItem(acl: NetworkAcl, state: RegionState): XmlObject {
  const associations = [...state.subnets.values()].filter((s) => s.networkAclId === acl.id);
  return {
    networkAclId: acl.id,
    vpcId: acl.vpcId,
    default: acl.isDefault,
    entrySet: xmlList(sortedEntries(acl).map(naclEntryItem)),
    associationSet: xmlList(
      associations.map((s) => ({
        networkAclAssociationId: s.networkAclAssociationId,
        networkAclId: acl.id,
        subnetId: s.id,
      })),
    ),
    tagSet: tagSet(acl.tags),
    ownerId: acl.ownerId,
  };
}

export function createNetworkAcl(ctx: ActionContext): XmlObject {
  const { params, state } = ctx;
  const vpcId = params.requiredStr("VpcId");
  if (!state.vpcs.has(vpcId)) throw vpcNotFound(vpcId);
  const acl = createTagged(params, "network-acl", () => state.createNetworkAcl(vpcId, false));
  return { networkAcl: naclItem(acl, state), clientToken: params.str("ClientToken") };
}

export const describeNetworkAcls = describeOwned<NetworkAcl>(
  "networkAclSet",
  {
    map: (state) => state.nacls,
    id: ["NetworkAclId", "network-acl-id"],
    notFound: networkAclNotFound,
  },
  { "vpc-id": (a) => a.vpcId, default: (a) => String(a.isDefault) },
  (a, { state }) => naclItem(a, state),
);

function readAcl(ctx: ActionContext): NetworkAcl {
  return lookup(ctx.state.nacls, networkAclNotFound)(ctx.params.requiredStr("NetworkAclId"));
}

function readRuleNumber(params: QueryParams): number {
  const n = params.requiredInt("RuleNumber");
  if (n < 1 || n > 32766) {
    throw invalidParameterValue(
      `Invalid value '${n}' for ruleNumber. Rule numbers must be between 1 and 32766.`,
    );
  }
  return n;
}

function readEgress(params: QueryParams): boolean {
  const egress = params.bool("Egress");
  if (egress === undefined) throw missingParameter("egress");
  return egress;
}

/** Reads a Create/ReplaceNetworkAclEntry request into the entry EC2 would store. */
export function readNaclEntry(params: QueryParams): NaclEntry {
  const ruleNumber = readRuleNumber(params);
  const egress = readEgress(params);
  const rawProtocol = params.requiredStr("Protocol");
  let protocol: number;
  try {
    protocol = protocolNumber(parseProtocol(rawProtocol, "protocol"));
  } catch (e) {
    if (e instanceof GuardrailError) {
      throw invalidParameterValue(`Invalid value '${rawProtocol}' for protocol`);
    }
    throw e;
  }
  const action = params.requiredStr("RuleAction").toLowerCase();
  if (action !== "allow" && action !== "deny") {
    throw invalidParameterValue(`Invalid value '${action}' for ruleAction. Use allow or deny.`);
  }
  const v4 = params.str("CidrBlock");
  const v6 = params.str("Ipv6CidrBlock");
  if ((v4 === undefined) === (v6 === undefined)) {
    throw invalidParameterValue("Exactly one of cidrBlock or ipv6CidrBlock must be specified");
  }
  const cidr =
    v4 !== undefined
      ? { cidrBlock: canonicalCidr(v4, 4, "cidrBlock") }
      : { ipv6CidrBlock: canonicalCidr(v6 ?? "", 6, "ipv6CidrBlock") };
  let extra: Pick<NaclEntry, "portRange" | "icmpTypeCode"> = {};
  if (protocol === 6 || protocol === 17) {
    const from = params.int("PortRange.From");
    const to = params.int("PortRange.To");
    if (from === undefined || to === undefined) throw missingParameter("portRange");
    if (from < 0 || to > 65535 || from > to) {
      throw invalidParameterValue(`Invalid port range ${from}-${to}`);
    }
    extra = { portRange: { from, to } };
  } else if (protocol === 1 || (protocol === 58 && v6 !== undefined)) {
    const type = params.int("Icmp.Type");
    const code = params.int("Icmp.Code");
    if (type === undefined || code === undefined) throw missingParameter("icmpTypeCode");
    extra = { icmpTypeCode: { type, code } };
  }
  return { ruleNumber, egress, protocol: String(protocol), ruleAction: action, ...cidr, ...extra };
}

/**
 * Entries of one ACL, direction and IP version, the default `*` entry of that version counted:
 * how AWS counts "Rules per network ACL" (20 by default, adjustable up to 40), separately for
 * IPv4 and IPv6 and for inbound and outbound
 * (https://docs.aws.amazon.com/vpc/latest/userguide/amazon-vpc-limits.html#vpc-limits-nacls).
 */
export function countEntries(acl: NetworkAcl, egress: boolean, ipv6: boolean): number {
  let n = 0;
  for (const e of acl.entries.values()) {
    if (e.egress === egress && (e.ipv6CidrBlock !== undefined) === ipv6) n += 1;
  }
  return n;
}

export function createNetworkAclEntry(ctx: ActionContext): XmlObject {
  const acl = readAcl(ctx);
  const entry = readNaclEntry(ctx.params);
  if (acl.entries.has(naclEntryKey(entry.egress, entry.ruleNumber))) {
    throw new Ec2ApiError(
      "NetworkAclEntryAlreadyExists",
      `The network acl entry identified by ${entry.ruleNumber} already exists.`,
    );
  }
  if (
    countEntries(acl, entry.egress, entry.ipv6CidrBlock !== undefined) >= ctx.limits.naclEntries
  ) {
    throw new Ec2ApiError(
      "NetworkAclEntryLimitExceeded",
      "The maximum number of network ACL entries has been reached.",
    );
  }
  ctx.state.putNaclEntry(acl, entry);
  return { return: true };
}

function entryNotFound(egress: boolean, ruleNumber: number): Ec2ApiError {
  return new Ec2ApiError(
    "InvalidNetworkAclEntry.NotFound",
    `no ${egress ? "egress" : "ingress"} entry with number ${ruleNumber}`,
  );
}

export function replaceNetworkAclEntry(ctx: ActionContext): XmlObject {
  const acl = readAcl(ctx);
  const entry = readNaclEntry(ctx.params);
  if (!acl.entries.has(naclEntryKey(entry.egress, entry.ruleNumber))) {
    throw entryNotFound(entry.egress, entry.ruleNumber);
  }
  ctx.state.putNaclEntry(acl, entry);
  return { return: true };
}

export function deleteNetworkAclEntry(ctx: ActionContext): XmlObject {
  const acl = readAcl(ctx);
  const ruleNumber = readRuleNumber(ctx.params);
  const egress = readEgress(ctx.params);
  if (!acl.entries.delete(naclEntryKey(egress, ruleNumber))) {
    throw entryNotFound(egress, ruleNumber);
  }
  return { return: true };
}
