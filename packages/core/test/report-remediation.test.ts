import { describe, expect, it } from "vitest";
import {
  type Action,
  auditItem,
  type Decision,
  decisionPublication,
  type EventMeta,
  type Finding,
  parseCidr,
  renderSlack,
} from "../src/index";
import {
  ACL,
  aclEvent,
  DECIDED_AT,
  decide,
  event,
  finding,
  GROUP,
  naclEntry,
  RULE_ID,
  sgRule,
} from "./report-builders";

/**
 * How the remediations that keep compliant traffic (entries inserted before a NACL entry, a
 * security-group rule narrowed to its compliant remainder) and the plan's check read in the
 * audit record, the SNS message and Slack.
 */

const CHECK =
  "checked: every forbidden packet is denied, every other packet keeps its verdict, and planning again finds nothing";

const naclFinding = finding(naclEntry({ ports: { from: 0, to: 1023 } }), {
  rule: "nacl-admin-ports",
  reason: "entry 100 allows ingress tcp 0-1023 from 0.0.0.0/0 (public, wide) — admin port",
});

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

const sgFinding = finding(
  sgRule({ ports: { from: 0, to: 1023 }, peer: { kind: "cidr", cidr: parseCidr("52.0.0.0/8") } }),
  {
    rule: "internet-exposure",
    severity: "high",
    reason: "tcp 0-1023 open to 52.0.0.0/8 (public, wide) — internet exposure",
  },
);

const narrow: Action = {
  type: "narrow-security-group-rule",
  groupId: GROUP,
  direction: "ingress",
  ruleId: RULE_ID,
  remainder: [
    { protocol: "tcp", fromPort: 80, toPort: 80, cidr: "52.0.0.0/8" },
    { protocol: "tcp", fromPort: 443, toPort: 443, cidr: "52.0.0.0/8" },
  ],
  check:
    "checked: the 2 rules authorized allow exactly what the rule allowed except tcp 0-79, 81-442, 444-1023",
};

/** The decision on one finding whose remediation AWS confirmed. */
const remediated = (f: Finding, action: Action, on: EventMeta) =>
  decide([f], [{ action, status: "revoked", confirmedAt: DECIDED_AT.toISOString() }], [], on);

const slackText = (d: Decision) =>
  JSON.stringify(renderSlack(JSON.parse(decisionPublication(d).message)).blocks);

describe("inserted NACL entries", () => {
  const d = remediated(naclFinding, insert, aclEvent);

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
  const d = remediated(sgFinding, narrow, event);

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
    const refused = decide(
      [sgFinding],
      [
        {
          action: narrow,
          status: "not-taken",
          error: {
            code: "RulesPerSecurityGroupLimitExceeded",
            message:
              "the group's ingress rule quota is reached (Authorize tcp 80 52.0.0.0/8); the rule was not revoked",
          },
        },
      ],
    );
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
