/**
 * A packet oracle over what `aws ec2 describe-network-acls` lists, for the shipped policy, written
 * apart from the product's planner: the first entry by rule number that matches a packet decides
 * it, and a packet an allow decides is forbidden when a targeted (at most 1,024 ports) entry from
 * a public block lets tcp 22, tcp 3389 or udp 3389 in, or tcp 25 out, to an address outside the
 * trusted and office networks (nacl-admin-ports and nacl-smtp-egress; broad entries only notify).
 */

/** An entry as describe-network-acls prints it. */
export interface DescribedEntry {
  readonly RuleNumber: number;
  readonly Egress: boolean;
  readonly RuleAction: string;
  readonly Protocol: string;
  readonly CidrBlock?: string;
  readonly PortRange?: { readonly From: number; readonly To: number };
}

export interface Packet {
  readonly egress: boolean;
  readonly protocol: number;
  readonly port: number;
  readonly address: string;
}

const TRUSTED_AND_OFFICE = [
  "10.0.0.0/8",
  "172.16.0.0/12",
  "192.168.0.0/16",
  "100.64.0.0/10",
  "203.0.113.0/24",
];

const ip = (a: string) => a.split(".").reduce((n, o) => n * 256 + Number(o), 0);

function inBlock(address: string, cidr: string): boolean {
  const [base = "", bits = "0"] = cidr.split("/");
  const size = 2 ** (32 - Number(bits));
  const start = Math.floor(ip(base) / size) * size;
  return ip(address) >= start && ip(address) < start + size;
}

function matches(e: DescribedEntry, p: Packet): boolean {
  if (e.Egress !== p.egress || e.CidrBlock === undefined) return false;
  const protocol = Number(e.Protocol);
  if (protocol !== -1 && protocol !== p.protocol) return false;
  if ((protocol === 6 || protocol === 17) && e.PortRange) {
    if (p.port < e.PortRange.From || p.port > e.PortRange.To) return false;
  }
  return inBlock(p.address, e.CidrBlock);
}

/** The entry that decides the packet, or undefined (the `*` entry: deny). */
export function decider(acl: readonly DescribedEntry[], p: Packet): DescribedEntry | undefined {
  return [...acl]
    .filter((e) => e.RuleNumber < 32767)
    .sort((a, b) => a.RuleNumber - b.RuleNumber)
    .find((e) => matches(e, p));
}

export function verdict(acl: readonly DescribedEntry[], p: Packet): "allow" | "deny" {
  return decider(acl, p)?.RuleAction === "allow" ? "allow" : "deny";
}

function isPublic(cidr: string): boolean {
  return !TRUSTED_AND_OFFICE.some((t) => {
    const [, bits = "0"] = cidr.split("/");
    const [, tbits = "0"] = t.split("/");
    return Number(bits) >= Number(tbits) && inBlock(cidr.split("/")[0] ?? "", t);
  });
}

/** Whether the shipped policy forbids the packet, decided by the allow entry `e`. */
export function forbidden(e: DescribedEntry, p: Packet): boolean {
  const protocol = Number(e.Protocol);
  const span = e.PortRange ? e.PortRange.To - e.PortRange.From + 1 : 65536;
  const broad = protocol === -1 || ((protocol === 6 || protocol === 17) && span > 1024);
  if (broad || e.CidrBlock === undefined || !isPublic(e.CidrBlock)) return false;
  if (TRUSTED_AND_OFFICE.some((t) => inBlock(p.address, t))) return false;
  if (!p.egress) {
    return (
      (p.protocol === 6 && (p.port === 22 || p.port === 3389)) ||
      (p.protocol === 17 && p.port === 3389)
    );
  }
  return p.protocol === 6 && p.port === 25;
}

const PORTS = [
  0, 1, 21, 22, 23, 24, 25, 26, 79, 80, 81, 442, 443, 444, 1022, 1023, 1024, 3388, 3389, 3390,
  65535,
];
const ADDRESSES = [
  "0.0.0.0",
  "9.255.255.255",
  "10.0.0.0",
  "10.1.2.3",
  "10.255.255.255",
  "11.0.0.0",
  "52.1.2.3",
  "100.64.0.1",
  "172.31.5.5",
  "192.168.1.1",
  "198.51.100.7",
  "203.0.112.255",
  "203.0.113.7",
  "203.0.114.0",
  "255.255.255.255",
];

/** Packets at every boundary the shipped policy and these tests' entries draw. */
export function packets(): Packet[] {
  const out: Packet[] = [];
  for (const egress of [false, true])
    for (const protocol of [6, 17, 1, 47])
      for (const port of protocol === 6 || protocol === 17 ? PORTS : [0])
        for (const address of ADDRESSES) out.push({ egress, protocol, port, address });
  return out;
}

/**
 * What changed wrongly from `made` (the ACL as the user left it) to `now` (after the
 * guardrail): forbidden packets still allowed, and compliant packets whose verdict changed.
 */
export function violations(
  made: readonly DescribedEntry[],
  now: readonly DescribedEntry[],
): { allowedForbidden: string[]; changedCompliant: string[] } {
  const allowedForbidden: string[] = [];
  const changedCompliant: string[] = [];
  for (const p of packets()) {
    const d = decider(made, p);
    const text = `${p.egress ? "egress" : "ingress"} ${p.protocol}/${p.port} ${p.address}`;
    const bad = d !== undefined && d.RuleAction === "allow" && forbidden(d, p);
    if (bad && verdict(now, p) === "allow") allowedForbidden.push(text);
    if (!bad && verdict(now, p) !== verdict(made, p)) changedCompliant.push(text);
  }
  return { allowedForbidden, changedCompliant };
}
