import { describe, expect, it } from "vitest";
import { InvalidInputError } from "../src/errors";
import { cidrContains, cidrOverlaps, insideAny, parseCidr } from "../src/net/cidr";
import invalid from "./data/cidrs-invalid.json";
import valid from "./data/cidrs-valid.json";

describe("parseCidr on the valid corpus", () => {
  it.each(valid)("reads $input as $cidr ($note)", ({ input, cidr, family, prefixLength }) => {
    const parsed = parseCidr(input);
    expect(parsed.cidr).toBe(cidr);
    expect(parsed.family).toBe(family);
    expect(parsed.prefixLength).toBe(prefixLength);
  });

  it.each(valid)("is idempotent on its own output for $input", ({ input }) => {
    const once = parseCidr(input);
    // An IPv4-mapped block's own output is its original IPv6 text; its IPv4 reading is the
    // same block without the original.
    expect(parseCidr(once.original?.cidr ?? once.cidr)).toEqual(once);
    const { original: _, ...asIpv4 } = once;
    expect(parseCidr(once.cidr)).toEqual(asIpv4);
  });
});

describe("parseCidr on the invalid corpus", () => {
  it.each(invalid)("rejects $input ($reason)", ({ input }) => {
    expect(() => parseCidr(input, "detail.requestParameters.cidrIp")).toThrow(InvalidInputError);
  });

  it("names the path it was given in the error", () => {
    try {
      parseCidr("010.0.0.0/8", "detail.requestParameters.cidrIp");
      expect.unreachable();
    } catch (error) {
      expect(error).toBeInstanceOf(InvalidInputError);
      expect((error as InvalidInputError).path).toBe("detail.requestParameters.cidrIp");
      expect((error as InvalidInputError).code).toBe("INVALID_INPUT");
      expect((error as Error).message).toContain("010.0.0.0/8");
    }
  });

  it("defaults the path to cidr", () => {
    expect(() => parseCidr("nope")).toThrow(/^cidr: /);
  });
});

describe("cidrContains", () => {
  const c = (s: string) => parseCidr(s);

  it("contains itself", () => {
    expect(cidrContains(c("10.0.0.0/8"), c("10.0.0.0/8"))).toBe(true);
  });

  it("contains a longer prefix inside it", () => {
    expect(cidrContains(c("10.0.0.0/8"), c("10.20.30.0/24"))).toBe(true);
    expect(cidrContains(c("2001:db8::/32"), c("2001:db8:1::/48"))).toBe(true);
  });

  it("does not contain a shorter prefix", () => {
    expect(cidrContains(c("10.20.0.0/16"), c("10.0.0.0/8"))).toBe(false);
  });

  it("does not contain a sibling block", () => {
    expect(cidrContains(c("10.0.0.0/9"), c("10.128.0.0/9"))).toBe(false);
  });

  it("never mixes families, even for the world", () => {
    expect(cidrContains(c("0.0.0.0/0"), c("::/0"))).toBe(false);
    expect(cidrContains(c("::/0"), c("10.0.0.0/8"))).toBe(false);
  });

  it("treats an IPv4-mapped block as IPv4", () => {
    expect(cidrContains(c("10.0.0.0/8"), c("::ffff:10.1.2.3/128"))).toBe(true);
  });

  it("puts everything of a family inside its /0", () => {
    expect(cidrContains(c("0.0.0.0/0"), c("198.51.100.7/32"))).toBe(true);
    expect(cidrContains(c("::/0"), c("2001:db8::1/128"))).toBe(true);
  });
});

describe("IPv4-mapped IPv6 blocks", () => {
  it("are evaluated as IPv4 but keep the IPv6 text AWS stores them under", () => {
    expect(parseCidr("::ffff:0:0/96")).toEqual({
      family: 4,
      cidr: "0.0.0.0/0",
      prefixLength: 0,
      network: 0n,
      original: { family: 6, cidr: "::ffff:0:0/96" },
    });
  });

  it("canonicalise the original text: dotted tails, long forms and host bits", () => {
    expect(parseCidr("::ffff:10.1.2.3/104").original).toEqual({
      family: 6,
      cidr: "::ffff:a00:0/104",
    });
    expect(parseCidr("0:0:0:0:0:FFFF:0:0/96").original?.cidr).toBe("::ffff:0:0/96");
  });

  it("leave plain IPv4 and IPv6 blocks without an original", () => {
    for (const text of ["0.0.0.0/0", "10.0.0.0/8", "::/0", "2001:db8::/32", "::ffff:0:0/95"]) {
      expect(parseCidr(text), text).not.toHaveProperty("original");
    }
  });
});

describe("cidrOverlaps", () => {
  const c = (s: string) => parseCidr(s);

  it("overlaps when either contains the other", () => {
    expect(cidrOverlaps(c("10.0.0.0/8"), c("10.1.0.0/16"))).toBe(true);
    expect(cidrOverlaps(c("10.1.0.0/16"), c("10.0.0.0/8"))).toBe(true);
  });

  it("does not overlap disjoint blocks", () => {
    expect(cidrOverlaps(c("10.0.0.0/16"), c("10.1.0.0/16"))).toBe(false);
  });
});

describe("insideAny", () => {
  const nets = ["10.0.0.0/8", "192.168.0.0/16", "fd00::/8"].map((s) => parseCidr(s));

  it("is true when one network holds the block", () => {
    expect(insideAny(parseCidr("192.168.4.0/24"), nets)).toBe(true);
    expect(insideAny(parseCidr("fd12:3456::/32"), nets)).toBe(true);
  });

  it("is false for a block that only overlaps", () => {
    expect(insideAny(parseCidr("10.0.0.0/7"), nets)).toBe(false);
  });

  it("is false with no networks", () => {
    expect(insideAny(parseCidr("10.0.0.0/8"), [])).toBe(false);
  });
});
