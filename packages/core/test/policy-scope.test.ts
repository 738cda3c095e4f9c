import fc from "fast-check";
import { describe, expect, it } from "vitest";
import type { RuleChange } from "../src/model";
import { planActions } from "../src/plan";
import {
  defaultPolicy,
  effectiveOuTags,
  loadPolicy,
  matchScope,
  type OrganizationalUnit,
  organizationContextNeeded,
  type PolicyEvaluationContext,
  parsePolicy,
  type Scope,
  tagsMatch,
} from "../src/policy";
import { evaluate } from "../src/policy/evaluate";
import {
  ADMIN_PORTS_RULE,
  eventMeta,
  issuesOf,
  NOW,
  naclEntry,
  roleSession,
  sgRule,
} from "./policy-builders";

const PROD = "111122223333";
const DEV = "444455556666";
const PROD_OU = "ou-ab12-34cd56ef";
const WORKLOADS_OU = "ou-ab12-11112222";
const SANDBOX_OU = "ou-ab12-99998888";

/** The admin-ports rule over network-ACL entries. */
const NACL_SSH = { ...ADMIN_PORTS_RULE, id: "nacl-ssh", kind: "network-acl-ports" };

/** A one-rule policy (admin-ports, enforce) whose rule carries `scope`. */
function scoped(scope: unknown, rule: Record<string, unknown> = {}) {
  return parsePolicy({ rules: [{ ...ADMIN_PORTS_RULE, ...rule, scope }] });
}

/** A one-rule policy with these global exemptions. */
function exempting(exemptions: unknown) {
  return parsePolicy({ exemptions, rules: [ADMIN_PORTS_RULE] });
}

function run(
  policy: ReturnType<typeof parsePolicy>,
  ctx: Partial<PolicyEvaluationContext> = {},
  change: RuleChange = sgRule(),
) {
  return evaluate([change], policy, { now: NOW, ...ctx });
}

const at = (account: string, region = "eu-west-1") => ({ event: eventMeta({ account, region }) });

const ous = (...units: [string, Record<string, string>?][]): OrganizationalUnit[] =>
  units.map(([id, tags]) => (tags ? { id, tags } : { id }));

describe("scope in the policy file", () => {
  it("reads every scope field, filling the ones left out with null", () => {
    const policy = scoped({
      accounts: [PROD, 444455556666],
      regions: ["eu-west-1"],
      organizationalUnits: [PROD_OU],
      accountTags: { env: "prod", team: ["payments", "billing"] },
      ouTags: { tier: ["1"] },
    });
    expect(policy.rules[0]?.scope).toEqual({
      accounts: [PROD, DEV],
      regions: ["eu-west-1"],
      organizationalUnits: [PROD_OU],
      accountTags: { env: ["prod"], team: ["payments", "billing"] },
      ouTags: { tier: ["1"] },
    });
    expect(scoped({ regions: ["us-east-1"] }).rules[0]?.scope).toEqual({
      accounts: null,
      regions: ["us-east-1"],
      organizationalUnits: null,
      accountTags: null,
      ouTags: null,
    });
  });

  it("leaves a rule without scope unscoped", () => {
    expect(parsePolicy({ rules: [ADMIN_PORTS_RULE] }).rules[0]).not.toHaveProperty("scope");
  });

  it("rejects an empty scope, an empty list and an unknown key", () => {
    expect(issuesOf(() => scoped({}))).toEqual([
      {
        path: "rules[0].scope",
        message:
          "expected at least one of accounts, regions, organizationalUnits, accountTags, ouTags (leave scope out to mean everywhere)",
      },
    ]);
    expect(issuesOf(() => scoped({ regions: [] }))).toEqual([
      {
        path: "rules[0].scope.regions",
        message: "expected at least one of region names (leave the key out to mean every one)",
      },
    ]);
    expect(issuesOf(() => scoped({ account: [PROD] }))[0]).toEqual({
      path: "rules[0].scope.account",
      message:
        'unknown key "account" (allowed: accounts, regions, organizationalUnits, accountTags, ouTags); did you mean "accounts"?',
    });
  });

  it("rejects malformed account ids, regions and OU ids, each at its path", () => {
    expect(
      issuesOf(() =>
        scoped({ accounts: [12345678901], regions: ["Europe"], organizationalUnits: ["r-ab12"] }),
      ),
    ).toEqual([
      {
        path: "rules[0].scope.accounts[0]",
        message:
          'expected a 12-digit account id, got "12345678901" (quote account ids in YAML so leading zeros survive)',
      },
      {
        path: "rules[0].scope.regions[0]",
        message: 'expected a region name (eu-west-1), got "Europe"',
      },
      {
        path: "rules[0].scope.organizationalUnits[0]",
        message: 'expected an OU id (ou-ab12-34cd56ef), got "r-ab12"',
      },
    ]);
  });

  it("asks for quotes around tag values YAML reads as numbers or booleans", () => {
    expect(issuesOf(() => scoped({ accountTags: { tier: 1, critical: [true, "x"] } }))).toEqual([
      {
        path: "rules[0].scope.accountTags.tier",
        message: "expected a tag value, got 1 (quote tag values in YAML: tag values are text)",
      },
      {
        path: "rules[0].scope.accountTags.critical[0]",
        message: "expected a tag value, got true (quote tag values in YAML: tag values are text)",
      },
    ]);
  });

  it("rejects reserved or empty tag keys, empty tag maps and value lists, and non-mappings", () => {
    expect(issuesOf(() => scoped({ ouTags: { "aws:createdBy": "x" } }))).toEqual([
      {
        path: "rules[0].scope.ouTags.aws:createdBy",
        message: "tag keys starting with aws: are reserved",
      },
    ]);
    expect(issuesOf(() => scoped({ accountTags: {} }))[0]?.message).toBe(
      "expected at least one tag (an empty mapping matches everything)",
    );
    expect(issuesOf(() => scoped({ accountTags: { env: [] } }))[0]).toEqual({
      path: "rules[0].scope.accountTags.env",
      message: "expected at least one tag value",
    });
    expect(issuesOf(() => scoped({ accountTags: ["env=prod"] }))[0]?.message).toBe(
      "expected a mapping of tag keys to values, got a list",
    );
    expect(issuesOf(() => scoped({ accountTags: { " ": "x" } }))[0]?.message).toBe(
      "expected a tag key, got an empty string",
    );
    expect(issuesOf(() => scoped({ accountTags: { env: "x".repeat(257) } }))[0]?.message).toBe(
      "expected a tag value of at most 256 characters",
    );
    expect(issuesOf(() => scoped({ accountTags: { env: { a: 1 } } }))[0]?.message).toBe(
      "expected a tag value, got a mapping",
    );
  });

  it("gives scope issues a line number in YAML", () => {
    const text = [
      "rules:",
      "  - id: admin-ports",
      "    kind: security-group-ports",
      "    description: d",
      "    options: { ports: [tcp/22] }",
      "    scope:",
      "      accountTags:",
      "        env: [prod, 7]",
    ].join("\n");
    expect(issuesOf(() => loadPolicy(text))).toEqual([
      {
        path: "rules[0].scope.accountTags.env[1]",
        message:
          "expected a tag value, got 7 (quote tag values in YAML: tag values are text) (line 8)",
        line: 8,
        column: 21,
      },
    ]);
  });

  it("reads scoped exemption entries and the OU and tag exemption lists", () => {
    const policy = exempting({
      groups: [{ id: "sg-0123456789abcdef0", scope: { accounts: [DEV] } }],
      organizationalUnits: [
        SANDBOX_OU,
        { id: PROD_OU, reason: "migration", expires: "2026-12-31" },
      ],
      accountTags: [{ tags: { env: "sandbox" }, reason: "sandboxes only notify" }],
      ouTags: [{ tags: { lifecycle: ["retiring"] }, scope: { regions: ["us-east-1"] } }],
    });
    expect(policy.exemptions).toMatchObject({
      groups: [
        {
          value: "sg-0123456789abcdef0",
          scope: { accounts: [DEV], regions: null, accountTags: null },
        },
      ],
      organizationalUnits: [
        { value: SANDBOX_OU },
        { value: PROD_OU, reason: "migration", expires: "2026-12-31" },
      ],
      accountTags: [{ tags: { env: ["sandbox"] }, reason: "sandboxes only notify" }],
      ouTags: [{ tags: { lifecycle: ["retiring"] }, scope: { regions: ["us-east-1"] } }],
    });
  });

  it("requires tags in a tag exemption entry and checks its scope", () => {
    expect(issuesOf(() => exempting({ accountTags: [{ reason: "x" }] }))).toEqual([
      { path: "exemptions.accountTags[0].tags", message: "required, but missing" },
    ]);
    expect(
      issuesOf(() => exempting({ regions: [{ name: "eu-west-1", scope: { accounts: ["1"] } }] })),
    ).toEqual([
      {
        path: "exemptions.regions[0].scope.accounts[0]",
        message:
          'expected a 12-digit account id, got "1" (quote account ids in YAML so leading zeros survive)',
      },
    ]);
  });
});

describe("rule scope by account", () => {
  const policy = scoped({ accounts: [PROD] });

  it("applies the rule in a listed account", () => {
    const result = run(policy, at(PROD));
    expect(result.outcome).toBe("violation");
    expect(result.findings[0]?.mode).toBe("enforce");
  });

  it("gives no finding in an account not listed", () => {
    expect(run(policy, at(DEV))).toEqual({ outcome: "compliant", findings: [], waived: [] });
  });

  it("reads the account the sweep passes when there is no event", () => {
    expect(run(policy, { account: PROD, region: "eu-west-1" }).outcome).toBe("violation");
    expect(run(policy, { account: DEV, region: "eu-west-1" }).outcome).toBe("compliant");
  });

  it("only notifies, and says why, when nobody said which account", () => {
    const result = run(policy);
    expect(result.findings[0]?.mode).toBe("notify");
    expect(result.findings[0]?.reason).toBe(
      "tcp 22 open to 0.0.0.0/0 (public, wide) — admin port; may be outside the rule's scope (the account not known), so notify",
    );
    expect(planActions(result)).toEqual([]);
  });
});

describe("rule scope by region", () => {
  const policy = scoped({ regions: ["eu-west-1", "eu-central-1"] });

  it("applies the rule in a listed region", () => {
    expect(run(policy, at(PROD, "eu-central-1")).findings).toHaveLength(1);
  });

  it("gives no finding in a region not listed", () => {
    expect(run(policy, at(PROD, "us-east-1")).outcome).toBe("compliant");
  });

  it("scopes network-ACL rules as well", () => {
    const nacl = parsePolicy({ rules: [{ ...NACL_SSH, scope: { regions: ["eu-west-1"] } }] });
    expect(run(nacl, at(PROD, "eu-west-1"), naclEntry()).outcome).toBe("violation");
    expect(run(nacl, at(PROD, "us-west-2"), naclEntry()).outcome).toBe("compliant");
  });
});

describe("rule scope by organisational unit", () => {
  const policy = scoped({ organizationalUnits: [WORKLOADS_OU] });

  it("applies the rule to an account anywhere below the OU", () => {
    const path = ous([WORKLOADS_OU], [PROD_OU]);
    expect(run(policy, { ...at(PROD), organizationalUnits: path }).findings[0]?.mode).toBe(
      "enforce",
    );
  });

  it("gives no finding for an account in another OU", () => {
    expect(run(policy, { ...at(DEV), organizationalUnits: ous([SANDBOX_OU]) }).outcome).toBe(
      "compliant",
    );
  });

  it("gives no finding for an account directly under the root (no OUs)", () => {
    expect(run(policy, { ...at(DEV), organizationalUnits: [] }).outcome).toBe("compliant");
  });

  it("only notifies when the caller did not read the account's OUs", () => {
    const result = run(policy, at(PROD));
    expect(result.findings[0]?.mode).toBe("notify");
    expect(result.findings[0]?.reason).toContain(
      "may be outside the rule's scope (the account's OUs not known), so notify",
    );
  });
});

describe("rule scope by account tag", () => {
  const policy = scoped({ accountTags: { env: ["prod", "staging"], team: "payments" } });

  it("applies the rule when every tag key has one of its values", () => {
    const accountTags = { env: "staging", team: "payments", owner: "alice" };
    expect(run(policy, { ...at(PROD), accountTags }).findings[0]?.mode).toBe("enforce");
  });

  it("gives no finding when a value differs or a key is missing", () => {
    expect(
      run(policy, { ...at(PROD), accountTags: { env: "dev", team: "payments" } }).outcome,
    ).toBe("compliant");
    expect(run(policy, { ...at(PROD), accountTags: { env: "prod" } }).outcome).toBe("compliant");
    expect(run(policy, { ...at(PROD), accountTags: {} }).outcome).toBe("compliant");
  });

  it("matches tag values case-sensitively, as AWS stores them", () => {
    expect(
      run(policy, { ...at(PROD), accountTags: { env: "Prod", team: "payments" } }).outcome,
    ).toBe("compliant");
  });

  it("only notifies, never revokes, when the account's tags were not supplied", () => {
    const result = run(policy, at(PROD));
    expect(result).toMatchObject({
      outcome: "violation",
      findings: [
        {
          mode: "notify",
          reason: expect.stringContaining(
            "may be outside the rule's scope (the account's tags not known), so notify",
          ),
        },
      ],
    });
    expect(planActions(result)).toEqual([]);
  });

  it("keeps a notify rule at notify and still says its scope is unknown", () => {
    const notify = scoped({ accountTags: { env: "prod" } }, { mode: "notify" });
    expect(run(notify, at(PROD)).findings[0]?.reason).toMatch(
      /may be outside the rule's scope \(the account's tags not known\)$/,
    );
  });
});

describe("rule scope by OU tag", () => {
  const policy = scoped({ ouTags: { env: "prod" } });

  it("applies the rule when an OU above the account carries the tag", () => {
    const path = ous([WORKLOADS_OU, { env: "prod" }], [PROD_OU, { team: "payments" }]);
    expect(run(policy, { ...at(PROD), organizationalUnits: path }).findings).toHaveLength(1);
  });

  it("lets the nearest OU decide a key set at several levels", () => {
    const path = ous([WORKLOADS_OU, { env: "prod" }], [SANDBOX_OU, { env: "sandbox" }]);
    expect(run(policy, { ...at(DEV), organizationalUnits: path }).outcome).toBe("compliant");
  });

  it("gives no finding when no OU carries the tag", () => {
    const path = ous([WORKLOADS_OU, {}], [PROD_OU, { team: "payments" }]);
    expect(run(policy, { ...at(PROD), organizationalUnits: path }).outcome).toBe("compliant");
  });

  it("only notifies when some OU's tags were not read", () => {
    const path = ous([WORKLOADS_OU, { env: "prod" }], [PROD_OU]);
    const result = run(policy, { ...at(PROD), organizationalUnits: path });
    expect(result.findings[0]?.mode).toBe("notify");
    expect(result.findings[0]?.reason).toContain("(the OU tags not known), so notify");
  });

  it("does not read account tags for OU tags", () => {
    expect(
      run(policy, { ...at(PROD), accountTags: { env: "prod" }, organizationalUnits: [] }).outcome,
    ).toBe("compliant");
  });
});

describe("rule scope with several fields", () => {
  const policy = scoped({ accounts: [PROD], regions: ["eu-west-1"], accountTags: { env: "prod" } });

  it("applies the rule only where every field matches", () => {
    expect(run(policy, { ...at(PROD), accountTags: { env: "prod" } }).findings[0]?.mode).toBe(
      "enforce",
    );
    expect(run(policy, { ...at(PROD, "us-east-1"), accountTags: { env: "prod" } }).outcome).toBe(
      "compliant",
    );
  });

  it("rules the account out when a known field fails, whatever else is unknown", () => {
    expect(run(policy, at(DEV)).outcome).toBe("compliant");
  });

  it("names every unknown field", () => {
    const result = run(scoped({ regions: ["eu-west-1"], accountTags: { env: "prod" } }));
    expect(result.findings[0]?.reason).toContain(
      "(the region, the account's tags not known), so notify",
    );
  });

  it("leaves other rules alone: each rule has its own scope", () => {
    const two = parsePolicy({
      rules: [
        { ...ADMIN_PORTS_RULE, scope: { accounts: [PROD] } },
        { ...ADMIN_PORTS_RULE, id: "admin-ports-dev", mode: "notify", scope: { accounts: [DEV] } },
      ],
    });
    expect(run(two, at(PROD)).findings.map((f) => [f.rule, f.mode])).toEqual([
      ["admin-ports", "enforce"],
    ]);
    expect(run(two, at(DEV)).findings.map((f) => [f.rule, f.mode])).toEqual([
      ["admin-ports-dev", "notify"],
    ]);
  });
});

describe("exemptions by OU, account tag and OU tag", () => {
  const policy = exempting({
    organizationalUnits: [SANDBOX_OU],
    accountTags: [{ tags: { env: "sandbox" } }, { tags: { lab: "yes" }, reason: "lab account" }],
    ouTags: [{ tags: { lifecycle: "retiring" }, expires: "2026-12-31" }],
  });

  it("waives findings in an account below an exempt OU", () => {
    const result = run(policy, {
      ...at(DEV),
      accountTags: {},
      organizationalUnits: ous([WORKLOADS_OU, {}], [SANDBOX_OU, {}]),
    });
    expect(result.outcome).toBe("exempt");
    expect(result.waived[0]?.exemption).toEqual({
      kind: "organizational-unit",
      reason: `accounts in OU ${SANDBOX_OU} are exempt`,
    });
  });

  it("waives findings in an account carrying exempt tags, with its reason", () => {
    const bare = run(policy, {
      ...at(DEV),
      accountTags: { env: "sandbox" },
      organizationalUnits: [],
    });
    expect(bare.waived[0]?.exemption).toEqual({
      kind: "account-tag",
      reason: "accounts tagged env=sandbox are exempt",
    });
    const detailed = run(policy, {
      ...at(DEV),
      accountTags: { lab: "yes" },
      organizationalUnits: [],
    });
    expect(detailed.waived[0]?.exemption).toEqual({ kind: "account-tag", reason: "lab account" });
  });

  it("waives findings in an account whose OU carries exempt tags, until the expiry", () => {
    const ctx = {
      ...at(PROD),
      accountTags: {},
      organizationalUnits: ous([PROD_OU, { lifecycle: "retiring" }]),
    };
    expect(run(policy, ctx).waived[0]?.exemption).toEqual({
      kind: "ou-tag",
      reason: "accounts in OUs tagged lifecycle=retiring are exempt",
      expires: "2026-12-31",
    });
    const later = run(policy, { ...ctx, now: new Date("2027-01-01T00:00:00Z") });
    expect(later.outcome).toBe("violation");
    expect(later.findings[0]?.reason).toContain(
      'ou-tag exemption "accounts in OUs tagged lifecycle=retiring are exempt" expired 2026-12-31, not applied',
    );
  });

  it("does not waive an account that matches none of them", () => {
    const result = run(policy, {
      ...at(PROD),
      accountTags: { env: "prod" },
      organizationalUnits: ous([PROD_OU, { lifecycle: "active" }]),
    });
    expect(result.outcome).toBe("violation");
    expect(result.findings[0]?.reason).toBe("tcp 22 open to 0.0.0.0/0 (public, wide) — admin port");
  });

  it("never waives on tags or OUs the caller did not supply, and says so", () => {
    expect(run(policy, at(DEV))).toMatchObject({
      outcome: "violation",
      findings: [
        {
          mode: "enforce",
          reason: [
            "tcp 22 open to 0.0.0.0/0 (public, wide) — admin port",
            `organizational-unit exemption "accounts in OU ${SANDBOX_OU} are exempt" not applied: the account's OUs not known`,
            'account-tag exemption "accounts tagged env=sandbox are exempt" not applied: the account\'s tags not known',
            'account-tag exemption "lab account" not applied: the account\'s tags not known',
            'ou-tag exemption "accounts in OUs tagged lifecycle=retiring are exempt" not applied: the OU tags not known',
          ].join("; "),
        },
      ],
    });
  });
});

describe("scoped exemption entries", () => {
  const policy = exempting({
    groups: [{ id: "sg-0123456789abcdef0", reason: "bastion in dev", scope: { accounts: [DEV] } }],
    principals: [
      {
        pattern: "arn:aws:iam::*:role/deployer",
        reason: "deployer outside prod",
        scope: { accountTags: { env: ["dev", "test"] } },
      },
    ],
    regions: [{ name: "ap-southeast-2", scope: { organizationalUnits: [SANDBOX_OU] } }],
  });

  it("waives a group only in the accounts its scope lists", () => {
    expect(run(policy, at(DEV)).waived[0]?.exemption).toEqual({
      kind: "group",
      reason: "bastion in dev",
    });
    expect(run(policy, at(PROD)).outcome).toBe("violation");
  });

  it("waives a principal only in accounts with the scoped tags", () => {
    const deployer = {
      account: DEV,
      actor: roleSession("deployer", "ci", DEV),
    };
    const ctx = { event: eventMeta(deployer) };
    const change = sgRule({ groupId: "sg-0fedcba9876543210" });
    expect(run(policy, { ...ctx, accountTags: { env: "test" } }, change).outcome).toBe("exempt");
    expect(run(policy, { ...ctx, accountTags: { env: "prod" } }, change).outcome).toBe("violation");
    const unknown = run(policy, ctx, change);
    expect(unknown.outcome).toBe("violation");
    expect(unknown.findings[0]?.reason).toContain(
      'principal exemption "deployer outside prod" not applied: its scope needs the account\'s tags, not known',
    );
  });

  it("waives a region only for accounts below the scoped OU", () => {
    const change = sgRule({ groupId: "sg-0fedcba9876543210" });
    const sandbox = { ...at(DEV, "ap-southeast-2"), organizationalUnits: ous([SANDBOX_OU]) };
    expect(run(policy, sandbox, change).waived[0]?.exemption?.kind).toBe("region");
    const prod = { ...at(PROD, "ap-southeast-2"), organizationalUnits: ous([PROD_OU]) };
    expect(run(policy, prod, change).outcome).toBe("violation");
  });

  it("exempts network-ACL entries by scoped OU tag as well", () => {
    const nacl = parsePolicy({
      exemptions: { ouTags: [{ tags: { env: "sandbox" } }] },
      rules: [NACL_SSH],
    });
    const ctx = { ...at(DEV), organizationalUnits: ous([SANDBOX_OU, { env: "sandbox" }]) };
    expect(run(nacl, ctx, naclEntry()).outcome).toBe("exempt");
  });
});

describe("organizationContextNeeded", () => {
  it("needs nothing for the default policy", () => {
    expect(organizationContextNeeded(defaultPolicy())).toEqual({
      accountTags: false,
      organizationalUnits: false,
      ouTags: false,
    });
  });

  it("needs account tags for a rule scoped by account tag", () => {
    expect(organizationContextNeeded(scoped({ accountTags: { env: "prod" } }))).toEqual({
      accountTags: true,
      organizationalUnits: false,
      ouTags: false,
    });
  });

  it("needs the OU path for OU tags, and nothing for account and region scopes", () => {
    expect(organizationContextNeeded(scoped({ ouTags: { env: "prod" } }))).toEqual({
      accountTags: false,
      organizationalUnits: true,
      ouTags: true,
    });
    expect(organizationContextNeeded(scoped({ accounts: [PROD], regions: ["eu-west-1"] }))).toEqual(
      { accountTags: false, organizationalUnits: false, ouTags: false },
    );
  });

  it("looks into exemption lists and scoped entries, global and per rule", () => {
    expect(organizationContextNeeded(exempting({ organizationalUnits: [PROD_OU] }))).toMatchObject({
      organizationalUnits: true,
    });
    expect(
      organizationContextNeeded(exempting({ accountTags: [{ tags: { env: "x" } }] })).accountTags,
    ).toBe(true);
    expect(organizationContextNeeded(exempting({ ouTags: [{ tags: { env: "x" } }] })).ouTags).toBe(
      true,
    );
    const perRule = parsePolicy({
      rules: [
        {
          ...ADMIN_PORTS_RULE,
          exemptions: { groups: [{ id: "sg-01234567", scope: { accountTags: { env: "x" } } }] },
        },
      ],
    });
    expect(organizationContextNeeded(perRule).accountTags).toBe(true);
  });
});

describe("scope matching", () => {
  const everywhere: Scope = {
    accounts: null,
    regions: null,
    organizationalUnits: null,
    accountTags: null,
    ouTags: null,
  };
  const nothingKnown = {
    account: undefined,
    region: undefined,
    accountTags: undefined,
    organizationalUnits: undefined,
  };

  it("matches everything with no field set, even when nothing is known", () => {
    expect(matchScope(everywhere, nothingKnown)).toEqual({ status: "in" });
  });

  it("never reads inherited object properties as tags", () => {
    expect(tagsMatch({ constructor: ["x"] }, {})).toBe(false);
    expect(tagsMatch({ toString: ["x"] }, { toString: "x" })).toBe(true);
  });

  it("merges OU tags root first, nearest last, and knows nothing if one OU is unread", () => {
    expect(effectiveOuTags(ous(["a", { env: "prod", t: "1" }], ["b", { env: "dev" }]))).toEqual({
      env: "dev",
      t: "1",
    });
    expect(effectiveOuTags(ous(["a", {}], ["b"]))).toBeUndefined();
    expect(effectiveOuTags(undefined)).toBeUndefined();
  });

  const ACCOUNTS = ["111111111111", "222222222222", "333333333333"];
  const REGIONS = ["eu-west-1", "us-east-1"];
  const VALUES = ["prod", "dev"];
  const scopeArb = fc.record({
    accounts: fc.option(fc.subarray(ACCOUNTS, { minLength: 1 })),
    regions: fc.option(fc.subarray(REGIONS, { minLength: 1 })),
    organizationalUnits: fc.constant(null),
    accountTags: fc.option(fc.record({ env: fc.subarray(VALUES, { minLength: 1 }) })),
    ouTags: fc.constant(null),
  });
  const subjectArb = fc.record({
    account: fc.option(fc.constantFrom(...ACCOUNTS), { nil: undefined }),
    region: fc.option(fc.constantFrom(...REGIONS), { nil: undefined }),
    accountTags: fc.option(fc.record({ env: fc.constantFrom(...VALUES) }), { nil: undefined }),
    organizationalUnits: fc.constant(undefined),
  });

  it("is in only when every set field is known and matches, out as soon as one known field fails", () => {
    fc.assert(
      fc.property(scopeArb, subjectArb, (scope, subject) => {
        const verdicts = [
          scope.accounts &&
            (subject.account === undefined ? "?" : scope.accounts.includes(subject.account)),
          scope.regions &&
            (subject.region === undefined ? "?" : scope.regions.includes(subject.region)),
          scope.accountTags &&
            (subject.accountTags === undefined
              ? "?"
              : scope.accountTags.env.includes(subject.accountTags.env)),
        ].filter((x) => x !== null);
        const expected = verdicts.includes(false)
          ? "out"
          : verdicts.includes("?")
            ? "unknown"
            : "in";
        expect(matchScope(scope, subject).status).toBe(expected);
      }),
      { numRuns: 300, seed: 9 },
    );
  });

  it("never revokes for a rule whose scope could not be decided", () => {
    fc.assert(
      fc.property(scopeArb, subjectArb, (scope, subject) => {
        const raw: Record<string, unknown> = {};
        for (const [k, v] of Object.entries(scope)) if (v !== null) raw[k] = v;
        if (Object.keys(raw).length === 0) return;
        const policy = scoped(raw);
        const ctx: PolicyEvaluationContext = {
          now: NOW,
          ...(subject.account ? { account: subject.account } : {}),
          ...(subject.region ? { region: subject.region } : {}),
          ...(subject.accountTags ? { accountTags: subject.accountTags } : {}),
        };
        const status = matchScope(policy.rules[0]?.scope as Scope, subject).status;
        const actions = planActions(evaluate([sgRule()], policy, ctx));
        expect(actions.length > 0).toBe(status === "in");
      }),
      { numRuns: 300, seed: 11 },
    );
  });
});
