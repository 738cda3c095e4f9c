import ipaddr from "ipaddr.js";
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

const IPV4_DOTTED = /^(25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)(\.(25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)){3}$/;
const PREFIX = /^(0|[1-9]\d{0,2})$/;

function bytesToBigint(bytes: number[]): bigint {
  let n = 0n;
  for (const b of bytes) n = (n << 8n) | BigInt(b);
  return n;
}

function maskOf(bits: number, prefix: number): bigint {
  const total = BigInt(bits);
  const p = BigInt(prefix);
  return ((1n << total) - 1n) ^ ((1n << (total - p)) - 1n);
}

function fromBigint(family: 4 | 6, network: bigint, prefixLength: number): Cidr {
  const width = family === 4 ? 4 : 16;
  const bytes: number[] = [];
  let n = network;
  for (let i = 0; i < width; i++) {
    bytes.unshift(Number(n & 0xffn));
    n >>= 8n;
  }
  const addr = family === 4 ? new ipaddr.IPv4(bytes) : new ipaddr.IPv6(toWords(bytes));
  const text = family === 4 ? addr.toString() : (addr as ipaddr.IPv6).toRFC5952String();
  return { family, cidr: `${text}/${prefixLength}`, prefixLength, network };
}

function toWords(bytes: number[]): number[] {
  const words: number[] = [];
  for (let i = 0; i < bytes.length; i += 2)
    words.push(((bytes[i] ?? 0) << 8) | (bytes[i + 1] ?? 0));
  return words;
}

/**
 * Rewrites a dotted IPv4 tail (`::ffff:1.2.3.4`) as two hex words before ipaddr.js sees it.
 * ipaddr.js reads the deprecated IPv4-compatible form `::1.2.3.4` as the IPv4-mapped
 * `::ffff:1.2.3.4`, which would turn a plain IPv6 block into an IPv4 one; RFC 4291 says the
 * tail is just the low 32 bits. The tail must be four strict decimal octets too.
 */
function withHexTail(address: string, input: string, path: string): string {
  const colon = address.lastIndexOf(":");
  const tail = address.slice(colon + 1);
  if (!tail.includes(".")) return address;
  if (!IPV4_DOTTED.test(tail)) {
    throw new InvalidInputError(path, `"${input}" has a malformed embedded IPv4 address`);
  }
  const [a = 0, b = 0, c = 0, d = 0] = tail.split(".").map(Number);
  const hex = `${((a << 8) | b).toString(16)}:${((c << 8) | d).toString(16)}`;
  const rewritten = `${address.slice(0, colon + 1)}${hex}`;
  if (!ipaddr.IPv6.isValid(rewritten)) {
    throw new InvalidInputError(path, `"${input}" is not a valid IPv6 CIDR`);
  }
  return rewritten;
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
    if (address.includes("%") || !ipaddr.IPv6.isValid(address)) {
      throw new InvalidInputError(path, `"${input}" is not a valid IPv6 CIDR`);
    }
    if (prefix > 128) throw new InvalidInputError(path, `"${input}" has a prefix longer than 128`);
    const v6 = ipaddr.IPv6.parse(withHexTail(address, input, path));
    const value = bytesToBigint(v6.toByteArray());
    const network = value & maskOf(128, prefix);
    if (prefix >= 96 && network >> 32n === 0xffffn) {
      // IPv4-mapped (::ffff:a.b.c.d/96+p) means IPv4 a.b.c.d/p to the policy.
      const original = { family: 6 as const, cidr: fromBigint(6, network, prefix).cidr };
      return { ...fromBigint(4, network & 0xffffffffn, prefix - 96), original };
    }
    return fromBigint(6, network, prefix);
  }
  if (!IPV4_DOTTED.test(address)) {
    throw new InvalidInputError(path, `"${input}" is not a valid IPv4 CIDR (four decimal octets)`);
  }
  if (prefix > 32) throw new InvalidInputError(path, `"${input}" has a prefix longer than 32`);
  const value = bytesToBigint(ipaddr.IPv4.parse(address).toByteArray());
  return fromBigint(4, value & maskOf(32, prefix), prefix);
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
