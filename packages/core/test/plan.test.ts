import { describe, expect, it } from "vitest";
import { loadFixture } from "../../../test/fixtures/load";
import { normalise } from "../src/cloudtrail/normalise";
import type { Evaluation, Finding, RuleChange } from "../src/model";
import { planActions } from "../src/plan";
import { DEFAULT_POLICY_YAML, defaultPolicy, loadPolicy } from "../src/policy";
import { evaluate } from "../src/policy/evaluate";
import { ACL, GROUP, NOW, naclEntry, prefixListChange, sgRule } from "./policy-builders";

const OTHER = "sg-0fedcba9876543210";

/** Telnet (tcp 23) from any peer, enforced: it reaches referenced-group peers too. */
const NO_TELNET = loadPolicy(`
rules:
  - id: no-telnet
    kind: security-group-ports
    description: no telnet from anywhere
    mode: enforce
    options: { peers: [any], ports: [tcp/23] }
`);

function plan(changes: RuleChange[], policy = defaultPolicy()) {
  return planActions(evaluate(changes, policy, { now: NOW }));
}

/** An evaluation built by hand, for plans of findings the evaluator would never enforce. */
function enforced(change: RuleChange): Evaluation {
  const finding: Finding = {
    rule: "admin-ports",
    mode: "enforce",
    severity: "critical",
    reason: "r",
    change,
  };
  return { outcome: "violation", findings: [finding], waived: [] };
}

describe("planActions for security-group rules with ids", () => {
  it("revokes every offending rule of a group and direction in one action, each id once", () => {
    const actions = plan([
      sgRule({ ports: [22], ruleId: "sgr-1" }),
      sgRule({ ports: [3389], ruleId: "sgr-2" }),
      sgRule({ ports: [443], ruleId: "sgr-ok" }),
      sgRule({ direction: "egress", ports: [25], ruleId: "sgr-3" }),
      sgRule({ groupId: OTHER, ports: [22], ruleId: "sgr-4" }),
      sgRule({ ports: [22], ruleId: "sgr-1" }),
    ]);
    expect(actions).toEqual([
      {
        type: "revoke-security-group-rules",
        groupId: GROUP,
        direction: "ingress",
        ruleIds: ["sgr-1", "sgr-2"],
      },
      {
        type: "revoke-security-group-rules",
        groupId: GROUP,
        direction: "egress",
        ruleIds: ["sgr-3"],
      },
      {
        type: "revoke-security-group-rules",
        groupId: OTHER,
        direction: "ingress",
        ruleIds: ["sgr-4"],
      },
    ]);
  });

  it("plans nothing for notify findings", () => {
    expect(plan([sgRule({ direction: "egress", ports: [0, 65535] })])).toEqual([]);
  });

  it("plans nothing for waived findings", () => {
    const policy = loadPolicy(
      DEFAULT_POLICY_YAML.replace("exemptions:\n", `exemptions:\n  groups: [${GROUP}]\n`),
    );
    const result = evaluate([sgRule()], policy, { now: NOW });
    expect(result.outcome).toBe("exempt");
    expect(planActions(result)).toEqual([]);
  });
});

describe("planActions for rules without ids (events before rule ids existed)", () => {
  it("revokes the exact tcp permission with its single CIDR", () => {
    expect(plan([sgRule({ ports: [22], ruleId: null, cidr: "::/0" })])).toEqual([
      {
        type: "revoke-security-group-permissions",
        groupId: GROUP,
        direction: "ingress",
        permissions: [{ protocol: "tcp", fromPort: 22, toPort: 22, cidr: "::/0" }],
      },
    ]);
  });

  it("uses ICMP type and code as fromPort and toPort", () => {
    const [action] = plan([sgRule({ protocol: "icmp", icmp: [3, 3], ruleId: null })]);
    expect(action).toMatchObject({
      permissions: [{ protocol: "icmp", fromPort: 3, toPort: 3, cidr: "0.0.0.0/0" }],
    });
  });

  it("uses -1 and null ports for protocol all, the protocol number for others", () => {
    const actions = plan([
      sgRule({ protocol: "all", ruleId: null }),
      sgRule({ protocol: 50, ruleId: null }),
    ]);
    expect(
      actions.map((a) => a.type === "revoke-security-group-permissions" && a.permissions[0]),
    ).toEqual([
      { protocol: "-1", fromPort: null, toPort: null, cidr: "0.0.0.0/0" },
      { protocol: "50", fromPort: null, toPort: null, cidr: "0.0.0.0/0" },
    ]);
  });

  it("plans one action per permission and never the same permission twice", () => {
    const actions = plan([
      sgRule({ ports: [22], ruleId: null }),
      sgRule({ ports: [22], ruleId: null }),
      sgRule({ ports: [3389], ruleId: null }),
    ]);
    expect(actions).toHaveLength(2);
  });

  it("revokes a referenced-group permission by group id", () => {
    const actions = plan(
      [sgRule({ ports: [23], ruleId: null, referencedGroupId: OTHER })],
      NO_TELNET,
    );
    expect(actions).toEqual([
      {
        type: "revoke-security-group-permissions",
        groupId: GROUP,
        direction: "ingress",
        permissions: [{ protocol: "tcp", fromPort: 23, toPort: 23, groupId: OTHER }],
      },
    ]);
  });
});

describe("planActions for IPv4-mapped IPv6 rules without ids", () => {
  it("revokes ::ffff:0:0/96 by its IPv6 text, which AWS stores in Ipv6Ranges, not as 0.0.0.0/0", () => {
    const result = evaluate([sgRule({ cidr: "::ffff:0:0/96", ruleId: null })], defaultPolicy(), {
      now: NOW,
    });
    // Evaluated as the IPv4 world it opens...
    expect(result.findings[0]?.reason).toContain("tcp 22 open to 0.0.0.0/0");
    // ...but named back to AWS as the IPv6 rule it is.
    expect(planActions(result)).toEqual([
      {
        type: "revoke-security-group-permissions",
        groupId: GROUP,
        direction: "ingress",
        permissions: [{ protocol: "tcp", fromPort: 22, toPort: 22, cidr: "::ffff:0:0/96" }],
      },
    ]);
  });

  it("revokes the IPv4 0.0.0.0/0 rule and the IPv4-mapped rule separately, each by its own text", () => {
    const actions = plan([
      sgRule({ cidr: "0.0.0.0/0", ruleId: null }),
      sgRule({ cidr: "::ffff:0.0.0.0/96", ruleId: null }),
    ]);
    expect(
      actions.flatMap((a) => (a.type === "revoke-security-group-permissions" ? a.permissions : [])),
    ).toEqual([
      { protocol: "tcp", fromPort: 22, toPort: 22, cidr: "0.0.0.0/0" },
      { protocol: "tcp", fromPort: 22, toPort: 22, cidr: "::ffff:0:0/96" },
    ]);
  });

  it("revokes the captured-shape event's IPv4-mapped rule by its IPv6 text", () => {
    const normalised = normalise(
      loadFixture("AuthorizeSecurityGroupIngress", "ipv4-mapped-ipv6-world_no-ruleset_tcp-22"),
    );
    if (normalised.status !== "handled")
      throw new Error(`expected handled, got ${normalised.status}`);
    const actions = planActions(
      evaluate(normalised.changes, defaultPolicy(), { now: NOW, event: normalised.event }),
    );
    expect(actions).toEqual([
      {
        type: "revoke-security-group-permissions",
        groupId: "sg-0a1b2c3d4e5f60001",
        direction: "ingress",
        permissions: [{ protocol: "tcp", fromPort: 22, toPort: 22, cidr: "::ffff:0:0/96" }],
      },
    ]);
  });
});

describe("planActions for findings that cannot be remediated safely", () => {
  it("notifies instead when the event named the group only by name", () => {
    const result = evaluate([sgRule({ groupId: null })], defaultPolicy(), { now: NOW });
    expect(result.findings.map((f) => f.mode)).toEqual(["notify", "notify"]);
    expect(result.findings[0]?.reason).toBe(
      "tcp 22 open to 0.0.0.0/0 (public, wide) — admin port; cannot be revoked safely (the event named the group only by name), so notify",
    );
    expect(planActions(result)).toEqual([]);
  });

  it("notifies instead when neither the rule id nor the tcp ports are known", () => {
    const result = evaluate([sgRule({ ports: null, ruleId: null })], defaultPolicy(), { now: NOW });
    expect(result.findings[0]?.reason).toContain(
      "cannot be revoked safely (the port range is unknown)",
    );
    expect(planActions(result)).toEqual([]);
  });

  it("notifies instead when a referenced group has no id and the rule has none either", () => {
    const change = sgRule({ ports: [23], ruleId: null, referencedGroupId: null });
    const result = evaluate([change], NO_TELNET, { now: NOW });
    expect(result.findings[0]?.reason).toContain("(the referenced group has no id)");
    expect(planActions(result)).toEqual([]);
  });

  it("notifies instead for a replayed change with neither direction nor rule id", () => {
    const change = sgRule({ direction: "unknown", ports: [23], ruleId: null });
    const result = evaluate([change], NO_TELNET, { now: NOW, unknownDirection: "evaluate-both" });
    expect(result.findings[0]?.mode).toBe("notify");
    expect(result.findings[0]?.reason).toContain(
      "(neither the direction nor the rule id is known)",
    );
    expect(planActions(result)).toEqual([]);
  });

  it("never plans an action on a prefix list, whatever the evaluation says", () => {
    expect(planActions(enforced(prefixListChange()))).toEqual([]);
  });

  it("gives a restored prefix list no finding of its own: the rules that reference it are judged", () => {
    const restored = { ...prefixListChange(), restoredVersion: 1 };
    expect(evaluate([restored], defaultPolicy(), { now: NOW })).toEqual({
      outcome: "compliant",
      findings: [],
      waived: [],
    });
    expect(planActions(enforced(restored))).toEqual([]);
  });

  it("skips hand-built enforce findings it cannot name exactly", () => {
    expect(planActions(enforced(sgRule({ groupId: null })))).toEqual([]);
    expect(planActions(enforced(sgRule({ ports: null, ruleId: null })))).toEqual([]);
    expect(planActions(enforced(sgRule({ direction: "unknown", ruleId: null })))).toEqual([]);
    expect(planActions(enforced(sgRule({ referencedGroupId: null, ruleId: null })))).toEqual([]);
  });
});

describe("planActions for network-ACL entries", () => {
  it("deletes each offending entry once", () => {
    const actions = plan([
      naclEntry({ ports: [22], ruleNumber: 100 }),
      naclEntry({ ports: [22], cidr: "198.51.100.0/24", ruleNumber: 110 }),
      naclEntry({ egress: true, ports: [25], ruleNumber: 100 }),
      naclEntry({ protocol: "all", ruleNumber: 120 }),
      naclEntry({ ruleAction: "deny", ruleNumber: 130 }),
    ]);
    expect(actions).toEqual([
      { type: "delete-network-acl-entry", networkAclId: ACL, ruleNumber: 100, egress: false },
      { type: "delete-network-acl-entry", networkAclId: ACL, ruleNumber: 110, egress: false },
      { type: "delete-network-acl-entry", networkAclId: ACL, ruleNumber: 100, egress: true },
    ]);
  });
});

describe("ReplaceNetworkAclEntry never leads to a delete", () => {
  // The default NACL's #100 allow-all replaced by a narrower allow that still breaks the
  // policy: deleting #100 would leave the subnet with only the `*` deny (an outage).
  const replaced = naclEntry({ ports: [0, 1023], ruleNumber: 100, operation: "replace" });

  it("notifies instead of deleting a replaced entry, and says why", () => {
    const result = evaluate([replaced], defaultPolicy(), {
      now: NOW,
      networkAcls: { [ACL]: [replaced] },
    });
    expect(result.outcome).toBe("violation");
    expect(result.findings.map((f) => `${f.rule}:${f.mode}`)).toEqual(["nacl-admin-ports:notify"]);
    expect(result.findings[0]?.reason).toBe(
      `NACL ${ACL} entry 100 allows ingress tcp 0-1023 from 0.0.0.0/0 (public, wide) — admin port (covers tcp/22); ` +
        "cannot be revoked safely (entry 100 replaced an earlier entry 100; deleting it would remove both; fix it by hand), so notify",
    );
    expect(planActions(result)).toEqual([]);
  });

  it("notifies on the captured ReplaceNetworkAclEntry event instead of deleting rule 100", () => {
    const normalised = normalise(
      loadFixture("ReplaceNetworkAclEntry", "tcp-6_ssh-from-world_replaces-rule-100"),
    );
    if (normalised.status !== "handled")
      throw new Error(`expected handled, got ${normalised.status}`);
    const result = evaluate(normalised.changes, defaultPolicy(), {
      now: NOW,
      event: normalised.event,
    });
    expect(result.findings.map((f) => f.mode)).toEqual(["notify"]);
    expect(result.findings[0]?.reason).toContain("deleting it would remove both; fix it by hand");
    expect(planActions(result)).toEqual([]);
  });

  it("still deletes the same entry when it was created, or read as current state", () => {
    for (const operation of ["create", "state"] as const) {
      const result = evaluate([{ ...replaced, operation }], defaultPolicy(), { now: NOW });
      expect(result.findings.map((f) => f.mode)).toEqual(["enforce"]);
      expect(planActions(result)).toEqual([
        { type: "delete-network-acl-entry", networkAclId: ACL, ruleNumber: 100, egress: false },
      ]);
    }
  });

  it("keeps a replaced entry that a policy rule only notifies about at notify, without the note", () => {
    const result = evaluate([{ ...replaced, ports: { from: 0, to: 1024 } }], defaultPolicy(), {
      now: NOW,
    });
    expect(result.findings.map((f) => f.mode)).toEqual(["notify"]);
    expect(result.findings[0]?.reason).not.toContain("fix it by hand");
  });

  it("plans no delete for a hand-built enforce finding on a replaced entry", () => {
    expect(planActions(enforced(replaced))).toEqual([]);
  });
});
