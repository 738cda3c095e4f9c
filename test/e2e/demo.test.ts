import { DEFAULT_POLICY_YAML, PolicyValidationError } from "@guardrail/core";
import { type DemoReport, demoScenarios, isoDay, runDemo } from "@guardrail/sandbox/demo";
import { beforeAll, describe, expect, it } from "vitest";

function sink() {
  let text = "";
  return {
    write: (chunk: string) => {
      text += chunk;
      return true;
    },
    text: () => text,
  };
}

describe("the demo runner (npm start), in-process", () => {
  let report: DemoReport;
  let output: string;
  // The developer tags the group with an expiry 30 days out; the guardrail judges it by its clock.
  const expires = isoDay(new Date(), 30);

  beforeAll(async () => {
    const out = sink();
    report = await runDemo({ out, color: false });
    output = out.text();
  });

  it("gives every scenario its expected verdict and exits ok", () => {
    const expected = demoScenarios().map((s) => [s.id, s.expected]);
    expect(report.scenarios.map((r) => [r.id, r.got])).toEqual([...expected, ["sweep", "revoked"]]);
    expect(report.scenarios.every((r) => r.ok)).toBe(true);
    expect(report.ok).toBe(true);
    expect(output).toContain(`All ${report.scenarios.length} scenarios got their expected verdict`);
  });

  it("removes what it revokes and leaves the compliant and exempt rules in place", () => {
    for (const r of report.scenarios) {
      expect(r.present, r.id).toBe(r.expected !== "revoked");
    }
  });

  it("measures the exposure of every event-driven revoke, API answer to revoke confirmed", () => {
    const revoked = report.scenarios.filter((r) => r.got === "revoked" && r.id !== "sweep");
    expect(revoked.map((r) => r.id)).toEqual([
      "ssh-world",
      "python-8080",
      "smtp-25",
      "nacl-rdp-world",
    ]);
    for (const r of revoked) {
      expect(r.exposureMs, r.id).toBeGreaterThan(0);
      expect(r.exposureMs, r.id).toBeLessThan(2000);
    }
    const kept = report.scenarios.filter((r) => r.got !== "revoked");
    for (const r of kept) expect(r.exposureMs, r.id).toBeNull();
  });

  it("names the policy rules behind each verdict, from the audit record", () => {
    const rules = Object.fromEntries(
      report.scenarios.map((r) => [r.id, [...new Set(r.findings.map((f) => f.rule))]]),
    );
    expect(rules).toMatchObject({
      "ssh-world": ["admin-ports", "internet-exposure"],
      "python-8080": ["internet-exposure"],
      "python-8080-exempt": ["internet-exposure"],
      "http-world": [],
      "smtp-25": ["smtp-egress"],
      "nacl-rdp-world": ["nacl-admin-ports"],
      "nacl-deny-malicious": [],
      sweep: ["internet-exposure"],
    });
    const exempt = report.scenarios.find((r) => r.id === "python-8080-exempt");
    expect(exempt?.findings[0]?.exemption).toEqual({
      kind: "tag",
      reason: "python app demo",
      expires,
      approvedBy: "arn:aws:iam::123456789012:role/security-approver",
      approvedAt: expect.any(String),
    });
  });

  it("posts one Slack message per decision and one for the sweep, and audits each decision", () => {
    const slackFirstLines = report.scenarios.map((r) => r.slack[0] ?? null);
    expect(slackFirstLines).toEqual([
      "✅ Guardrail revoked a rule",
      "✅ Guardrail revoked a rule",
      "ℹ Exempt change recorded",
      null,
      null,
      null,
      "✅ Guardrail revoked a rule",
      null,
      "✅ Guardrail revoked a rule",
      null,
      expect.stringContaining("Sweep"),
    ]);
    // The five decisions and the sweep, the approver's grant of the exemption tag, and the flap
    // scenario's three alerts and escalation (its fifth revoke is folded).
    expect(report.slackMessages).toBe(7 + 4);
    // Five event decisions, and the sweep's: the revoked rule, the exempt group, the default
    // NACL's allow-all entry (broad: notify only); and the flap scenario's five.
    expect(report.auditRecords).toBe(8 + 5);
    expect(report.sweep?.counts).toMatchObject({ revoked: 1, exempt: 1, "notify-only": 1 });
  });

  it("never hands the guardrail its own revokes, and delivers failed calls to no one", () => {
    // 4 revokes, the NACL scenario's six inserted entries (allows for the trusted and office
    // ranges, then the deny) and the flap scenario's five revokes.
    expect(report.router.unrouted["own-role"]).toBe(4 + 6 + 5);
    expect(report.router.unrouted["failed-call"]).toBe(0);
    // The group creations and the approver's tagging reach security-group-change too: a tag
    // may be set at creation (TagSpecifications) or later (CreateTags).
    expect(report.router.delivered).toEqual({
      // (and the flap scenario's five openings and its group's creation).
      "security-group-change": 12 + 5 + 1,
      "network-acl-change": 2,
    });
    expect(report.router.failedInvocations).toBe(0);
  });

  it("prints each change as the aws CLI command a human would type, without colour off a terminal", () => {
    expect(output).toMatch(
      /change {3}aws ec2 authorize-security-group-ingress --group-id sg-[0-9a-f]{17} --protocol tcp --port 22 --cidr 0\.0\.0\.0\/0\n/,
    );
    expect(output).toContain(
      `--tags '[{"Key":"guardrail-exempt","Value":"reason=python app demo;expires=${expires};rules=internet-exposure"}]'`,
    );
    expect(output).toMatch(
      /create-network-acl-entry --network-acl-id acl-[0-9a-f]{17} --rule-number 100/,
    );
    expect(output).not.toContain("\u001b[");
  });

  it("counts the metrics the functions emit", () => {
    expect(report.metrics).toMatchObject({ Remediations: 5 + 5, SweepRuns: 1 });
  });

  it("plays a rule Terraform keeps re-applying: every apply revoked, 3 alerts, one escalation", () => {
    expect(report.flap).toMatchObject({
      ok: true,
      applies: 5,
      revoked: 5,
      messages: 4,
      verdicts: ["alert", "alert", "alert", "escalate", "fold"],
      through: "Terraform 1.9.5",
    });
    expect(report.flap.fixAt).toContain("Terraform configuration");
    expect(report.metrics).toMatchObject({ RevokeLoops: 1, FoldedRevokes: 1 });
    expect(output).toMatch(
      /apply 4 +revoked · escalate · 🔁 Revoke loop: Terraform 1\.9\.5 keeps re-opening a rule/,
    );
    expect(output).toContain("apply 5  revoked · fold · (no message: folded into the escalation)");
    expect(output).toContain(
      "flap guard  5 applies by Terraform 1.9.5: 5 revoked, 4 Slack messages",
    );
  });
});

describe("the demo runner with another policy", () => {
  it("reports a scenario whose verdict differs, and is not ok", async () => {
    const policy = DEFAULT_POLICY_YAML.replace(
      /(- id: internet-exposure[\s\S]*?mode: )enforce/,
      "$1notify",
    );
    const out = sink();
    const report = await runDemo({
      out,
      color: false,
      policy: { text: policy, source: "notify-exposure.yaml" },
    });
    const got = Object.fromEntries(report.scenarios.map((r) => [r.id, r.got]));
    expect(got["python-8080"]).toBe("notify-only");
    expect(got["ssh-world"]).toBe("revoked");
    expect(report.ok).toBe(false);
    // Left in place, the 8080 rule cannot be added again: the second step's call fails.
    expect(got["python-8080-exempt"]).toBe("error");
    expect(out.text()).toContain(
      "3 of 11 scenarios did not get their expected verdict: python-8080, python-8080-exempt, sweep.",
    );
  });

  it("refuses an invalid policy before playing anything, naming the file", async () => {
    const out = sink();
    const error = await runDemo({
      out,
      color: false,
      policy: { text: "rules: []\n", source: "broken.yaml" },
    }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(PolicyValidationError);
    expect((error as Error).message).toContain("broken.yaml");
    expect(out.text()).toBe("");
  });
});
