import type { Mode } from "../model";
import type { Cidr } from "../net/cidr";
import type { Protocol } from "../net/protocol";

/** How bad a finding is. Chosen per rule; shown in notifications and the audit trail. */
export type Severity = "critical" | "high" | "medium" | "low";

/**
 * What a rule can say about the other side of a rule or entry.
 *
 * - `public`: a CIDR not wholly inside a trusted or office network.
 * - `public-wide` / `public-narrow`: public, with a prefix shorter / not shorter than the
 *   policy's `thresholds` (/24 for IPv4, /48 for IPv6 by default).
 * - `blocked`: a CIDR wholly inside a blocked network (checked independently of trust).
 * - `any`: every peer, including trusted CIDRs and referenced security groups.
 */
export type PeerClass = "any" | "public" | "public-wide" | "public-narrow" | "blocked";

export const PEER_CLASSES: readonly PeerClass[] = [
  "any",
  "public",
  "public-wide",
  "public-narrow",
  "blocked",
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

/** One exemption entry: a value to match plus why and until when. */
export interface ExemptionEntry {
  /** Group id, principal ARN pattern, account id or region name. */
  readonly value: string;
  readonly reason?: string;
  /** `YYYY-MM-DD`; the exemption applies through the end of that day (UTC). */
  readonly expires?: string;
}

/** Exemptions, either for the whole policy or for one rule. Every list may be empty. */
export interface ExemptionSet {
  readonly groups: readonly ExemptionEntry[];
  readonly principals: readonly ExemptionEntry[];
  readonly accounts: readonly ExemptionEntry[];
  readonly regions: readonly ExemptionEntry[];
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

/** A validated policy with every default applied. Build one with `loadPolicy` or `parsePolicy`. */
export interface Policy {
  readonly version: 1;
  readonly networks: PolicyNetworks;
  readonly thresholds: PolicyThresholds;
  readonly guardrail: { readonly ownPrincipals: readonly string[] };
  readonly exemptions: ExemptionSet;
  readonly rules: readonly PolicyRule[];
}
