import { describe, expect, it } from "vitest";
import type { RuleChange } from "../src/model";
import { planActions } from "../src/plan";
import { DEFAULT_POLICY_YAML, defaultPolicy, judgeTagging, loadPolicy } from "../src/policy";
import { evaluate, groupsNeedingTags, needsGroupTags } from "../src/policy/evaluate";
import { eventMeta, GROUP, NOW, naclEntry, roleSession, sgRule } from "./policy-builders";

const TAG = "guardrail-exempt";
const OTHER_GROUP = "sg-0fedcba9876543210";

/** The default policy with extra global exemptions and a per-rule exemption on admin-ports. */
const policy = loadPolicy(
  DEFAULT_POLICY_YAML.replace(
    "exemptions:\n  tagKey: guardrail-exempt\n",
    `exemptions:
  tagKey: guardrail-exempt
  groups:
    - id: sg-0aaaaaaaaaaaaaaa1
      reason: load balancer fleet, CHG-1234
      expires: 2026-12-31
    - id: sg-0bbbbbbbbbbbbbbb2
      reason: old demo
      expires: 2026-01-31
    - sg-0eeeeeeeeeeeeeee5
  principals:
    - pattern: "arn:aws:iam::*:role/break-glass*"
      reason: break-glass role
  accounts: ["999988887777"]
  regions: [ap-southeast-2]
`,
  ).replace(
    "  - id: internet-exposure\n",
    `  - id: internet-exposure
    exemptions:
      groups: [sg-0ccccccccccccccc3]
      tagKey: exposure-ok
`,
  ),
);

function run(change: RuleChange = sgRule(), extra: Partial<Parameters<typeof evaluate>[2]> = {}) {
  return evaluate([change], policy, { now: NOW, ...extra });
}

describe("exemptions by group, principal, account and region", () => {
  it("waives findings for an exempt group, keeping them for the audit trail", () => {
    const result = run(sgRule({ groupId: "sg-0aaaaaaaaaaaaaaa1" }));
    expect(result.outcome).toBe("exempt");
    expect(result.findings).toEqual([]);
    expect(result.waived.map((f) => f.rule)).toEqual(["admin-ports", "internet-exposure"]);
    expect(result.waived[0]?.exemption).toEqual({
      kind: "group",
      reason: "load balancer fleet, CHG-1234",
      expires: "2026-12-31",
    });
    expect(planActions(result)).toEqual([]);
  });

  it("gives a bare group entry a reason of its own", () => {
    const result = run(sgRule({ groupId: "sg-0eeeeeeeeeeeeeee5" }));
    expect(result.waived[0]?.exemption).toEqual({
      kind: "group",
      reason: "security group sg-0eeeeeeeeeeeeeee5 is exempt",
    });
  });

  it("no longer applies an expired group exemption, and says so", () => {
    const result = run(sgRule({ groupId: "sg-0bbbbbbbbbbbbbbb2" }));
    expect(result.outcome).toBe("violation");
    expect(result.findings[0]?.reason).toBe(
      'tcp 22 open to 0.0.0.0/0 (public, wide) — admin port; group exemption "old demo" expired 2026-01-31, not applied',
    );
  });

  it("waives a change made by the break-glass role (principal glob on the session issuer)", () => {
    const event = eventMeta({
      actor: roleSession("break-glass-ops", "bob"),
    });
    const result = run(sgRule(), { event });
    expect(result.outcome).toBe("exempt");
    expect(result.waived[0]?.exemption).toEqual({ kind: "principal", reason: "break-glass role" });
  });

  it("gives a bare principal pattern a reason of its own", () => {
    const bare = loadPolicy(
      DEFAULT_POLICY_YAML.replace(
        "exemptions:\n  tagKey: guardrail-exempt\n",
        'exemptions:\n  principals: ["arn:aws:iam::*:user/ops-?"]\n',
      ),
    );
    const event = eventMeta({
      actor: { arn: "arn:aws:iam::111122223333:user/ops-1", sessionIssuerArn: null },
    });
    expect(evaluate([sgRule()], bare, { now: NOW, event }).waived[0]?.exemption).toEqual({
      kind: "principal",
      reason: "principal matches arn:aws:iam::*:user/ops-?",
    });
  });

  it("does not waive a role whose name only contains break-glass", () => {
    const event = eventMeta({
      actor: roleSession("not-break-glass", "bob"),
    });
    expect(run(sgRule(), { event }).outcome).toBe("violation");
  });

  it("waives by the event's account, or the account the sweep passes", () => {
    const event = eventMeta({ account: "999988887777" });
    expect(run(sgRule(), { event }).waived[0]?.exemption?.kind).toBe("account");
    expect(run(sgRule(), { account: "999988887777" }).outcome).toBe("exempt");
    expect(run(sgRule(), { account: "111122223333" }).outcome).toBe("violation");
  });

  it("waives by region, from the event or the sweep", () => {
    expect(run(sgRule(), { event: eventMeta({ region: "ap-southeast-2" }) }).outcome).toBe(
      "exempt",
    );
    expect(run(sgRule(), { region: "ap-southeast-2" }).waived[0]?.exemption).toEqual({
      kind: "region",
      reason: "region ap-southeast-2 is exempt",
    });
  });

  it("applies a rule's own exemptions to that rule only", () => {
    const result = run(sgRule({ groupId: "sg-0ccccccccccccccc3" }));
    expect(result.outcome).toBe("violation");
    expect(result.findings.map((f) => f.rule)).toEqual(["admin-ports"]);
    expect(result.waived.map((f) => f.rule)).toEqual(["internet-exposure"]);
  });

  it("exempts NACL entries by account but never by group", () => {
    expect(run(naclEntry(), { account: "999988887777" }).outcome).toBe("exempt");
    expect(run(naclEntry(), { account: "111122223333" }).outcome).toBe("violation");
  });
});

describe("tag exemptions", () => {
  const APPROVER = "arn:aws:iam::123456789012:role/security-approver";
  const approving = loadPolicy(
    DEFAULT_POLICY_YAML.replace("approvers: []", `approvers: ["${APPROVER}"]`),
  );
  const tagged = (value: string, key = TAG, group = GROUP) => ({
    [group]: { [key]: value, Name: "web" },
  });
  /** The context after an approver (or `by`) set `value` on the group a day before NOW. */
  function approved(value: string, { by = APPROVER, key = TAG, group = GROUP } = {}) {
    const event = eventMeta({
      eventId: "tag-1",
      eventTime: "2026-06-14T09:00:00Z",
      actor: { arn: by, sessionIssuerArn: null },
    });
    const { record } = judgeTagging({ groupId: group, key, value }, event, approving);
    return { groupTags: tagged(value, key, group), tagRecords: { [group]: { [key]: record } } };
  }
  const judge = (change: RuleChange, extra: Partial<Parameters<typeof evaluate>[2]>) =>
    evaluate([change], approving, { now: NOW, ...extra });
  const VALID = "reason=python app demo;expires=2026-07-01;rules=internet-exposure";

  it("waives the listed rule while an approver's tag is live, naming the approver", () => {
    const result = judge(sgRule({ ports: [8080] }), approved(VALID));
    expect(result.outcome).toBe("exempt");
    expect(result.waived[0]?.exemption).toEqual({
      kind: "tag",
      reason: "python app demo",
      expires: "2026-07-01",
      approvedBy: APPROVER,
      approvedAt: "2026-06-14T09:00:00Z",
    });
  });

  it("never waives a rule that is not tagExemptable, even when the tag names it", () => {
    const value = "reason=ssh;expires=2026-07-01;rules=admin-ports,internet-exposure";
    const result = judge(sgRule({ ports: [22] }), approved(value));
    // The tag asks for more than a tag may grant: it is invalid and waives nothing at all.
    expect(result.findings.map((f) => f.rule)).toEqual(["admin-ports", "internet-exposure"]);
    expect(result.findings.every((f) => f.mode === "enforce")).toBe(true);
    expect(result.waived).toEqual([]);
    expect(result.findings[1]?.reason).toContain(
      'rule "admin-ports" cannot be waived by a tag (tagExemptable is false)',
    );
    expect(result.findings[0]?.reason).toContain(
      `tag ${TAG} on ${GROUP} cannot waive admin-ports (tagExemptable is false), not applied`,
    );
  });

  it("ends an approved exemption once its approver is no longer in tagExemptions.approvers", () => {
    const context = approved(VALID);
    const without = loadPolicy(
      DEFAULT_POLICY_YAML.replace(
        "approvers: []",
        `approvers: ["arn:aws:iam::123456789012:role/someone-else"]`,
      ),
    );
    const result = evaluate([sgRule({ ports: [8080] })], without, { now: NOW, ...context });
    expect(result.outcome).toBe("violation");
    expect(result.findings[0]?.mode).toBe("enforce");
    expect(result.findings[0]?.reason).toContain(
      `was approved by ${APPROVER}, who is no longer an approver (tagExemptions.approvers), not applied`,
    );
  });

  it("ends an approved exemption whose expiry the current maxDays no longer allows", () => {
    const context = approved(VALID);
    const stricter = loadPolicy(
      DEFAULT_POLICY_YAML.replace("approvers: []", `approvers: ["${APPROVER}"]`).replace(
        /maxDays: \d+/,
        "maxDays: 7",
      ),
    );
    expect(stricter.tagExemptions.maxDays).toBe(7);
    const result = evaluate([sgRule({ ports: [8080] })], stricter, { now: NOW, ...context });
    expect(result.outcome).toBe("violation");
    expect(result.findings[0]?.reason).toContain(
      "is no longer a valid exemption under the current policy",
    );
  });

  it("does not honour a tag set by someone who is not an approver", () => {
    const result = judge(
      sgRule({ ports: [8080] }),
      approved(VALID, { by: "arn:aws:iam::123456789012:user/developer" }),
    );
    expect(result.outcome).toBe("violation");
    expect(result.findings[0]?.mode).toBe("enforce");
    expect(result.findings[0]?.reason).toContain(
      "was set by arn:aws:iam::123456789012:user/developer, who is not an approver, not applied",
    );
  });

  it("stops honouring the tag once its value differs from the approved one", () => {
    const ctx = approved(VALID);
    const changed = VALID.replace("2026-07-01", "2026-07-10");
    const result = judge(sgRule({ ports: [8080] }), { ...ctx, groupTags: tagged(changed) });
    expect(result.outcome).toBe("violation");
    expect(result.findings[0]?.reason).toContain(
      `is not the value approved by ${APPROVER} at 2026-06-14T09:00:00Z, not applied`,
    );
  });

  it.each([
    ["no rules=", "reason=x;expires=2026-07-01", "rules is missing"],
    [
      "a ten-year expiry",
      "reason=x;expires=2036-06-14;rules=internet-exposure",
      "expires 2036-06-14 is more than 30 days after 2026-06-14 (tagExemptions.maxDays); latest 2026-07-14",
    ],
    [
      "an unknown rule",
      "reason=x;expires=2026-07-01;rules=internet-exposure,nope",
      'the policy has no rule "nope"',
    ],
  ])("does not honour an approver's tag with %s, and says why", (_what, value, problem) => {
    const result = judge(sgRule({ ports: [8080] }), approved(value));
    expect(result.outcome).toBe("violation");
    expect(result.findings[0]?.reason).toContain(`is not a valid exemption (${problem})`);
  });

  it("still applies on its expiry day (UTC) and not the day after", () => {
    const on = "reason=x;expires=2026-06-15;rules=internet-exposure";
    expect(judge(sgRule({ ports: [8080] }), approved(on)).outcome).toBe("exempt");
    const expired = judge(
      sgRule({ ports: [8080] }),
      approved("reason=x;expires=2026-06-14;rules=internet-exposure"),
    );
    expect(expired.outcome).toBe("violation");
    expect(expired.findings[0]?.reason).toContain(
      `tag ${TAG} on ${GROUP} expired 2026-06-14, not applied`,
    );
  });

  it("notifies, never revokes, a valid tag without a record: an unverified exemption", () => {
    for (const tagRecords of [undefined, { [GROUP]: { [TAG]: null } }]) {
      const result = judge(sgRule({ ports: [8080] }), { groupTags: tagged(VALID), tagRecords });
      expect(result.outcome).toBe("violation");
      expect(result.findings[0]?.mode).toBe("notify");
      expect(result.findings[0]?.reason).toContain(
        `unverified exemption: tag ${TAG} on ${GROUP} has no approval on record`,
      );
      expect(planActions(result)).toEqual([]);
    }
  });

  it("lets the rule's own policy-file exemption waive a finding despite an unverified tag", () => {
    const ruleExempt = loadPolicy(
      DEFAULT_POLICY_YAML.replace("approvers: []", `approvers: ["${APPROVER}"]`).replace(
        "    tagExemptable: true\n",
        `    tagExemptable: true\n    exemptions:\n      groups:\n        - id: ${GROUP}\n          reason: reviewed in PR 42\n`,
      ),
    );
    expect(ruleExempt.rules.find((r) => r.id === "internet-exposure")?.exemptions.groups).toEqual([
      { value: GROUP, reason: "reviewed in PR 42" },
    ]);
    for (const tagRecords of [undefined, { [GROUP]: { [TAG]: null } }]) {
      const result = evaluate([sgRule({ ports: [8080] })], ruleExempt, {
        now: NOW,
        groupTags: tagged(VALID),
        tagRecords,
      });
      expect(result.outcome).toBe("exempt");
      expect(result.findings).toEqual([]);
      expect(result.waived[0]?.exemption).toEqual({ kind: "group", reason: "reviewed in PR 42" });
    }
  });

  it("does not honour a tag present after a recorded removal", () => {
    const event = eventMeta({ actor: { arn: APPROVER } });
    const { record } = judgeTagging({ groupId: GROUP, key: TAG, value: null }, event, approving);
    const result = judge(sgRule({ ports: [8080] }), {
      groupTags: tagged(VALID),
      tagRecords: { [GROUP]: { [TAG]: record } },
    });
    expect(result.findings[0]?.mode).toBe("enforce");
    expect(result.findings[0]?.reason).toContain("was recorded removed at");
  });

  it("revokes for an unrecorded tag that is not valid either", () => {
    const result = judge(sgRule({ ports: [8080] }), {
      groupTags: tagged("reason=forever;expires=2026-07-01"),
    });
    expect(result.findings[0]?.mode).toBe("enforce");
    expect(result.findings[0]?.reason).toContain("is not a valid exemption (rules is missing)");
  });

  it("reads a rule's own tag key for that rule only", () => {
    const result = judge(
      sgRule({ ports: [8080] }),
      approved(VALID.replace("internet-exposure", "internet-exposure"), { key: "other-key" }),
    );
    expect(result.outcome).toBe("violation");
  });

  it("ignores tags of other groups and groups without tags", () => {
    const ctx = approved(VALID, { group: OTHER_GROUP });
    expect(judge(sgRule({ ports: [8080] }), ctx).outcome).toBe("violation");
  });

  it("says each expired tag only once when the global and rule tag keys are the same", () => {
    const same = loadPolicy(
      DEFAULT_POLICY_YAML.replace(
        "  - id: internet-exposure\n",
        "  - id: internet-exposure\n    exemptions: { tagKey: guardrail-exempt }\n",
      ),
    );
    const result = evaluate([sgRule({ ports: [8080] })], same, {
      now: NOW,
      groupTags: tagged("reason=x;expires=2026-06-01;rules=internet-exposure"),
    });
    const reason = result.findings.find((f) => f.rule === "internet-exposure")?.reason ?? "";
    expect(reason.match(/expired/g)).toHaveLength(1);
  });
});

describe("needsGroupTags and groupsNeedingTags", () => {
  const bare = loadPolicy(
    DEFAULT_POLICY_YAML.replace("exemptions:\n  tagKey: guardrail-exempt\n", ""),
  );

  it("needs tags when the global tag exemption is configured", () => {
    expect(needsGroupTags(defaultPolicy())).toBe(true);
    expect(needsGroupTags(bare)).toBe(false);
  });

  it("needs tags for a rule's own tag key unless the rule is always off", () => {
    const yaml = (mode: string) => `
rules:
  - id: r
    kind: security-group-peers
    description: d
    mode: ${mode}
    options: { peers: [public] }
    tagExemptable: true
    exemptions: { tagKey: ok }
`;
    expect(needsGroupTags(loadPolicy(yaml("notify")))).toBe(true);
    expect(needsGroupTags(loadPolicy(yaml("off")))).toBe(false);
  });

  it("lists the groups of unwaived findings, once each, so the function describes only those", () => {
    const changes = [
      sgRule({ ports: [22] }),
      sgRule({ ports: [3389], ruleId: "sgr-2" }),
      sgRule({ groupId: OTHER_GROUP, ports: [8080] }),
      sgRule({ groupId: null, ports: [22] }),
      naclEntry(),
      sgRule({ ports: [443] }),
    ];
    const first = evaluate(changes, defaultPolicy(), { now: NOW });
    expect(groupsNeedingTags(first, defaultPolicy())).toEqual([GROUP, OTHER_GROUP]);
    expect(groupsNeedingTags(first, bare)).toEqual([]);
  });

  it("lists groups for a rule's own tag key", () => {
    const noGlobal = loadPolicy(
      DEFAULT_POLICY_YAML.replace("exemptions:\n  tagKey: guardrail-exempt\n", "").replace(
        "  - id: internet-exposure\n",
        "  - id: internet-exposure\n    exemptions: { tagKey: exposure-ok }\n",
      ),
    );
    const first = evaluate([sgRule({ ports: [8080] })], noGlobal, { now: NOW });
    expect(groupsNeedingTags(first, noGlobal)).toEqual([GROUP]);
    const adminOnly = evaluate([sgRule({ ports: [22], cidr: "8.8.8.8/32" })], noGlobal, {
      now: NOW,
    });
    expect(adminOnly.findings.map((f) => f.rule)).toEqual(["admin-ports"]);
    expect(groupsNeedingTags(adminOnly, noGlobal)).toEqual([]);
  });
});
