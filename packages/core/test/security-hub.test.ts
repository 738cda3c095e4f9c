import { describe, expect, it } from "vitest";
import {
  ASFF_REQUIRED_FIELDS,
  batchesOf,
  type Decision,
  defaultProductArn,
  missingAsffFields,
  OCSF_VERSION,
  ocsfComplianceFindings,
  planSecurityHub,
  type SecurityHubEntry,
  type SecurityHubRecord,
  securityHubEntries,
  securityHubFindingId,
} from "../src/index";
import { ocsfValidator } from "./ocsf-schema";
import { decide, finding, GROUP, naclEntry, revokeById, sgRule } from "./report-builders";

const revoked = () =>
  decide(
    [finding(sgRule())],
    [{ action: revokeById, status: "revoked", confirmedAt: "2025-06-15T10:51:14Z" }],
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

function record(e: SecurityHubEntry, at: string): SecurityHubRecord {
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
        { action: revokeById, status: "revoked", confirmedAt: "2025-06-15T10:51:14Z" },
        {
          action: { ...revokeById, ruleIds: ["sgr-2"] },
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
      finding(naclEntry({ operation: "state" }), { mode: "notify" }),
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

  /** The one entry of a decision with one finding. */
  const onlyEntry = (d: Decision): SecurityHubEntry => {
    const [e] = securityHubEntries(d);
    if (!e) throw new Error("entry");
    return e;
  };
  /** What the store holds for an entry sent at `at`. */
  const sent = (e: SecurityHubEntry, at = t0.toISOString()) => new Map([[e.id, record(e, at)]]);
  const planRun = (
    entries: readonly SecurityHubEntry[],
    previous: ReadonlyMap<string, SecurityHubRecord> = new Map(),
    scope: "event" | "sweep" = "event",
    now = t0,
  ) => planSecurityHub({ entries, previous, scope, now });

  it("creates a new finding with its workflow and note in the import", () => {
    const plan = planRun(securityHubEntries(notifyOnly()));
    expect(plan.imports).toHaveLength(1);
    expect(plan.imports[0]?.Workflow).toEqual({ Status: "NEW" });
    expect(plan.imports[0]?.Note?.Text).toContain("Not remediated");
    expect(plan.updates).toEqual([]);
    expect(plan.put.map((r) => r.state)).toEqual(["FAILED"]);
  });

  it("FAILED → PASSED: imports PASSED, keeps the creation time, resolves with a note", () => {
    const before = onlyEntry(notifyOnly());
    const plan = planRun(
      securityHubEntries(revoked()),
      sent(before, "2025-06-15T10:51:20Z"),
      "sweep",
    );
    expect(plan.imports[0]?.Compliance.Status).toBe("PASSED");
    expect(plan.imports[0]?.CreatedAt).toBe(before.finding.CreatedAt);
    expect(plan.imports[0]?.Workflow).toBeUndefined();
    expect(plan.updates).toHaveLength(1);
    expect(plan.updates[0]?.Workflow).toEqual({ Status: "RESOLVED" });
    expect(plan.updates[0]?.Note.Text).toContain("Remediated");
  });

  it("suppresses an exempt finding at creation, and an existing one with BatchUpdateFindings", () => {
    const created = planRun(securityHubEntries(exempt()));
    expect(created.imports[0]?.Workflow).toEqual({ Status: "SUPPRESSED" });
    const failed = onlyEntry(notifyOnly());
    const later = planRun(securityHubEntries(exempt()), sent(failed));
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
    const plan = planRun(
      securityHubEntries(notifyOnly()),
      sent(onlyEntry(exempt())),
      "sweep",
      new Date("2025-07-02T00:00:00Z"),
    );
    expect(plan.imports[0]?.Compliance.Status).toBe("FAILED");
    expect(plan.updates[0]?.Workflow).toEqual({ Status: "NOTIFIED" });
    expect(plan.updates[0]?.Note.Text).toMatch(/^Exemption ended \(expired 2025-07-01\)/);
  });

  it("archives on the sweep what it no longer finds; the event path never archives", () => {
    const gone = onlyEntry(notifyOnly());
    const previous = sent(gone);
    const sweep = planRun([], previous, "sweep");
    expect(sweep.imports).toHaveLength(1);
    expect(sweep.imports[0]).toMatchObject({
      Id: gone.id,
      RecordState: "ARCHIVED",
      Compliance: { Status: "PASSED" },
    });
    expect(missingAsffFields(sweep.imports[0])).toEqual([]);
    expect(sweep.remove).toEqual([gone.id]);
    const ev = planRun([], previous, "event");
    expect(ev.imports).toEqual([]);
    expect(ev.remove).toEqual([]);
  });

  it("sends nothing for an unchanged finding until it is due a refresh", () => {
    const e = onlyEntry(notifyOnly());
    const previous = sent(e, "2025-06-01T00:00:00Z");
    const same = planRun([e], previous, "sweep", new Date("2025-06-20T00:00:00Z"));
    expect(same).toEqual({ imports: [], updates: [], put: [], remove: [] });
    const due = planRun([e], previous, "sweep", new Date("2025-07-02T00:00:00Z"));
    expect(due.imports).toHaveLength(1);
    expect(due.updates).toEqual([]);
  });

  it("groups identical notes into BatchUpdateFindings calls of at most 100", () => {
    const entries = Array.from({ length: 230 }, (_, i) => {
      const e = onlyEntry(exempt());
      return { ...e, id: `${e.id}-${i}` };
    });
    const previous = new Map(
      entries.map((e) => [e.id, { ...record(e, t0.toISOString()), state: "FAILED" as const }]),
    );
    const plan = planRun(entries, previous);
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
