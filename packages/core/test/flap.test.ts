import { describe, expect, it } from "vitest";
import { attributeCaller } from "../src/attribution";
import { PolicyValidationError } from "../src/errors";
import { parsePolicy } from "../src/policy/schema";
import { auditItem, flapCounterKey } from "../src/report/audit";
import type { Decision, FindingView } from "../src/report/decision";
import {
  DEFAULT_FLAP_GUARD,
  type FlapCount,
  flapRuleKey,
  flapVerdict,
  reopenedRules,
} from "../src/report/flap";
import { decisionPublication } from "../src/report/message";
import { renderSlack } from "../src/report/slack";
import type { ChangeView } from "../src/report/view";

const ssh: ChangeView = {
  kind: "security-group-rule",
  resourceId: "sg-0123456789abcdef0",
  ruleId: "sgr-0aaaaaaaaaaaaaaaa",
  direction: "ingress",
  protocol: "tcp",
  ports: "22",
  peer: "0.0.0.0/0",
  text: "ingress tcp 22 from 0.0.0.0/0",
};
const rdp: ChangeView = {
  ...ssh,
  ruleId: "sgr-0bbbbbbbbbbbbbbbb",
  ports: "3389",
  text: "ingress tcp 3389 from 0.0.0.0/0",
};

function finding(change: ChangeView, result: FindingView["result"]): FindingView {
  return {
    rule: "admin-ports",
    mode: "enforce",
    severity: "critical",
    reason: "r",
    change,
    result,
  };
}

function decision(findings: FindingView[], source: Decision["source"] = "event"): Decision {
  return {
    id: "e-5",
    source,
    event:
      source === "event"
        ? {
            id: "e-5",
            name: "AuthorizeSecurityGroupIngress",
            time: "2025-06-01T12:00:00Z",
            actor: null,
          }
        : null,
    account: "123456789012",
    region: "eu-west-1",
    resource: { type: "security-group", id: ssh.resourceId },
    outcome: "violation",
    result: "revoked",
    severity: "critical",
    findings,
    exposureSeconds: 1,
    decidedAt: "2025-06-01T12:00:01.000Z",
    guardrailVersion: "test",
    policyId: "0123456789ab",
  };
}

const KEY = flapRuleKey("123456789012", "eu-west-1", ssh) as string;
const count = (over: Partial<FlapCount>): FlapCount => ({
  key: KEY,
  count: 1,
  windowStart: "2025-06-01T08:00:00.000Z",
  escalates: false,
  escalatedBy: null,
  ...over,
});

describe("flapRuleKey", () => {
  it("is the rule's content, not its id: a re-applied rule with a new sgr id is the same rule", () => {
    expect(KEY).toBe("123456789012#eu-west-1#sg-0123456789abcdef0#ingress#tcp#22#0.0.0.0/0");
    expect(
      flapRuleKey("123456789012", "eu-west-1", { ...ssh, ruleId: "sgr-0ccccccccccccccc" }),
    ).toBe(KEY);
    expect(flapRuleKey("123456789012", "eu-west-1", rdp)).not.toBe(KEY);
    expect(flapRuleKey("123456789012", "us-east-1", ssh)).not.toBe(KEY);
  });

  it("keys NACL entries by ACL, direction, protocol, ports and peer (not the rule number)", () => {
    const entry: ChangeView = {
      kind: "network-acl-entry",
      resourceId: "acl-0123456789abcdef0",
      direction: "ingress",
      protocol: "tcp",
      ports: "3389",
      peer: "0.0.0.0/0",
      ruleNumber: 100,
      text: "ingress rule #100 allow tcp 3389 from 0.0.0.0/0",
    };
    expect(flapRuleKey("1", "r", entry)).toBe(flapRuleKey("1", "r", { ...entry, ruleNumber: 101 }));
    expect(
      flapRuleKey("1", "r", { kind: "prefix-list", resourceId: "pl-1", text: "t" }),
    ).toBeNull();
    expect(flapCounterKey(KEY)).toEqual({ pk: `FLAP#${KEY}`, sk: "FLAP" });
  });
});

describe("reopenedRules", () => {
  it("counts revoked and already-gone findings of events, one key per rule", () => {
    const d = decision([
      finding(ssh, "revoked"),
      { ...finding(ssh, "revoked"), rule: "internet-exposure" },
      finding(rdp, "notify-only"),
    ]);
    expect([...reopenedRules(d).keys()]).toEqual([KEY]);
    expect(reopenedRules(decision([finding(ssh, "already-gone")])).size).toBe(1);
    expect(reopenedRules(decision([finding(ssh, "failed")])).size).toBe(0);
    expect(reopenedRules(decision([finding(ssh, "revoked")], "sweep")).size).toBe(0);
  });
});

describe("flapVerdict", () => {
  const d = decision([finding(ssh, "revoked")]);

  it("alerts up to the threshold, escalates once, then folds", () => {
    expect(flapVerdict(d, [])).toBe("alert");
    expect(flapVerdict(d, [count({ count: 3 })])).toBe("alert");
    expect(flapVerdict(d, [count({ count: 4, escalates: true, escalatedBy: "e-5" })])).toBe(
      "escalate",
    );
    expect(flapVerdict(d, [count({ count: 5, escalatedBy: "e-4" })])).toBe("fold");
  });

  it("keeps the alert when another finding of the event is not part of the loop", () => {
    const mixed = decision([finding(ssh, "revoked"), finding(rdp, "notify-only")]);
    expect(flapVerdict(mixed, [count({ count: 5, escalatedBy: "e-4" })])).toBe("alert");
  });

  it("folds a notify-only finding about the same rule, never a failed revoke", () => {
    const same = decision([finding(ssh, "revoked"), { ...finding(ssh, "notify-only"), rule: "x" }]);
    expect(flapVerdict(same, [count({ count: 5, escalatedBy: "e-4" })])).toBe("fold");
    const failed = decision([finding(ssh, "revoked"), finding(ssh, "failed")]);
    expect(flapVerdict(failed, [count({ count: 5, escalatedBy: "e-4" })])).toBe("alert");
  });

  it("escalates when any rule of the event escalates", () => {
    const two = decision([finding(ssh, "revoked"), finding(rdp, "revoked")]);
    const rdpKey = flapRuleKey("123456789012", "eu-west-1", rdp) as string;
    expect(
      flapVerdict(two, [
        count({ count: 1 }),
        count({ key: rdpKey, count: 4, escalates: true, escalatedBy: "e-5" }),
      ]),
    ).toBe("escalate");
  });
});

describe("the escalation message", () => {
  const attribution = attributeCaller(
    {
      arn: "arn:aws:iam::123456789012:user/ci",
      type: "IAMUser",
      sessionIssuerArn: null,
      invokedBy: null,
      sourceIp: "192.0.2.10",
      userAgent: "APN/1.0 HashiCorp/1.0 Terraform/1.9.5 (+https://www.terraform.io)",
      console: false,
    },
    { Workspace: "prod" },
  );
  const escalated: Decision = {
    ...decision([finding(ssh, "revoked")]),
    flap: {
      state: "escalated",
      rules: ["ingress tcp 22 from 0.0.0.0/0 on sg-0123456789abcdef0"],
      count: 4,
      threshold: 3,
      windowHours: 24,
      windowStart: "2025-06-01T08:00:00.000Z",
      attribution,
    },
  };

  it("names the tool, the principal and where to fix it, and is filterable", () => {
    const p = decisionPublication(escalated);
    expect(p.subject).toBe(
      "[guardrail] Revoke loop (Terraform 1.9.5) on sg-0123456789abcdef0: ingress tcp 22 from 0.0.0.0/0",
    );
    expect(p.attributes.flap).toBe("escalated");
    expect(
      decisionPublication(decision([finding(ssh, "revoked")])).attributes.flap,
    ).toBeUndefined();
    const message = JSON.parse(p.message);
    expect(message.summary).toContain(
      "re-opened 4 times since 2025-06-01T08:00:00.000Z by Terraform 1.9.5 as arn:aws:iam::123456789012:user/ci",
    );
    expect(message.summary).toContain('workspace "prod"');
    const slack = renderSlack(message);
    expect(slack.blocks[0]).toMatchObject({
      type: "header",
      text: { text: ":repeat: Revoke loop: Terraform 1.9.5 keeps re-opening a rule" },
    });
    const loop = JSON.stringify(slack.blocks[1]);
    expect(loop).toContain("*Where to fix it:*");
    expect(loop).toContain("*Workspace:* `prod`");
    expect(loop).toContain("opened 4 times");
  });

  it("is kept in the audit item", () => {
    expect(auditItem(escalated).flap).toEqual(escalated.flap);
    expect("flap" in auditItem(decision([finding(ssh, "revoked")]))).toBe(false);
  });
});

describe("policy flapGuard settings", () => {
  const rules = [
    { id: "r", kind: "security-group-ports", description: "d", options: { ports: ["tcp/22"] } },
  ];

  it("defaults to three alerts in 24 hours, enabled", () => {
    expect(parsePolicy({ rules }).flapGuard).toEqual(DEFAULT_FLAP_GUARD);
    expect(DEFAULT_FLAP_GUARD).toMatchObject({ enabled: true, threshold: 3, windowHours: 24 });
  });

  it("takes its settings and rejects impossible ones with their path", () => {
    const p = parsePolicy({
      rules,
      flapGuard: { threshold: 5, windowHours: 6, workspaceTags: ["ws"] },
    });
    expect(p.flapGuard).toMatchObject({
      enabled: true,
      threshold: 5,
      windowHours: 6,
      workspaceTags: ["ws"],
    });
    const error = (() => {
      try {
        parsePolicy({ rules, flapGuard: { threshold: 0, windowHours: 1000, every: 1 } });
      } catch (e) {
        return e as PolicyValidationError;
      }
    })();
    expect(error).toBeInstanceOf(PolicyValidationError);
    expect(error?.issues.map((i) => i.path).sort()).toEqual([
      "flapGuard.every",
      "flapGuard.threshold",
      "flapGuard.windowHours",
    ]);
  });
});
