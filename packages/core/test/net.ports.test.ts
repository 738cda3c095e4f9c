import { describe, expect, it } from "vitest";
import { InvalidInputError } from "../src/errors";
import { parsePort, portCount, rangeContains, rangeWithin } from "../src/net/ports";

describe("parsePort", () => {
  it.each([
    [22, 22],
    ["443", 443],
    [" 8080 ", 8080],
    ["0443", 443],
    [0, 0],
    [65535, 65535],
    ["65535", 65535],
  ])("reads %j as %d", (input, expected) => {
    expect(parsePort(input, "fromPort")).toBe(expected);
  });

  it("reads -0 and '-0' as 0, not negative zero", () => {
    expect(Object.is(parsePort(-0, "p"), 0)).toBe(true);
    expect(Object.is(parsePort("-0", "p"), 0)).toBe(true);
  });

  it.each([
    [-1],
    [65536],
    ["65536"],
    [22.5],
    ["22.0"],
    ["+22"],
    ["1e3"],
    ["0x16"],
    [""],
    ["twenty"],
    [Number.NaN],
    [Number.POSITIVE_INFINITY],
    [null],
    [undefined],
    [true],
    [[22]],
    [{ port: 22 }],
  ])("rejects %j", (input) => {
    expect(() => parsePort(input, "detail.requestParameters.fromPort")).toThrow(InvalidInputError);
  });

  it("names the path and the bounds in the error", () => {
    expect(() => parsePort(70000, "toPort")).toThrow(
      "toPort: expected an integer 0-65535, got 70000",
    );
  });

  it("honours custom bounds (ICMP type -1..255, NACL rule 1..32766)", () => {
    expect(parsePort(-1, "type", -1, 255)).toBe(-1);
    expect(parsePort("-1", "type", -1, 255)).toBe(-1);
    expect(() => parsePort(256, "type", -1, 255)).toThrow(InvalidInputError);
    expect(parsePort("32766", "ruleNumber", 1, 32766)).toBe(32766);
    expect(() => parsePort(32767, "ruleNumber", 1, 32766)).toThrow(InvalidInputError);
    expect(() => parsePort(0, "ruleNumber", 1, 32766)).toThrow(InvalidInputError);
  });
});

describe("portCount", () => {
  it("counts to - from + 1", () => {
    expect(portCount({ from: 22, to: 22 })).toBe(1);
    expect(portCount({ from: 0, to: 65535 })).toBe(65536);
    expect(portCount({ from: 700, to: 702 })).toBe(3);
  });
});

describe("rangeContains", () => {
  it("holds its ends and what lies between", () => {
    expect(rangeContains({ from: 20, to: 25 }, 20)).toBe(true);
    expect(rangeContains({ from: 20, to: 25 }, 25)).toBe(true);
    expect(rangeContains({ from: 20, to: 25 }, 22)).toBe(true);
  });

  it("excludes ports outside", () => {
    expect(rangeContains({ from: 20, to: 25 }, 19)).toBe(false);
    expect(rangeContains({ from: 20, to: 25 }, 26)).toBe(false);
  });

  it("treats null as all ports", () => {
    expect(rangeContains(null, 3389)).toBe(true);
  });
});

describe("rangeWithin", () => {
  it("is true for a range inside another", () => {
    expect(rangeWithin({ from: 443, to: 443 }, { from: 400, to: 500 })).toBe(true);
  });

  it("is false for a range sticking out", () => {
    expect(rangeWithin({ from: 443, to: 600 }, { from: 400, to: 500 })).toBe(false);
  });

  it("puts everything within all ports, and all ports within no finite range", () => {
    expect(rangeWithin({ from: 0, to: 65535 }, null)).toBe(true);
    expect(rangeWithin(null, null)).toBe(true);
    expect(rangeWithin(null, { from: 0, to: 65535 })).toBe(false);
  });
});
