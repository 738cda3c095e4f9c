import { describe, expect, it } from "vitest";
import { parseCidr } from "../src/net/cidr";
import {
  arnMatches,
  classifyCidr,
  defaultPolicy,
  isBroad,
  parseExemptionTag,
  parseService,
} from "../src/policy";
import { covers, describeTraffic, isExactly, within } from "../src/policy/match";

const svc = (...texts: string[]) => texts.map(parseService);
const tcp = (from: number, to = from) => ({
  protocol: "tcp" as const,
  ports: { from, to },
  icmp: null,
});
const icmp = (type: number, code: number, protocol: "icmp" | "icmpv6" = "icmp") => ({
  protocol,
  ports: null,
  icmp: { type, code },
});

describe("parseService", () => {
  it("reads ports, ranges, ICMP type/code and protocol numbers", () => {
    expect(parseService("tcp/22")).toEqual({
      text: "tcp/22",
      protocol: "tcp",
      ports: { from: 22, to: 22 },
      icmp: null,
    });
    expect(parseService(" UDP/1000-2000 ")).toMatchObject({
      protocol: "udp",
      ports: { from: 1000, to: 2000 },
    });
    expect(parseService("icmp/3:4")).toMatchObject({
      protocol: "icmp",
      icmp: { type: 3, code: 4 },
    });
    expect(parseService("icmpv6/2")).toMatchObject({
      protocol: "icmpv6",
      icmp: { type: 2, code: -1 },
    });
    expect(parseService("tcp")).toMatchObject({ protocol: "tcp", ports: null });
    expect(parseService("6/443")).toMatchObject({ protocol: "tcp", ports: { from: 443, to: 443 } });
    expect(parseService("50")).toMatchObject({ protocol: 50, ports: null, icmp: null });
  });
});

describe("covers (ports rules)", () => {
  const admin = svc("tcp/22", "tcp/3389", "udp/3389");
  it("reaches a port the range contains, and nothing else", () => {
    expect(admin.some((s) => covers(tcp(20, 22), s, true))).toBe(true);
    expect(admin.some((s) => covers(tcp(23, 3388), s, true))).toBe(false);
  });
  it("treats protocol all as reaching everything only when asked", () => {
    const all = { protocol: "all" as const, ports: null, icmp: null };
    expect(covers(all, parseService("tcp/25"), true)).toBe(true);
    expect(covers(all, parseService("tcp/25"), false)).toBe(false);
  });
  it("matches ICMP by type and code, -1 meaning any", () => {
    const [pmtu] = svc("icmp/3:4");
    expect(covers(icmp(3, 4), pmtu!, true)).toBe(true);
    expect(covers(icmp(3, -1), pmtu!, true)).toBe(true);
    expect(covers(icmp(-1, -1), pmtu!, true)).toBe(true);
    expect(covers(icmp(3, 3), pmtu!, true)).toBe(false);
    expect(covers(icmp(8, 0), pmtu!, true)).toBe(false);
    expect(covers(icmp(3, 3), parseService("icmp/3"), true)).toBe(true);
    expect(covers(icmp(3, 3), parseService("icmp"), true)).toBe(true);
  });
  it("matches other protocols by number and tcp without ports as every port", () => {
    expect(covers({ protocol: 50, ports: null, icmp: null }, parseService("50"), true)).toBe(true);
    expect(covers({ protocol: "tcp", ports: null, icmp: null }, parseService("tcp/22"), true)).toBe(
      true,
    );
    expect(covers(tcp(22), parseService("tcp"), true)).toBe(true);
    expect(covers(tcp(22), parseService("udp/22"), true)).toBe(false);
  });
});

describe("within (exposure rules)", () => {
  const web = svc("tcp/80", "tcp/443", "udp/443", "icmp/3:4", "icmpv6/2");
  it("allows exactly the listed ports", () => {
    expect(within(tcp(80), web)).toBe(true);
    expect(within(tcp(443), web)).toBe(true);
    expect(within(tcp(80, 443), web)).toBe(false);
    expect(within({ protocol: "tcp", ports: null, icmp: null }, web)).toBe(false);
  });
  it("lets several adjacent entries cover a range together", () => {
    expect(within(tcp(80, 81), svc("tcp/80", "tcp/81"))).toBe(true);
    expect(within(tcp(1000, 3000), svc("tcp/2001-3000", "tcp/1000-2000"))).toBe(true);
    expect(within(tcp(1000, 3000), svc("tcp/1000-1999", "tcp/2001-3000"))).toBe(false);
    expect(within(tcp(5), svc("tcp"))).toBe(true);
  });
  it("never allows protocol all", () => {
    expect(within({ protocol: "all", ports: null, icmp: null }, svc("tcp", "udp", "icmp"))).toBe(
      false,
    );
  });
  it("allows ICMP only for a listed type and code", () => {
    expect(within(icmp(3, 4), web)).toBe(true);
    expect(within(icmp(3, -1), web)).toBe(false);
    expect(within(icmp(-1, -1), web)).toBe(false);
    expect(within(icmp(2, 0, "icmpv6"), web)).toBe(true);
    expect(within(icmp(2, -1, "icmpv6"), web)).toBe(true);
    expect(within(icmp(2, 0), web)).toBe(false);
    expect(within(icmp(8, 0), svc("icmp"))).toBe(true);
    expect(within({ protocol: "icmp", ports: null, icmp: null }, web)).toBe(false);
  });
  it("allows another protocol only when its number is listed", () => {
    expect(within({ protocol: 47, ports: null, icmp: null }, svc("47"))).toBe(true);
    expect(within({ protocol: 47, ports: null, icmp: null }, web)).toBe(false);
  });
});

describe("describeTraffic and isExactly", () => {
  it("writes traffic the way reasons show it", () => {
    expect(describeTraffic(tcp(22))).toBe("tcp 22");
    expect(describeTraffic(tcp(80, 443))).toBe("tcp 80-443");
    expect(describeTraffic({ protocol: "udp", ports: null, icmp: null })).toBe("udp all ports");
    expect(describeTraffic({ protocol: "all", ports: null, icmp: null })).toBe("all traffic");
    expect(describeTraffic(icmp(3, 4))).toBe("icmp type 3 code 4");
    expect(describeTraffic(icmp(3, -1))).toBe("icmp type 3");
    expect(describeTraffic(icmp(-1, -1, "icmpv6"))).toBe("icmpv6 all types");
    expect(describeTraffic({ protocol: 50, ports: null, icmp: null })).toBe("protocol 50");
  });
  it("knows when traffic is exactly one service", () => {
    expect(isExactly(tcp(22), parseService("tcp/22"))).toBe(true);
    expect(isExactly(tcp(21, 22), parseService("tcp/22"))).toBe(false);
    expect(isExactly(icmp(3, 4), parseService("icmp/3:4"))).toBe(true);
    expect(isExactly({ protocol: 50, ports: null, icmp: null }, parseService("50"))).toBe(true);
    expect(isExactly(tcp(22), parseService("udp/22"))).toBe(false);
  });
});

describe("isBroad", () => {
  const t = defaultPolicy().thresholds;
  it("is broad for protocol all and for more than 1,024 ports", () => {
    expect(isBroad({ protocol: "all", ports: null }, t)).toBe(true);
    expect(isBroad({ protocol: "tcp", ports: { from: 1, to: 1024 } }, t)).toBe(false);
    expect(isBroad({ protocol: "tcp", ports: { from: 1, to: 1025 } }, t)).toBe(true);
    expect(isBroad({ protocol: "udp", ports: null }, t)).toBe(true);
    expect(isBroad({ protocol: "icmp", ports: null }, t)).toBe(false);
    expect(isBroad({ protocol: 50, ports: null }, t)).toBe(false);
  });
});

describe("classifyCidr", () => {
  const label = (c: string) => classifyCidr(parseCidr(c), defaultPolicy()).label;
  it("labels trusted, public wide/narrow and blocked peers", () => {
    expect(label("10.1.0.0/16")).toBe("trusted");
    expect(label("0.0.0.0/0")).toBe("public, wide");
    expect(label("192.0.2.0/24")).toBe("public, narrow");
    expect(label("198.51.100.0/24")).toBe("public, narrow; blocked network 198.51.100.0/24");
  });
  it("still calls a blocked range inside a trusted network blocked", () => {
    const policy = {
      ...defaultPolicy(),
      networks: { ...defaultPolicy().networks, blocked: [parseCidr("10.66.0.0/16")] },
    };
    const peer = classifyCidr(parseCidr("10.66.1.0/24"), policy);
    expect(peer.label).toBe("trusted; blocked network 10.66.0.0/16");
    expect([...peer.classes].sort()).toEqual(["any", "blocked"]);
  });
});

describe("parseExemptionTag", () => {
  it("reads reason, expiry and rules", () => {
    expect(
      parseExemptionTag("reason=python app demo;expires=2026-12-31;rules=internet-exposure"),
    ).toEqual({
      valid: true,
      reason: "python app demo",
      expires: "2026-12-31",
      rules: ["internet-exposure"],
    });
  });
  it("tolerates spaces, upper-case keys, empty parts and several rules", () => {
    expect(parseExemptionTag(" Reason = demo ; EXPIRES=2026-01-01 ; rules = a-1, b ;")).toEqual({
      valid: true,
      reason: "demo",
      expires: "2026-01-01",
      rules: ["a-1", "b"],
    });
  });
  it("keeps = signs inside the reason", () => {
    expect(parseExemptionTag("reason=ticket=CHG-1;expires=2026-01-01;rules=r")).toMatchObject({
      reason: "ticket=CHG-1",
    });
  });
  it("requires rules: a tag that names no rule waives nothing", () => {
    expect(parseExemptionTag("reason=migration;expires=2026-01-01")).toEqual({
      valid: false,
      problem: "rules is missing",
    });
  });
  it.each([
    ["forever", '"forever" is not key=value'],
    ["reason=x;expiry=2026-01-01", 'unknown key "expiry"'],
    ["reason=x;reason=y;expires=2026-01-01", '"reason" is given twice'],
    ["expires=2026-01-01", "reason is missing"],
    ["reason=;expires=2026-01-01", "reason is missing"],
    ["reason=x;rules=r", "expires is missing"],
    ["reason=x;expires=2026-02-30", 'expires "2026-02-30" is not YYYY-MM-DD'],
    ["reason=x;expires=tomorrow", 'expires "tomorrow" is not YYYY-MM-DD'],
    ["reason=x;expires=2026-01-01;rules=", 'rules "" is not a comma-separated list of rule ids'],
    [
      "reason=x;expires=2026-01-01;rules=Admin Ports",
      'rules "Admin Ports" is not a comma-separated list of rule ids',
    ],
  ])("rejects %j: %s", (value, problem) => {
    expect(parseExemptionTag(value)).toEqual({ valid: false, problem });
  });
});

describe("arnMatches", () => {
  it("treats * as any run of characters and ? as one", () => {
    expect(
      arnMatches("arn:aws:iam::*:role/break-glass", "arn:aws:iam::111122223333:role/break-glass"),
    ).toBe(true);
    expect(
      arnMatches("arn:aws:iam::*:role/break-glass", "arn:aws:iam::111122223333:role/break-glass-2"),
    ).toBe(false);
    expect(arnMatches("arn:aws:sts::*:assumed-role/*", "arn:aws:sts::1:assumed-role/a/b")).toBe(
      true,
    );
    expect(arnMatches("arn:aws:iam::11112222333?:root", "arn:aws:iam::111122223333:root")).toBe(
      true,
    );
  });
  it("treats regular-expression characters literally and is case-sensitive", () => {
    expect(arnMatches("arn:aws:iam::1:role/a.b", "arn:aws:iam::1:role/axb")).toBe(false);
    expect(arnMatches("arn:aws:iam::1:role/(x)+", "arn:aws:iam::1:role/(x)+")).toBe(true);
    expect(arnMatches("arn:aws:iam::1:role/Admin", "arn:aws:iam::1:role/admin")).toBe(false);
  });
});
