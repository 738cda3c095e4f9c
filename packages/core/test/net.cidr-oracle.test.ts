import fc from "fast-check";
import ipaddr from "ipaddr.js";
import { describe, expect, it } from "vitest";
import { InvalidInputError } from "../src/errors";
import { type Cidr, parseCidr } from "../src/net/cidr";
import invalid from "./data/cidrs-invalid.json";
import valid from "./data/cidrs-valid.json";

/**
 * The oracle: parseCidr as it was written with ipaddr.js (a well-used library) doing the address
 * work, before the hand-written parser replaced it to keep ipaddr.js off the functions' init.
 * Both must accept exactly the same strings and read them alike.
 */
const IPV4_DOTTED = /^(25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)(\.(25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)){3}$/;
const PREFIX = /^(0|[1-9]\d{0,2})$/;

function bytesToBigint(bytes: number[]): bigint {
  let n = 0n;
  for (const b of bytes) n = (n << 8n) | BigInt(b);
  return n;
}

function maskOf(bits: number, prefix: number): bigint {
  return ((1n << BigInt(bits)) - 1n) ^ ((1n << BigInt(bits - prefix)) - 1n);
}

function toWords(bytes: number[]): number[] {
  const words: number[] = [];
  for (let i = 0; i < bytes.length; i += 2)
    words.push(((bytes[i] ?? 0) << 8) | (bytes[i + 1] ?? 0));
  return words;
}

function fromBigint(family: 4 | 6, network: bigint, prefixLength: number): Cidr {
  const bytes: number[] = [];
  let n = network;
  for (let i = 0; i < (family === 4 ? 4 : 16); i++) {
    bytes.unshift(Number(n & 0xffn));
    n >>= 8n;
  }
  const text =
    family === 4
      ? new ipaddr.IPv4(bytes).toString()
      : new ipaddr.IPv6(toWords(bytes)).toRFC5952String();
  return { family, cidr: `${text}/${prefixLength}`, prefixLength, network };
}

function withHexTail(address: string): string | null {
  const colon = address.lastIndexOf(":");
  const tail = address.slice(colon + 1);
  if (!tail.includes(".")) return address;
  if (!IPV4_DOTTED.test(tail)) return null;
  const [a = 0, b = 0, c = 0, d = 0] = tail.split(".").map(Number);
  const rewritten = `${address.slice(0, colon + 1)}${((a << 8) | b).toString(16)}:${((c << 8) | d).toString(16)}`;
  return ipaddr.IPv6.isValid(rewritten) ? rewritten : null;
}

/** What ipaddr.js reads `input` as, or null where it (with the same strictness rules) refuses it. */
function oracle(input: string): Cidr | null {
  const text = input.trim();
  const slash = text.indexOf("/");
  if (slash < 0 || slash !== text.lastIndexOf("/")) return null;
  const address = text.slice(0, slash);
  const prefixText = text.slice(slash + 1);
  if (!PREFIX.test(prefixText)) return null;
  const prefix = Number(prefixText);
  if (address.includes(":")) {
    if (address.includes("%") || !ipaddr.IPv6.isValid(address) || prefix > 128) return null;
    const hex = withHexTail(address);
    if (hex === null) return null;
    const network = bytesToBigint(ipaddr.IPv6.parse(hex).toByteArray()) & maskOf(128, prefix);
    if (prefix >= 96 && network >> 32n === 0xffffn) {
      const original = { family: 6 as const, cidr: fromBigint(6, network, prefix).cidr };
      return { ...fromBigint(4, network & 0xffffffffn, prefix - 96), original };
    }
    return fromBigint(6, network, prefix);
  }
  if (!IPV4_DOTTED.test(address) || prefix > 32) return null;
  const value = bytesToBigint(ipaddr.IPv4.parse(address).toByteArray());
  return fromBigint(4, value & maskOf(32, prefix), prefix);
}

function ours(input: string): Cidr | null {
  try {
    return parseCidr(input);
  } catch (error) {
    expect(error).toBeInstanceOf(InvalidInputError);
    return null;
  }
}

const hexGroup = fc
  .integer({ min: 0, max: 0xffff })
  .chain((n) =>
    fc.constantFrom(n.toString(16), n.toString(16).toUpperCase(), n.toString(16).padStart(4, "0")),
  );

/**
 * An IPv6 address in any of its text forms (full, `::`-compressed anywhere, dotted tail), and with
 * a group too few or too many.
 */
const ipv6Text = fc
  .tuple(
    fc.array(fc.oneof(hexGroup, fc.constant("0")), { minLength: 7, maxLength: 9 }),
    fc.integer({ min: -1, max: 8 }),
    fc.integer({ min: 0, max: 9 }),
    fc.boolean(),
  )
  .map(([groups, at, length, dotted]) => {
    const parts = [...groups];
    let tail: string[] = [];
    if (dotted) {
      const low = parts.splice(6, 2).map((g) => Number.parseInt(g, 16));
      tail = [[low[0] ?? 0, low[1] ?? 0].flatMap((w) => [w >> 8, w & 0xff]).join(".")];
    }
    const all = [...parts, ...tail];
    if (at < 0 || at >= parts.length) return all.join(":");
    const end = Math.min(parts.length, at + length);
    return `${all.slice(0, at).join(":")}::${all.slice(end).join(":")}`;
  });

const ipv4Text = fc
  .array(fc.integer({ min: 0, max: 255 }), { minLength: 4, maxLength: 4 })
  .map((o) => o.join("."));

/** Near-miss text: the characters addresses are written with, in any order. */
const noise = fc
  .array(fc.constantFrom(..."0123456789abcdefABCDEFg:.:%x-"), { maxLength: 24 })
  .map((c) => c.join(""));

describe("parseCidr against ipaddr.js (the oracle)", () => {
  it.each<[name: string, addresses: fc.Arbitrary<string>, maxPrefix: number, numRuns: number]>([
    [
      "reads every IPv6 text form, prefix and IPv4-mapped block as ipaddr.js does",
      ipv6Text,
      130,
      3000,
    ],
    ["reads every IPv4 block as ipaddr.js does", ipv4Text, 33, 1000],
    ["accepts and refuses the same near-miss strings", noise, 128, 5000],
  ])("%s", (_name, addresses, maxPrefix, numRuns) => {
    fc.assert(
      fc.property(addresses, fc.integer({ min: 0, max: maxPrefix }), (address, prefix) => {
        const input = `${address}/${prefix}`;
        expect(ours(input), input).toEqual(oracle(input));
      }),
      { numRuns },
    );
  });

  it("agrees on both corpora", () => {
    for (const { input } of [...valid, ...invalid]) {
      if (typeof input !== "string") continue;
      expect(ours(input), input).toEqual(oracle(input));
    }
  });
});
