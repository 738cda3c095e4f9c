import type { InvalidEventError } from "./errors";
import type { Cidr } from "./net/cidr";
import type { IcmpTypeCode, PortRange } from "./net/ports";
import type { Protocol } from "./net/protocol";

export type Direction = "ingress" | "egress";

/** Who made the call, read from `userIdentity` and the top-level request fields. */
export interface Actor {
  /** Principal ARN (`userIdentity.arn`), or null when CloudTrail did not record one. */
  readonly arn: string | null;
  /** `userIdentity.type`: Root, IAMUser, AssumedRole, AWSService, ... (unknown values kept). */
  readonly type: string | null;
  readonly accountId: string | null;
  /** `sessionContext.sessionIssuer.arn`: the role behind an assumed-role session. */
  readonly sessionIssuerArn: string | null;
  /** `userIdentity.invokedBy`: a service acting for the caller (cloudformation.amazonaws.com). */
  readonly invokedBy: string | null;
  readonly sourceIp: string | null;
  readonly userAgent: string | null;
  /** Console session (`sessionCredentialFromConsole: "true"` or a console user agent). */
  readonly console: boolean;
}

/** One account and Region: where an event happened, a resource lives or a sweep runs. */
export interface AccountRegion {
  readonly account: string;
  readonly region: string;
}

/** What every handled event says about itself. */
export interface EventMeta {
  /** CloudTrail `eventID` (not the EventBridge envelope id): the idempotency key. */
  readonly eventId: string;
  readonly eventName: string;
  /** ISO-8601, as CloudTrail wrote it. */
  readonly eventTime: string;
  /** `recipientAccountId`, falling back to the envelope `account`. */
  readonly account: string;
  readonly region: string;
  readonly actor: Actor;
}

/** The one source or destination of a security-group rule. */
export type Peer =
  | { readonly kind: "cidr"; readonly cidr: Cidr }
  | { readonly kind: "prefix-list"; readonly prefixListId: string }
  | {
      readonly kind: "security-group";
      /** Null when the request named the group only by name (default VPC / EC2-Classic). */
      readonly groupId: string | null;
      readonly groupName?: string;
      readonly ownerId?: string;
    };

/** One security-group rule with exactly one peer. */
export interface SecurityGroupRuleChange {
  readonly kind: "security-group-rule";
  /** Null only when the event named the group by name and carried no rule set. */
  readonly groupId: string | null;
  readonly groupName?: string;
  /** `unknown` for ModifySecurityGroupRules until the function looks the rule up. */
  readonly direction: Direction | "unknown";
  readonly protocol: Protocol;
  /** Null means all ports (protocol all, or a protocol without ports). */
  readonly ports: PortRange | null;
  /** Set for ICMP/ICMPv6 only; `-1` means any type or code. */
  readonly icmp: IcmpTypeCode | null;
  readonly peer: Peer;
  /** `sgr-…` when the response (or the Modify request) names it; null otherwise. */
  readonly ruleId: string | null;
  readonly description?: string;
}

/** One network-ACL entry, as created, replaced or described. */
export interface NetworkAclEntryChange {
  readonly kind: "network-acl-entry";
  readonly networkAclId: string;
  readonly ruleNumber: number;
  readonly egress: boolean;
  readonly ruleAction: "allow" | "deny";
  readonly protocol: Protocol;
  readonly ports: PortRange | null;
  readonly icmp: IcmpTypeCode | null;
  readonly cidr: Cidr;
  /** `create`/`replace` from events; `state` when read by the sweep or `scan`. */
  readonly operation: "create" | "replace" | "state";
}

/**
 * Entries added to or removed from a customer-managed prefix list (ModifyManagedPrefixList), or
 * an earlier version of the list restored (RestoreManagedPrefixListVersion).
 */
export interface PrefixListChange {
  readonly kind: "prefix-list";
  readonly prefixListId: string;
  readonly added: readonly Cidr[];
  readonly removed: readonly Cidr[];
  /**
   * Set only for RestoreManagedPrefixListVersion: the version whose entries the list holds
   * again. The event does not say which entries those are (`added` and `removed` are empty),
   * and an old version may hold `0.0.0.0/0`: read the list's current entries and evaluate the
   * rules that reference it with them.
   */
  readonly restoredVersion?: number;
}

/**
 * A change to a network ACL whose effect only the whole ACL shows: an entry deleted
 * (DeleteNetworkAclEntry; deleting a deny opens what the allows behind it permit) or a subnet
 * moved to this ACL (ReplaceNetworkAclAssociation). It has no findings of its own: the
 * network-acl function reads the ACL and judges its entries as they are now.
 */
export interface NetworkAclChange {
  readonly kind: "network-acl";
  readonly networkAclId: string;
  readonly operation: "delete-entry" | "associate";
  /** delete-entry: the entry deleted. */
  readonly ruleNumber?: number;
  readonly egress?: boolean;
  /** associate: the association replaced, and the new one (from the response). */
  readonly associationId?: string;
  readonly newAssociationId?: string;
}

export type RuleChange =
  | SecurityGroupRuleChange
  | NetworkAclEntryChange
  | PrefixListChange
  | NetworkAclChange;

export type IgnoreReason =
  | "failed-call"
  | "read-only"
  | "unhandled-event"
  | "restrictive"
  | "no-change"
  | "own-principal";

/** The normaliser's answer. It never throws anything but its own typed errors. */
export type NormaliseResult =
  | {
      readonly status: "handled";
      readonly event: EventMeta;
      readonly changes: readonly RuleChange[];
    }
  | {
      readonly status: "ignored";
      readonly reason: IgnoreReason;
      readonly detail: string;
      /** Whatever metadata could be read (eventId, eventName), for logs and replay output. */
      readonly event: Partial<EventMeta>;
    }
  | {
      readonly status: "invalid";
      readonly error: InvalidEventError;
      readonly event: Partial<EventMeta>;
    };

export type Mode = "enforce" | "notify" | "off";

/** Remediation actions. Only `enforce` findings produce them, and they name only offending rules. */
export type Action =
  | {
      readonly type: "revoke-security-group-rules";
      readonly groupId: string;
      /** Null only in replay of ModifySecurityGroupRules, where nobody can look the direction up. */
      readonly direction: Direction | null;
      readonly ruleIds: readonly string[];
    }
  | {
      readonly type: "revoke-security-group-permissions";
      readonly groupId: string;
      readonly direction: Direction;
      readonly permissions: readonly Omit<SecurityGroupPermission, "description">[];
    }
  | {
      readonly type: "delete-network-acl-entry";
      readonly networkAclId: string;
      readonly ruleNumber: number;
      readonly egress: boolean;
    }
  | {
      /**
       * Entries created directly before an allow entry (`before`) so that exactly its forbidden
       * traffic is denied: created in order, allows first, so that no compliant packet is ever
       * denied, even between two of the calls.
       */
      readonly type: "insert-network-acl-entries";
      readonly networkAclId: string;
      readonly egress: boolean;
      readonly before: number;
      readonly entries: readonly NaclEntrySpec[];
      /** The planner's check of the whole plan, in words (see `checkNaclPlan`). */
      readonly check: string;
    }
  | {
      /**
       * A security-group rule replaced by its compliant remainder: the remainder is authorized
       * first, then the rule is revoked by id, so compliant traffic is never interrupted.
       */
      readonly type: "narrow-security-group-rule";
      readonly groupId: string;
      readonly direction: Direction;
      readonly ruleId: string;
      readonly remainder: readonly SecurityGroupPermission[];
      /** The planner's check of the remainder, in words. */
      readonly check: string;
    };

/** One permission of Authorize/RevokeSecurityGroupIngress/Egress, with one peer. */
export interface SecurityGroupPermission {
  readonly protocol: string;
  readonly fromPort: number | null;
  readonly toPort: number | null;
  readonly cidr?: string;
  readonly prefixListId?: string;
  readonly groupId?: string;
  readonly description?: string;
}

/** A network-ACL entry to create, in the shape of CreateNetworkAclEntry. */
export interface NaclEntrySpec {
  readonly networkAclId: string;
  readonly ruleNumber: number;
  readonly egress: boolean;
  readonly ruleAction: "deny" | "allow";
  readonly protocol: Protocol;
  readonly ports: { readonly from: number; readonly to: number } | null;
  /** ICMP type and code, -1 for any. */
  readonly icmp: { readonly type: number; readonly code: number } | null;
  readonly cidr: string;
}

export type ActionType = Action["type"];

/** What the caller knows besides the event, for evaluation. All optional; core never fetches. */
export interface EvaluationContext {
  /** Evaluation time, for exemption expiry. */
  readonly now: Date;
  /** Tags of security groups, by group id (only fetched when a finding exists). */
  readonly groupTags?: Readonly<Record<string, Readonly<Record<string, string>>>>;
  /** Resolved prefix lists: id → CIDRs. A list absent here is "unresolved". */
  readonly prefixLists?: Readonly<Record<string, readonly string[]>>;
  /** Directions of rules looked up by id (ModifySecurityGroupRules). */
  readonly ruleDirections?: Readonly<Record<string, Direction>>;
  /**
   * When a ModifySecurityGroupRules direction is unknown and nobody can look it up (replay),
   * evaluate as both directions, the stricter verdict winning.
   */
  readonly unknownDirection?: "evaluate-both" | "error";
  /**
   * What the audit trail says about the exemption tags of security groups: by group id, then
   * tag key, the last recorded tagging (null: read, and none on record). A tag is honoured only
   * against a record; a group absent here has its tags judged as unverified.
   */
  readonly tagRecords?: Readonly<Record<string, Readonly<Record<string, TagRecord | null>>>>;
}

/**
 * The guardrail's record of the last time an exemption tag was set or removed on a security
 * group (from a CreateTags, DeleteTags, CreateSecurityGroup, TagResources or UntagResources
 * event, or from `guardrail exemptions adopt`). The value itself is not kept, only its hash.
 */
export interface TagRecord {
  readonly groupId: string;
  readonly key: string;
  readonly action: "set" | "removed";
  /** `sha256:<hex>` of the value set; null for a removal. */
  readonly valueHash: string | null;
  /** The principal who set or removed the tag (the role behind a session when there is one). */
  readonly by: string | null;
  /** The approver pattern the principal matched; null when it matched none. */
  readonly approver: string | null;
  /** Why the value was not a valid exemption when it was set; null when it was. */
  readonly problem: string | null;
  /** The rules the value names, and its expiry and reason (when it could be read). */
  readonly rules: readonly string[];
  readonly expires: string | null;
  readonly reason: string | null;
  /** When it happened (CloudTrail eventTime, or the adoption time). */
  readonly at: string;
  /** The CloudTrail eventID, `adopt:<uuid>`, or `slack:<interaction id>`. */
  readonly eventId: string;
  /**
   * `slack`: an approver pressed "Exempt…" in the Slack app; `approver` is then `slack:<id>` of
   * the `slack.approvers` entry that matched, and `by` names the approver and their member id.
   */
  readonly via: "event" | "adopt" | "slack";
  /** Set once the sweep has reported the tag expired (it reports each expired tag once). */
  readonly expiryReported?: boolean;
}

export type Outcome = "violation" | "compliant" | "exempt" | "ignored" | "invalid";

/** Why a finding is waived. */
export interface Exemption {
  readonly kind:
    | "group"
    | "principal"
    | "account"
    | "region"
    | "tag"
    /** The account is below an OU listed in `exemptions.organizationalUnits`. */
    | "organizational-unit"
    /** The account carries tags listed in `exemptions.accountTags`. */
    | "account-tag"
    /** The account's OUs carry tags listed in `exemptions.ouTags`. */
    | "ou-tag";
  readonly reason: string;
  /** ISO date the exemption ends, when it has one. */
  readonly expires?: string;
  /** Tag exemptions: the approver who set the tag, and when (from the tag record). */
  readonly approvedBy?: string;
  readonly approvedAt?: string;
}

/** One policy rule matching one rule change. */
export interface Finding {
  /** Policy rule id (`admin-ports`). */
  readonly rule: string;
  /** Effective mode after `whenBroad`/`whenTargeted` and unresolved-input downgrades. */
  readonly mode: "enforce" | "notify";
  readonly severity: "critical" | "high" | "medium" | "low";
  /** One line a human can read: "tcp 22 open to 0.0.0.0/0 (public, wide)". */
  readonly reason: string;
  /** The exact rule change the finding is about. */
  readonly change: RuleChange;
  /** Set when an exemption waives the finding. */
  readonly exemption?: Exemption;
}

/** The verdict on one event (or one piece of current state). */
export interface Evaluation {
  readonly outcome: Outcome;
  /** Findings that count (not waived). */
  readonly findings: readonly Finding[];
  /** Findings waived by exemptions, kept for the audit trail. */
  readonly waived: readonly Finding[];
}
