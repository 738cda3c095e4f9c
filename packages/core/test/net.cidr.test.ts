import { describe, expect, it } from "vitest";
import { InvalidInputError } from "../src/errors";
import { cidrContains, cidrOverlaps, insideAny, parseCidr } from "../src/net/cidr";
import invalid from "./data/cidrs-invalid.json";
import valid from "./data/cidrs-valid.json";
import { MAPPED_WORLD } from "./net-fixtures";

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

/** A relation between two blocks: its name, the pairs of CIDR texts it holds for, the answer. */
type PairCase = [name: string, pairs: [string, string][], expected: boolean];
const c = (s: string) => parseCidr(s);

describe("cidrContains", () => {
  it.each<PairCase>([
    ["contains itself", [["10.0.0.0/8", "10.0.0.0/8"]], true],
    [
      "contains a longer prefix inside it",
      [
        ["10.0.0.0/8", "10.20.30.0/24"],
        ["2001:db8::/32", "2001:db8:1::/48"],
      ],
      true,
    ],
    ["does not contain a shorter prefix", [["10.20.0.0/16", "10.0.0.0/8"]], false],
    ["does not contain a sibling block", [["10.0.0.0/9", "10.128.0.0/9"]], false],
    [
      "never mixes families, even for the world",
      [
        ["0.0.0.0/0", "::/0"],
        ["::/0", "10.0.0.0/8"],
      ],
      false,
    ],
    ["treats an IPv4-mapped block as IPv4", [["10.0.0.0/8", "::ffff:10.1.2.3/128"]], true],
    [
      "puts everything of a family inside its /0",
      [
        ["0.0.0.0/0", "198.51.100.7/32"],
        ["::/0", "2001:db8::1/128"],
      ],
      true,
    ],
  ])("%s", (_name, pairs, expected) => {
    for (const [outer, inner] of pairs) {
      expect(cidrContains(c(outer), c(inner)), `${outer} contains ${inner}`).toBe(expected);
    }
  });
});

describe("IPv4-mapped IPv6 blocks", () => {
  it("are evaluated as IPv4 but keep the IPv6 text AWS stores them under", () => {
    expect(parseCidr("::ffff:0:0/96")).toEqual(MAPPED_WORLD);
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
  it.each<PairCase>([
    [
      "overlaps when either contains the other",
      [
        ["10.0.0.0/8", "10.1.0.0/16"],
        ["10.1.0.0/16", "10.0.0.0/8"],
      ],
      true,
    ],
    ["does not overlap disjoint blocks", [["10.0.0.0/16", "10.1.0.0/16"]], false],
  ])("%s", (_name, pairs, expected) => {
    for (const [a, b] of pairs)
      expect(cidrOverlaps(c(a), c(b)), `${a} overlaps ${b}`).toBe(expected);
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
