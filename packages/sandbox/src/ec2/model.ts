import { Ec2ApiError } from "./errors";
import type { Rng } from "./random";

/** The one source (ingress) or destination (egress) of a security-group rule. */
export type RulePeer =
  | { readonly kind: "cidr4"; readonly cidr: string }
  | { readonly kind: "cidr6"; readonly cidr: string }
  | { readonly kind: "prefix-list"; readonly prefixListId: string }
  | {
      readonly kind: "group";
      readonly groupId: string;
      readonly userId: string;
      readonly vpcId?: string;
      readonly vpcPeeringConnectionId?: string;
    };

/** A rule's content in canonical form: what AWS would store and describe. */
export interface RuleContent {
  readonly isEgress: boolean;
  /** `tcp`, `udp`, `icmp`, `icmpv6`, `-1`, or a protocol number as a string. */
  readonly ipProtocol: string;
  /** -1 when the protocol carries no ports (all, or a protocol other than tcp/udp/icmp). */
  readonly fromPort: number;
  readonly toPort: number;
  readonly peer: RulePeer;
  readonly description?: string;
}

/** What every EC2 resource the sandbox keeps has: an id, its owner, tags, an insertion order. */
export interface Resource {
  readonly id: string;
  /** Insertion order, for stable pagination while resources come and go. */
  readonly seq: number;
  readonly ownerId: string;
  readonly tags: Map<string, string>;
}

export interface SgRule extends RuleContent, Resource {
  readonly groupId: string;
}

export interface SecurityGroup extends Resource {
  readonly name: string;
  readonly description: string;
  readonly vpcId: string;
  /** Rules by id, in insertion order. */
  readonly rules: Map<string, SgRule>;
  /** Rule id by content key, for O(1) duplicate checks. */
  readonly ruleKeys: Map<string, string>;
}

/** What a network-ACL entry states whatever it matches: its number, direction and action. */
export interface NaclEntryBase {
  readonly ruleNumber: number;
  readonly egress: boolean;
  readonly ruleAction: "allow" | "deny";
}

export interface NaclEntry extends NaclEntryBase {
  /** Protocol number as a string (`6`, `17`, `1`, `58`) or `-1`, as EC2 stores it. */
  readonly protocol: string;
  readonly cidrBlock?: string;
  readonly ipv6CidrBlock?: string;
  readonly portRange?: { readonly from: number; readonly to: number };
  readonly icmpTypeCode?: { readonly type: number; readonly code: number };
}

export interface NetworkAcl extends Resource {
  readonly vpcId: string;
  readonly isDefault: boolean;
  /** Entries keyed by `egress:ruleNumber`. */
  readonly entries: Map<string, NaclEntry>;
}

/** A subnet and its one network-ACL association (every subnet has exactly one). */
export interface Subnet extends Resource {
  readonly vpcId: string;
  readonly cidrBlock: string;
  /** `aclassoc-…`: a new id every time the subnet moves to another ACL. */
  networkAclAssociationId: string;
  networkAclId: string;
}

export interface PrefixList extends Resource {
  name: string;
  readonly addressFamily: "IPv4" | "IPv6";
  maxEntries: number;
  version: number;
  /** Current entries: CIDR → description. */
  entries: Map<string, string | undefined>;
  /** Entries of every version, for `TargetVersion`. */
  readonly history: Map<number, Map<string, string | undefined>>;
}

export interface Vpc extends Resource {
  readonly cidrBlock: string;
  readonly isDefault: boolean;
  /** Set when the VPC has an IPv6 block: its ACLs then list the IPv6 `*` entry (32768) too. */
  readonly ipv6CidrBlock?: string;
  defaultGroupId: string;
  defaultNetworkAclId: string;
}

export const naclEntryKey = (egress: boolean, ruleNumber: number) =>
  `${egress ? "e" : "i"}:${ruleNumber}`;

export function peerKey(peer: RulePeer): string {
  switch (peer.kind) {
    case "cidr4":
    case "cidr6":
      return `${peer.kind}:${peer.cidr}`;
    case "prefix-list":
      return `pl:${peer.prefixListId}`;
    case "group":
      return `sg:${peer.userId}/${peer.groupId}`;
  }
}

/** What makes two rules "the same rule" to EC2: everything but the description and tags. */
export function ruleKey(rule: RuleContent): string {
  return `${rule.isEgress ? "e" : "i"}|${rule.ipProtocol}|${rule.fromPort}|${rule.toPort}|${peerKey(rule.peer)}`;
}

/** Resource id in EC2's current long form: prefix + 17 hex digits. */
export function newResourceId(rng: Rng, prefix: string): string {
  return `${prefix}-0${rng.hex(16)}`;
}

/** The EC2 state of one account in one region. Maps keyed by id; no list is ever scanned to find one resource. */
export class RegionState {
  readonly vpcs = new Map<string, Vpc>();
  readonly groups = new Map<string, SecurityGroup>();
  /** Group id by VPC and name: group names are unique per VPC. */
  readonly groupNames = new Map<string, Map<string, string>>();
  readonly rules = new Map<string, SgRule>();
  readonly nacls = new Map<string, NetworkAcl>();
  readonly subnets = new Map<string, Subnet>();
  /** Subnet id by association id, for ReplaceNetworkAclAssociation. */
  readonly naclAssociations = new Map<string, string>();
  readonly prefixLists = new Map<string, PrefixList>();
  defaultVpcId = "";
  private seq = 0;

  constructor(
    readonly accountId: string,
    readonly region: string,
    private readonly rng: Rng,
  ) {}

  nextSeq(): number {
    this.seq += 1;
    return this.seq;
  }

  newId(prefix: string, taken: ReadonlyMap<string, unknown>): string {
    for (;;) {
      const id = newResourceId(this.rng, prefix);
      if (!taken.has(id)) return id;
    }
  }

  /** Creates a VPC with the default security group and default network ACL AWS creates with it. */
  createVpc(cidrBlock: string, isDefault: boolean, ipv6CidrBlock?: string): Vpc {
    const vpc: Vpc = {
      id: this.newId("vpc", this.vpcs),
      seq: this.nextSeq(),
      cidrBlock,
      isDefault,
      ...(ipv6CidrBlock ? { ipv6CidrBlock } : {}),
      ownerId: this.accountId,
      tags: new Map(),
      defaultGroupId: "",
      defaultNetworkAclId: "",
    };
    this.vpcs.set(vpc.id, vpc);
    if (isDefault) this.defaultVpcId = vpc.id;

    // The default group: allow-all egress plus ingress from itself.
    const group = this.createGroup(vpc.id, "default", "default VPC security group");
    this.addRule(group, {
      isEgress: false,
      ipProtocol: "-1",
      fromPort: -1,
      toPort: -1,
      peer: { kind: "group", groupId: group.id, userId: this.accountId },
    });
    vpc.defaultGroupId = group.id;

    const acl = this.createNetworkAcl(vpc.id, true);
    // The default ACL allows everything: 100 for IPv4 and, with an IPv6 block, 101 for IPv6
    // (https://docs.aws.amazon.com/vpc/latest/userguide/default-network-acl.html).
    for (const egress of [true, false]) {
      this.putNaclEntry(acl, {
        ruleNumber: 100,
        egress,
        protocol: "-1",
        ruleAction: "allow",
        cidrBlock: "0.0.0.0/0",
      });
      if (ipv6CidrBlock) {
        this.putNaclEntry(acl, {
          ruleNumber: 101,
          egress,
          protocol: "-1",
          ruleAction: "allow",
          ipv6CidrBlock: "::/0",
        });
      }
    }
    vpc.defaultNetworkAclId = acl.id;
    return vpc;
  }

  /**
   * Creates a group; with `defaultEgress` it gets the allow-all egress rule every new VPC group
   * starts with (which AWS creates without an AuthorizeSecurityGroupEgress event).
   */
  createGroup(
    vpcId: string,
    name: string,
    description: string,
    defaultEgress = true,
  ): SecurityGroup {
    let names = this.groupNames.get(vpcId);
    if (names === undefined) {
      names = new Map();
      this.groupNames.set(vpcId, names);
    }
    if (names.has(name)) {
      throw new Ec2ApiError(
        "InvalidGroup.Duplicate",
        `The security group '${name}' already exists for VPC '${vpcId}'`,
      );
    }
    const group: SecurityGroup = {
      id: this.newId("sg", this.groups),
      seq: this.nextSeq(),
      name,
      description,
      vpcId,
      ownerId: this.accountId,
      tags: new Map(),
      rules: new Map(),
      ruleKeys: new Map(),
    };
    this.groups.set(group.id, group);
    names.set(name, group.id);
    if (defaultEgress) {
      this.addRule(group, {
        isEgress: true,
        ipProtocol: "-1",
        fromPort: -1,
        toPort: -1,
        peer: { kind: "cidr4", cidr: "0.0.0.0/0" },
      });
    }
    return group;
  }

  deleteGroup(group: SecurityGroup): void {
    for (const rule of [...group.rules.values()]) this.removeRule(rule);
    this.groups.delete(group.id);
    this.groupNames.get(group.vpcId)?.delete(group.name);
  }

  /** Adds a rule; the caller has checked for duplicates with `findRule`. */
  addRule(group: SecurityGroup, content: RuleContent): SgRule {
    const rule: SgRule = {
      ...content,
      id: this.newId("sgr", this.rules),
      groupId: group.id,
      ownerId: group.ownerId,
      seq: this.nextSeq(),
      tags: new Map(),
    };
    group.rules.set(rule.id, rule);
    group.ruleKeys.set(ruleKey(rule), rule.id);
    this.rules.set(rule.id, rule);
    return rule;
  }

  /**
   * Replaces rules' content in place (ModifySecurityGroupRules): same ids, same directions. All
   * old keys go before any new key is set, so that two rules may swap contents in one call.
   */
  replaceRules(changes: readonly { rule: SgRule; content: RuleContent }[]): SgRule[] {
    for (const { rule } of changes) this.groups.get(rule.groupId)?.ruleKeys.delete(ruleKey(rule));
    return changes.map(({ rule, content }) => {
      const next: SgRule = {
        ...content,
        isEgress: rule.isEgress,
        id: rule.id,
        groupId: rule.groupId,
        ownerId: rule.ownerId,
        seq: rule.seq,
        tags: rule.tags,
      };
      const group = this.groups.get(rule.groupId);
      group?.rules.set(rule.id, next);
      group?.ruleKeys.set(ruleKey(next), next.id);
      this.rules.set(rule.id, next);
      return next;
    });
  }

  removeRule(rule: SgRule): void {
    const group = this.groups.get(rule.groupId);
    group?.rules.delete(rule.id);
    group?.ruleKeys.delete(ruleKey(rule));
    this.rules.delete(rule.id);
  }

  findRule(group: SecurityGroup, content: RuleContent): SgRule | undefined {
    const id = group.ruleKeys.get(ruleKey(content));
    return id === undefined ? undefined : group.rules.get(id);
  }

  /**
   * A new network ACL holds only the catch-all deny entries (`*`): 32767 for IPv4 and, in a VPC
   * with an IPv6 block, 32768 for IPv6, in each direction.
   */
  createNetworkAcl(vpcId: string, isDefault: boolean): NetworkAcl {
    const acl: NetworkAcl = {
      id: this.newId("acl", this.nacls),
      seq: this.nextSeq(),
      vpcId,
      ownerId: this.accountId,
      isDefault,
      tags: new Map(),
      entries: new Map(),
    };
    for (const egress of [true, false]) {
      this.putNaclEntry(acl, {
        ruleNumber: 32767,
        egress,
        protocol: "-1",
        ruleAction: "deny",
        cidrBlock: "0.0.0.0/0",
      });
      if (this.vpcs.get(vpcId)?.ipv6CidrBlock) {
        this.putNaclEntry(acl, {
          ruleNumber: 32768,
          egress,
          protocol: "-1",
          ruleAction: "deny",
          ipv6CidrBlock: "::/0",
        });
      }
    }
    this.nacls.set(acl.id, acl);
    return acl;
  }

  /** A subnet starts associated with its VPC's default network ACL. */
  createSubnet(vpc: Vpc, cidrBlock: string): Subnet {
    const subnet: Subnet = {
      id: this.newId("subnet", this.subnets),
      seq: this.nextSeq(),
      vpcId: vpc.id,
      cidrBlock,
      ownerId: this.accountId,
      tags: new Map(),
      networkAclAssociationId: "",
      networkAclId: "",
    };
    this.subnets.set(subnet.id, subnet);
    this.associate(subnet, vpc.defaultNetworkAclId);
    return subnet;
  }

  /** Moves a subnet to an ACL under a new association id, as ReplaceNetworkAclAssociation does. */
  associate(subnet: Subnet, networkAclId: string): string {
    if (subnet.networkAclAssociationId)
      this.naclAssociations.delete(subnet.networkAclAssociationId);
    const id = this.newId("aclassoc", this.naclAssociations);
    this.naclAssociations.set(id, subnet.id);
    subnet.networkAclAssociationId = id;
    subnet.networkAclId = networkAclId;
    return id;
  }

  putNaclEntry(acl: NetworkAcl, entry: NaclEntry): void {
    acl.entries.set(naclEntryKey(entry.egress, entry.ruleNumber), entry);
  }

  /** Resolves a group by id, or by name in the default VPC (the EC2-Classic-era form). */
  resolveGroup(groupId: string | undefined, groupName: string | undefined): SecurityGroup {
    if (groupId !== undefined && groupId !== "") {
      const group = this.groups.get(groupId);
      if (group === undefined) {
        throw new Ec2ApiError(
          "InvalidGroup.NotFound",
          `The security group '${groupId}' does not exist`,
        );
      }
      return group;
    }
    if (groupName !== undefined && groupName !== "") {
      const id = this.groupNames.get(this.defaultVpcId)?.get(groupName);
      const group = id === undefined ? undefined : this.groups.get(id);
      if (group === undefined) {
        throw new Ec2ApiError(
          "InvalidGroup.NotFound",
          `The security group '${groupName}' does not exist in default VPC '${this.defaultVpcId || "none"}'`,
        );
      }
      return group;
    }
    throw new Ec2ApiError(
      "MissingParameter",
      "The request must contain the parameter groupName or groupId",
    );
  }
}
