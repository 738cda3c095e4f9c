import { readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { parse } from "yaml";
import {
  DEFAULT_POLICY_YAML,
  defaultPolicy,
  formatPath,
  getRuleKind,
  loadPolicy,
  parsePolicy,
  RULE_KINDS,
} from "../src/policy";
import { issuesOf } from "./policy-builders";

const DIR = join(import.meta.dirname, "data", "policies");

describe("broken policy files", () => {
  // Files that are not even YAML end in .broken-yaml so that the formatter leaves them alone.
  const files = readdirSync(DIR).filter((f) => f.endsWith(".yaml") || f.endsWith(".broken-yaml"));

  it("has a corpus to check", () => {
    expect(files.length).toBeGreaterThanOrEqual(10);
  });

  it.each(files)("rejects %s naming the path of every error", (file) => {
    const text = readFileSync(join(DIR, file), "utf8");
    const expected = [...text.matchAll(/^# expect: (\S+) ~ (.+)$/gm)].map((m) => ({
      path: m[1] as string,
      message: (m[2] as string).trim(),
    }));
    expect(expected.length).toBeGreaterThan(0);
    const issues = issuesOf(() => loadPolicy(text));
    for (const want of expected) {
      const hit = issues.find((i) => i.path === want.path && i.message.includes(want.message));
      expect(
        hit,
        `${want.path}: ${want.message}\n got ${JSON.stringify(issues, null, 1)}`,
      ).toBeDefined();
    }
    expect(issues).toHaveLength(expected.length);
  });
});

describe("loadPolicy", () => {
  it("loads the shipped default policy", () => {
    const policy = loadPolicy(DEFAULT_POLICY_YAML);
    expect(policy.rules.map((r) => `${r.id}:${r.kind}:${r.mode}:${r.whenBroad ?? "-"}`)).toEqual([
      "blocked-sources:security-group-peers:enforce:-",
      "admin-ports:security-group-ports:enforce:-",
      "internet-exposure:security-group-exposure:enforce:-",
      "smtp-egress:security-group-ports:enforce:notify",
      "nacl-admin-ports:network-acl-ports:enforce:notify",
      "nacl-smtp-egress:network-acl-ports:enforce:notify",
      "nacl-blocked-sources:network-acl-peers:enforce:-",
    ]);
    expect(policy.networks.trusted.map((c) => c.cidr)).toEqual([
      "10.0.0.0/8",
      "172.16.0.0/12",
      "192.168.0.0/16",
      "100.64.0.0/10",
      "fc00::/7",
    ]);
    expect(policy.networks.office.map((c) => c.cidr)).toEqual([
      "203.0.113.0/24",
      "2001:db8:1234::/48",
    ]);
    expect(policy.networks.blocked.map((c) => c.cidr)).toEqual(["198.51.100.0/24"]);
    expect(policy.thresholds).toEqual({
      wideIpv4Prefix: 24,
      wideIpv6Prefix: 48,
      broadPortCount: 1024,
    });
    expect(policy.exemptions.tagKey).toBe("guardrail-exempt");
    expect(defaultPolicy()).toBe(defaultPolicy());
  });

  it("reads JSON too, since JSON is YAML", () => {
    const policy = loadPolicy(
      JSON.stringify({
        rules: [
          {
            id: "a",
            kind: "security-group-peers",
            description: "d",
            options: { peers: ["blocked"] },
          },
        ],
      }),
    );
    expect(policy.rules[0]?.id).toBe("a");
  });

  it("adds the line of the offending field to each message", () => {
    const issues = issuesOf(() =>
      loadPolicy(
        "rules:\n  - id: a\n    kind: security-group-peers\n    description: d\n    mode: loud\n",
      ),
    );
    // In file order; a missing field points at the nearest thing that exists (the rule).
    expect(issues).toEqual([
      {
        path: "rules[0].options.peers",
        message: "required, but missing (line 2)",
        line: 2,
        column: 5,
      },
      {
        path: "rules[0].mode",
        message: 'expected a mode: one of enforce, notify, off; got "loud" (line 5)',
        line: 5,
        column: 11,
      },
    ]);
  });

  it("reports only the first YAML syntax error, where it is", () => {
    const indent =
      "networks:\n  trusted:\n    - 10.0.0.0/8\n   office:\n    - 203.0.113.0/24\nrules:\n  - x: [\n";
    const issues = issuesOf(() => loadPolicy(indent));
    expect(issues).toEqual([
      {
        path: "$",
        message:
          "YAML syntax error at line 4, column 1: All mapping items must start at the same column",
        line: 4,
        column: 1,
      },
    ]);
  });

  it("reports a JSON file's syntax error as JSON, with its line and column", () => {
    const text = '{\n  "rules": [\n    { "id": "a", }\n  ]\n}\n';
    const issues = issuesOf(() => loadPolicy(text, { format: "json" }));
    expect(issues).toHaveLength(1);
    expect(issues[0]).toMatchObject({ path: "$", line: 3, column: 18 });
    expect(issues[0]?.message).toMatch(/^JSON syntax error at line 3, column 18: /);
    expect(issues[0]?.message).not.toMatch(/YAML|flow/i);
  });

  it("reads text starting with { as JSON, and a flow mapping that is not JSON as YAML", () => {
    const issues = issuesOf(() => loadPolicy('{"rules": [{"id": "a" "kind": "x"}]}'));
    expect(issues[0]?.message).toMatch(/^JSON syntax error at line 1, column 23/);
    const flow =
      "{rules: [{id: a, kind: security-group-peers, description: d, options: {peers: [blocked]}}]}";
    expect(loadPolicy(flow).rules[0]?.id).toBe("a");
  });

  it("suggests the nearest key, value and kind for a misspelling", () => {
    const issues = issuesOf(() =>
      loadPolicy(
        "netwrks: {}\nrules:\n  - id: a\n    kind: security-group-prots\n    description: d\n    mode: enforse\n    sevrity: high\n",
      ),
    );
    expect(issues.map((i) => [i.path, /did you mean "([^"]+)"/.exec(i.message)?.[1]])).toEqual([
      ["netwrks", "networks"],
      ["rules[0].kind", "security-group-ports"],
      ["rules[0].mode", "enforce"],
      ["rules[0].sevrity", "severity"],
    ]);
    const far = issuesOf(() => loadPolicy("colour: blue\nrules: []\n"));
    expect(far[0]?.message).toMatch(/^unknown key "colour" \(allowed: [^)]*\) \(line 1\)$/);
  });

  it("turns an alias bomb into a validation error instead of expanding it", () => {
    const bomb = [
      "a: &a [x, x, x, x, x, x, x, x, x]",
      "b: &b [*a, *a, *a, *a, *a, *a, *a, *a, *a]",
      "c: &c [*b, *b, *b, *b, *b, *b, *b, *b, *b]",
      "d: &d [*c, *c, *c, *c, *c, *c, *c, *c, *c]",
      "e: [*d, *d, *d, *d, *d, *d, *d, *d, *d]",
    ].join("\n");
    const issues = issuesOf(() => loadPolicy(bomb));
    expect(issues).toHaveLength(1);
    expect(issues[0]?.path).toBe("$");
    expect(issues[0]?.message).toMatch(/^cannot read the YAML: .*alias/i);
  });
});

describe("parsePolicy defaults", () => {
  const minimal = {
    rules: [
      {
        id: "telnet",
        kind: "security-group-ports",
        description: "No telnet.",
        options: { ports: ["tcp/23"] },
      },
    ],
  };

  it("applies every default", () => {
    const policy = parsePolicy(minimal);
    expect(policy).toMatchObject({
      version: 1,
      networks: { trusted: [], office: [], blocked: [] },
      thresholds: { wideIpv4Prefix: 24, wideIpv6Prefix: 48, broadPortCount: 1024 },
      guardrail: { ownPrincipals: [] },
      exemptions: { groups: [], principals: [], accounts: [], regions: [], tagKey: null },
    });
    const [rule] = policy.rules;
    expect(rule).toMatchObject({
      id: "telnet",
      label: "telnet",
      mode: "notify",
      whenBroad: null,
      whenTargeted: null,
      severity: "high",
      options: { direction: "ingress", peers: ["public"], includeProtocolAll: true },
    });
  });

  it("defaults exposure rules to wide public peers", () => {
    const policy = parsePolicy({
      rules: [
        {
          id: "x",
          kind: "network-acl-exposure",
          description: "d",
          options: { allow: ["tcp/443"] },
        },
      ],
    });
    expect(policy.rules[0]?.options).toMatchObject({
      direction: "ingress",
      peers: ["public-wide"],
    });
  });

  it("normalises exemption entries, bare or detailed, and accepts 12-digit unquoted accounts", () => {
    const policy = parsePolicy({
      ...minimal,
      exemptions: {
        groups: [
          "sg-0123456789abcdef0",
          { id: "sg-01234567", reason: "demo", expires: "2026-12-31" },
        ],
        accounts: [111122223333],
        regions: [{ name: "eu-west-1", reason: "lab region" }],
        principals: ["arn:aws:iam::*:role/break-glass"],
      },
    });
    expect(policy.exemptions).toEqual({
      groups: [
        { value: "sg-0123456789abcdef0" },
        { value: "sg-01234567", reason: "demo", expires: "2026-12-31" },
      ],
      accounts: [{ value: "111122223333" }],
      regions: [{ value: "eu-west-1", reason: "lab region" }],
      principals: [{ value: "arn:aws:iam::*:role/break-glass" }],
      organizationalUnits: [],
      accountTags: [],
      ouTags: [],
      tagKey: null,
    });
  });

  it("rejects null and non-object input", () => {
    expect(issuesOf(() => parsePolicy(null))).toEqual([
      { path: "$", message: "the policy is empty" },
    ]);
    expect(issuesOf(() => parsePolicy("rules"))).toEqual([
      { path: "$", message: 'expected a mapping, got "rules"' },
    ]);
  });

  it("reports rule problems even when the top level is also broken", () => {
    const issues = issuesOf(() =>
      parsePolicy({ networks: 5, rules: [{ id: "a", kind: "nope", description: "d" }] }),
    );
    expect(issues.map((i) => i.path)).toEqual(["networks", "rules[0].kind"]);
  });

  it("rejects services that are not services", () => {
    const bad = (ports: unknown[]) =>
      issuesOf(() =>
        parsePolicy({
          rules: [{ id: "a", kind: "security-group-ports", description: "d", options: { ports } }],
        }),
      ).map((i) => `${i.path}: ${i.message}`);
    expect(
      bad(["all", "icmp/3:256", "icmp/x", "tcp/99999", "tcp/1-2-3", "50/1", true, "tcp/"]),
    ).toEqual([
      'rules[0].options.ports[0]: "all" is not a service (protocol all is every service; list services or use a peers rule)',
      'rules[0].options.ports[1]: "icmp/3:256" is not a service (ICMP type and code must be 0-255)',
      'rules[0].options.ports[2]: "icmp/x" is not a service (ICMP must be type or type:code)',
      'rules[0].options.ports[3]: "tcp/99999" is not a service (ports must be 0-65535, low-high)',
      'rules[0].options.ports[4]: "tcp/1-2-3" is not a service (ports must be N or N-M)',
      'rules[0].options.ports[5]: "50/1" is not a service (protocol 50 has no ports or types)',
      "rules[0].options.ports[6]: expected a service such as tcp/22, got true",
      'rules[0].options.ports[7]: "tcp/" is not a service (expected protocol[/ports], e.g. tcp/22, tcp/80-443, icmp/3:4)',
    ]);
  });

  it("rejects a rule kind given as a non-string, and options of the wrong shape", () => {
    const issues = issuesOf(() =>
      parsePolicy({
        rules: [
          { id: "a", kind: 5, description: "d" },
          { id: "b", kind: "security-group-peers", description: "d", options: ["blocked"] },
          { id: "c", kind: "security-group-peers", description: "d", options: { peers: [] } },
          { id: "d", kind: "security-group-ports", description: "d", options: { ports: "tcp/22" } },
        ],
      }),
    );
    expect(issues.map((i) => `${i.path}: ${i.message}`)).toEqual([
      "rules[0].kind: expected a rule kind, got 5",
      "rules[1].options: expected a mapping, got a list",
      "rules[2].options.peers: expected at least one peer class",
      'rules[3].options.ports: expected a list of services (tcp/22, udp/3389, icmp/3:4), got "tcp/22"',
    ]);
  });

  it("formats paths as the policy file spells them", () => {
    expect(formatPath([])).toBe("$");
    expect(formatPath(["rules", 2, "mode"])).toBe("rules[2].mode");
    expect(formatPath(["networks", "trusted", 1])).toBe("networks.trusted[1]");
  });
});

describe("rule kind registry", () => {
  it.each(RULE_KINDS.map((k) => [k.id, k] as const))(
    "documents %s with a valid example",
    (id, kind) => {
      expect(kind.description.length).toBeGreaterThan(20);
      const rules = parse(kind.example) as { kind: string }[];
      expect(rules[0]?.kind).toBe(id);
      expect(() => parsePolicy({ rules })).not.toThrow();
    },
  );

  it("looks kinds up by id", () => {
    expect(getRuleKind("security-group-ports")?.target).toBe("security-group-rule");
    expect(getRuleKind("network-acl-peers")?.target).toBe("network-acl-entry");
    expect(getRuleKind("nope")).toBeUndefined();
  });
});
