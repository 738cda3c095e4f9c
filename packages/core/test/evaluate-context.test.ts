import { describe, expect, it } from "vitest";
import { GuardrailError, InvalidInputError } from "../src/errors";
import { planActions } from "../src/plan";
import {
  defaultPolicy,
  loadPolicy,
  RuleDirectionUnknownError,
  UNRESOLVED_PREFIX_LIST_RULE,
} from "../src/policy";
import { evaluate, isOwnPrincipal, withOwnPrincipals } from "../src/policy/evaluate";
import {
  actor,
  eventMeta,
  GROUP,
  NOW,
  PREFIX_LIST as PL,
  prefixListChange,
  revokeRules,
  roleSession,
  sgRule,
} from "./policy-builders";

describe("ModifySecurityGroupRules (direction unknown)", () => {
  const modified = sgRule({ direction: "unknown", ports: [25], ruleId: "sgr-0ccccccccccccccc3" });

  it("evaluates with the direction the function looked up", () => {
    const result = evaluate([modified], defaultPolicy(), {
      now: NOW,
      ruleDirections: { "sgr-0ccccccccccccccc3": "egress" },
    });
    expect(result.findings.map((f) => f.rule)).toEqual(["smtp-egress"]);
    expect(result.findings[0]?.change).toMatchObject({
      direction: "egress",
      ruleId: "sgr-0ccccccccccccccc3",
    });
    expect(planActions(result)).toEqual([revokeRules("egress", ["sgr-0ccccccccccccccc3"])]);
  });

  it("finds nothing for the same rule looked up as ingress from a narrow range", () => {
    const narrow = sgRule({
      direction: "unknown",
      ports: [25],
      cidr: "8.8.8.8/32",
      ruleId: "sgr-1",
    });
    const result = evaluate([narrow], defaultPolicy(), {
      now: NOW,
      ruleDirections: { "sgr-1": "ingress" },
    });
    expect(result.outcome).toBe("compliant");
  });

  it("throws a typed error when nobody looked the direction up", () => {
    const run = () => evaluate([modified], defaultPolicy(), { now: NOW });
    expect(run).toThrow(RuleDirectionUnknownError);
    expect(run).toThrow(GuardrailError);
    try {
      run();
    } catch (error) {
      expect((error as RuleDirectionUnknownError).code).toBe("RULE_DIRECTION_UNKNOWN");
      expect((error as RuleDirectionUnknownError).ruleId).toBe("sgr-0ccccccccccccccc3");
      expect((error as RuleDirectionUnknownError).groupId).toBe(GROUP);
    }
  });

  it("throws when told to error explicitly, even if other rules are known", () => {
    expect(() =>
      evaluate([modified], defaultPolicy(), {
        now: NOW,
        unknownDirection: "error",
        ruleDirections: { other: "ingress" },
      }),
    ).toThrow(RuleDirectionUnknownError);
  });

  it("evaluates both ways in replay; the egress reading wins for tcp 25", () => {
    const result = evaluate([modified], defaultPolicy(), {
      now: NOW,
      unknownDirection: "evaluate-both",
    });
    expect(result.findings.map((f) => `${f.rule}:${f.mode}`).sort()).toEqual([
      "internet-exposure:enforce",
      "smtp-egress:enforce",
    ]);
    for (const f of result.findings)
      expect(f.change.kind === "security-group-rule" && f.change.direction).toBe("unknown");
    expect(result.findings.find((f) => f.rule === "smtp-egress")?.reason).toContain(
      "direction unknown, read as egress",
    );
    expect(planActions(result)).toEqual([revokeRules(null, ["sgr-0ccccccccccccccc3"])]);
  });

  it("keeps the stricter reading when one rule matches both ways", () => {
    const both = loadPolicy(`
rules:
  - id: telnet
    kind: security-group-ports
    description: no telnet in
    mode: notify
    options: { direction: ingress, ports: [tcp/23] }
  - id: telnet-out
    kind: security-group-ports
    description: no telnet out
    mode: enforce
    options: { direction: egress, ports: [tcp/23] }
`);
    // Two rules with distinct ids: each keeps its own finding.
    const change = sgRule({ direction: "unknown", ports: [23], ruleId: "sgr-2" });
    const result = evaluate([change], both, { now: NOW, unknownDirection: "evaluate-both" });
    expect(result.findings.map((f) => `${f.rule}:${f.mode}`).sort()).toEqual([
      "telnet-out:enforce",
      "telnet:notify",
    ]);
  });

  it("merges the two readings of one rule into one finding, keeping the worse severity", () => {
    // An unresolved prefix list gives one finding per reading: critical as ingress (admin ports
    // could apply), medium as egress (SMTP could apply). Only the critical one is kept.
    const change = sgRule({
      direction: "unknown",
      prefixListId: "pl-1",
      ports: [0, 1000],
      ruleId: "sgr-3",
    });
    const result = evaluate([change], defaultPolicy(), {
      now: NOW,
      unknownDirection: "evaluate-both",
    });
    expect(result.findings).toHaveLength(1);
    expect(result.findings[0]).toMatchObject({
      rule: UNRESOLVED_PREFIX_LIST_RULE,
      mode: "notify",
      severity: "critical",
    });
    expect(result.findings[0]?.reason).toContain("read as ingress");
    expect(planActions(result)).toEqual([]);
  });
});

describe("prefix lists", () => {
  const viaList = sgRule({
    prefixListId: PL,
    ports: [22],
    ruleId: "sgr-0ddddddddddddddd4",
  });

  it("gives one notify finding, and no action, when the list was not resolved", () => {
    const result = evaluate([viaList], defaultPolicy(), { now: NOW });
    expect(result.findings).toHaveLength(1);
    const [finding] = result.findings;
    expect(finding?.rule).toBe(UNRESOLVED_PREFIX_LIST_RULE);
    expect(finding?.mode).toBe("notify");
    expect(finding?.severity).toBe("critical");
    expect(finding?.reason).toBe(
      `tcp 22 open to prefix list ${PL} could not be checked: the prefix list was not resolved ` +
        "(blocked-sources, admin-ports, internet-exposure may apply); notify only",
    );
    expect(planActions(result)).toEqual([]);
  });

  it("gives no finding for an unresolved list when no rule could apply", () => {
    const egress443 = sgRule({ prefixListId: PL, direction: "egress", ports: [443] });
    expect(evaluate([egress443], defaultPolicy(), { now: NOW }).outcome).toBe("compliant");
  });

  it("flags a resolved list holding a public CIDR, and revokes the referencing rule", () => {
    const result = evaluate([viaList], defaultPolicy(), {
      now: NOW,
      prefixLists: { [PL]: ["10.0.0.0/8", "0.0.0.0/0"] },
    });
    expect(result.findings.map((f) => f.rule)).toEqual(["admin-ports", "internet-exposure"]);
    expect(result.findings[0]?.reason).toBe(
      `tcp 22 open to prefix list ${PL} entry 0.0.0.0/0 (public, wide) — admin port`,
    );
    expect(planActions(result)).toEqual([revokeRules("ingress", ["sgr-0ddddddddddddddd4"])]);
  });

  it("revokes the referencing permission, never the list, when the rule id is unknown", () => {
    const noId = sgRule({ prefixListId: PL, ports: [22], ruleId: null });
    const result = evaluate([noId], defaultPolicy(), {
      now: NOW,
      prefixLists: { [PL]: ["0.0.0.0/0"] },
    });
    expect(planActions(result)).toEqual([
      {
        type: "revoke-security-group-permissions",
        groupId: GROUP,
        direction: "ingress",
        permissions: [{ protocol: "tcp", fromPort: 22, toPort: 22, prefixListId: PL }],
      },
    ]);
  });

  it("finds nothing for a resolved list of trusted CIDRs", () => {
    const result = evaluate([viaList], defaultPolicy(), {
      now: NOW,
      prefixLists: { [PL]: ["10.0.0.0/8", "203.0.113.0/24"] },
    });
    expect(result.outcome).toBe("compliant");
  });

  it("rejects a malformed CIDR in the supplied entries with its path", () => {
    expect(() =>
      evaluate([viaList], defaultPolicy(), {
        now: NOW,
        prefixLists: { [PL]: ["10.0.0.0/33"] },
      }),
    ).toThrow(
      new InvalidInputError(`prefixLists.${PL}[0]`, '"10.0.0.0/33" has a prefix longer than 32'),
    );
  });

  it("gives a PrefixListChange itself no findings", () => {
    const result = evaluate([prefixListChange(PL, ["0.0.0.0/0"])], defaultPolicy(), {
      now: NOW,
    });
    expect(result).toEqual({ outcome: "compliant", findings: [], waived: [] });
  });
});

describe("own principals (loop guard)", () => {
  const policy = withOwnPrincipals(defaultPolicy(), [
    "arn:aws:iam::111122223333:role/guardrail-remediator",
  ]);

  it("ignores changes made by the guardrail's own role session", () => {
    const event = eventMeta({
      actor: roleSession("guardrail-remediator", "1700000000000"),
    });
    expect(evaluate([sgRule()], policy, { now: NOW, event })).toEqual({
      outcome: "ignored",
      findings: [],
      waived: [],
    });
  });

  it("matches the actor ARN itself as well as the session issuer", () => {
    const glob = withOwnPrincipals(defaultPolicy(), ["arn:aws:iam::*:user/guardrail-*"]);
    expect(
      isOwnPrincipal(
        actor({ arn: "arn:aws:iam::111122223333:user/guardrail-ci", sessionIssuerArn: null }),
        glob,
      ),
    ).toBe(true);
    expect(isOwnPrincipal(actor({ arn: null, sessionIssuerArn: null }), glob)).toBe(false);
  });

  it("still evaluates other principals", () => {
    expect(evaluate([sgRule()], policy, { now: NOW, event: eventMeta() }).outcome).toBe(
      "violation",
    );
  });

  it("adds patterns without duplicates and skips blanks", () => {
    const twice = withOwnPrincipals(policy, [
      "arn:aws:iam::111122223333:role/guardrail-remediator",
      " ",
    ]);
    expect(twice.guardrail.ownPrincipals).toEqual([
      "arn:aws:iam::111122223333:role/guardrail-remediator",
    ]);
  });
});
