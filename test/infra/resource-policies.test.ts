import { DEFAULT_POLICY_YAML, loadPolicy, type Policy } from "@guardrail/core";
import { exemptionTagKeys, guardrailRoleNames, renderScp } from "@guardrail/templates";
import { describe, expect, it } from "vitest";
import { KEY_ADMIN_ACTIONS, topicKeyPolicy, topicPolicy } from "../../stacks/resource-policies";

const ROLES = [
  "arn:aws:iam::111122223333:role/network-guardrail-prod-eu-west-1-sweep",
  "arn:aws:iam::111122223333:role/network-guardrail-prod-eu-west-1-security-group-change",
];

describe("the topic key's policy", () => {
  const statements = topicKeyPolicy({
    partition: "aws",
    accountId: "111122223333",
    publisherRoleArns: ROLES,
  }).Statement;

  it("lets the account administer the key but use it only through the named roles", () => {
    const admin = statements.find((s) => s.Sid === "AccountAdministersKey");
    expect(admin?.Action).toEqual([...KEY_ADMIN_ACTIONS]);
    for (const action of KEY_ADMIN_ACTIONS) {
      expect(action).not.toMatch(/^kms:(Encrypt|Decrypt|ReEncrypt|GenerateDataKey)/);
    }
    const use = statements.filter((s) =>
      (s.Action as string[]).some((a) => a === "kms:Decrypt" || a === "kms:GenerateDataKey"),
    );
    expect(use.map((s) => s.Principal)).toEqual([
      { AWS: "arn:aws:iam::111122223333:root" },
      { Service: "cloudwatch.amazonaws.com" },
    ]);
    expect(use[0]?.Condition).toEqual({ ArnEquals: { "aws:PrincipalArn": ROLES } });
  });

  it("grants EventBridge nothing", () => {
    expect(JSON.stringify(statements)).not.toContain("events.amazonaws.com");
  });
});

describe("the topic's policy", () => {
  const doc = topicPolicy({
    topicArn: "arn:aws:sns:eu-west-1:111122223333:t",
    partition: "aws",
    accountId: "111122223333",
    publisherRoleArns: ROLES,
    alarmArns: [
      "arn:aws:cloudwatch:eu-west-1:111122223333:alarm:b",
      "arn:aws:cloudwatch:eu-west-1:111122223333:alarm:a",
    ],
  });

  it("names each alarm (sorted) and the account for CloudWatch", () => {
    const alarms = doc.Statement.find((s) => s.Sid === "GuardrailAlarmsPublish");
    expect(alarms?.Condition).toEqual({
      ArnEquals: {
        "aws:SourceArn": [
          "arn:aws:cloudwatch:eu-west-1:111122223333:alarm:a",
          "arn:aws:cloudwatch:eu-west-1:111122223333:alarm:b",
        ],
      },
      StringEquals: { "aws:SourceAccount": "111122223333" },
    });
  });

  it("denies publishing to every principal but the roles, sparing AWS services", () => {
    const deny = doc.Statement.find((s) => s.Effect === "Deny");
    expect(deny).toMatchObject({
      Principal: "*",
      Action: ["sns:Publish"],
      Condition: {
        ArnNotEquals: { "aws:PrincipalArn": ROLES },
        BoolIfExists: { "aws:PrincipalIsAWSService": "false" },
      },
    });
  });
});

describe("the SCP's inputs", () => {
  it("collects the exemption tag keys of the policy and of each rule, once each", () => {
    const base = loadPolicy(DEFAULT_POLICY_YAML);
    const withRuleKeys: Policy = {
      ...base,
      rules: base.rules.map((r, i) => ({
        ...r,
        exemptions: { ...r.exemptions, tagKey: i === 0 ? "team-waiver" : base.exemptions.tagKey },
      })),
    };
    expect(exemptionTagKeys(withRuleKeys)).toEqual(
      [base.exemptions.tagKey as string, "team-waiver"].sort(),
    );
    expect(exemptionTagKeys({ ...base, exemptions: { ...base.exemptions, tagKey: null } })).toEqual(
      [],
    );
  });

  it("names every function role in every Region and the member role", () => {
    const names = guardrailRoleNames("prod", ["eu-west-1", "us-east-1"]);
    expect(names).toHaveLength(11);
    expect(names.at(-1)).toBe("network-guardrail-prod-member");
  });

  it("refuses to protect nothing", () => {
    expect(() =>
      renderScp({
        stage: "prod",
        regions: ["eu-west-1"],
        tagKeys: [],
        approvers: ["arn:aws:iam::*:role/a"],
        deployers: ["arn:aws:iam::*:role/d"],
      }),
    ).toThrow(/no exemption tag key/);
  });
});
