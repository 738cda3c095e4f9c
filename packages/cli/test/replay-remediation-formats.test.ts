import type { Action } from "@guardrail/core";
import { describe, expect, it } from "vitest";
import { addLine, emptyAggregate } from "../src/replay/aggregate";
import { csvRows } from "../src/replay/formats/csv";
import { renderHtml } from "../src/replay/formats/html";
import type { ReplayLine } from "../src/replay/record";

/** The replay's CSV and HTML report show each inserted entry and narrowed rule, with the check. */

const ACL = "acl-0af9cb843511d66d4";
const insert: Action = {
  type: "insert-network-acl-entries",
  networkAclId: ACL,
  egress: true,
  before: 100,
  entries: [
    {
      networkAclId: ACL,
      ruleNumber: 99,
      egress: true,
      ruleAction: "deny",
      protocol: "tcp",
      ports: { from: 25, to: 25 },
      icmp: null,
      cidr: "0.0.0.0/0",
    },
  ],
  check:
    "checked: the forbidden traffic of 1 entry is denied and every other packet keeps its verdict (0 deletes, 1 inserted entry)",
};
const narrow: Action = {
  type: "narrow-security-group-rule",
  groupId: "sg-0632fa4ee8a8468a4",
  direction: "ingress",
  ruleId: "sgr-09be5c962afdc06ed",
  remainder: [{ protocol: "tcp", fromPort: 443, toPort: 443, cidr: "52.0.0.0/8" }],
  check: "checked: the 1 rule authorized allows exactly what the rule allowed except tcp 0-442",
};

function line(action: Action, resource: string): ReplayLine {
  return {
    eventId: `e-${resource}`,
    eventName: "CreateNetworkAclEntry",
    eventTime: "2025-03-01T10:00:00Z",
    account: "111122223333",
    region: "eu-west-1",
    actor: "arn:aws:sts::111122223333:assumed-role/dev/alice",
    outcome: "violation",
    findings: [
      { rule: "nacl-smtp-egress", mode: "enforce", severity: "medium", reason: "smtp", resource },
    ],
    actions: [action],
    source: "a.json.gz#0",
  };
}

describe("replay output of the remediations that keep compliant traffic", () => {
  const lines = [line(insert, `${ACL}#egress#100`), line(narrow, "sgr-09be5c962afdc06ed")];

  it("CSV: the inserted entry with its rule number, the narrowed rule's remainder, each check", () => {
    const [a, b] = lines.map((l) => csvRows(l, "3f2a9c81d0e4"));
    expect(a).toContain(
      `insert ${ACL} egress #99 deny tcp 25 0.0.0.0/0 before #100 [checked: the forbidden traffic of 1 entry is denied`,
    );
    expect(b).toContain(
      "narrow sg-0632fa4ee8a8468a4 ingress sgr-09be5c962afdc06ed to tcp/443 52.0.0.0/8 [checked: the 1 rule authorized",
    );
  });

  it("HTML report: the same, with the check under each", () => {
    const aggregate = emptyAggregate();
    for (const l of lines) addLine(aggregate, l);
    const html = renderHtml(aggregate, lines, {
      generatedAt: new Date("2025-03-02T00:00:00Z"),
      inputs: ["a.json.gz"],
      policySource: "built-in default",
      policyId: "3f2a9c81d0e4",
      filters: [],
      omittedDetails: 0,
      rules: ["nacl-smtp-egress"],
    });
    expect(html).toContain("<code>#99 deny tcp 25 0.0.0.0/0</code> before entry #100 (egress)");
    expect(html).toContain("checked: the forbidden traffic of 1 entry is denied");
    expect(html).toContain("narrow rule <code>sgr-09be5c962afdc06ed</code>");
    expect(html).toContain("tcp/443 52.0.0.0/8");
    expect(html).toContain("checked: the 1 rule authorized allows exactly");
  });
});
