import fc from "fast-check";
import { describe, expect, it } from "vitest";
import {
  type Action,
  type ActionOutcome,
  AUDIT_TABLE,
  actionCovers,
  auditItem,
  buildDecision,
  buildInvalidDecision,
  buildSweepSummary,
  canonicalRules,
  consoleLinks,
  type Decision,
  decisionPublication,
  type EventMeta,
  exposureSeconds,
  type Finding,
  type PrefixListChange,
  parseCidr,
  RESULT_RANK,
  renderSlack,
  ruleStateKey,
  sweepPublication,
  viewAction,
  viewChange,
} from "../src/index";
import {
  aclEvent,
  actor,
  DECIDED_AT,
  decide,
  decisionOf,
  evaluation,
  event,
  finding,
  naclEntry,
  revokeById,
  sgRule,
} from "./report-builders";

/** The decision on an event that could not be read, with its parse error. */
const unreadable = (message: string, readable: Partial<EventMeta> = {}) =>
  buildInvalidDecision({
    id: "evt-1",
    event: readable,
    error: { code: "INVALID_EVENT", message },
    decidedAt: DECIDED_AT,
    guardrailVersion: "0.1.0",
    policyId: "3f2a9c81d0e4",
  });

describe("change views", () => {
  it("reads an ingress security-group rule as one line", () => {
    expect(viewChange(sgRule()).text).toBe("ingress tcp 22 from 0.0.0.0/0");
  });

  it("names all traffic and egress destinations", () => {
    const v = viewChange(sgRule({ protocol: "all", ports: null, direction: "egress" }));
    expect(v.text).toBe("egress all traffic to 0.0.0.0/0");
    expect(v.ports).toBe("all");
  });

  it("shows ICMP type and code instead of ports", () => {
    const v = viewChange(sgRule({ protocol: "icmp", ports: null, icmp: { type: 8, code: -1 } }));
    expect(v.ports).toBe("type 8 code -1");
  });

  it("shows a port range and a referenced prefix list", () => {
    const v = viewChange(
      sgRule({
        ports: { from: 1024, to: 2048 },
        peer: { kind: "prefix-list", prefixListId: "pl-1" },
      }),
    );
    expect(v.text).toBe("ingress tcp 1024-2048 from pl-1");
  });

  it("falls back to the group name when the event named no group id", () => {
    const v = viewChange(
      sgRule({
        groupId: null,
        groupName: "web",
        peer: { kind: "security-group", groupId: null, groupName: "db" },
      }),
    );
    expect(v.resourceId).toBe("web");
    expect(v.peer).toBe("db");
    expect(v.ruleId).toBe("sgr-09be5c962afdc06ed");
  });

  it("reads a network ACL entry with its number and action", () => {
    expect(viewChange(naclEntry()).text).toBe("ingress rule #100 allow tcp 3389 from 0.0.0.0/0");
  });

  it("lists what a prefix list change added and removed", () => {
    const change: PrefixListChange = {
      kind: "prefix-list",
      prefixListId: "pl-0abc",
      added: [parseCidr("0.0.0.0/0")],
      removed: [parseCidr("10.0.0.0/8")],
    };
    expect(viewChange(change).text).toBe(
      "prefix list pl-0abc: added 0.0.0.0/0; removed 10.0.0.0/8",
    );
  });

  it("says which version a restored prefix list went back to", () => {
    const change: PrefixListChange = {
      kind: "prefix-list",
      prefixListId: "pl-0abc",
      added: [],
      removed: [],
      restoredVersion: 1,
    };
    expect(viewChange(change)).toEqual({
      kind: "prefix-list",
      resourceId: "pl-0abc",
      added: [],
      removed: [],
      restoredVersion: 1,
      text: "prefix list pl-0abc: restored version 1",
    });
  });

  it("is JSON-safe (no bigint leaks from parsed CIDRs)", () => {
    expect(() => JSON.stringify(viewChange(naclEntry()))).not.toThrow();
  });
});

describe("action views and coverage", () => {
  it("describes each action type in one line", () => {
    expect(viewAction(revokeById).text).toBe(
      "revoke ingress sgr-09be5c962afdc06ed of sg-0632fa4ee8a8468a4",
    );
    expect(
      viewAction({
        type: "delete-network-acl-entry",
        networkAclId: "acl-1",
        ruleNumber: 100,
        egress: true,
      }).text,
    ).toBe("delete egress entry #100 of acl-1");
    expect(
      viewAction({
        type: "revoke-security-group-permissions",
        groupId: "sg-1",
        direction: "ingress",
        permissions: [{ protocol: "tcp", fromPort: 22, toPort: 22, cidr: "0.0.0.0/0" }],
      }).text,
    ).toBe("revoke ingress tcp 22 from 0.0.0.0/0 of sg-1");
  });

  it("matches a rule-id revoke only to the rules it names", () => {
    expect(actionCovers(revokeById, sgRule())).toBe(true);
    expect(actionCovers(revokeById, sgRule({ ruleId: "sgr-other" }))).toBe(false);
    expect(actionCovers(revokeById, naclEntry())).toBe(false);
  });

  it("matches a permission revoke on protocol, ports and peer", () => {
    const action: Action = {
      type: "revoke-security-group-permissions",
      groupId: "sg-0632fa4ee8a8468a4",
      direction: "ingress",
      permissions: [{ protocol: "tcp", fromPort: 22, toPort: 22, cidr: "0.0.0.0/0" }],
    };
    expect(actionCovers(action, sgRule({ ruleId: null }))).toBe(true);
    expect(actionCovers(action, sgRule({ ruleId: null, ports: { from: 443, to: 443 } }))).toBe(
      false,
    );
    expect(actionCovers(action, sgRule({ ruleId: null, direction: "egress" }))).toBe(false);
    expect(
      actionCovers(
        action,
        sgRule({ ruleId: null, peer: { kind: "prefix-list", prefixListId: "pl-1" } }),
      ),
    ).toBe(false);
  });

  it("matches the permission revoke of an IPv4-mapped IPv6 rule by its IPv6 text, not 0.0.0.0/0", () => {
    const mapped = sgRule({
      ruleId: null,
      peer: { kind: "cidr", cidr: parseCidr("::ffff:0:0/96") },
    });
    const byIpv6Text: Action = {
      type: "revoke-security-group-permissions",
      groupId: "sg-0632fa4ee8a8468a4",
      direction: "ingress",
      permissions: [{ protocol: "tcp", fromPort: 22, toPort: 22, cidr: "::ffff:0:0/96" }],
    };
    const byIpv4Text: Action = {
      ...byIpv6Text,
      permissions: [{ protocol: "tcp", fromPort: 22, toPort: 22, cidr: "0.0.0.0/0" }],
    };
    expect(actionCovers(byIpv6Text, mapped)).toBe(true);
    expect(actionCovers(byIpv4Text, mapped)).toBe(false);
  });

  it("matches a NACL delete on list, number and direction", () => {
    const action: Action = {
      type: "delete-network-acl-entry",
      networkAclId: "acl-0af9cb843511d66d4",
      ruleNumber: 100,
      egress: false,
    };
    expect(actionCovers(action, naclEntry())).toBe(true);
    expect(actionCovers(action, naclEntry({ egress: true }))).toBe(false);
  });
});

describe("decisions", () => {
  it("reports a revoke with the exposure from event time to confirmation", () => {
    const d = decide(
      [finding(sgRule())],
      [{ action: revokeById, status: "revoked", confirmedAt: "2025-06-15T10:51:14.250Z" }],
    );
    expect(d.result).toBe("revoked");
    expect(d.outcome).toBe("violation");
    expect(d.severity).toBe("critical");
    expect(d.exposureSeconds).toBe(2.25);
    expect(d.resource).toEqual({ type: "security-group", id: "sg-0632fa4ee8a8468a4" });
    expect(d.findings[0]?.action?.ruleIds).toEqual(["sgr-09be5c962afdc06ed"]);
  });

  it("makes a failed revoke critical and keeps the AWS error", () => {
    const d = decide(
      [finding(sgRule(), { severity: "medium" })],
      [
        {
          action: revokeById,
          status: "failed",
          error: { code: "UnauthorizedOperation", message: "denied" },
        },
      ],
    );
    expect(d.result).toBe("failed");
    expect(d.severity).toBe("critical");
    expect(d.error).toEqual({ code: "UnauthorizedOperation", message: "denied" });
    expect(d.exposureSeconds).toBeNull();
  });

  it("records an already-gone rule without an exposure figure", () => {
    const d = decide([finding(sgRule())], [{ action: revokeById, status: "already-gone" }]);
    expect(d.result).toBe("already-gone");
    expect(d.exposureSeconds).toBeNull();
  });

  it("reports notify-mode and exempt findings, counted ones first", () => {
    const waived = finding(sgRule({ ruleId: "sgr-2" }), {
      exemption: { kind: "tag", reason: "tag guardrail:exempt", expires: "2099-01-01" },
    });
    const d = decide([finding(sgRule(), { mode: "notify", severity: "high" })], [], [waived]);
    expect(d.result).toBe("notify-only");
    expect(d.severity).toBe("high");
    expect(d.findings.map((f) => f.result)).toEqual(["notify-only", "exempt"]);
  });

  it("announces an all-exempt decision at the severity of what it waived", () => {
    const waived = finding(sgRule(), { exemption: { kind: "group", reason: "bastion" } });
    const d = decide([], [], [waived]);
    expect(d.outcome).toBe("exempt");
    expect(d.result).toBe("exempt");
    expect(d.severity).toBe(waived.severity);
    expect(d.severity).not.toBe("info");
  });

  it("reports an enforce finding the plan could not act on as notify-only", () => {
    const d = decide([finding(sgRule({ ruleId: null }))], []);
    expect(d.findings[0]?.result).toBe("notify-only");
  });

  it("lets a failed action no finding claims fail the decision", () => {
    const other: Action = { ...revokeById, ruleIds: ["sgr-unrelated"] };
    const d = decide(
      [finding(sgRule())],
      [
        { action: revokeById, status: "revoked", confirmedAt: "2025-06-15T10:51:13Z" },
        { action: other, status: "failed", error: { code: "Boom", message: "x" } },
      ],
    );
    expect(d.result).toBe("failed");
  });

  it("attaches the previous state of a replaced entry, or says unknown", () => {
    const d = decisionOf({
      event: aclEvent,
      evaluation: evaluation([finding(naclEntry()), finding(naclEntry({ ruleNumber: 200 }))]),
      previous: (c) =>
        c.kind === "network-acl-entry" && c.ruleNumber === 100
          ? viewChange(naclEntry({ ruleAction: "deny", operation: "state" }))
          : "unknown",
    });
    expect(d.findings[0]?.previous).toMatchObject({ ruleAction: "deny" });
    expect(d.findings[1]?.previous).toBe("unknown");
  });

  it("returns null when there is nothing to report", () => {
    expect(
      buildDecision({
        source: "event",
        event,
        evaluation: evaluation([]),
        outcomes: [],
        decidedAt: new Date(),
        guardrailVersion: "1",
        policyId: "3f2a9c81d0e4",
      }),
    ).toBeNull();
  });

  it("requires an account and region for the sweep", () => {
    expect(() =>
      buildDecision({
        source: "sweep",
        id: "sweep:1:sg-1",
        evaluation: evaluation([finding(sgRule())]),
        outcomes: [],
        decidedAt: new Date(),
        guardrailVersion: "1",
        policyId: "3f2a9c81d0e4",
      }),
    ).toThrow(TypeError);
  });

  it("ranks results so a revoke can replace an already-gone or failed record", () => {
    expect(RESULT_RANK.revoked).toBeGreaterThan(RESULT_RANK["already-gone"]);
    expect(RESULT_RANK["already-gone"]).toBeGreaterThan(RESULT_RANK.failed);
  });

  it("reports an unreadable event with high severity and the parse error", () => {
    const d = unreadable("detail.requestParameters: missing", {
      eventName: "AuthorizeSecurityGroupIngress",
      account: "1",
      region: "eu-west-1",
    });
    expect(d).toMatchObject({ outcome: "invalid", result: "invalid", severity: "high" });
    expect(d.resource.type).toBe("security-group");
    expect(
      buildInvalidDecision({ ...d, event: {}, error: d.error!, decidedAt: new Date() }).resource
        .type,
    ).toBe("unknown");
  });
});

describe("exposure", () => {
  it("counts from the event second to the confirmation", () => {
    expect(exposureSeconds("2025-06-15T10:51:12Z", "2025-06-15T10:51:14.250Z")).toBe(2.25);
  });
  it("never goes negative under clock skew, and rejects bad times", () => {
    expect(exposureSeconds("2025-06-15T10:51:12Z", "2025-06-15T10:51:11Z")).toBe(0);
    expect(exposureSeconds("yesterday", "2025-06-15T10:51:11Z")).toBeNull();
  });
});

describe("console links", () => {
  it("links a security group, a NACL, a prefix list and the CloudTrail event", () => {
    expect(consoleLinks({ type: "security-group", id: "sg-1" }, "eu-west-1", "e-1")).toEqual({
      resource:
        "https://eu-west-1.console.aws.amazon.com/ec2/home?region=eu-west-1#SecurityGroup:groupId=sg-1",
      event:
        "https://eu-west-1.console.aws.amazon.com/cloudtrailv2/home?region=eu-west-1#/events/e-1",
    });
    expect(consoleLinks({ type: "network-acl", id: "acl-1" }, "us-east-1").resource).toContain(
      "#NetworkAclDetails:networkAclId=acl-1",
    );
    expect(consoleLinks({ type: "prefix-list", id: "pl-1" }, "us-east-1").resource).toContain(
      "#PrefixListDetails:prefixListId=pl-1",
    );
  });
  it("uses the partition's console host and gives no link for unknowns", () => {
    expect(consoleLinks({ type: "security-group", id: "sg-1" }, "cn-north-1").resource).toContain(
      "cn-north-1.console.amazonaws.cn",
    );
    expect(
      consoleLinks({ type: "security-group", id: "sg-1" }, "us-gov-west-1").resource,
    ).toContain("amazonaws-us-gov.com");
    expect(consoleLinks({ type: "unknown", id: "unknown" }, "us-east-1")).toEqual({});
    expect(consoleLinks({ type: "security-group", id: "sg-1" }, "unknown")).toEqual({});
  });
});

describe("SNS publication", () => {
  it("publishes one JSON message with the filter attributes", () => {
    const d = decide(
      [finding(sgRule())],
      [{ action: revokeById, status: "revoked", confirmedAt: "2025-06-15T10:51:14.250Z" }],
    );
    const p = decisionPublication(d);
    expect(p.attributes).toEqual({
      severity: "critical",
      outcome: "violation",
      result: "revoked",
      rule: "admin-ports",
      account: "776520358045",
      region: "us-east-1",
      eventName: "AuthorizeSecurityGroupIngress",
      source: "event",
    });
    const body = JSON.parse(p.message);
    expect(body.schema).toBe("guardrail.decision/v1");
    expect(body.links.event).toContain(event.eventId);
    expect(body.summary).toContain("Revoked: ingress tcp 22 from 0.0.0.0/0 [admin-ports]");
    expect(p.subject.length).toBeLessThanOrEqual(100);
    expect(p.subject).toMatch(/^\[guardrail\] Revoked: admin-ports on sg-0632fa4ee8a8468a4/);
  });

  it("keeps the subject ASCII and short whatever the input", () => {
    fc.assert(
      fc.property(fc.string({ maxLength: 300 }), (resourceId) => {
        const d = {
          ...decide([finding(sgRule())], []),
          resource: { type: "security-group" as const, id: resourceId },
        };
        const subject = decisionPublication(d).subject;
        return subject.length <= 100 && /^[\x20-\x7e]*$/.test(subject);
      }),
    );
  });

  it("marks an unreadable event as outcome invalid, severity high", () => {
    const p = decisionPublication(unreadable("detail: missing"));
    expect(p.attributes).toMatchObject({
      severity: "high",
      outcome: "invalid",
      rule: "none",
      eventName: "unknown",
    });
    expect(JSON.parse(p.message).summary).toContain("Unreadable event");
  });
});

describe("audit item", () => {
  it("is keyed for idempotency and indexed by account and by resource, in time order", () => {
    const d = decide(
      [finding(sgRule())],
      [{ action: revokeById, status: "revoked", confirmedAt: "2025-06-15T10:51:14.250Z" }],
    );
    const item = auditItem(d) as unknown as Record<string, unknown>;
    expect(item[AUDIT_TABLE.partitionKey]).toBe(`DECISION#${event.eventId}`);
    expect(item[AUDIT_TABLE.sortKey]).toBe("DECISION");
    expect(item[AUDIT_TABLE.byAccount.partitionKey]).toBe("ACCOUNT#776520358045");
    expect(item[AUDIT_TABLE.byAccount.sortKey]).toBe(`2025-06-15T10:51:12.000Z#${event.eventId}`);
    expect(item[AUDIT_TABLE.byResource.partitionKey]).toBe("RESOURCE#sg-0632fa4ee8a8468a4");
    expect(item.result).toBe("revoked");
    expect(item.resultRank).toBe(RESULT_RANK.revoked);
    expect(item.exposureSeconds).toBe(2.25);
    expect(item[AUDIT_TABLE.ttlAttribute]).toBe(
      Math.floor(Date.parse(d.decidedAt) / 1000) + 400 * 86400,
    );
  });

  it("holds no access key ids", () => {
    const d = decide([finding(sgRule())], []);
    expect(JSON.stringify(auditItem(d))).not.toMatch(/ASIA|AKIA|accessKeyId/);
  });

  it("keys rule state by rule id or by direction and number", () => {
    expect(ruleStateKey(sgRule())).toBe("rule#sgr-09be5c962afdc06ed");
    expect(ruleStateKey(sgRule({ ruleId: null }))).toBeNull();
    expect(ruleStateKey(naclEntry({ egress: true }))).toBe("egress#100");
    expect(
      ruleStateKey({ kind: "prefix-list", prefixListId: "pl-1", added: [], removed: [] }),
    ).toBeNull();
  });

  it("gives the same canonical text whatever the key order", () => {
    const a = viewChange(sgRule());
    const b = viewChange(naclEntry());
    expect(canonicalRules({ x: a, y: b })).toBe(canonicalRules({ y: b, x: a }));
    expect(canonicalRules({ x: a })).not.toBe(canonicalRules({ x: b }));
  });
});

describe("sweep summary", () => {
  const decision = (id: string, f: Finding, outcomes: ActionOutcome[] = []) =>
    decisionOf({
      source: "sweep",
      id,
      account: "1",
      region: "eu-west-1",
      evaluation: evaluation([f]),
      outcomes,
    });

  it("counts results and sorts failures and revokes first", () => {
    const s = buildSweepSummary({
      runId: "run-1",
      account: "1",
      region: "eu-west-1",
      startedAt: new Date("2025-01-01T00:00:00Z"),
      finishedAt: new Date("2025-01-01T00:00:02Z"),
      scanned: { securityGroupRules: 10, networkAclEntries: 4, prefixLists: 1 },
      stateChanges: 2,
      decisions: [
        decision("a", finding(sgRule({ ruleId: "sgr-a" }), { mode: "notify", severity: "medium" })),
        decision("b", finding(sgRule()), [{ action: revokeById, status: "revoked" }]),
      ],
      guardrailVersion: "1",
      policyId: "3f2a9c81d0e4",
      maxFindings: 1,
    });
    expect(s.counts).toMatchObject({ revoked: 1, "notify-only": 1, failed: 0 });
    expect(s.severity).toBe("critical");
    expect(s.findings).toHaveLength(1);
    expect(s.findings[0]?.result).toBe("revoked");
    expect(s.truncated).toBe(1);
    const p = sweepPublication(s);
    expect(p.attributes).toMatchObject({ eventName: "Sweep", source: "sweep", result: "revoked" });
    expect(JSON.parse(p.message).schema).toBe("guardrail.sweep/v1");
  });

  it("is info when the sweep found nothing", () => {
    const s = buildSweepSummary({
      runId: "run-2",
      account: "1",
      region: "eu-west-1",
      startedAt: new Date(),
      finishedAt: new Date(),
      scanned: { securityGroupRules: 0, networkAclEntries: 0, prefixLists: 0 },
      stateChanges: 0,
      decisions: [],
      guardrailVersion: "1",
      policyId: "3f2a9c81d0e4",
    });
    expect(s.severity).toBe("info");
    expect(sweepPublication(s).attributes.outcome).toBe("exempt");
  });
});

describe("Slack rendering", () => {
  const revoked = decide(
    [finding(sgRule())],
    [{ action: revokeById, status: "revoked", confirmedAt: "2025-06-15T10:51:14.250Z" }],
  );

  it("says what was opened, by whom, which rule, what was done, the exposure and links", () => {
    const slack = renderSlack(JSON.parse(decisionPublication(revoked).message));
    const text = JSON.stringify(slack.blocks);
    expect(slack.blocks[0]).toMatchObject({ type: "header" });
    expect(text).toContain("*What was opened:* `ingress tcp 22 from 0.0.0.0/0`");
    expect(text).toContain(actor.arn as string);
    expect(text).toContain("`admin-ports` (enforce, critical)");
    expect(text).toContain("*What the guardrail did:* revoked");
    expect(text).toContain("2.25 s");
    const actions = slack.blocks.find((b) => b.type === "actions");
    expect(actions && "elements" in actions ? actions.elements.map((e) => e.url) : []).toEqual([
      "https://us-east-1.console.aws.amazon.com/ec2/home?region=us-east-1#SecurityGroup:groupId=sg-0632fa4ee8a8468a4",
      `https://us-east-1.console.aws.amazon.com/cloudtrailv2/home?region=us-east-1#/events/${event.eventId}`,
    ]);
  });

  it("shows one section per rule change, listing every policy rule that flagged it", () => {
    const d = decide(
      [finding(sgRule()), finding(sgRule(), { rule: "internet-exposure", severity: "high" })],
      [{ action: revokeById, status: "revoked", confirmedAt: "2025-06-15T10:51:14.250Z" }],
    );
    const sections = renderSlack(JSON.parse(decisionPublication(d).message)).blocks.filter(
      (b) => b.type === "section" && b.text !== undefined,
    );
    expect(sections).toHaveLength(1);
    const text = JSON.stringify(sections[0]);
    expect(text).toContain("*Policy rules:*");
    expect(text).toContain("`admin-ports` (enforce, critical)");
    expect(text).toContain("`internet-exposure` (enforce, high)");
  });

  it("shouts when the revoke failed and the exposure persists", () => {
    const failed = decide(
      [finding(sgRule())],
      [
        {
          action: revokeById,
          status: "failed",
          error: { code: "UnauthorizedOperation", message: "<denied>" },
        },
      ],
    );
    const slack = renderSlack(JSON.parse(decisionPublication(failed).message));
    const text = JSON.stringify(slack.blocks);
    expect(text).toContain("could NOT revoke");
    expect(text).toContain("&lt;denied&gt;");
    expect(text).toContain("ongoing");
  });

  it("shows the previous state or says it is unknown", () => {
    const d = decisionOf({
      event: aclEvent,
      evaluation: evaluation([finding(naclEntry())]),
      previous: () => "unknown",
    });
    const text = JSON.stringify(renderSlack(JSON.parse(decisionPublication(d).message)).blocks);
    expect(text).toContain("*Before the change:* unknown");
    expect(text).toContain("network ACL");
  });

  it("renders an unreadable event, a sweep summary and a CloudWatch alarm", () => {
    const invalid = unreadable("bad");
    expect(JSON.stringify(renderSlack(JSON.parse(decisionPublication(invalid).message)))).toContain(
      "could not read an event",
    );
    const alarm = renderSlack({
      AlarmName: "dlq-depth",
      NewStateValue: "ALARM",
      NewStateReason: "1 > 0",
    });
    expect(alarm.text).toBe("Alarm dlq-depth is ALARM");
    const other = renderSlack("plain <text>", "Subject");
    expect(other.blocks[0]).toMatchObject({ type: "header" });
    expect(JSON.stringify(other.blocks)).toContain("&lt;text&gt;");
  });

  it("stays within Slack's block limits for any finding count and text", () => {
    fc.assert(
      fc.property(fc.integer({ min: 1, max: 80 }), fc.string({ maxLength: 4000 }), (n, reason) => {
        const findings = Array.from({ length: n }, (_, i) =>
          finding(sgRule({ ruleId: `sgr-${i}` }), { reason }),
        );
        const slack = renderSlack(JSON.parse(decisionPublication(decide(findings, [])).message));
        return (
          slack.blocks.length <= 50 &&
          slack.blocks.every((b) =>
            b.type === "header"
              ? b.text.text.length <= 150
              : b.type === "section" && b.text
                ? b.text.text.length <= 3000
                : true,
          )
        );
      }),
      { numRuns: 30 },
    );
  });
});

describe("Slack rendering of results and summaries", () => {
  const render = (d: Decision) =>
    JSON.stringify(renderSlack(JSON.parse(decisionPublication(d).message)));

  it("says nothing was left to revoke, notify-only, and exempt until a date", () => {
    expect(
      render(decide([finding(sgRule())], [{ action: revokeById, status: "already-gone" }])),
    ).toContain("the rule was already gone");
    expect(render(decide([finding(sgRule(), { mode: "notify" })], []))).toContain("notified only");
    const waived = finding(sgRule(), {
      exemption: { kind: "tag", reason: "bastion", expires: "2099-12-31" },
    });
    expect(render(decide([], [], [waived]))).toContain("exempt (bastion, until 2099-12-31)");
  });

  it("writes long exposures in minutes", () => {
    const d = decide(
      [finding(sgRule())],
      [{ action: revokeById, status: "revoked", confirmedAt: "2025-06-15T10:54:42Z" }],
    );
    expect(render(d)).toContain("3 min 30 s");
  });

  it("summarises a sweep: counts, the first findings with links, and how many are hidden", () => {
    const decisions = Array.from({ length: 25 }, (_, i) =>
      decisionOf({
        source: "sweep",
        id: `sweep:r:sg-${i}`,
        account: "1",
        region: "eu-west-1",
        evaluation: evaluation([
          finding(sgRule({ groupId: `sg-${i}`, ruleId: `sgr-${i}` }), { mode: "notify" }),
        ]),
      }),
    );
    const summary = buildSweepSummary({
      runId: "r",
      account: "1",
      region: "eu-west-1",
      startedAt: new Date("2025-01-01T00:00:00Z"),
      finishedAt: new Date("2025-01-01T00:00:03Z"),
      scanned: { securityGroupRules: 25, networkAclEntries: 0, prefixLists: 0 },
      stateChanges: 0,
      decisions,
      guardrailVersion: "1",
      policyId: "3f2a9c81d0e4",
    });
    const slack = renderSlack(JSON.parse(sweepPublication(summary).message));
    const text = JSON.stringify(slack.blocks);
    expect(slack.blocks[0]).toMatchObject({
      type: "header",
      text: { text: ":warning: Sweep of 1 / eu-west-1" },
    });
    expect(text).toContain("*Notify-only:* 25");
    expect(text).toContain(
      "<https://eu-west-1.console.aws.amazon.com/ec2/home?region=eu-west-1#SecurityGroup:groupId=sg-0|sg-0>",
    );
    expect(text).toContain("5 more finding(s) not shown");
    expect(slack.text).toContain("Sweep 1/eu-west-1: 25 rules");
  });
});
