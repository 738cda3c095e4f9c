import { InvalidInputError } from "../errors";

/** A parsed, canonical CIDR block. IPv4-mapped IPv6 blocks (`::ffff:0:0/96` and inside) become IPv4. */
export interface Cidr {
  /** 4 or 6. */
  readonly family: 4 | 6;
  /** Canonical text: host bits cleared, RFC 5952 for IPv6 (`208.236.235.254/0` → `0.0.0.0/0`). */
  readonly cidr: string;
  readonly prefixLength: number;
  /** Network address as a bigint, for fast containment checks. */
  readonly network: bigint;
  /**
   * Set only when an IPv4-mapped IPv6 block was read as IPv4: the family and canonical text it
   * was written in. AWS keeps such a rule in `Ipv6Ranges` under its IPv6 text, so whatever
   * names the rule back to AWS (a revoke by permission) must use this, never `cidr`: `0.0.0.0/0`
   * would go into `IpRanges` and could revoke an unrelated IPv4 rule instead.
   */
  readonly original?: { readonly family: 4 | 6; readonly cidr: string };
}

// Addresses are read and written here rather than with ipaddr.js: that library builds about 50
// address objects and its regular expressions when its module loads, which measured ~3% of an
// event function's init at Lambda's CPU share; this parser does no work until called. A test
// holds it to ipaddr.js (what it replaced) on random input.

const IPV4_DOTTED = /^(25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)(\.(25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)){3}$/;
const PREFIX = /^(0|[1-9]\d{0,2})$/;
const HEX_GROUP = /^[0-9a-f]{1,4}$/i;

function maskOf(bits: number, prefix: number): bigint {
  const total = BigInt(bits);
  const p = BigInt(prefix);
  return ((1n << total) - 1n) ^ ((1n << (total - p)) - 1n);
}

/** Four strict decimal octets (IPV4_DOTTED) as a 32-bit value (a number: no bigint for IPv4). */
function ipv4Value(dotted: string): number {
  let n = 0;
  for (const octet of dotted.split(".")) n = n * 256 + Number(octet);
  return n;
}

/** An IPv4 block from its 32-bit address, host bits cleared. */
function ipv4Cidr(address: number, prefixLength: number): Cidr {
  // `<<` counts modulo 32: /0 has no network bits at all.
  const network = prefixLength === 0 ? 0 : (address & (0xffffffff << (32 - prefixLength))) >>> 0;
  const text = `${network >>> 24}.${(network >>> 16) & 255}.${(network >>> 8) & 255}.${network & 255}`;
  return { family: 4, cidr: `${text}/${prefixLength}`, prefixLength, network: BigInt(network) };
}

/**
 * The eight 16-bit groups of an IPv6 address in RFC 4291 text form (section 2.2: one to four hex
 * digits a group, at most one `::` standing for at least one zero group; a dotted IPv4 tail
 * already rewritten as two groups), or null. No zone id.
 */
function ipv6Groups(address: string): number[] | null {
  const halves = address.split("::");
  if (halves.length > 2) return null;
  const [head = "", tail] = halves;
  const read = (text: string) => (text === "" ? [] : text.split(":"));
  const left = read(head);
  const right = tail === undefined ? [] : read(tail);
  if (![...left, ...right].every((g) => HEX_GROUP.test(g))) return null;
  const explicit = left.length + right.length;
  if (tail === undefined ? explicit !== 8 : explicit > 7) return null;
  const zeros = new Array<string>(8 - explicit).fill("0");
  return [...left, ...zeros, ...right].map((g) => Number.parseInt(g, 16));
}

/**
 * RFC 5952 text of eight groups: lower case, no leading zeros, the longest run of two or more
 * zero groups (the first of equal runs) written `::`.
 */
function ipv6Text(groups: readonly number[]): string {
  let best = { at: -1, length: 1 };
  for (let i = 0; i < groups.length; ) {
    if (groups[i] !== 0) {
      i++;
      continue;
    }
    let j = i;
    while (j < groups.length && groups[j] === 0) j++;
    if (j - i > best.length) best = { at: i, length: j - i };
    i = j;
  }
  const hex = (part: readonly number[]) => part.map((g) => g.toString(16)).join(":");
  if (best.at < 0) return hex(groups);
  return `${hex(groups.slice(0, best.at))}::${hex(groups.slice(best.at + best.length))}`;
}

/** An IPv6 block from its 128-bit network address. */
function ipv6Cidr(network: bigint, prefixLength: number): Cidr {
  const groups: number[] = [];
  let n = network;
  for (let i = 0; i < 8; i++) {
    groups.unshift(Number(n & 0xffffn));
    n >>= 16n;
  }
  return { family: 6, cidr: `${ipv6Text(groups)}/${prefixLength}`, prefixLength, network };
}

/**
 * Rewrites a dotted IPv4 tail (`::ffff:1.2.3.4`) as two hex groups. RFC 4291 says the tail is
 * just the low 32 bits: the deprecated IPv4-compatible form `::1.2.3.4` is a plain IPv6 block,
 * never the IPv4-mapped `::ffff:1.2.3.4` some parsers read it as. The tail must be four strict
 * decimal octets too.
 */
function withHexTail(address: string, input: string, path: string): string {
  const colon = address.lastIndexOf(":");
  const tail = address.slice(colon + 1);
  if (!tail.includes(".")) return address;
  if (!IPV4_DOTTED.test(tail)) {
    throw new InvalidInputError(path, `"${input}" has a malformed embedded IPv4 address`);
  }
  const value = ipv4Value(tail);
  const hex = `${(value >>> 16).toString(16)}:${(value & 0xffff).toString(16)}`;
  return `${address.slice(0, colon + 1)}${hex}`;
}

/**
 * Parses a CIDR strictly. Rejects what lenient parsers accept: octal or hex octets (`010.0.0.0/8`),
 * short forms (`10.1/16`), missing or out-of-range prefixes, zone ids. Host bits are cleared, as
 * AWS canonicalises them. `path` names the field in errors.
 *
 * @example
 * parseCidr("208.236.235.254/0").cidr // "0.0.0.0/0"
 * parseCidr("::ffff:0:0/96").cidr     // "0.0.0.0/0"
 * parseCidr("::ffff:0:0/96").original // { family: 6, cidr: "::ffff:0:0/96" }
 */
export function parseCidr(input: unknown, path = "cidr"): Cidr {
  if (typeof input !== "string") throw new InvalidInputError(path, "expected a CIDR string");
  const text = input.trim();
  const slash = text.indexOf("/");
  if (slash < 0 || slash !== text.lastIndexOf("/")) {
    throw new InvalidInputError(path, `"${input}" is not a CIDR (expected address/prefix)`);
  }
  const address = text.slice(0, slash);
  const prefixText = text.slice(slash + 1);
  if (!PREFIX.test(prefixText)) {
    throw new InvalidInputError(path, `"${input}" has an invalid prefix length`);
  }
  const prefix = Number(prefixText);
  if (address.includes(":")) {
    const groups = address.includes("%") ? null : ipv6Groups(withHexTail(address, input, path));
    if (groups === null) throw new InvalidInputError(path, `"${input}" is not a valid IPv6 CIDR`);
    if (prefix > 128) throw new InvalidInputError(path, `"${input}" has a prefix longer than 128`);
    const value = groups.reduce((n, g) => (n << 16n) | BigInt(g), 0n);
    const network = value & maskOf(128, prefix);
    if (prefix >= 96 && network >> 32n === 0xffffn) {
      // IPv4-mapped (::ffff:a.b.c.d/96+p) means IPv4 a.b.c.d/p to the policy.
      const original = { family: 6 as const, cidr: ipv6Cidr(network, prefix).cidr };
      return { ...ipv4Cidr(Number(network & 0xffffffffn), prefix - 96), original };
    }
    return ipv6Cidr(network, prefix);
  }
  if (!IPV4_DOTTED.test(address)) {
    throw new InvalidInputError(path, `"${input}" is not a valid IPv4 CIDR (four decimal octets)`);
  }
  if (prefix > 32) throw new InvalidInputError(path, `"${input}" has a prefix longer than 32`);
  return ipv4Cidr(ipv4Value(address), prefix);
}

/** True when `inner` lies wholly inside `outer` (same family, equal or longer prefix). */
export function cidrContains(outer: Cidr, inner: Cidr): boolean {
  if (outer.family !== inner.family || inner.prefixLength < outer.prefixLength) return false;
  const bits = outer.family === 4 ? 32 : 128;
  return (inner.network & maskOf(bits, outer.prefixLength)) === outer.network;
}

/** True when the two blocks share at least one address. */
export function cidrOverlaps(a: Cidr, b: Cidr): boolean {
  return cidrContains(a, b) || cidrContains(b, a);
}

/** True when `cidr` lies wholly inside any of `networks`. */
export function insideAny(cidr: Cidr, networks: readonly Cidr[]): boolean {
  return networks.some((n) => cidrContains(n, cidr));
}
