import { describe, expect, it } from "vitest";
import type { RuleChange } from "../src/model";
import { defaultPolicy } from "../src/policy";
import { evaluate } from "../src/policy/evaluate";
import { NOW, naclEntry, sgRule } from "./policy-builders";

/** `rule:mode` for every finding, sorted, space-separated ("" when compliant). */
function verdict(change: RuleChange): string {
  const result = evaluate([change], defaultPolicy(), { now: NOW });
  return result.findings
    .map((f) => `${f.rule}:${f.mode}`)
    .sort()
    .join(" ");
}

type Row = readonly [name: string, change: RuleChange, expected: string];

const ADMIN_AND_EXPOSURE = "admin-ports:enforce internet-exposure:enforce";

describe("blocked-sources rule", () => {
  const rows: Row[] = [
    [
      "flags tcp 443 from a host in the blocked network",
      sgRule({ ports: [443], cidr: "198.51.100.7/32" }),
      "blocked-sources:enforce",
    ],
    [
      "flags the whole blocked /24 on any port",
      sgRule({ ports: [8443], cidr: "198.51.100.0/24" }),
      "blocked-sources:enforce",
    ],
    [
      "flags all traffic from the blocked network (and the admin ports it covers)",
      sgRule({ protocol: "all", cidr: "198.51.100.128/25" }),
      "admin-ports:enforce blocked-sources:enforce",
    ],
    [
      "does not flag a /23 that only contains the blocked network",
      sgRule({ ports: [443], cidr: "198.51.100.0/23" }),
      "",
    ],
    [
      "does not flag egress to the blocked network",
      sgRule({ direction: "egress", ports: [443], cidr: "198.51.100.7/32" }),
      "",
    ],
  ];
  it.each(rows)("%s", (_, change, expected) => expect(verdict(change)).toBe(expected));
});

describe("admin-ports rule", () => {
  const rows: Row[] = [
    ["flags tcp 22 from 0.0.0.0/0", sgRule({ ports: [22] }), ADMIN_AND_EXPOSURE],
    [
      "flags tcp 3389 from 0.0.0.0/1",
      sgRule({ ports: [3389], cidr: "0.0.0.0/1" }),
      ADMIN_AND_EXPOSURE,
    ],
    [
      "flags tcp 3389 from 128.0.0.0/1",
      sgRule({ ports: [3389], cidr: "128.0.0.0/1" }),
      ADMIN_AND_EXPOSURE,
    ],
    [
      "flags tcp 0-65535 from 0.0.0.0/1",
      sgRule({ ports: [0, 65535], cidr: "0.0.0.0/1" }),
      ADMIN_AND_EXPOSURE,
    ],
    [
      "flags udp 3389 from ::/0",
      sgRule({ protocol: "udp", ports: [3389], cidr: "::/0" }),
      ADMIN_AND_EXPOSURE,
    ],
    ["flags a tcp range containing 22", sgRule({ ports: [21, 23] }), ADMIN_AND_EXPOSURE],
    [
      "flags protocol all from a narrow public /32",
      sgRule({ protocol: "all", cidr: "8.8.8.8/32" }),
      "admin-ports:enforce",
    ],
    [
      "flags tcp 22 from a narrow public /24 (admin ports only)",
      sgRule({ cidr: "192.0.2.0/24" }),
      "admin-ports:enforce",
    ],
    [
      "flags tcp 22 from a wide public /23 (also internet exposure)",
      sgRule({ cidr: "192.0.2.0/23" }),
      ADMIN_AND_EXPOSURE,
    ],
    [
      "flags tcp 22 from an IPv4-mapped ::ffff:0:0/96 (0.0.0.0/0)",
      sgRule({ cidr: "::ffff:0:0/96" }),
      ADMIN_AND_EXPOSURE,
    ],
    [
      "flags tcp 22 from 172.32.0.0/16, just outside 172.16.0.0/12",
      sgRule({ cidr: "172.32.0.0/16" }),
      ADMIN_AND_EXPOSURE,
    ],
    [
      "flags tcp 22 from 10.0.0.0/7, which only contains a trusted network",
      sgRule({ cidr: "10.0.0.0/7" }),
      ADMIN_AND_EXPOSURE,
    ],
    [
      "flags tcp 22 from a wide public IPv6 /47",
      sgRule({ cidr: "2001:db9::/47" }),
      ADMIN_AND_EXPOSURE,
    ],
    [
      "flags tcp 22 from a narrow public IPv6 /48 (admin ports only)",
      sgRule({ cidr: "2001:db9::/48" }),
      "admin-ports:enforce",
    ],
    ["does not flag tcp 22 from 10.1.2.3/32 (trusted)", sgRule({ cidr: "10.1.2.3/32" }), ""],
    ["does not flag tcp 22 from 100.64.0.0/10 (trusted)", sgRule({ cidr: "100.64.0.0/10" }), ""],
    ["does not flag tcp 22 from the office /24", sgRule({ cidr: "203.0.113.0/24" }), ""],
    ["does not flag tcp 22 from an office IPv6 /64", sgRule({ cidr: "2001:db8:1234:5::/64" }), ""],
    ["does not flag tcp 22 from fd00::/8 (unique local)", sgRule({ cidr: "fd00::/8" }), ""],
    [
      "does not flag tcp 22 from an IPv4-mapped trusted block",
      sgRule({ cidr: "::ffff:10.0.0.0/104" }),
      "",
    ],
    [
      "does not flag tcp 22 from a referenced security group",
      sgRule({ referencedGroupId: "sg-0fedcba9876543210" }),
      "",
    ],
    [
      "does not flag udp 22 as an admin port",
      sgRule({ protocol: "udp", ports: [22] }),
      "internet-exposure:enforce",
    ],
    [
      "does not flag tcp 23-3388, which skips both admin ports",
      sgRule({ ports: [23, 3388] }),
      "internet-exposure:enforce",
    ],
  ];
  it.each(rows)("%s", (_, change, expected) => expect(verdict(change)).toBe(expected));
});

describe("internet-exposure rule", () => {
  const rows: Row[] = [
    ["allows tcp 80 from 0.0.0.0/0", sgRule({ ports: [80] }), ""],
    ["allows tcp 443 from 0.0.0.0/0", sgRule({ ports: [443] }), ""],
    ["allows tcp 443 from ::/0", sgRule({ ports: [443], cidr: "::/0" }), ""],
    ["allows udp 443 (QUIC) from 0.0.0.0/0", sgRule({ protocol: "udp", ports: [443] }), ""],
    ["allows ICMP type 3 code 4 (path MTU)", sgRule({ protocol: "icmp", icmp: [3, 4] }), ""],
    [
      "allows ICMPv6 type 2 code 0 (packet too big)",
      sgRule({ protocol: "icmpv6", icmp: [2, 0], cidr: "::/0" }),
      "",
    ],
    [
      "allows ICMPv6 type 2, any code",
      sgRule({ protocol: "icmpv6", icmp: [2, -1], cidr: "::/0" }),
      "",
    ],
    [
      "flags tcp 80-443, which is not just 80 and 443",
      sgRule({ ports: [80, 443] }),
      "internet-exposure:enforce",
    ],
    ["flags tcp 8080 from 0.0.0.0/0", sgRule({ ports: [8080] }), "internet-exposure:enforce"],
    [
      "flags tcp 8080 from a wide /23",
      sgRule({ ports: [8080], cidr: "192.0.2.0/23" }),
      "internet-exposure:enforce",
    ],
    [
      "does not flag tcp 8080 from a narrow /24",
      sgRule({ ports: [8080], cidr: "192.0.2.0/24" }),
      "",
    ],
    [
      "does not flag tcp 8080 from a narrow IPv6 /48",
      sgRule({ ports: [8080], cidr: "2001:db9::/48" }),
      "",
    ],
    [
      "flags tcp 8080 from a wide IPv6 /47",
      sgRule({ ports: [8080], cidr: "2001:db9::/47" }),
      "internet-exposure:enforce",
    ],
    [
      "flags ICMP type 3 code 3",
      sgRule({ protocol: "icmp", icmp: [3, 3] }),
      "internet-exposure:enforce",
    ],
    [
      "flags ICMP type 3, any code",
      sgRule({ protocol: "icmp", icmp: [3, -1] }),
      "internet-exposure:enforce",
    ],
    [
      "flags ICMP, all types",
      sgRule({ protocol: "icmp", icmp: [-1, -1] }),
      "internet-exposure:enforce",
    ],
    [
      "flags ICMP (v4) type 2",
      sgRule({ protocol: "icmp", icmp: [2, 0] }),
      "internet-exposure:enforce",
    ],
    [
      "flags ICMPv6 echo request (128)",
      sgRule({ protocol: "icmpv6", icmp: [128, 0], cidr: "::/0" }),
      "internet-exposure:enforce",
    ],
    ["flags udp 80", sgRule({ protocol: "udp", ports: [80] }), "internet-exposure:enforce"],
    ["flags ESP (protocol 50)", sgRule({ protocol: 50 }), "internet-exposure:enforce"],
    [
      "does not flag egress tcp 8080 to 0.0.0.0/0",
      sgRule({ direction: "egress", ports: [8080] }),
      "",
    ],
  ];
  it.each(rows)("%s", (_, change, expected) => expect(verdict(change)).toBe(expected));
});

describe("smtp-egress rule", () => {
  const egress = (input: Parameters<typeof sgRule>[0]) => sgRule({ direction: "egress", ...input });
  const rows: Row[] = [
    ["enforces on egress tcp 25 to 0.0.0.0/0", egress({ ports: [25] }), "smtp-egress:enforce"],
    [
      "enforces on egress tcp 25 to ::/0",
      egress({ ports: [25], cidr: "::/0" }),
      "smtp-egress:enforce",
    ],
    [
      "enforces on egress tcp 25 to a narrow public /32",
      egress({ ports: [25], cidr: "8.8.8.8/32" }),
      "smtp-egress:enforce",
    ],
    [
      "enforces on tcp 1-1024 (1,024 ports: targeted)",
      egress({ ports: [1, 1024] }),
      "smtp-egress:enforce",
    ],
    [
      "only notifies on tcp 1-1025 (1,025 ports: broad)",
      egress({ ports: [1, 1025] }),
      "smtp-egress:notify",
    ],
    ["only notifies on tcp 0-65535", egress({ ports: [0, 65535] }), "smtp-egress:notify"],
    ["ignores protocol all egress (the AWS default rule)", egress({ protocol: "all" }), ""],
    ["ignores tcp 26-1000, which skips 25", egress({ ports: [26, 1000] }), ""],
    ["ignores udp 25", egress({ protocol: "udp", ports: [25] }), ""],
    ["ignores tcp 25 to a trusted network", egress({ ports: [25], cidr: "10.0.0.0/8" }), ""],
    ["ignores ingress tcp 25 from a narrow /32", sgRule({ ports: [25], cidr: "8.8.8.8/32" }), ""],
  ];
  it.each(rows)("%s", (_, change, expected) => expect(verdict(change)).toBe(expected));
});

describe("nacl-admin-ports rule", () => {
  const rows: Row[] = [
    [
      "enforces on an ingress allow of tcp 22 from 0.0.0.0/0",
      naclEntry({ ports: [22] }),
      "nacl-admin-ports:enforce",
    ],
    [
      "enforces on udp 3389 from ::/0",
      naclEntry({ protocol: "udp", ports: [3389], cidr: "::/0" }),
      "nacl-admin-ports:enforce",
    ],
    [
      "enforces on tcp 3389 from a narrow public /32",
      naclEntry({ ports: [3389], cidr: "8.8.4.4/32" }),
      "nacl-admin-ports:enforce",
    ],
    [
      "enforces on tcp 0-1023 (1,024 ports: targeted)",
      naclEntry({ ports: [0, 1023] }),
      "nacl-admin-ports:enforce",
    ],
    [
      "only notifies on tcp 0-1024 (1,025 ports: broad)",
      naclEntry({ ports: [0, 1024] }),
      "nacl-admin-ports:notify",
    ],
    [
      "only notifies on protocol all (the default NACL's allow-all)",
      naclEntry({ protocol: "all", ruleNumber: 100, operation: "state" }),
      "nacl-admin-ports:notify",
    ],
    ["ignores a deny entry", naclEntry({ ruleAction: "deny" }), ""],
    ["ignores a trusted source", naclEntry({ cidr: "192.168.0.0/16" }), ""],
    ["ignores an egress entry", naclEntry({ egress: true }), ""],
    ["ignores tcp 443", naclEntry({ ports: [443] }), ""],
  ];
  it.each(rows)("%s", (_, change, expected) => expect(verdict(change)).toBe(expected));
});

describe("nacl-smtp-egress rule", () => {
  const rows: Row[] = [
    [
      "enforces on an egress allow of tcp 25 to 0.0.0.0/0",
      naclEntry({ egress: true, ports: [25] }),
      "nacl-smtp-egress:enforce",
    ],
    [
      "only notifies on egress tcp 0-65535",
      naclEntry({ egress: true, ports: [0, 65535] }),
      "nacl-smtp-egress:notify",
    ],
    ["ignores egress protocol all", naclEntry({ egress: true, protocol: "all" }), ""],
    [
      "ignores an egress deny of tcp 25",
      naclEntry({ egress: true, ruleAction: "deny", ports: [25] }),
      "",
    ],
    [
      "ignores tcp 25 to a trusted network",
      naclEntry({ egress: true, ports: [25], cidr: "172.16.0.0/12" }),
      "",
    ],
  ];
  it.each(rows)("%s", (_, change, expected) => expect(verdict(change)).toBe(expected));
});

describe("nacl-blocked-sources rule", () => {
  const rows: Row[] = [
    [
      "enforces on an ingress allow from the blocked network",
      naclEntry({ ports: [443], cidr: "198.51.100.0/24" }),
      "nacl-blocked-sources:enforce",
    ],
    [
      "enforces alongside nacl-admin-ports on tcp 22 from it",
      naclEntry({ ports: [22], cidr: "198.51.100.9/32" }),
      "nacl-admin-ports:enforce nacl-blocked-sources:enforce",
    ],
    [
      "ignores a deny entry for the blocked network",
      naclEntry({ ruleAction: "deny", protocol: "all", cidr: "198.51.100.0/24" }),
      "",
    ],
    [
      "ignores a /23 that only contains the blocked network",
      naclEntry({ ports: [443], cidr: "198.51.100.0/23" }),
      "",
    ],
  ];
  it.each(rows)("%s", (_, change, expected) => expect(verdict(change)).toBe(expected));
});

describe("default policy reasons", () => {
  it("says what is open, to whom, and which rule in one line", () => {
    const result = evaluate([sgRule({ ports: [22] })], defaultPolicy(), { now: NOW });
    const admin = result.findings.find((f) => f.rule === "admin-ports");
    expect(admin?.reason).toBe("tcp 22 open to 0.0.0.0/0 (public, wide) — admin port");
    expect(admin?.severity).toBe("critical");
  });

  it("names the admin ports a wide range covers", () => {
    const result = evaluate([sgRule({ ports: [0, 65535], cidr: "0.0.0.0/1" })], defaultPolicy(), {
      now: NOW,
    });
    expect(result.findings.find((f) => f.rule === "admin-ports")?.reason).toBe(
      "tcp 0-65535 open to 0.0.0.0/1 (public, wide) — admin port (covers tcp/22, tcp/3389)",
    );
  });

  it("says why a broad rule only notifies", () => {
    const result = evaluate([sgRule({ direction: "egress", ports: [0, 65535] })], defaultPolicy(), {
      now: NOW,
    });
    expect(result.findings[0]?.reason).toBe(
      "egress tcp 0-65535 open to 0.0.0.0/0 (public, wide) — SMTP egress (covers tcp/25); broad, so notify",
    );
  });

  it("describes NACL entries by ACL and rule number", () => {
    const entry = naclEntry({ ports: [3389], cidr: "198.51.100.9/32" });
    const result = evaluate([entry], defaultPolicy(), {
      now: NOW,
      networkAcls: { [entry.networkAclId]: [entry] },
    });
    expect(result.findings.map((f) => f.reason)).toEqual([
      "NACL acl-0af9cb843511d66d4 entry 100 allows ingress tcp 3389 from 198.51.100.9/32 (public, narrow; blocked network 198.51.100.0/24) — admin port",
      "NACL acl-0af9cb843511d66d4 entry 100 allows ingress tcp 3389 from 198.51.100.9/32 (public, narrow; blocked network 198.51.100.0/24) — blocked network (tcp 3389)",
    ]);
  });

  it("keeps the exact change on each finding", () => {
    const change = sgRule({ ports: [22], ruleId: "sgr-0bbbbbbbbbbbbbbb2" });
    const result = evaluate([change], defaultPolicy(), { now: NOW });
    for (const f of result.findings) expect(f.change).toBe(change);
    expect(result.outcome).toBe("violation");
  });

  it("is compliant when nothing matches", () => {
    expect(evaluate([sgRule({ ports: [443] })], defaultPolicy(), { now: NOW })).toEqual({
      outcome: "compliant",
      findings: [],
      waived: [],
    });
  });
});
