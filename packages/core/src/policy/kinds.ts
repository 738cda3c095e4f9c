import type { Direction } from "../model";
import { intersection, type Slice, subtractAll } from "../nacl";
import { protocolNumber } from "../net/protocol";
import {
  type ClassifiedPeer,
  type ConcreteChange,
  covers,
  describeTraffic,
  directionOf,
  firstPeerIn,
  isExactly,
  within,
} from "./match";
import type { PeerClass, ServiceSpec } from "./types";

/** What a rule kind reports when a change breaks it. */
export interface RuleMatch {
  /** The offending peer (for a prefix list, the first offending entry). */
  readonly peer: ClassifiedPeer;
  /** Extra words for the reason, e.g. `covers tcp 22, tcp 3389`. */
  readonly detail?: string;
  /** Network-ACL entries: the part of the entry's effective traffic that breaks the rule. */
  readonly slices?: readonly Slice[];
}

export interface RuleKindContext<O> {
  /** The rule's options, already validated by the kind's options schema (`kind-options.ts`). */
  readonly options: O;
  /** The change's peer, classified. A resolved prefix list gives one entry per CIDR. */
  readonly peers: readonly ClassifiedPeer[];
  /**
   * Network-ACL entries only: the entry's effective traffic, what it decides that no earlier
   * entry of its ACL already decided (see `effectiveEntries`). Empty when fully shadowed.
   */
  readonly slices?: readonly Slice[];
}

/**
 * A registered kind of policy rule: an id, a pure `evaluate`, a description and a documented
 * example; the schema of its options is registered under the same id in `kind-options.ts`, so
 * that evaluating a compiled policy does not load the validator. Policies configure kinds; they
 * never add code.
 */
export interface RuleKind<O = unknown> {
  readonly id: string;
  /** Which changes the kind looks at. Security-group kinds never see NACL entries and back. */
  readonly target: "security-group-rule" | "network-acl-entry";
  readonly description: string;
  /** A rule using the kind, as YAML (one list item of `rules:`). */
  readonly example: string;
  /** Pure: the match, or null when the change does not break the rule. */
  evaluate(change: ConcreteChange, ctx: RuleKindContext<O>): RuleMatch | null;
}

/** What every kind's options say: the way of the traffic, and the peers the rule is about. */
export interface PeersOptions {
  readonly direction: Direction;
  readonly peers: readonly PeerClass[];
}

export interface PortsOptions extends PeersOptions {
  readonly ports: readonly ServiceSpec[];
  readonly includeProtocolAll: boolean;
}

export interface ExposureOptions extends PeersOptions {
  readonly allow: readonly ServiceSpec[];
}

type Target = RuleKind["target"];

const EVERY_ADDRESS = { lo: 0n, hi: (1n << 128n) - 1n };

/** A policy service as a box of traffic, every address (see `nacl.ts`). */
export function serviceSlice(s: ServiceSpec): Slice {
  const n = protocolNumber(s.protocol);
  const any = { lo: 0, hi: 255 };
  return {
    protocols: { lo: n, hi: n },
    ports: s.ports ? { lo: s.ports.from, hi: s.ports.to } : { lo: 0, hi: 65535 },
    icmpTypes: s.icmp && s.icmp.type >= 0 ? { lo: s.icmp.type, hi: s.icmp.type } : any,
    icmpCodes:
      s.icmp && s.icmp.type >= 0 && s.icmp.code >= 0 ? { lo: s.icmp.code, hi: s.icmp.code } : any,
    addresses: EVERY_ADDRESS,
  };
}

/** The change is of the kind's target, goes the rule's way, and (NACL) allows traffic. */
function applies(change: ConcreteChange, target: Target, dir: Direction): boolean {
  if (change.kind !== target || directionOf(change) !== dir) return false;
  // A deny entry only ever removes access: never a violation.
  return change.kind !== "network-acl-entry" || change.ruleAction === "allow";
}

const NAMES: Record<Target, { prefix: string; noun: string }> = {
  "security-group-rule": { prefix: "security-group", noun: "security-group rule" },
  "network-acl-entry": { prefix: "network-acl", noun: "network-ACL allow entry" },
};

/** What a kind judges, whatever its target: the parts of its id, description and evaluation. */
interface Family<O extends PeersOptions> {
  readonly name: string;
  readonly describe: (noun: string) => string;
  readonly evaluate: RuleKind<O>["evaluate"];
}

/**
 * The kind of `family` for `target`: its id is `<target prefix>-<name>`, and its `evaluate` sees
 * only the changes the kind applies to (see `applies`).
 */
function kind<O extends PeersOptions>(
  family: Family<O>,
  target: Target,
  example: string,
): RuleKind<O> {
  return {
    id: `${NAMES[target].prefix}-${family.name}`,
    target,
    description: family.describe(NAMES[target].noun),
    example,
    evaluate: (change, ctx) =>
      applies(change, target, ctx.options.direction) ? family.evaluate(change, ctx) : null,
  };
}

/** The start of the description of a kind that looks at the traffic a peer reaches. */
const reaching = (noun: string) =>
  `Flags a ${noun} in \`direction\` whose peer is in one of \`peers\` and whose traffic reaches `;

const PORTS: Family<PortsOptions> = {
  name: "ports",
  describe: (noun) =>
    reaching(noun) +
    "any of `ports` (the port range contains the port, or the ICMP type/code matches). " +
    "Protocol all (-1) reaches every port unless `includeProtocolAll: false`.",
  evaluate: (change, { options, peers, slices }) => {
    // A NACL entry reaches a port only through the traffic it decides (its slices).
    if (slices !== undefined && change.protocol === "all" && !options.includeProtocolAll) {
      return null;
    }
    const hit =
      slices === undefined
        ? options.ports
            .filter((s) => covers(change, s, options.includeProtocolAll))
            .map((service) => ({ service, slices: [] }))
        : options.ports
            .map((service) => ({
              service,
              slices: slices.flatMap((x) => intersection(x, serviceSlice(service)) ?? []),
            }))
            .filter((p) => p.slices.length > 0);
    if (hit.length === 0) return null;
    const peer = firstPeerIn(peers, options.peers);
    if (!peer) return null;
    const offending = slices === undefined ? {} : { slices: hit.flatMap((p) => p.slices) };
    const exact = hit.length === 1 && isExactly(change, hit[0]?.service as ServiceSpec);
    return exact
      ? { peer, ...offending }
      : { peer, detail: `covers ${hit.map((p) => p.service.text).join(", ")}`, ...offending };
  },
};

const EXPOSURE: Family<ExposureOptions> = {
  name: "exposure",
  describe: (noun) =>
    reaching(noun) +
    "anything beyond the `allow` list. Traffic is allowed only when every port (or ICMP " +
    "type/code) it opens is listed: tcp 80-443 is not within tcp/80 and tcp/443.",
  evaluate: (change, { options, peers, slices }) => {
    if (slices !== undefined) {
      const beyond = subtractAll(slices, options.allow.map(serviceSlice));
      if (beyond.length === 0) return null;
      const peer = firstPeerIn(peers, options.peers);
      return peer ? { peer, slices: beyond } : null;
    }
    if (within(change, options.allow)) return null;
    const peer = firstPeerIn(peers, options.peers);
    return peer ? { peer } : null;
  },
};

const PEERS: Family<PeersOptions> = {
  name: "peers",
  describe: (noun) =>
    `Flags any ${noun} in \`direction\` whose peer is in one of \`peers\`, whatever the protocol and ports.`,
  evaluate: (change, { options, peers, slices }) => {
    if (slices !== undefined && slices.length === 0) return null;
    const peer = firstPeerIn(peers, options.peers);
    if (!peer) return null;
    return slices === undefined
      ? { peer, detail: describeTraffic(change) }
      : { peer, detail: describeTraffic(change), slices };
  },
};

/** Every rule kind the product knows, in documentation order. */
export const RULE_KINDS: readonly RuleKind<never>[] = [
  kind(
    PORTS,
    "security-group-rule",
    `- id: admin-ports
  kind: security-group-ports
  description: SSH and RDP must not be reachable from public addresses.
  mode: enforce
  options:
    direction: ingress
    peers: [public]
    ports: [tcp/22, tcp/3389, udp/3389]`,
  ),
  kind(
    EXPOSURE,
    "security-group-rule",
    `- id: internet-exposure
  kind: security-group-exposure
  description: Only web traffic and path-MTU discovery may be open to wide public ranges.
  mode: enforce
  options:
    direction: ingress
    peers: [public-wide]
    allow: [tcp/80, tcp/443, udp/443, icmp/3:4, icmpv6/2]`,
  ),
  kind(
    PEERS,
    "security-group-rule",
    `- id: blocked-sources
  kind: security-group-peers
  description: Nothing may be opened to a blocked network.
  label: blocked network
  severity: critical
  mode: enforce
  options:
    peers: [blocked]`,
  ),
  kind(
    PORTS,
    "network-acl-entry",
    `- id: nacl-admin-ports
  kind: network-acl-ports
  description: NACLs must not allow SSH or RDP from public addresses.
  mode: enforce
  whenBroad: notify
  options:
    ports: [tcp/22, tcp/3389, udp/3389] # direction and peers left at ingress and [public]`,
  ),
  kind(
    EXPOSURE,
    "network-acl-entry",
    `- id: nacl-internet-exposure
  kind: network-acl-exposure
  description: In production accounts, NACLs allow only web traffic from wide public ranges.
  mode: notify
  scope: { accountTags: { env: prod } }
  options: { peers: [public-wide], allow: [tcp/80, tcp/443, tcp/1024-65535] }`,
  ),
  kind(
    PEERS,
    "network-acl-entry",
    `- id: nacl-blocked-destinations
  kind: network-acl-peers
  description: NACLs must not let any traffic out to a blocked network.
  mode: enforce
  options: { direction: egress, peers: [blocked] }`,
  ),
] as unknown as readonly RuleKind<never>[];

const BY_ID = new Map<string, RuleKind<never>>(RULE_KINDS.map((k) => [k.id, k]));

/**
 * The registered kind with this id, if any.
 *
 * @example
 * getRuleKind("security-group-ports")?.target // "security-group-rule"
 */
export function getRuleKind(id: string): RuleKind<unknown> | undefined {
  return BY_ID.get(id) as RuleKind<unknown> | undefined;
}

/** Ids of every registered kind. */
export const RULE_KIND_IDS: readonly string[] = RULE_KINDS.map((k) => k.id);
