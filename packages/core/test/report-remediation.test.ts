import { describe, expect, it } from "vitest";
import {
  type Action,
  type ActionOutcome,
  auditItem,
  buildDecision,
  type Decision,
  decisionPublication,
  type EventMeta,
  type Finding,
  parseCidr,
  renderSlack,
} from "../src/index";

/**
 * How the remediations that keep compliant traffic (entries inserted before a NACL entry, a
 * security-group rule narrowed to its compliant remainder) and the plan's check read in the
 * audit record, the SNS message and Slack.
 */

const event: EventMeta = {
  eventId: "6b3e2a1f-4c5d-4e6f-8a9b-0c1d2e3f4a5b",
  eventName: "ReplaceNetworkAclEntry",
  eventTime: "2025-06-15T10:51:12.000Z",
  account: "123456789012",
  region: "us-east-1",
  actor: {
    arn: "arn:aws:sts::123456789012:assumed-role/dev/alice",
    type: "AssumedRole",
    accountId: "123456789012",
    sessionIssuerArn: null,
    invokedBy: null,
    sourceIp: "198.51.100.7",
    userAgent: null,
    console: false,
  },
};

const ACL = "acl-0af9cb843511d66d4";
const CHECK =
  "checked: every forbidden packet is denied, every other packet keeps its verdict, and planning again finds nothing";

const naclFinding: Finding = {
  rule: "nacl-admin-ports",
  mode: "enforce",
  severity: "critical",
  reason: "entry 100 allows ingress tcp 0-1023 from 0.0.0.0/0 (public, wide) — admin port",
  change: {
    kind: "network-acl-entry",
    networkAclId: ACL,
    ruleNumber: 100,
    egress: false,
    ruleAction: "allow",
    protocol: "tcp",
    ports: { from: 0, to: 1023 },
    icmp: null,
    cidr: parseCidr("0.0.0.0/0"),
    operation: "replace",
  },
};

const insert: Action = {
  type: "insert-network-acl-entries",
  networkAclId: ACL,
  egress: false,
  before: 100,
  entries: [
    {
      networkAclId: ACL,
      ruleNumber: 98,
      egress: false,
      ruleAction: "allow",
      protocol: "tcp",
      ports: { from: 22, to: 22 },
      icmp: null,
      cidr: "10.0.0.0/8",
    },
    {
      networkAclId: ACL,
      ruleNumber: 99,
      egress: false,
      ruleAction: "deny",
      protocol: "tcp",
      ports: { from: 22, to: 22 },
      icmp: null,
      cidr: "0.0.0.0/0",
    },
  ],
  check: CHECK,
};

const sgFinding: Finding = {
  rule: "internet-exposure",
  mode: "enforce",
  severity: "high",
  reason: "tcp 0-1023 open to 52.0.0.0/8 (public, wide) — internet exposure",
  change: {
    kind: "security-group-rule",
    groupId: "sg-0632fa4ee8a8468a4",
    direction: "ingress",
    protocol: "tcp",
    ports: { from: 0, to: 1023 },
    icmp: null,
    peer: { kind: "cidr", cidr: parseCidr("52.0.0.0/8") },
    ruleId: "sgr-09be5c962afdc06ed",
  },
};

const narrow: Action = {
  type: "narrow-security-group-rule",
  groupId: "sg-0632fa4ee8a8468a4",
  direction: "ingress",
  ruleId: "sgr-09be5c962afdc06ed",
  remainder: [
    { protocol: "tcp", fromPort: 80, toPort: 80, cidr: "52.0.0.0/8" },
    { protocol: "tcp", fromPort: 443, toPort: 443, cidr: "52.0.0.0/8" },
  ],
  check:
    "checked: the 2 rules authorized allow exactly what the rule allowed except tcp 0-79, 81-442, 444-1023",
};

function decide(finding: Finding, outcome: ActionOutcome): Decision {
  const d = buildDecision({
    source: "event",
    event,
    evaluation: { outcome: "violation", findings: [finding], waived: [] },
    outcomes: [outcome],
    decidedAt: new Date("2025-06-15T10:51:14.250Z"),
    guardrailVersion: "0.1.0",
    policyId: "3f2a9c81d0e4",
  });
  if (!d) throw new Error("expected a decision");
  return d;
}

const slackText = (d: Decision) =>
  JSON.stringify(renderSlack(JSON.parse(decisionPublication(d).message)).blocks);

describe("inserted NACL entries", () => {
  const d = decide(naclFinding, {
    action: insert,
    status: "revoked",
    confirmedAt: "2025-06-15T10:51:14.250Z",
  });

  it("are in the SNS message and the audit record, each with its rule number, with the check", () => {
    const message = JSON.parse(decisionPublication(d).message);
    for (const record of [message, auditItem(d)]) {
      expect(record.findings[0].action).toMatchObject({
        type: "insert-network-acl-entries",
        ruleNumber: 100,
        inserted: ["#98 allow tcp 22 10.0.0.0/8", "#99 deny tcp 22 0.0.0.0/0"],
        check: CHECK,
      });
    }
  });

  it("read in Slack as entries inserted before the entry, which stays, and the check", () => {
    const text = slackText(d);
    expect(text).toContain(
      "*What the guardrail did:* 2 entries inserted before entry #100, which stays: `#98 allow tcp 22 10.0.0.0/8`, `#99 deny tcp 22 0.0.0.0/0`",
    );
    expect(text).toContain(`*Check:* ${CHECK}`);
  });
});

describe("a narrowed security-group rule", () => {
  const d = decide(sgFinding, {
    action: narrow,
    status: "revoked",
    confirmedAt: "2025-06-15T10:51:14.250Z",
  });

  it("is in the SNS message and the audit record with its remainder and check", () => {
    for (const record of [JSON.parse(decisionPublication(d).message), auditItem(d)]) {
      expect(record.findings[0].action).toMatchObject({
        type: "narrow-security-group-rule",
        ruleIds: ["sgr-09be5c962afdc06ed"],
        remainder: ["tcp 80 from 52.0.0.0/8", "tcp 443 from 52.0.0.0/8"],
        check: narrow.type === "narrow-security-group-rule" ? narrow.check : "",
      });
    }
  });

  it("reads in Slack as the remainder authorized, then the rule revoked, and the check", () => {
    const text = slackText(d);
    expect(text).toContain(
      "*What the guardrail did:* narrowed: authorized `tcp 80 from 52.0.0.0/8`, `tcp 443 from 52.0.0.0/8`, then revoked `sgr-09be5c962afdc06ed`",
    );
    expect(text).toContain("*Check:* checked: the 2 rules authorized allow exactly");
  });

  it("notifies, saying AWS refused the remainder and the rule is unchanged, when the quota is reached", () => {
    const refused = decide(sgFinding, {
      action: narrow,
      status: "not-taken",
      error: {
        code: "RulesPerSecurityGroupLimitExceeded",
        message:
          "the group's ingress rule quota is reached (Authorize tcp 80 52.0.0.0/8); the rule was not revoked",
      },
    });
    expect(refused.result).toBe("notify-only");
    expect(refused.exposureSeconds).toBeNull();
    expect(refused.findings[0]).toMatchObject({
      result: "notify-only",
      error: { code: "RulesPerSecurityGroupLimitExceeded" },
    });
    expect(refused.findings[0]?.reason).toContain(
      "not narrowed: the group's ingress rule quota is reached",
    );
    const text = slackText(refused);
    expect(text).toContain("was not taken (`RulesPerSecurityGroupLimitExceeded: the group");
    expect(text).toContain("The rule is unchanged.");
    expect(decisionPublication(refused).attributes.result).toBe("notify-only");
  });
});
