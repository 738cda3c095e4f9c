import { describe, expect, it } from "vitest";
import { loadFixture } from "../../../test/fixtures/load";
import { readTagging } from "../src/cloudtrail/tagging";
import { DEFAULT_POLICY_YAML, defaultPolicy, loadPolicy } from "../src/policy";
import {
  checkExemptionTag,
  exemptionTagKeys,
  hashTagValue,
  judgeTagging,
  latestExpiry,
} from "../src/policy/tag-exemptions";
import { eventPatternFor } from "../src/registry";
import {
  EXEMPTION_MESSAGE_SCHEMA,
  type ExemptionNotice,
  exemptionAuditItem,
  exemptionPublication,
  renderSlack,
} from "../src/report";
import { eventMeta } from "./policy-builders";

const KEY = "guardrail-exempt";
const APPROVER_ROLE = "arn:aws:iam::123456789012:role/security-approver";
const policy = loadPolicy(
  DEFAULT_POLICY_YAML.replace("approvers: []", `approvers: ["${APPROVER_ROLE}"]`),
);
const VALUE = "reason=python app demo;expires=2026-07-01;rules=internet-exposure";

describe("readTagging", () => {
  const read = (eventName: string, caseName: string) =>
    readTagging(loadFixture(eventName, caseName), [KEY]);

  it("reads the exemption key of CreateTags, for security groups only", () => {
    const r = read("CreateTags", "assumed-role-approver_exemption-tag_two-groups");
    expect(r.status).toBe("handled");
    if (r.status !== "handled") return;
    expect(r.tags).toEqual([
      { groupId: "sg-0a1b2c3d4e5f60001", key: KEY, value: VALUE },
      { groupId: "sg-0a1b2c3d4e5f60002", key: KEY, value: VALUE },
    ]);
    expect(r.event.actor.sessionIssuerArn).toBe(APPROVER_ROLE);
  });

  it("leaves other keys out, and keeps the value a developer set", () => {
    const r = read("CreateTags", "iamuser-cli_exemption-tag_no-rules");
    expect(r.status === "handled" && r.tags).toEqual([
      { groupId: "sg-0a1b2c3d4e5f60001", key: KEY, value: "reason=x;expires=9999-12-31" },
    ]);
  });

  it("reads DeleteTags and UntagResources as removals", () => {
    for (const [name, c] of [
      ["DeleteTags", "iamuser-cli_exemption-tag"],
      ["UntagResources", "iamuser-cli_security-group-arn"],
    ] as const) {
      const r = read(name, c);
      expect(r.status === "handled" && r.tags, name).toEqual([
        { groupId: "sg-0a1b2c3d4e5f60001", key: KEY, value: null },
      ]);
    }
  });

  /** The DeleteTags fixture with its `tagSet` replaced (`undefined`: the parameter omitted). */
  function deleteTags(tagSet: unknown) {
    const event = loadFixture("DeleteTags", "iamuser-cli_exemption-tag");
    if (tagSet === undefined) delete event.detail.requestParameters.tagSet;
    else event.detail.requestParameters.tagSet = tagSet;
    return readTagging(event, [KEY, "exposure-ok"]);
  }

  it("reads a DeleteTags without tags as removing every exemption key (EC2 deletes all tags)", () => {
    for (const tagSet of [undefined, {}, { items: [] }]) {
      const r = deleteTags(tagSet);
      expect(r.status === "handled" && r.tags, JSON.stringify(tagSet)).toEqual([
        { groupId: "sg-0a1b2c3d4e5f60001", key: KEY, value: null },
        { groupId: "sg-0a1b2c3d4e5f60001", key: "exposure-ok", value: null },
      ]);
    }
  });

  it("does not read a DeleteTags naming a value as a removal, and says why", () => {
    for (const value of ["reason=other;expires=2026-07-01;rules=internet-exposure", ""]) {
      const r = deleteTags({ items: [{ key: KEY, value }] });
      expect(r.status).toBe("ignored");
      expect(r.status === "ignored" && r.detail).toBe(
        `DeleteTags of tag ${KEY} on sg-0a1b2c3d4e5f60001 named the value ${JSON.stringify(value)}: EC2 deletes the tag only if it holds that value, which the event does not say; not recorded as a removal`,
      );
    }
    const mixed = deleteTags({ items: [{ key: KEY, value: "x" }, { key: "exposure-ok" }] });
    expect(mixed.status === "handled" && mixed.tags).toEqual([
      { groupId: "sg-0a1b2c3d4e5f60001", key: "exposure-ok", value: null },
    ]);
    expect(mixed.status === "handled" && mixed.notes).toEqual([
      expect.stringContaining(
        `DeleteTags of tag ${KEY} on sg-0a1b2c3d4e5f60001 named the value "x"`,
      ),
    ]);
  });

  it("reads TagSpecifications of CreateSecurityGroup onto the new group", () => {
    const r = read("CreateSecurityGroup", "tag-specifications_exemption-tag");
    expect(r.status === "handled" && r.tags).toEqual([
      {
        groupId: "sg-0a1b2c3d4e5f60004",
        key: KEY,
        value: "reason=ssh;expires=2026-07-01;rules=admin-ports",
      },
    ]);
  });

  it("reads TagResources by group ARN, leaving out failed resources and other services", () => {
    const r = read("TagResources", "assumed-role-cli_security-group-arn");
    expect(r.status === "handled" && r.tags).toEqual([
      { groupId: "sg-0a1b2c3d4e5f60001", key: KEY, value: VALUE },
    ]);
  });

  it("ignores a CreateSecurityGroup without tags, other keys, and failed calls", () => {
    expect(read("CreateSecurityGroup", "detail_panther_terraform").status).toBe("ignored");
    expect(
      readTagging(loadFixture("CreateTags", "iamuser-cli_exemption-tag_no-rules"), ["x"]),
    ).toMatchObject({ status: "ignored" });
    const failed = loadFixture("CreateTags", "iamuser-cli_exemption-tag_no-rules") as {
      detail: Record<string, unknown>;
    };
    failed.detail.errorCode = "Client.UnauthorizedOperation";
    expect(readTagging(failed, [KEY])).toMatchObject({ status: "ignored" });
  });

  it("names the JSON path of what it cannot read", () => {
    const bad = loadFixture("TagResources", "assumed-role-cli_security-group-arn") as {
      detail: { requestParameters: Record<string, unknown> };
    };
    bad.detail.requestParameters.tags = ["not", "a", "map"];
    const r = readTagging(bad, [KEY]);
    expect(r.status).toBe("invalid");
    expect(r.status === "invalid" && r.error.path).toBe("detail.requestParameters.tags");
  });
});

describe("checkExemptionTag and judgeTagging", () => {
  const at = new Date("2026-06-14T09:00:00Z");
  const event = (arn: string, sessionIssuerArn: string | null = null) =>
    eventMeta({ eventId: "e-1", eventTime: at.toISOString(), actor: { arn, sessionIssuerArn } });
  const approver = event(
    "arn:aws:sts::123456789012:assumed-role/security-approver/alice",
    APPROVER_ROLE,
  );
  const developer = event("arn:aws:iam::123456789012:user/developer");

  it("limits the expiry to maxDays after the day the tag was set", () => {
    expect(latestExpiry(at, 30)).toBe("2026-07-14");
    expect(checkExemptionTag(VALUE.replace("2026-07-01", "2026-07-14"), policy, at).valid).toBe(
      true,
    );
    expect(checkExemptionTag(VALUE.replace("2026-07-01", "2026-07-15"), policy, at)).toEqual({
      valid: false,
      problem:
        "expires 2026-07-15 is more than 30 days after 2026-06-14 (tagExemptions.maxDays); latest 2026-07-14",
    });
  });

  it("grants an approver's valid tag, announced at the waived rule's severity", () => {
    const j = judgeTagging({ groupId: "sg-1", key: KEY, value: VALUE }, approver, policy);
    expect(j.status).toBe("granted");
    expect(j.severity).toBe("high");
    expect(j.record).toMatchObject({
      action: "set",
      by: APPROVER_ROLE,
      approver: APPROVER_ROLE,
      valueHash: hashTagValue(VALUE),
      rules: ["internet-exposure"],
      expires: "2026-07-01",
      problem: null,
      at: "2026-06-14T09:00:00.000Z",
      eventId: "e-1",
    });
    expect(j.summary).toContain("waives internet-exposure until 2026-07-01");
  });

  it.each([
    ["no rules=", "reason=x;expires=9999-12-31", "critical", "rules is missing"],
    [
      "a ten-year expiry",
      "reason=x;expires=2036-06-14;rules=smtp-egress",
      "medium",
      "more than 30 days",
    ],
    [
      "admin ports",
      "reason=x;expires=2026-07-01;rules=admin-ports",
      "critical",
      "tagExemptable is false",
    ],
  ])("calls an approver's tag with %s invalid", (_what, value, severity, problem) => {
    const j = judgeTagging({ groupId: "sg-1", key: KEY, value }, approver, policy);
    expect(j.status).toBe("invalid");
    expect(j.severity).toBe(severity);
    expect(j.record.problem).toContain(problem);
  });

  it("does not approve a developer's tag, however valid", () => {
    const j = judgeTagging({ groupId: "sg-1", key: KEY, value: VALUE }, developer, policy);
    expect(j.status).toBe("not-approved");
    expect(j.record.approver).toBeNull();
    expect(j.record.by).toBe("arn:aws:iam::123456789012:user/developer");
    expect(j.summary).toContain("who is not an approver");
  });

  it("announces a removal at the severity of what the removed tag waived", () => {
    const granted = judgeTagging({ groupId: "sg-1", key: KEY, value: VALUE }, approver, policy);
    const j = judgeTagging({ groupId: "sg-1", key: KEY, value: null }, developer, policy, {
      previous: granted.record,
    });
    expect(j.status).toBe("removed");
    expect(j.severity).toBe("high");
    expect(j.record).toMatchObject({ action: "removed", valueHash: null });
  });

  it("knows the exemption keys of a policy", () => {
    expect(exemptionTagKeys(defaultPolicy())).toEqual([KEY]);
  });
});

describe("exemption announcements", () => {
  const approver = eventMeta({
    eventId: "e-9",
    eventTime: "2026-06-14T09:00:00Z",
    actor: { arn: APPROVER_ROLE, sessionIssuerArn: null },
  });
  const j = judgeTagging({ groupId: "sg-1", key: KEY, value: VALUE }, approver, policy);
  const notice: ExemptionNotice = {
    id: "e-9:sg-1:guardrail-exempt",
    status: j.status,
    account: "123456789012",
    region: "us-east-1",
    groupId: "sg-1",
    key: KEY,
    severity: j.severity ?? "info",
    summary: j.summary,
    record: j.record,
    event: { id: "e-9", name: "CreateTags", time: approver.eventTime, actor: null },
    decidedAt: "2026-06-14T09:00:01.000Z",
    guardrailVersion: "test",
  };

  it("publishes at the tag's severity, with the hash and never the value", () => {
    const p = exemptionPublication(notice);
    expect(p.attributes).toMatchObject({
      severity: "high",
      outcome: "exemption",
      result: "granted",
    });
    expect(p.subject).toBe(
      "[guardrail] Exemption granted: guardrail-exempt on sg-1 (123456789012 us-east-1)",
    );
    const m = JSON.parse(p.message);
    expect(m.schema).toBe(EXEMPTION_MESSAGE_SCHEMA);
    expect(p.message).toContain(hashTagValue(VALUE));
    expect(p.message).not.toContain("python app demo;");
  });

  it("renders in Slack with who, what and until when", () => {
    const slack = renderSlack(JSON.parse(exemptionPublication(notice).message));
    const text = JSON.stringify(slack.blocks);
    expect(text).toContain("Exemption granted: guardrail-exempt on sg-1");
    expect(text).toContain(APPROVER_ROLE);
    expect(text).toContain("2026-07-01");
  });

  it("keeps an audit item findable by account and group", () => {
    const item = exemptionAuditItem(notice);
    expect(item).toMatchObject({
      pk: "EXEMPTION#e-9:sg-1:guardrail-exempt",
      type: "exemption",
      gsi1pk: "ACCOUNT#123456789012",
      gsi2pk: "RESOURCE#sg-1",
    });
  });
});

describe("event patterns for tagging", () => {
  it("routes the tagging calls of EC2 and of the Tagging API (aws.tagging) to security-group-change", () => {
    const p = eventPatternFor("security-group-change", ["arn:aws:iam::1:role/own"]);
    expect(p.source).toEqual(["aws.ec2", "aws.tagging"]);
    expect(p.detail.eventSource).toEqual(["ec2.amazonaws.com", "tagging.amazonaws.com"]);
    expect(p.detail.eventName).toEqual(
      expect.arrayContaining([
        "CreateTags",
        "DeleteTags",
        "CreateSecurityGroup",
        "TagResources",
        "UntagResources",
      ]),
    );
    expect(eventPatternFor("network-acl-change", []).source).toEqual(["aws.ec2"]);
  });
});
