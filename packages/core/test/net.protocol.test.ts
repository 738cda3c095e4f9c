import { describe, expect, it } from "vitest";
import { InvalidInputError } from "../src/errors";
import {
  hasPorts,
  isIcmp,
  parseProtocol,
  protocolApiName,
  protocolNumber,
} from "../src/net/protocol";

describe("parseProtocol", () => {
  it.each([
    ["tcp", "tcp"],
    ["TCP", "tcp"],
    [" udp ", "udp"],
    ["6", "tcp"],
    [6, "tcp"],
    ["006", "tcp"],
    ["17", "udp"],
    ["1", "icmp"],
    ["icmp", "icmp"],
    ["58", "icmpv6"],
    ["icmpv6", "icmpv6"],
    ["-1", "all"],
    [-1, "all"],
    ["all", "all"],
    ["50", 50],
    [50, 50],
    ["0", 0],
    ["255", 255],
    ["132", 132],
  ])("reads %j as %j", (input, expected) => {
    expect(parseProtocol(input)).toBe(expected);
  });

  it.each([
    ["256"],
    [256],
    ["-2"],
    ["6.5"],
    [6.5],
    ["1e1"],
    ["sctp"],
    [""],
    [null],
    [undefined],
    [true],
    [["tcp"]],
    [{ protocol: "tcp" }],
  ])("rejects %j", (input) => {
    expect(() => parseProtocol(input, "detail.requestParameters.ipProtocol")).toThrow(
      InvalidInputError,
    );
  });

  it("names the path in the error", () => {
    expect(() => parseProtocol("sctp", "ipProtocol")).toThrow(/^ipProtocol: /);
  });
});

describe("protocolNumber and protocolApiName", () => {
  it.each([
    ["tcp", 6, "tcp"],
    ["udp", 17, "udp"],
    ["icmp", 1, "icmp"],
    ["icmpv6", 58, "icmpv6"],
    ["all", -1, "-1"],
    [50, 50, "50"],
  ] as const)("maps %j to %d on the wire and %j for Authorize/Revoke", (p, n, api) => {
    expect(protocolNumber(p)).toBe(n);
    expect(protocolApiName(p)).toBe(api);
  });

  it("round-trips every wire number through parseProtocol", () => {
    for (const p of ["tcp", "udp", "icmp", "icmpv6", "all", 50] as const) {
      expect(parseProtocol(protocolNumber(p))).toBe(p);
      expect(parseProtocol(protocolApiName(p))).toBe(p);
    }
  });
});

describe("hasPorts and isIcmp", () => {
  it("gives ports to tcp and udp only", () => {
    expect(hasPorts("tcp")).toBe(true);
    expect(hasPorts("udp")).toBe(true);
    expect(hasPorts("icmp")).toBe(false);
    expect(hasPorts("all")).toBe(false);
    expect(hasPorts(50)).toBe(false);
  });

  it("gives type/code to icmp and icmpv6 only", () => {
    expect(isIcmp("icmp")).toBe(true);
    expect(isIcmp("icmpv6")).toBe(true);
    expect(isIcmp("tcp")).toBe(false);
    expect(isIcmp(1)).toBe(false);
  });
});
