import type { Mode } from "../model";
import type { Cidr } from "../net/cidr";
import type { Protocol } from "../net/protocol";
import type { FlapGuardSettings } from "../report/flap";

/** How bad a finding is. Chosen per rule; shown in notifications and the audit trail. */
export type Severity = "critical" | "high" | "medium" | "low";

/**
 * What a rule can say about the other side of a rule or entry.
 *
 * - `public`: a CIDR not wholly inside a trusted or office network.
 * - `public-wide` / `public-narrow`: public, with a prefix shorter / not shorter than the
 *   policy's `thresholds` (/24 for IPv4, /48 for IPv6 by default).
 * - `special-purpose`: a CIDR wholly inside an IANA special-purpose range that no packet from
 *   the internet can carry (loopback, link-local, multicast, "this network", reserved,
 *   broadcast; see `SPECIAL_PURPOSE_NETWORKS`). Not public: the shipped rules do not flag it.
 * - `blocked`: a CIDR wholly inside a blocked network (checked independently of trust).
 * - `any`: every peer, including trusted CIDRs and referenced security groups.
 */
export type PeerClass =
  | "any"
  | "public"
  | "public-wide"
  | "public-narrow"
  | "blocked"
  | "special-purpose";

export const PEER_CLASSES: readonly PeerClass[] = [
  "any",
  "public",
  "public-wide",
  "public-narrow",
  "blocked",
  "special-purpose",
];

/**
 * One protocol and, where the protocol has them, a port range or ICMP type/code. Written in a
 * policy as `tcp/22`, `tcp/80-443`, `udp`, `icmp/3:4`, `icmpv6/2` or a protocol number (`50`).
 */
export interface ServiceSpec {
  /** The text as written in the policy, for messages. */
  readonly text: string;
  readonly protocol: Exclude<Protocol, "all">;
  /** tcp/udp only; null means every port. */
  readonly ports: { readonly from: number; readonly to: number } | null;
  /** icmp/icmpv6 only; null means every type. `code` -1 means every code of `type`. */
  readonly icmp: { readonly type: number; readonly code: number } | null;
}

/**
 * Tags to match: every key must be present with one of its listed values (keys AND, values OR).
 * Written in a policy as `{ env: prod }` or `{ env: [prod, staging], team: payments }`.
 */
export type TagMatch = Readonly<Record<string, readonly string[]>>;

/**
 * Where a rule or an exemption applies, in an organisation. Every field given must match (AND);
 * within a field, any value may (OR). A field left out (null) matches everywhere.
 *
 * Account and region come from the event (or the sweep's target). Account tags and the OUs
 * above the account come from the caller (`PolicyEvaluationContext.accountTags`,
 * `organizationalUnits`): the core never fetches them.
 */
export interface Scope {
  /** 12-digit account ids. */
  readonly accounts: readonly string[] | null;
  /** Region names (`eu-west-1`). */
  readonly regions: readonly string[] | null;
  /** OU ids (`ou-ab12-34cd56ef`): the account is anywhere below one of them. */
  readonly organizationalUnits: readonly string[] | null;
  /** Tags on the account itself (AWS Organizations account tags). */
  readonly accountTags: TagMatch | null;
  /** Tags on the OUs above the account; the nearest OU that carries a key decides its value. */
  readonly ouTags: TagMatch | null;
}

/** One exemption entry: a value to match plus why, until when, and where. */
export interface ExemptionEntry {
  /** Group id, principal ARN pattern, account id, region name or OU id. */
  readonly value: string;
  readonly reason?: string;
  /** `YYYY-MM-DD`; the exemption applies through the end of that day (UTC). */
  readonly expires?: string;
  /** Where the entry applies; absent means everywhere. */
  readonly scope?: Scope;
}

/** An exemption entry matching accounts (or their OUs) by tag. */
export interface TagExemptionEntry {
  readonly tags: TagMatch;
  readonly reason?: string;
  readonly expires?: string;
  readonly scope?: Scope;
}

/** Exemptions, either for the whole policy or for one rule. Every list may be empty. */
export interface ExemptionSet {
  readonly groups: readonly ExemptionEntry[];
  readonly principals: readonly ExemptionEntry[];
  readonly accounts: readonly ExemptionEntry[];
  readonly regions: readonly ExemptionEntry[];
  /** Accounts anywhere below these OUs. Optional only for sets built by hand before it existed. */
  readonly organizationalUnits?: readonly ExemptionEntry[];
  /** Accounts carrying these tags. */
  readonly accountTags?: readonly TagExemptionEntry[];
  /** Accounts whose OUs carry these tags (nearest OU wins per key). */
  readonly ouTags?: readonly TagExemptionEntry[];
  /** Tag key on the security group whose value carries a reason and an expiry. */
  readonly tagKey: string | null;
}

/** One rule of a validated policy. `options` has been checked by the rule kind's schema. */
export interface PolicyRule {
  readonly id: string;
  readonly kind: string;
  readonly description: string;
  /** Short words appended to finding reasons (`admin port`); defaults to the rule id. */
  readonly label: string;
  readonly mode: Mode;
  readonly whenBroad: Mode | null;
  readonly whenTargeted: Mode | null;
  readonly severity: Severity;
  readonly options: unknown;
  readonly exemptions: ExemptionSet;
  /**
   * Whether a tag on the security group may waive this rule. False by default: such a rule
   * can only be exempted in the policy file, which goes through code review.
   */
  readonly tagExemptable: boolean;
  /** Where the rule applies; absent means everywhere. Outside it the rule gives no findings. */
  readonly scope?: Scope;
  /**
   * How an offending security-group rule is remediated. `narrow`: a rule that also allows
   * compliant traffic is replaced by its compliant remainder (authorized first), then revoked;
   * off by default, so the guardrail needs no Authorize permission.
   */
  readonly remediation: { readonly narrow: boolean };
}

export interface PolicyNetworks {
  readonly trusted: readonly Cidr[];
  readonly office: readonly Cidr[];
  readonly blocked: readonly Cidr[];
}

export interface PolicyThresholds {
  /** A public IPv4 CIDR with a prefix shorter than this is wide. */
  readonly wideIpv4Prefix: number;
  /** A public IPv6 CIDR with a prefix shorter than this is wide. */
  readonly wideIpv6Prefix: number;
  /** A rule spanning more ports than this (or protocol all) is broad. */
  readonly broadPortCount: number;
}

/** How exemption tags on security groups are approved. */
export interface TagExemptionSettings {
  /** An exemption tag's expiry may be at most this many days after the day it was set. */
  readonly maxDays: number;
  /** Principal patterns (IAM ArnLike) whose tagging counts as an approval. */
  readonly approvers: readonly string[];
}

/** One Slack member or user group whose button presses count as an approver's. */
export interface SlackApprover {
  /** A member id (`U…`, `W…`) or a user group id (`S…`). */
  readonly id: string;
  /** The approver's name, as the audit trail and the messages show it. */
  readonly name: string;
}

/** Who may act from the Slack app (remediate, exempt, acknowledge). */
export interface SlackSettings {
  readonly approvers: readonly SlackApprover[];
}

/** A validated policy with every default applied. Build one with `loadPolicy` or `parsePolicy`. */
export interface Policy {
  readonly version: 1;
  readonly networks: PolicyNetworks;
  readonly thresholds: PolicyThresholds;
  readonly guardrail: { readonly ownPrincipals: readonly string[] };
  readonly exemptions: ExemptionSet;
  readonly tagExemptions: TagExemptionSettings;
  /** Slack approvers; absent in a policy built by hand means none. */
  readonly slack?: SlackSettings;
  readonly rules: readonly PolicyRule[];
  /**
   * Network-ACL remediation: most entries the planner may insert for one entry it narrows
   * (default 6); a plan that needs more notifies instead.
   */
  readonly remediation: { readonly maxInsertedEntries: number };
  /** Revoke loops: when the same rule keeps coming back (see `FlapGuardSettings`). */
  readonly flapGuard: FlapGuardSettings;
}
