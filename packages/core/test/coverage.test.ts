import fc from "fast-check";
import { describe, expect, it } from "vitest";
import {
  accountTargets,
  coveredRegions,
  enabledNotCovered,
  isRegionName,
  parseRegionSetting,
  regionVerdict,
  sweptOrganizationalUnits,
} from "../src/coverage";
import { ConfigurationError } from "../src/errors";
import { parsePolicy } from "../src/policy";
import { ADMIN_PORTS_RULE } from "./policy-builders";

const OU_A = "ou-ab12-34cd56ef";
const OU_B = "ou-ab12-11112222";

describe("the covered-Region setting", () => {
  it("covers every enabled Region when unset, empty or `all`", () => {
    for (const raw of [undefined, "", "  ", "all", "ALL", "[]"]) {
      expect(parseRegionSetting(raw, "GUARDRAIL_REGIONS"), String(raw)).toEqual({ kind: "all" });
    }
  });

  it("reads a comma-separated or JSON list, without duplicates, in order", () => {
    expect(parseRegionSetting("eu-west-1, us-east-1,eu-west-1", "X")).toEqual({
      kind: "list",
      regions: ["eu-west-1", "us-east-1"],
    });
    expect(parseRegionSetting('["ap-southeast-7","us-gov-west-1"]', "X")).toEqual({
      kind: "list",
      regions: ["ap-southeast-7", "us-gov-west-1"],
    });
  });

  it("refuses a malformed list or Region name, naming the variable and the value", () => {
    expect(() => parseRegionSetting("eu-west-1,Europe", "GUARDRAIL_REGIONS")).toThrow(
      new ConfigurationError('GUARDRAIL_REGIONS: "Europe" is not an AWS Region name'),
    );
    expect(() => parseRegionSetting("[eu-west-1", "GUARDRAIL_REGIONS")).toThrow(/not valid JSON/);
    expect(() => parseRegionSetting("[1, 2]", "GUARDRAIL_REGIONS")).toThrow(
      /must be "all" or a list of Region names/,
    );
  });

  it("accepts every Region name shape AWS uses and nothing with other characters", () => {
    for (const r of [
      "us-east-1",
      "eu-central-2",
      "us-gov-west-1",
      "ap-southeast-7",
      "il-central-1",
    ])
      expect(isRegionName(r), r).toBe(true);
    for (const r of ["us-east", "US-EAST-1", "us_east_1", "us-east-1 ", "-us-east-1", "x"])
      expect(isRegionName(r), r).toBe(false);
  });
});

describe("the Regions a deploy covers", () => {
  const enabled = ["us-east-1", "eu-west-1", "ap-south-2"];

  it("covers every enabled Region, home first, with `all`", () => {
    expect(coveredRegions("eu-west-1", { kind: "all" }, enabled)).toEqual([
      "eu-west-1",
      "ap-south-2",
      "us-east-1",
    ]);
  });

  it("covers the list, with the home Region added first", () => {
    expect(coveredRegions("us-east-1", { kind: "list", regions: ["eu-west-1"] }, enabled)).toEqual([
      "us-east-1",
      "eu-west-1",
    ]);
  });

  it("refuses a listed Region that is not enabled in the account", () => {
    expect(() =>
      coveredRegions("us-east-1", { kind: "list", regions: ["me-south-1"] }, enabled),
    ).toThrow(/me-south-1 are not enabled in this account/);
  });
});

describe("whether an event's Region is covered", () => {
  it("covers exactly the listed Regions and says why not otherwise", () => {
    expect(regionVerdict("eu-west-1", ["us-east-1", "eu-west-1"])).toEqual({ covered: true });
    expect(regionVerdict("ap-south-2", ["us-east-1", "eu-west-1"])).toEqual({
      covered: false,
      reason: "ap-south-2 is not among the covered Regions (us-east-1, eu-west-1)",
    });
  });

  it("never covers a Region outside the list, whatever the list (property)", () => {
    const region = fc.constantFrom(
      "us-east-1",
      "eu-west-1",
      "ap-south-2",
      "sa-east-1",
      "me-central-1",
    );
    fc.assert(
      fc.property(fc.uniqueArray(region), region, (covered, r) => {
        expect(regionVerdict(r, covered).covered).toBe(covered.includes(r));
      }),
    );
  });

  it("reports Regions enabled since the deploy, sorted, once each", () => {
    expect(
      enabledNotCovered(["us-east-1", "me-central-1", "ap-south-2", "ap-south-2"], ["us-east-1"]),
    ).toEqual(["ap-south-2", "me-central-1"]);
    expect(enabledNotCovered(["us-east-1"], ["us-east-1", "eu-west-1"])).toEqual([]);
  });
});

describe("the sweep's accounts from AWS Organizations", () => {
  const listed = [
    { id: "111111111111", state: "ACTIVE" },
    { id: "222222222222", state: "SUSPENDED" },
    { id: "333333333333", state: "ACTIVE" },
    { id: "444444444444", state: "PENDING_CLOSURE" },
    { id: "555555555555", state: "active" },
    { id: "111111111111", state: "ACTIVE" },
  ];

  it("sweeps every active account and skips the others, saying why", () => {
    expect(accountTargets(listed, { allow: [], deny: [] })).toEqual({
      accounts: ["111111111111", "333333333333", "555555555555"],
      skipped: [
        { account: "222222222222", reason: "not-active", state: "SUSPENDED" },
        { account: "444444444444", reason: "not-active", state: "PENDING_CLOSURE" },
      ],
      unknownAllowed: [],
    });
  });

  it("applies the deny list, then the allow list when one is set", () => {
    const targets = accountTargets(listed, {
      allow: ["111111111111", "333333333333", "999999999999"],
      deny: ["333333333333"],
    });
    expect(targets.accounts).toEqual(["111111111111"]);
    expect(targets.skipped).toContainEqual({
      account: "333333333333",
      reason: "denied",
      state: "ACTIVE",
    });
    expect(targets.skipped).toContainEqual({
      account: "555555555555",
      reason: "not-allowed",
      state: "ACTIVE",
    });
    expect(targets.unknownAllowed).toEqual(["999999999999"]);
  });

  it("never sweeps a suspended or denied account (property)", () => {
    const id = fc.stringMatching(/^\d{12}$/);
    const account = fc.record({ id, state: fc.constantFrom("ACTIVE", "SUSPENDED", "CLOSED") });
    fc.assert(
      fc.property(fc.array(account), fc.array(id), fc.array(id), (accounts, allow, deny) => {
        const out = accountTargets(accounts, { allow, deny });
        for (const a of out.accounts) {
          expect(deny).not.toContain(a);
          expect(accounts.some((x) => x.id === a && x.state === "ACTIVE")).toBe(true);
          if (allow.length > 0) expect(allow).toContain(a);
        }
      }),
    );
  });
});

describe("the OUs the sweep lists", () => {
  it("is the union of the OUs when every enabled rule is scoped to OUs", () => {
    const policy = parsePolicy({
      rules: [
        { ...ADMIN_PORTS_RULE, scope: { organizationalUnits: [OU_B] } },
        { ...ADMIN_PORTS_RULE, id: "b", scope: { organizationalUnits: [OU_A, OU_B] } },
        { ...ADMIN_PORTS_RULE, id: "off", mode: "off" },
      ],
    });
    expect(sweptOrganizationalUnits(policy)).toEqual([OU_B, OU_A].sort());
  });

  it("is every account when one enabled rule applies outside OU scopes", () => {
    const policy = parsePolicy({
      rules: [
        { ...ADMIN_PORTS_RULE, scope: { organizationalUnits: [OU_A] } },
        { ...ADMIN_PORTS_RULE, id: "b", scope: { regions: ["eu-west-1"] } },
      ],
    });
    expect(sweptOrganizationalUnits(policy)).toBeNull();
    expect(sweptOrganizationalUnits(parsePolicy({ rules: [ADMIN_PORTS_RULE] }))).toBeNull();
  });
});
