import { describe, expect, it } from "vitest";
import { DEFAULT_POLICY_YAML, lintPolicy, loadPolicy } from "../src/policy";

const RULE = `rules:
  - id: admin-ports
    kind: security-group-ports
    description: No SSH from the internet.
    mode: enforce
    options: { ports: [tcp/22] }
`;

const codes = (yaml: string) => lintPolicy(loadPolicy(yaml)).map((w) => `${w.code} ${w.path}`);

describe("lintPolicy", () => {
  it("has nothing to say about the shipped default policy", () => {
    expect(lintPolicy(loadPolicy(DEFAULT_POLICY_YAML))).toEqual([]);
  });

  it("warns when the whole internet is trusted, in either family", () => {
    expect(codes(`networks: { office: [0.0.0.0/0], trusted: ["::/0"] }\n${RULE}`)).toEqual([
      "internet-trusted networks.trusted[0]",
      "internet-trusted networks.office[0]",
      // Every other range lies inside the whole internet.
    ]);
  });

  it("warns about a wide public range, not about private or special-purpose ones", () => {
    expect(
      codes(
        `networks: { trusted: [10.0.0.0/8, 100.64.0.0/10, "fc00::/7", 169.254.0.0/16, 52.0.0.0/8, "2600::/16"] }\n${RULE}`,
      ),
    ).toEqual([
      "wide-public-trusted networks.trusted[4]",
      "wide-public-trusted networks.trusted[5]",
    ]);
    // The threshold is the policy's own: a /20 is wide only when wideIpv4Prefix is above 20.
    expect(codes(`networks: { office: [198.18.0.0/20] }\n${RULE}`)).toEqual([
      "wide-public-trusted networks.office[0]",
    ]);
    expect(
      codes(`networks: { office: [198.18.0.0/20] }\nthresholds: { wideIpv4Prefix: 16 }\n${RULE}`),
    ).toEqual([]);
  });

  it("warns about a network listed twice or inside another of its kind, once each", () => {
    expect(
      codes(
        `networks:\n  trusted: [10.0.0.0/8, 10.1.0.0/16]\n  office: [10.0.0.0/8]\n  blocked: [198.51.100.0/24, 198.51.100.0/25, 198.51.100.0/24]\n${RULE}`,
      ),
    ).toEqual([
      "redundant-network networks.trusted[1]",
      "redundant-network networks.office[0]",
      "redundant-network networks.blocked[1]",
      "redundant-network networks.blocked[2]",
    ]);
  });

  it("warns about a blocked range inside a trusted one, not about disjoint ones", () => {
    expect(
      codes(
        `networks: { trusted: [10.0.0.0/8], blocked: [10.9.0.0/16, 198.51.100.0/24] }\n${RULE}`,
      ),
    ).toEqual(["blocked-inside-trusted networks.blocked[0]"]);
  });

  it("warns about every exemption without an expiry, policy-wide and per rule", () => {
    const yaml = `exemptions:
  groups: [sg-0123456789abcdef0, { id: sg-0fedcba9876543210, expires: 2026-12-31 }]
  accountTags: [{ tags: { env: sandbox } }]
${RULE}    exemptions: { regions: [eu-west-1] }
`;
    expect(codes(yaml)).toEqual([
      "exemption-without-expiry exemptions.groups[0]",
      "exemption-without-expiry exemptions.accountTags[0]",
      "exemption-without-expiry rules[0].exemptions.regions[0]",
    ]);
  });

  it("warns when every rule is off, but not when one is on for broad or targeted changes", () => {
    const off = RULE.replace("mode: enforce", "mode: off");
    expect(codes(off)).toEqual(["every-rule-off rules"]);
    expect(codes(off.replace("mode: off", "mode: off\n    whenBroad: notify"))).toEqual([]);
    expect(codes(off.replace("mode: off", "mode: off\n    whenTargeted: enforce"))).toEqual([]);
    expect(lintPolicy(loadPolicy(off))[0]?.message).toMatch(/\(1 rule\)/);
  });
});
