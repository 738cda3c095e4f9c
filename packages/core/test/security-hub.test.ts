import { describe, expect, it } from "vitest";
import {
  type Action,
  type ActionOutcome,
  ASFF_REQUIRED_FIELDS,
  batchesOf,
  buildDecision,
  type Decision,
  defaultProductArn,
  type EventMeta,
  type Finding,
  missingAsffFields,
  type NetworkAclEntryChange,
  OCSF_VERSION,
  ocsfComplianceFindings,
  parseCidr,
  planSecurityHub,
  type SecurityGroupRuleChange,
  type SecurityHubRecord,
  securityHubEntries,
  securityHubFindingId,
} from "../src/index";
import { ocsfValidator } from "./ocsf-schema";

const event: EventMeta = {
  eventId: "2aae5c69-4eaf-490d-b022-fd622c12a717",
  eventName: "AuthorizeSecurityGroupIngress",
  eventTime: "2025-06-15T10:51:12Z",
  account: "776520358045",
  region: "us-east-1",
  actor: {
    arn: "arn:aws:sts::776520358045:assumed-role/dev/alice",
    type: "AssumedRole",
    accountId: "776520358045",
    sessionIssuerArn: "arn:aws:iam::776520358045:role/dev",
    invokedBy: null,
    sourceIp: "203.0.113.9",
    userAgent: "aws-cli/2",
    console: false,
  },
};

const GROUP = "sg-0632fa4ee8a8468a4";

function sgRule(over: Partial<SecurityGroupRuleChange> = {}): SecurityGroupRuleChange {
  return {
    kind: "security-group-rule",
    groupId: GROUP,
    direction: "ingress",
    protocol: "tcp",
    ports: { from: 22, to: 22 },
    icmp: null,
    peer: { kind: "cidr", cidr: parseCidr("0.0.0.0/0") },
    ruleId: "sgr-09be5c962afdc06ed",
    ...over,
  };
}

const nacl: NetworkAclEntryChange = {
  kind: "network-acl-entry",
  networkAclId: "acl-0af9cb843511d66d4",
  ruleNumber: 100,
  egress: false,
  ruleAction: "allow",
  protocol: "tcp",
  ports: { from: 3389, to: 3389 },
  icmp: null,
  cidr: parseCidr("0.0.0.0/0"),
  operation: "state",
};

function finding(change: Finding["change"], over: Partial<Finding> = {}): Finding {
  return {
    rule: "admin-ports",
    mode: "enforce",
    severity: "critical",
    reason: "tcp 22 open to 0.0.0.0/0 (public, wide)",
    change,
    ...over,
  };
}

const revoke: Action = {
  type: "revoke-security-group-rules",
  groupId: GROUP,
  direction: "ingress",
  ruleIds: ["sgr-09be5c962afdc06ed"],
};

function decide(
  findings: Finding[],
  outcomes: ActionOutcome[] = [],
  waived: Finding[] = [],
  at = "2025-06-15T10:51:14.250Z",
): Decision {
  const d = buildDecision({
    source: "event",
    event,
    evaluation: { outcome: findings.length > 0 ? "violation" : "exempt", findings, waived },
    outcomes,
    decidedAt: new Date(at),
    guardrailVersion: "0.1.0",
    policyId: "3f2a9c81d0e4",
  });
  if (!d) throw new Error("expected a decision");
  return d;
}

const revoked = () =>
  decide(
    [finding(sgRule())],
    [{ action: revoke, status: "revoked", confirmedAt: "2025-06-15T10:51:14Z" }],
  );
const notifyOnly = () => decide([finding(sgRule(), { mode: "notify", severity: "high" })]);
const exempt = (expires = "2025-07-01") =>
  decide(
    [],
    [],
    [
      finding(sgRule(), {
        exemption: {
          kind: "tag",
          reason: "vendor migration",
          expires,
          approvedBy: "arn:aws:iam::776520358045:role/security",
          approvedAt: "2025-06-01T09:00:00Z",
        },
      }),
    ],
  );

function record(e: ReturnType<typeof securityHubEntries>[number], at: string): SecurityHubRecord {
  return {
    id: e.id,
    account: e.account,
    region: e.region,
    state: e.state,
    expires: e.expires,
    finding: e.finding,
    updatedAt: at,
  };
}

describe("ASFF findings of a decision", () => {
  it("imports into the account's default product with a stable id per resource and rule", () => {
    const [e] = securityHubEntries(revoked());
    expect(e?.id).toBe(securityHubFindingId("776520358045", "us-east-1", GROUP, "admin-ports"));
    expect(e?.finding.ProductArn).toBe(
      "arn:aws:securityhub:us-east-1:776520358045:product/776520358045/default",
    );
    expect(e?.finding.AwsAccountId).toBe("776520358045");
    expect(e?.finding.Resources[0]).toMatchObject({
      Type: "AwsEc2SecurityGroup",
      Id: `arn:aws:ec2:us-east-1:776520358045:security-group/${GROUP}`,
    });
    expect(securityHubEntries(revoked())[0]?.id).toBe(e?.id);
  });

  it("carries every field ASFF requires", () => {
    for (const d of [revoked(), notifyOnly(), exempt()]) {
      for (const e of securityHubEntries(d)) expect(missingAsffFields(e.finding)).toEqual([]);
    }
    expect(missingAsffFields({})).toEqual([...ASFF_REQUIRED_FIELDS]);
    expect(missingAsffFields({ ...securityHubEntries(revoked())[0]?.finding, Title: "" })).toEqual([
      "Title",
    ]);
  });

  it("marks a remediated rule PASSED with what was done and when", () => {
    const [e] = securityHubEntries(revoked());
    expect(e?.state).toBe("PASSED");
    expect(e?.finding.Compliance.Status).toBe("PASSED");
    expect(e?.note).toContain("Remediated at 2025-06-15T10:51:14.250Z");
    expect(e?.note).toContain("sgr-09be5c962afdc06ed");
  });

  it("keeps a notify-only rule FAILED at the rule's severity with the reason", () => {
    const [e] = securityHubEntries(notifyOnly());
    expect(e?.state).toBe("FAILED");
    expect(e?.finding.Severity.Label).toBe("HIGH");
    expect(e?.note).toBe("Not remediated (notify only): tcp 22 open to 0.0.0.0/0 (public, wide).");
  });

  it("says who waived an exempt rule, why and until when", () => {
    const [e] = securityHubEntries(exempt());
    expect(e?.state).toBe("SUPPRESSED");
    expect(e?.expires).toBe("2025-07-01");
    expect(e?.finding.Compliance.Status).toBe("FAILED");
    expect(e?.note).toContain("vendor migration");
    expect(e?.note).toContain("approved by arn:aws:iam::776520358045:role/security");
    expect(e?.note).toContain("expires 2025-07-01");
  });

  it("reports what stays open when a rule's findings differ: a failed revoke wins", () => {
    const d = decide(
      [finding(sgRule()), finding(sgRule({ ruleId: "sgr-2", ports: { from: 3389, to: 3389 } }))],
      [
        { action: revoke, status: "revoked", confirmedAt: "2025-06-15T10:51:14Z" },
        {
          action: { ...revoke, ruleIds: ["sgr-2"] },
          status: "failed",
          error: { code: "UnauthorizedOperation", message: "denied" },
        },
      ],
    );
    const entries = securityHubEntries(d);
    expect(entries).toHaveLength(1);
    expect(entries[0]?.state).toBe("FAILED");
    expect(entries[0]?.note).toContain("Remediation failed (UnauthorizedOperation");
  });

  it("makes one finding per resource and rule", () => {
    const d = decide([
      finding(sgRule(), { mode: "notify" }),
      finding(sgRule(), { rule: "public-ingress", mode: "notify" }),
      finding(nacl, { mode: "notify" }),
    ]);
    const ids = securityHubEntries(d).map((e) => e.id.split("/").slice(3).join("/"));
    expect(ids).toEqual([
      `${GROUP}/admin-ports`,
      `${GROUP}/public-ingress`,
      "acl-0af9cb843511d66d4/admin-ports",
    ]);
    expect(securityHubEntries(d)[2]?.finding.Resources[0]?.Type).toBe("AwsEc2NetworkAcl");
  });

  it("names the partition of China and GovCloud Regions", () => {
    expect(defaultProductArn("cn-north-1", "1")).toBe(
      "arn:aws-cn:securityhub:cn-north-1:1:product/1/default",
    );
    expect(defaultProductArn("us-gov-west-1", "1")).toMatch(/^arn:aws-us-gov:/);
  });
});

describe("Security Hub lifecycle", () => {
  const t0 = new Date("2025-06-15T10:52:00Z");

  it("creates a new finding with its workflow and note in the import", () => {
    const plan = planSecurityHub({
      entries: securityHubEntries(notifyOnly()),
      previous: new Map(),
      scope: "event",
      now: t0,
    });
    expect(plan.imports).toHaveLength(1);
    expect(plan.imports[0]?.Workflow).toEqual({ Status: "NEW" });
    expect(plan.imports[0]?.Note?.Text).toContain("Not remediated");
    expect(plan.updates).toEqual([]);
    expect(plan.put.map((r) => r.state)).toEqual(["FAILED"]);
  });

  it("FAILED → PASSED: imports PASSED, keeps the creation time, resolves with a note", () => {
    const [before] = securityHubEntries(notifyOnly());
    if (!before) throw new Error("entry");
    const previous = new Map([[before.id, record(before, "2025-06-15T10:51:20Z")]]);
    const plan = planSecurityHub({
      entries: securityHubEntries(revoked()),
      previous,
      scope: "sweep",
      now: t0,
    });
    expect(plan.imports[0]?.Compliance.Status).toBe("PASSED");
    expect(plan.imports[0]?.CreatedAt).toBe(before.finding.CreatedAt);
    expect(plan.imports[0]?.Workflow).toBeUndefined();
    expect(plan.updates).toHaveLength(1);
    expect(plan.updates[0]?.Workflow).toEqual({ Status: "RESOLVED" });
    expect(plan.updates[0]?.Note.Text).toContain("Remediated");
  });

  it("suppresses an exempt finding at creation, and an existing one with BatchUpdateFindings", () => {
    const created = planSecurityHub({
      entries: securityHubEntries(exempt()),
      previous: new Map(),
      scope: "event",
      now: t0,
    });
    expect(created.imports[0]?.Workflow).toEqual({ Status: "SUPPRESSED" });
    const [failed] = securityHubEntries(notifyOnly());
    if (!failed) throw new Error("entry");
    const later = planSecurityHub({
      entries: securityHubEntries(exempt()),
      previous: new Map([[failed.id, record(failed, t0.toISOString())]]),
      scope: "event",
      now: t0,
    });
    expect(later.updates).toEqual([
      {
        FindingIdentifiers: [{ Id: failed.id, ProductArn: failed.finding.ProductArn }],
        Note: {
          Text: expect.stringContaining("expires 2025-07-01"),
          UpdatedBy: expect.any(String),
        },
        Workflow: { Status: "SUPPRESSED" },
      },
    ]);
  });

  it("re-opens (NOTIFIED) a suppressed finding whose exemption ended", () => {
    const [sup] = securityHubEntries(exempt());
    if (!sup) throw new Error("entry");
    const plan = planSecurityHub({
      entries: securityHubEntries(notifyOnly()),
      previous: new Map([[sup.id, record(sup, t0.toISOString())]]),
      scope: "sweep",
      now: new Date("2025-07-02T00:00:00Z"),
    });
    expect(plan.imports[0]?.Compliance.Status).toBe("FAILED");
    expect(plan.updates[0]?.Workflow).toEqual({ Status: "NOTIFIED" });
    expect(plan.updates[0]?.Note.Text).toMatch(/^Exemption ended \(expired 2025-07-01\)/);
  });

  it("archives on the sweep what it no longer finds; the event path never archives", () => {
    const [gone] = securityHubEntries(notifyOnly());
    if (!gone) throw new Error("entry");
    const previous = new Map([[gone.id, record(gone, t0.toISOString())]]);
    const sweep = planSecurityHub({ entries: [], previous, scope: "sweep", now: t0 });
    expect(sweep.imports).toHaveLength(1);
    expect(sweep.imports[0]).toMatchObject({
      Id: gone.id,
      RecordState: "ARCHIVED",
      Compliance: { Status: "PASSED" },
    });
    expect(missingAsffFields(sweep.imports[0])).toEqual([]);
    expect(sweep.remove).toEqual([gone.id]);
    const ev = planSecurityHub({ entries: [], previous, scope: "event", now: t0 });
    expect(ev.imports).toEqual([]);
    expect(ev.remove).toEqual([]);
  });

  it("sends nothing for an unchanged finding until it is due a refresh", () => {
    const [e] = securityHubEntries(notifyOnly());
    if (!e) throw new Error("entry");
    const previous = new Map([[e.id, record(e, "2025-06-01T00:00:00Z")]]);
    const same = planSecurityHub({
      entries: [e],
      previous,
      scope: "sweep",
      now: new Date("2025-06-20T00:00:00Z"),
    });
    expect(same).toEqual({ imports: [], updates: [], put: [], remove: [] });
    const due = planSecurityHub({
      entries: [e],
      previous,
      scope: "sweep",
      now: new Date("2025-07-02T00:00:00Z"),
    });
    expect(due.imports).toHaveLength(1);
    expect(due.updates).toEqual([]);
  });

  it("groups identical notes into BatchUpdateFindings calls of at most 100", () => {
    const entries = Array.from({ length: 230 }, (_, i) => {
      const [e] = securityHubEntries(exempt());
      if (!e) throw new Error("entry");
      return { ...e, id: `${e.id}-${i}` };
    });
    const previous = new Map(
      entries.map((e) => [e.id, { ...record(e, t0.toISOString()), state: "FAILED" as const }]),
    );
    const plan = planSecurityHub({ entries, previous, scope: "event", now: t0 });
    expect(plan.updates.map((u) => u.FindingIdentifiers.length)).toEqual([100, 100, 30]);
    expect(batchesOf(plan.imports).map((b) => b.length)).toEqual([100, 100, 30]);
  });
});

describe("OCSF Compliance Finding", () => {
  const validate = ocsfValidator();

  it(`validates against the vendored OCSF ${OCSF_VERSION} schema`, () => {
    for (const d of [revoked(), notifyOnly(), exempt()]) {
      const out = ocsfComplianceFindings(d);
      expect(out).toHaveLength(1);
      for (const f of out) expect(validate(f)).toEqual([]);
    }
  });

  it("maps state, severity and the rule", () => {
    const [pass] = ocsfComplianceFindings(revoked());
    expect(pass).toMatchObject({
      class_uid: 2003,
      category_uid: 2,
      type_uid: 200301,
      severity_id: 5,
      status_id: 4,
      compliance: { status_id: 1, control: "admin-ports" },
      metadata: { version: OCSF_VERSION },
    });
    const [sup] = ocsfComplianceFindings(exempt());
    expect(sup).toMatchObject({ status_id: 3, compliance: { status_id: 3 } });
  });

  it("is rejected by the schema when a required attribute is missing", () => {
    const [f] = ocsfComplianceFindings(notifyOnly());
    const { finding_info: _, ...rest } = f as Record<string, unknown>;
    expect(validate(rest)).toContain("/ must have required property 'finding_info'");
    expect(validate({ ...f, unknown_attribute: 1 })).toContain(
      "/ must NOT have additional properties",
    );
  });
});
