import fc from "fast-check";
import { parsePolicy } from "../src/policy/schema";
import type { Policy } from "../src/policy/types";
import { type OraclePacket, oracleFamily, oracleRange } from "./nacl-oracle";

/**
 * Random policies, stated twice: as a policy file for the product, and as plain data the
 * oracle reads packet by packet, with the definition of a forbidden packet written out here
 * independently of `src/`:
 *
 * For an allow entry or rule E and a packet p it decides, p is forbidden when some rule in
 * enforce mode for E (broad: protocol all or more than 1,024 ports) and E's direction flags E
 * (the peer class of E's CIDR is one the rule names) and p (the rule's traffic holds p, and
 * p's own address is of a class the rule names: an address in a trusted or office block is
 * only `any`, plus `blocked` in a blocked block; any other address has E's CIDR's classes,
 * plus `blocked` in a blocked block).
 */
export interface OracleService {
  readonly text: string;
  readonly protocol: number;
  readonly ports?: readonly [number, number];
  /** ICMP type and code (-1: any code). */
  readonly icmp?: readonly [number, number];
}

export interface OracleRule {
  readonly kind: "ports" | "exposure" | "peers";
  readonly egress: boolean;
  readonly peers: readonly string[];
  readonly services: readonly OracleService[];
  readonly includeProtocolAll: boolean;
  readonly mode: "enforce" | "notify" | "off";
  readonly whenBroad?: "enforce" | "notify" | "off";
  readonly whenTargeted?: "enforce" | "notify" | "off";
  readonly narrow: boolean;
}

export interface OraclePolicy {
  readonly trusted: readonly string[];
  readonly office: readonly string[];
  readonly blocked: readonly string[];
  readonly rules: readonly OracleRule[];
  readonly maxInsertedEntries: number;
}

const SERVICES: readonly OracleService[] = [
  { text: "tcp/22", protocol: 6, ports: [22, 22] },
  { text: "tcp/25", protocol: 6, ports: [25, 25] },
  { text: "tcp/0-1023", protocol: 6, ports: [0, 1023] },
  { text: "tcp/80", protocol: 6, ports: [80, 80] },
  { text: "tcp/443", protocol: 6, ports: [443, 443] },
  { text: "tcp/1024-65535", protocol: 6, ports: [1024, 65535] },
  { text: "udp/53", protocol: 17, ports: [53, 53] },
  { text: "udp", protocol: 17, ports: [0, 65535] },
  { text: "icmp/8", protocol: 1, icmp: [8, -1] },
  { text: "icmp/3:4", protocol: 1, icmp: [3, 4] },
  { text: "icmpv6/2", protocol: 58, icmp: [2, -1] },
  { text: "50", protocol: 50 },
];

const MODE = fc.constantFrom("enforce" as const, "notify" as const, "off" as const);

const ruleArb: fc.Arbitrary<OracleRule> = fc.record(
  {
    kind: fc.constantFrom("ports" as const, "exposure" as const, "peers" as const),
    egress: fc.boolean(),
    peers: fc.oneof(
      fc.constant(["public"]),
      fc.subarray(["public", "public-wide", "public-narrow", "blocked", "any"], { minLength: 1 }),
    ),
    services: fc.subarray([...SERVICES], { minLength: 1, maxLength: 4 }),
    includeProtocolAll: fc.boolean(),
    mode: fc.constantFrom(
      "enforce" as const,
      "enforce" as const,
      "enforce" as const,
      "notify" as const,
    ),
    whenBroad: MODE,
    whenTargeted: MODE,
    narrow: fc.boolean(),
  },
  { requiredKeys: ["kind", "egress", "peers", "services", "includeProtocolAll", "mode", "narrow"] },
);

/** Random networks (blocks of nacl-oracle.ts, so they cut the entries) and one to three rules. */
export const oraclePolicyArb: fc.Arbitrary<OraclePolicy> = fc.record({
  trusted: fc.subarray(["10.0.0.0/8", "10.0.0.0/24", "2001:db8::/32"]),
  office: fc.subarray(["192.0.2.0/24", "10.1.0.0/16", "2001:db8::/64"]),
  blocked: fc.subarray(["10.0.0.128/25", "192.0.2.0/24", "2001:db8::1/128", "128.0.0.0/1"]),
  rules: fc.array(ruleArb, { minLength: 2, maxLength: 4 }),
  maxInsertedEntries: fc.integer({ min: 1, max: 12 }),
});

/** The oracle's policy as the product reads it. */
export function toPolicy(p: OraclePolicy, target: "network-acl" | "security-group"): Policy {
  return parsePolicy({
    networks: { trusted: p.trusted, office: p.office, blocked: p.blocked },
    remediation: { maxInsertedEntries: p.maxInsertedEntries },
    rules: p.rules.map((r, i) => ({
      id: `rule-${i}`,
      kind: `${target}-${r.kind}`,
      description: "random",
      mode: r.mode,
      ...(r.whenBroad ? { whenBroad: r.whenBroad } : {}),
      ...(r.whenTargeted ? { whenTargeted: r.whenTargeted } : {}),
      ...(target === "security-group" ? { remediation: { narrow: r.narrow } } : {}),
      options: {
        direction: r.egress ? "egress" : "ingress",
        peers: r.peers,
        ...(r.kind === "ports"
          ? { ports: r.services.map((s) => s.text), includeProtocolAll: r.includeProtocolAll }
          : r.kind === "exposure"
            ? { allow: r.services.map((s) => s.text) }
            : {}),
      },
    })),
  });
}

const inside = (inner: string, outer: string) => {
  if (oracleFamily(inner) !== oracleFamily(outer)) return false;
  const [a, b] = oracleRange(inner);
  const [c, d] = oracleRange(outer);
  return c <= a && b <= d;
};

const holds = (block: string, family: 4 | 6, address: bigint) => {
  if (oracleFamily(block) !== family) return false;
  const [a, b] = oracleRange(block);
  return a <= address && address <= b;
};

/** What the oracle needs of an allow entry or rule. */
export interface OracleAllow {
  readonly egress: boolean;
  /** -1 for all. */
  readonly protocol: number;
  readonly ports: readonly [number, number];
  readonly cidr: string;
}

/** One packet, as far as the policy is concerned: the ACL oracle's packet without a direction. */
export type PolicyPacket = Omit<OraclePacket, "egress">;

function classesOf(p: OraclePolicy, cidr: string): Set<string> {
  const trusted = [...p.trusted, ...p.office].some((t) => inside(cidr, t));
  const prefix = Number(cidr.split("/")[1]);
  const wide = prefix < (oracleFamily(cidr) === 4 ? 24 : 48);
  const out = new Set<string>(
    trusted ? ["any"] : ["any", "public", wide ? "public-wide" : "public-narrow"],
  );
  if (p.blocked.some((b) => inside(cidr, b))) out.add("blocked");
  return out;
}

function serviceHolds(s: OracleService, packet: PolicyPacket): boolean {
  if (s.protocol !== packet.protocol) return false;
  if (s.ports) return s.ports[0] <= packet.port && packet.port <= s.ports[1];
  if (s.icmp) {
    return s.icmp[0] === packet.icmpType && (s.icmp[1] === -1 || s.icmp[1] === packet.icmpCode);
  }
  return true;
}

/** True when the policy forbids `packet`, decided by the allow `e` (see the module comment). */
export function oracleForbidden(p: OraclePolicy, e: OracleAllow, packet: PolicyPacket): boolean {
  const broad =
    e.protocol === -1 ||
    ((e.protocol === 6 || e.protocol === 17) && e.ports[1] - e.ports[0] + 1 > 1024);
  const own = classesOf(p, e.cidr);
  const trustedHere = [...p.trusted, ...p.office].some((t) =>
    holds(t, packet.family, packet.address),
  );
  const blockedHere = p.blocked.some((b) => holds(b, packet.family, packet.address));
  const here = new Set<string>(trustedHere ? ["any"] : [...own].filter((c) => c !== "blocked"));
  if (blockedHere) here.add("blocked");
  return p.rules.some((r) => {
    const mode = (broad ? r.whenBroad : r.whenTargeted) ?? r.mode;
    if (mode !== "enforce" || r.egress !== e.egress) return false;
    if (!r.peers.some((c) => own.has(c)) || !r.peers.some((c) => here.has(c))) return false;
    if (r.kind === "ports") {
      if (e.protocol === -1 && !r.includeProtocolAll) return false;
      return r.services.some((s) => serviceHolds(s, packet));
    }
    if (r.kind === "exposure") return !r.services.some((s) => serviceHolds(s, packet));
    return true;
  });
}

/** The policy's own bounds, so the packets visit every class they draw. */
export function policyBounds(p: OraclePolicy) {
  const services = p.rules.flatMap((r) => r.services);
  return {
    protocols: services.map((s) => s.protocol),
    ports: services.flatMap((s) => (s.ports ? [s.ports] : [])),
    icmp: services.flatMap((s) => (s.icmp ? [s.icmp] : [])),
    cidrs: [...p.trusted, ...p.office, ...p.blocked],
  };
}
