import { Ec2ApiError, invalidParameterValue, networkAclNotFound, vpcNotFound } from "../errors";
import type { Subnet } from "../model";
import { canonicalCidr } from "../permissions";
import type { XmlObject } from "../xml";
import { type ActionContext, createTagged, describeOwned, tagSet } from "./common";

function subnetItem(s: Subnet): XmlObject {
  return {
    subnetId: s.id,
    vpcId: s.vpcId,
    cidrBlock: s.cidrBlock,
    state: "available",
    ownerId: s.ownerId,
    tagSet: tagSet(s.tags),
  };
}

const subnetNotFound = (id: string) =>
  new Ec2ApiError("InvalidSubnetID.NotFound", `The subnet ID '${id}' does not exist`);

function toNumber(cidr: string): { network: number; prefix: number } {
  const [address = "", prefix = "0"] = cidr.split("/");
  const network = address.split(".").reduce((n, o) => n * 256 + Number(o), 0);
  return { network, prefix: Number(prefix) };
}

/** True when `inner` lies inside `outer` (IPv4 text, both canonical). */
function within(inner: string, outer: string): boolean {
  const a = toNumber(inner);
  const b = toNumber(outer);
  if (a.prefix < b.prefix) return false;
  const size = 2 ** (32 - b.prefix);
  return Math.floor(a.network / size) === Math.floor(b.network / size);
}

export function createSubnet(ctx: ActionContext): XmlObject {
  const { params, state } = ctx;
  const vpcId = params.requiredStr("VpcId");
  const vpc = state.vpcs.get(vpcId);
  if (!vpc) throw vpcNotFound(vpcId);
  const cidr = canonicalCidr(params.requiredStr("CidrBlock"), 4, "cidrBlock");
  const prefix = Number(cidr.split("/")[1]);
  if (prefix < 16 || prefix > 28 || !within(cidr, vpc.cidrBlock)) {
    throw new Ec2ApiError("InvalidSubnet.Range", `The CIDR '${cidr}' is invalid.`);
  }
  for (const other of state.subnets.values()) {
    if (other.vpcId === vpcId && (within(cidr, other.cidrBlock) || within(other.cidrBlock, cidr))) {
      throw new Ec2ApiError(
        "InvalidSubnet.Conflict",
        `The CIDR '${cidr}' conflicts with another subnet`,
      );
    }
  }
  const subnet = createTagged(params, "subnet", () => state.createSubnet(vpc, cidr));
  return { subnet: subnetItem(subnet) };
}

export const describeSubnets = describeOwned<Subnet>(
  "subnetSet",
  { map: (state) => state.subnets, id: ["SubnetId", "subnet-id"], notFound: subnetNotFound },
  { "vpc-id": (s) => s.vpcId, "cidr-block": (s) => s.cidrBlock },
  subnetItem,
);

/**
 * ReplaceNetworkAclAssociation: moves the subnet of `AssociationId` to `NetworkAclId` (same VPC)
 * and answers the new association id.
 */
export function replaceNetworkAclAssociation(ctx: ActionContext): XmlObject {
  const { params, state } = ctx;
  const associationId = params.requiredStr("AssociationId");
  const aclId = params.requiredStr("NetworkAclId");
  const subnetId = state.naclAssociations.get(associationId);
  const subnet = subnetId === undefined ? undefined : state.subnets.get(subnetId);
  if (!subnet) {
    throw new Ec2ApiError(
      "InvalidAssociationID.NotFound",
      `The association ID '${associationId}' does not exist`,
    );
  }
  const acl = state.nacls.get(aclId);
  if (!acl) throw networkAclNotFound(aclId);
  if (acl.vpcId !== subnet.vpcId) {
    throw invalidParameterValue(
      `Network ACL '${aclId}' and subnet '${subnet.id}' belong to different VPCs`,
    );
  }
  return { newAssociationId: state.associate(subnet, acl.id) };
}
