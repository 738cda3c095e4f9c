import fc from "fast-check";
import type { NetworkAclEntryChange } from "../src/model";
import type { Packet } from "../src/nacl";
import type { Protocol } from "../src/net/protocol";
import { naclEntry } from "./policy-builders";

/**
 * The oracle: how AWS decides one packet, written as plainly as possible and independently of
 * the model. Walk the entries of the packet's direction and IP version by rule number; the first
 * that matches decides; none matching means the `*` entry denies.
 */
export interface OraclePacket {
  readonly egress: boolean;
  readonly family: 4 | 6;
  readonly protocol: number;
  readonly port: number;
  readonly icmpType: number;
  readonly icmpCode: number;
  readonly address: bigint;
}

const NUMBERS: Record<string, number> = { tcp: 6, udp: 17, icmp: 1, icmpv6: 58, all: -1 };

export function oracleMatches(e: NetworkAclEntryChange, p: OraclePacket): boolean {
  if (e.egress !== p.egress || e.cidr.family !== p.family) return false;
  const n = typeof e.protocol === "number" ? e.protocol : (NUMBERS[e.protocol] as number);
  if (n !== -1 && n !== p.protocol) return false;
  if ((n === 6 || n === 17) && e.ports && (p.port < e.ports.from || p.port > e.ports.to)) {
    return false;
  }
  if ((n === 1 || n === 58) && e.icmp && e.icmp.type !== -1) {
    if (e.icmp.type !== p.icmpType) return false;
    if (e.icmp.code !== -1 && e.icmp.code !== p.icmpCode) return false;
  }
  const bits = p.family === 4 ? 32 : 128;
  const shift = BigInt(bits - e.cidr.prefixLength);
  return p.address >> shift === e.cidr.network >> shift;
}

export function oracleDecider(
  entries: readonly NetworkAclEntryChange[],
  p: OraclePacket,
): NetworkAclEntryChange | null {
  let best: NetworkAclEntryChange | null = null;
  for (const e of entries) {
    if (oracleMatches(e, p) && (best === null || e.ruleNumber < best.ruleNumber)) best = e;
  }
  return best;
}

export const toPacket = (p: OraclePacket): Packet => ({
  protocol: p.protocol,
  port: p.port,
  icmpType: p.icmpType,
  icmpCode: p.icmpCode,
  address: p.address,
});

// Few distinct values, so that random entries overlap, shadow and abut one another.
export const V4_BLOCKS = [
  "0.0.0.0/0",
  "10.0.0.0/8",
  "10.0.0.0/16",
  "10.0.0.0/24",
  "10.0.0.128/25",
  "10.0.0.7/32",
  "10.1.0.0/16",
  "128.0.0.0/1",
  "192.0.2.0/24",
];
const V6_BLOCKS = ["::/0", "2001:db8::/32", "2001:db8::/64", "2001:db8::1/128", "8000::/1"];
export const PORTS = [0, 1, 21, 22, 23, 25, 79, 80, 443, 1023, 1024, 3389, 65534, 65535];
const PROTOCOLS: Protocol[] = ["tcp", "udp", "icmp", "icmpv6", "all", 50];

const portRange = fc
  .tuple(fc.constantFrom(...PORTS), fc.constantFrom(...PORTS))
  .map(([a, b]) => (a <= b ? [a, b] : [b, a]) as [number, number]);

export const entryArb = fc
  .record({
    ruleNumber: fc.integer({ min: 1, max: 200 }),
    egress: fc.boolean(),
    ruleAction: fc.constantFrom("allow" as const, "deny" as const),
    protocol: fc.constantFrom(...PROTOCOLS),
    ports: portRange,
    icmp: fc.constantFrom(
      [-1, -1] as [number, number],
      [3, -1] as [number, number],
      [3, 4] as [number, number],
      [8, 0] as [number, number],
    ),
    v6: fc.boolean(),
    v4Block: fc.constantFrom(...V4_BLOCKS),
    v6Block: fc.constantFrom(...V6_BLOCKS),
  })
  .map((r) =>
    naclEntry({
      ruleNumber: r.ruleNumber,
      egress: r.egress,
      ruleAction: r.ruleAction,
      protocol: r.protocol,
      ports: r.ports,
      ...(r.protocol === "icmp" || r.protocol === "icmpv6" ? { icmp: r.icmp } : {}),
      cidr: r.v6 ? r.v6Block : r.v4Block,
    }),
  );

/** Rule numbers are unique per direction, as AWS requires. */
export const aclArb = fc.array(entryArb, { maxLength: 10 }).map((es) => {
  const seen = new Set<string>();
  return es.filter((e) => {
    const key = `${e.egress} ${e.ruleNumber}`;
    if (seen.has(key)) return false;
    seen.add(key);
    return true;
  });
});

/** Packets on every boundary the entries draw, plus a few anywhere. */
export function boundaryPackets(entries: readonly NetworkAclEntryChange[]): OraclePacket[] {
  const ports = new Set<number>([0, 65535]);
  const v4 = new Set<bigint>([0n, 0xffffffffn]);
  const v6 = new Set<bigint>([0n, (1n << 128n) - 1n]);
  for (const e of entries) {
    if (e.ports) {
      for (const p of [e.ports.from - 1, e.ports.from, e.ports.to, e.ports.to + 1]) {
        if (p >= 0 && p <= 65535) ports.add(p);
      }
    }
    const bits = e.cidr.family === 4 ? 32 : 128;
    const max = (1n << BigInt(bits)) - 1n;
    const last = e.cidr.network | ((1n << BigInt(bits - e.cidr.prefixLength)) - 1n);
    for (const a of [e.cidr.network - 1n, e.cidr.network, last, last + 1n]) {
      if (a >= 0n && a <= max) (e.cidr.family === 4 ? v4 : v6).add(a);
    }
  }
  const icmps: [number, number][] = [
    [3, 4],
    [3, 5],
    [8, 0],
    [0, 0],
  ];
  const out: OraclePacket[] = [];
  for (const egress of [false, true]) {
    for (const [family, addresses] of [
      [4, v4],
      [6, v6],
    ] as const) {
      for (const address of addresses) {
        for (const protocol of [6, 17, 50, 2]) {
          for (const port of protocol === 6 || protocol === 17 ? ports : [0]) {
            out.push({ egress, family, protocol, port, icmpType: 0, icmpCode: 0, address });
          }
        }
        for (const protocol of [1, 58]) {
          for (const [icmpType, icmpCode] of icmps) {
            out.push({ egress, family, protocol, port: 0, icmpType, icmpCode, address });
          }
        }
      }
    }
  }
  return out;
}
