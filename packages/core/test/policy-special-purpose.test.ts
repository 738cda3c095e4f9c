import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { type Cidr, cidrContains, parseCidr } from "../src/net/cidr";
import {
  classifyCidr,
  defaultPolicy,
  evaluate,
  loadPolicy,
  SPECIAL_PURPOSE_NETWORKS,
  specialPurposeRange,
} from "../src/policy";
import { NOW, sgRule } from "./policy-builders";

function addressText(family: 4 | 6, n: bigint): string {
  return family === 4
    ? [24n, 16n, 8n, 0n].map((s) => Number((n >> s) & 0xffn)).join(".")
    : Array.from({ length: 8 }, (_, i) =>
        Number((n >> BigInt(112 - 16 * i)) & 0xffffn).toString(16),
      ).join(":");
}

const RANGES = [
  "0.0.0.0/8",
  "127.0.0.0/8",
  "169.254.0.0/16",
  "224.0.0.0/4",
  "240.0.0.0/4",
  "255.255.255.255/32",
  "::/128",
  "::1/128",
  "fe80::/10",
  "ff00::/8",
];

describe("special-purpose peer class", () => {
  it("holds exactly the IANA ranges the issue names, and no documentation range", () => {
    expect(SPECIAL_PURPOSE_NETWORKS.map((n) => n.cidr.cidr)).toEqual(RANGES);
    for (const doc of ["192.0.2.0/24", "198.51.100.0/24", "203.0.113.0/24", "2001:db8::/32"]) {
      expect(specialPurposeRange(parseCidr(doc)), doc).toBeUndefined();
    }
  });

  it("writes each range exactly as parseCidr reads its text", () => {
    for (const { cidr } of SPECIAL_PURPOSE_NETWORKS) expect(cidr).toEqual(parseCidr(cidr.cidr));
  });

  it.each([
    ["169.254.169.254/32", "link-local (RFC 3927)"],
    ["127.0.0.1/32", "loopback (RFC 1122)"],
    ["224.0.0.251/32", "multicast (RFC 5771)"],
    ["255.255.255.255/32", "limited broadcast (RFC 919)"],
    ["0.0.0.0/32", "this network (RFC 791)"],
    ["::1/128", "loopback (RFC 4291)"],
    ["fe80::1/128", "link-local unicast (RFC 4291)"],
    ["ff02::1/128", "multicast (RFC 4291)"],
    ["::ffff:169.254.169.254/128", "link-local (RFC 3927)"],
  ])("classifies %s as special-purpose, not public", (text, name) => {
    const peer = classifyCidr(parseCidr(text), defaultPolicy());
    expect(peer.classes.has("special-purpose")).toBe(true);
    expect(peer.classes.has("public")).toBe(false);
    expect(peer.label).toBe(`special-purpose, ${name}`);
  });

  it.each(["0.0.0.0/0", "0.0.0.0/7", "128.0.0.0/1", "::/0", "fe80::/9", "::/127"])(
    "a CIDR only partly inside a special range (%s) is public",
    (text) => {
      const peer = classifyCidr(parseCidr(text), defaultPolicy());
      expect(peer.classes.has("special-purpose")).toBe(false);
      expect(peer.classes.has("public")).toBe(true);
    },
  );

  it("property: special-purpose exactly when wholly inside one of the ranges (oracle: bit prefixes)", () => {
    const ranges = RANGES.map((r) => parseCidr(r));
    const bitsOf = (c: Cidr) =>
      c.network
        .toString(2)
        .padStart(c.family === 4 ? 32 : 128, "0")
        .slice(0, c.prefixLength);
    const cidrs = fc.oneof(
      fc
        .tuple(fc.nat({ max: 0xffffffff }), fc.integer({ min: 0, max: 32 }))
        .map(([n, p]) => parseCidr(`${addressText(4, BigInt(n))}/${p}`)),
      fc
        .tuple(
          fc.constantFrom(...ranges),
          fc.bigInt({ min: 0n, max: (1n << 128n) - 1n }),
          fc.nat({ max: 130 }),
        )
        .map(([r, random, p]) => {
          const bits = r.family === 4 ? 32 : 128;
          const hostMask = (1n << BigInt(bits - r.prefixLength)) - 1n;
          const network = r.network | (random & hostMask);
          const prefix = Math.max(0, Math.min(bits, r.prefixLength - 2 + (p % 12)));
          return parseCidr(`${addressText(r.family, network)}/${prefix}`);
        }),
    );
    fc.assert(
      fc.property(cidrs, (c) => {
        const inside = ranges.some((r) => r.family === c.family && bitsOf(c).startsWith(bitsOf(r)));
        expect(specialPurposeRange(c) !== undefined).toBe(inside);
        expect(inside).toBe(ranges.some((r) => cidrContains(r, c)));
      }),
    );
  });

  it("the shipped rules do not flag SSH from the instance metadata address", () => {
    const change = sgRule({ cidr: "169.254.169.254/32", ports: [22] });
    expect(evaluate([change], defaultPolicy(), { now: NOW }).findings).toEqual([]);
    const fromInternet = sgRule({ cidr: "0.0.0.0/0", ports: [22] });
    expect(evaluate([fromInternet], defaultPolicy(), { now: NOW }).findings).not.toEqual([]);
  });

  it("a rule can name the class", () => {
    const policy = loadPolicy(`rules:
  - id: no-link-local
    kind: security-group-peers
    description: nothing from special-purpose ranges
    mode: enforce
    options: { peers: [special-purpose] }
`);
    const hit = evaluate([sgRule({ cidr: "169.254.0.0/16", ports: [443] })], policy, {
      now: NOW,
    });
    expect(hit.findings.map((f) => f.rule)).toEqual(["no-link-local"]);
    const miss = evaluate([sgRule({ cidr: "8.8.8.8/32", ports: [443] })], policy, { now: NOW });
    expect(miss.findings).toEqual([]);
  });

  it("trust wins: a special range inside a trusted network is trusted", () => {
    const policy = loadPolicy(`networks: { trusted: [127.0.0.0/8] }
rules:
  - { id: r, kind: security-group-peers, description: d, options: { peers: [special-purpose] } }
`);
    const peer = classifyCidr(parseCidr("127.0.0.1/32"), policy);
    expect(peer.classes.has("special-purpose")).toBe(false);
    expect(peer.label).toBe("trusted");
  });
});
