import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { planActions } from "../src/plan";
import { DEFAULT_POLICY_YAML, defaultPolicy, judgeTagging, loadPolicy } from "../src/policy";
import { evaluate, groupsNeedingTags } from "../src/policy/evaluate";
import { groupsDecidingRevoke } from "../src/policy/revoke-needs";
import { actor, GROUP, NOW, sgRule } from "./policy-builders";

const OTHER_GROUP = "sg-0fedcba9876543210";

describe("groupsDecidingRevoke", () => {
  it("leaves out a group whose rule has an enforce finding no tag may waive (tcp 22 from the world)", () => {
    const first = evaluate([sgRule({ ports: [22] })], defaultPolicy(), { now: NOW });
    expect(first.findings.map((f) => f.rule).sort()).toEqual(["admin-ports", "internet-exposure"]);
    expect(groupsDecidingRevoke(first, defaultPolicy())).toEqual([]);
    // Its tags are still read, after the revoke, to report internet-exposure's exemption.
    expect(groupsNeedingTags(first, defaultPolicy())).toEqual([GROUP]);
  });

  it("lists a group whose rule's enforce findings could all be waived (tcp 8080 from the world)", () => {
    const changes = [sgRule({ ports: [22] }), sgRule({ groupId: OTHER_GROUP, ports: [8080] })];
    const first = evaluate(changes, defaultPolicy(), { now: NOW });
    expect(groupsDecidingRevoke(first, defaultPolicy())).toEqual([OTHER_GROUP]);
  });

  it("lists nothing when no tag exemption is configured", () => {
    const bare = loadPolicy(
      DEFAULT_POLICY_YAML.replace("exemptions:\n  tagKey: guardrail-exempt\n", ""),
    );
    const first = evaluate([sgRule({ ports: [8080] })], bare, { now: NOW });
    expect(groupsDecidingRevoke(first, bare)).toEqual([]);
  });

  it("never changes the plan: tags of the groups it leaves out cannot change what is revoked", () => {
    const approver = "arn:aws:iam::123456789012:role/security-approver";
    const policy = loadPolicy(
      DEFAULT_POLICY_YAML.replace("approvers: []", `approvers: ["${approver}"]`),
    );
    const expires = new Date(NOW.getTime() + 10 * 86_400_000).toISOString().slice(0, 10);
    const value = `reason=r;expires=${expires};rules=internet-exposure,smtp-egress`;
    const grant = (groupId: string) =>
      judgeTagging(
        { groupId, key: "guardrail-exempt", value },
        {
          eventId: `tag-${groupId}`,
          eventTime: new Date(NOW.getTime() - 3_600_000).toISOString(),
          actor: actor({
            arn: approver,
            accountId: "123456789012",
            sessionIssuerArn: null,
            sourceIp: null,
            userAgent: null,
          }),
        },
        policy,
      ).record;
    fc.assert(
      fc.property(
        fc.array(
          fc.record({
            port: fc.constantFrom(22, 25, 80, 443, 3389, 8080),
            group: fc.constantFrom(GROUP, OTHER_GROUP),
            egress: fc.boolean(),
          }),
          { minLength: 1, maxLength: 6 },
        ),
        (specs) => {
          const changes = specs.map((s, i) =>
            sgRule({
              ports: [s.port],
              groupId: s.group,
              ruleId: `sgr-${i}`,
              direction: s.egress ? "egress" : "ingress",
            }),
          );
          const first = evaluate(changes, policy, { now: NOW });
          const deciding = new Set(groupsDecidingRevoke(first, policy));
          const ids = groupsNeedingTags(first, policy).filter((id) => !deciding.has(id));
          // An approver's valid grant on every group left out: the plan is the same with it.
          const withTags = evaluate(changes, policy, {
            now: NOW,
            groupTags: Object.fromEntries(ids.map((id) => [id, { "guardrail-exempt": value }])),
            tagRecords: Object.fromEntries(
              ids.map((id) => [id, { "guardrail-exempt": grant(id) }]),
            ),
          });
          expect(planActions(withTags)).toEqual(planActions(first));
          // And the grant does waive something there, so the check is not vacuous.
          if (ids.length > 0) expect(withTags.waived.length).toBeGreaterThan(0);
        },
      ),
    );
  });
});
