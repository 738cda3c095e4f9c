import {
  ConfigurationError,
  FUNCTION_EC2_ACTIONS,
  functionEc2Actions,
  GUARDRAIL_FUNCTIONS,
  HANDLED_EVENT_NAMES,
  TAG_EVENT_SPECS,
} from "@guardrail/core";
import { matchesPattern } from "@guardrail/sandbox/pattern-matcher";
import {
  forwardedEventPattern,
  hubBusArn,
  MEMBER_ACTING_FUNCTIONS,
  MEMBER_ROLE_ACTIONS,
  memberRoleActions,
  memberRoleName,
  renderSpokeTemplate,
  roleName,
  type SpokeTemplateInput,
} from "@guardrail/templates";
import { describe, expect, it } from "vitest";
import { fixtureEvents } from "../infra/fixture-events";

const HUB = "111122223333";
const INPUT: SpokeTemplateInput = {
  hubAccount: HUB,
  hubRegion: "eu-west-1",
  externalId: "guardrail-3f9c1e",
  orgId: "o-a1b2c3d4e5",
};

// biome-ignore lint/suspicious/noExplicitAny: a rendered template is arbitrary JSON to inspect.
type Any = any;

const template: Any = renderSpokeTemplate(INPUT);
const resources: Record<string, Any> = template.Resources;

interface Statement {
  Effect: string;
  Action: string | string[];
  Resource?: unknown;
  Principal?: unknown;
  Condition?: Any;
}

function statementsOf(t: Any): { role: string; statement: Statement }[] {
  const out: { role: string; statement: Statement }[] = [];
  for (const [name, r] of Object.entries<Any>(t.Resources)) {
    if (r.Type !== "AWS::IAM::Role") continue;
    for (const policy of r.Properties.Policies ?? []) {
      for (const statement of policy.PolicyDocument.Statement) out.push({ role: name, statement });
    }
    for (const statement of r.Properties.AssumeRolePolicyDocument.Statement) {
      out.push({ role: name, statement });
    }
  }
  return out;
}

/** An `Fn::Sub` ARN in the member account, any Region. */
const memberArn = (resource: string) => ({
  "Fn::Sub": `arn:${"$"}{AWS::Partition}:ec2:*:${"$"}{AWS::AccountId}:${resource}`,
});

const actionsOf = (s: Statement) => (Array.isArray(s.Action) ? s.Action : [s.Action]);

describe("spoke template shape", () => {
  it("is a CloudFormation template with the forwarder, its role and the member role", () => {
    expect(template.AWSTemplateFormatVersion).toBe("2010-09-09");
    expect(Object.fromEntries(Object.entries(resources).map(([k, r]) => [k, r.Type]))).toEqual({
      ForwarderRole: "AWS::IAM::Role",
      ForwardRule: "AWS::Events::Rule",
      ForwardDeadLetterQueue: "AWS::SQS::Queue",
      ForwardDeadLetterQueuePolicy: "AWS::SQS::QueuePolicy",
      ForwardFailuresAlarm: "AWS::CloudWatch::Alarm",
      ForwardDeadLetterAlarm: "AWS::CloudWatch::Alarm",
      MemberRole: "AWS::IAM::Role",
    });
  });

  it("survives a JSON round trip unchanged and is rendered the same way every time", () => {
    expect(JSON.parse(JSON.stringify(template))).toEqual(template);
    expect(JSON.stringify(renderSpokeTemplate(INPUT))).toBe(JSON.stringify(template));
  });

  it("stays far below CloudFormation's 51,200-byte template body limit", () => {
    expect(JSON.stringify(template).length).toBeLessThan(51_200 / 4);
  });

  it("references only conditions and resources it defines", () => {
    const text = JSON.stringify(template);
    for (const [, name] of text.matchAll(/"Condition":"([A-Za-z]+)"/g)) {
      expect(Object.keys(template.Conditions)).toContain(name);
    }
    for (const [, name] of text.matchAll(/"Fn::GetAtt":\["([A-Za-z]+)"/g)) {
      expect(Object.keys(resources)).toContain(name);
    }
  });
});

describe("forwarding rule", () => {
  const rule = resources.ForwardRule.Properties;
  const busArn = "arn:aws:events:eu-west-1:111122223333:event-bus/network-guardrail-prod-hub";

  it("listens on the member's default bus and targets the hub bus through the forwarder role", () => {
    expect(rule.EventBusName).toBe("default");
    expect(rule.State).toBe("ENABLED");
    expect(rule.Targets).toEqual([
      {
        Id: "guardrail-hub",
        Arn: busArn,
        RoleArn: { "Fn::GetAtt": ["ForwarderRole", "Arn"] },
        // Event-bus targets take no retry policy.
        DeadLetterConfig: { Arn: { "Fn::GetAtt": ["ForwardDeadLetterQueue", "Arn"] } },
      },
    ]);
    expect(hubBusArn("aws", "eu-west-1", HUB, "prod")).toBe(busArn);
  });

  it("dead-letters what it cannot forward, and alarms on failed forwards and on the queue", () => {
    const policy = resources.ForwardDeadLetterQueuePolicy.Properties.PolicyDocument.Statement[0];
    expect(policy).toMatchObject({
      Principal: { Service: "events.amazonaws.com" },
      Action: "sqs:SendMessage",
      Condition: { ArnEquals: { "aws:SourceArn": { "Fn::GetAtt": ["ForwardRule", "Arn"] } } },
    });
    expect(resources.ForwardFailuresAlarm.Properties).toMatchObject({
      Namespace: "AWS/Events",
      MetricName: "FailedInvocations",
      Dimensions: [{ Name: "RuleName", Value: { Ref: "ForwardRule" } }],
      Threshold: 1,
    });
    expect(resources.ForwardDeadLetterAlarm.Properties).toMatchObject({
      Namespace: "AWS/SQS",
      MetricName: "ApproximateNumberOfMessagesVisible",
      Threshold: 1,
    });
  });

  it("forwards exactly the handled event names, successful calls only, with no own-role exclusion", () => {
    expect(rule.EventPattern).toEqual(forwardedEventPattern());
    expect([...rule.EventPattern.detail.eventName].sort()).toEqual(
      [...HANDLED_EVENT_NAMES, ...Object.keys(TAG_EVENT_SPECS)].sort(),
    );
    expect(rule.EventPattern.detail.errorCode).toEqual([{ exists: false }]);
    expect(rule.EventPattern.detail).not.toHaveProperty("userIdentity");
  });

  const { events } = fixtureEvents();
  it.each(events.map((e) => [e.id, e] as const))("forwards %s only if it is handled", (_, e) => {
    const tagging = Object.hasOwn(TAG_EVENT_SPECS, e.eventName);
    const expected =
      (HANDLED_EVENT_NAMES.includes(e.eventName) || tagging) &&
      e.event.detail.eventSource ===
        (tagging
          ? TAG_EVENT_SPECS[e.eventName as keyof typeof TAG_EVENT_SPECS].eventSource
          : "ec2.amazonaws.com") &&
      !("errorCode" in e.event.detail);
    expect(matchesPattern(rule.EventPattern, e.event)).toBe(expected);
  });

  it("forwards the member role's own calls too: the hub's rules exclude them", () => {
    const own = events.find(
      (e) => e.eventName === "AuthorizeSecurityGroupIngress" && !e.event.detail.errorCode,
    );
    expect(own).toBeDefined();
    const event = structuredClone(own?.event) as Any;
    event.detail.userIdentity = {
      type: "AssumedRole",
      sessionContext: {
        sessionIssuer: { arn: `arn:aws:iam::444455556666:role/${memberRoleName("prod")}` },
      },
    };
    expect(matchesPattern(rule.EventPattern, event)).toBe(true);
  });

  it("lets the forwarder role only put events on the hub bus, and only EventBridge of this account assume it", () => {
    const role = resources.ForwarderRole.Properties;
    expect(role.Policies).toEqual([
      {
        PolicyName: "put-events-to-hub",
        PolicyDocument: {
          Version: "2012-10-17",
          Statement: [{ Effect: "Allow", Action: ["events:PutEvents"], Resource: [busArn] }],
        },
      },
    ]);
    expect(role.AssumeRolePolicyDocument.Statement).toEqual([
      {
        Effect: "Allow",
        Principal: { Service: "events.amazonaws.com" },
        Action: "sts:AssumeRole",
        Condition: { StringEquals: { "aws:SourceAccount": { Ref: "AWS::AccountId" } } },
      },
    ]);
  });

  it("is not created in the hub's own account and Region, which the hub already watches", () => {
    expect(template.Conditions.IsHubRegionOfHubAccount).toEqual({
      "Fn::And": [
        { "Fn::Equals": [{ Ref: "AWS::AccountId" }, HUB] },
        { "Fn::Equals": [{ Ref: "AWS::Region" }, "eu-west-1"] },
      ],
    });
    expect(template.Conditions.Forward).toEqual({
      "Fn::Not": [{ Condition: "IsHubRegionOfHubAccount" }],
    });
    expect(resources.ForwardRule.Condition).toBe("Forward");
    expect(resources.ForwarderRole.Condition).toBe("Forward");
    expect(template.Outputs.ForwardRuleArn.Condition).toBe("Forward");
  });
});

describe("member role", () => {
  const role = resources.MemberRole;
  const trust = role.Properties.AssumeRolePolicyDocument.Statement;

  it("has the name the hub assumes, and is created in one Region per account", () => {
    expect(role.Properties.RoleName).toBe("network-guardrail-prod-member");
    expect(role.Condition).toBe("CreateMemberRole");
    expect(template.Conditions.CreateMemberRole).toEqual({
      "Fn::Equals": [{ Ref: "AWS::Region" }, "eu-west-1"],
    });
    expect(role.Properties.MaxSessionDuration).toBe(3600);
  });

  it("trusts exactly the hub's acting function roles, with the external id, inside the organisation", () => {
    expect(trust).toEqual([
      {
        Effect: "Allow",
        Principal: {
          AWS: MEMBER_ACTING_FUNCTIONS.map(
            (fn) =>
              `arn:aws:iam::${HUB}:role/${roleName("network-guardrail", "prod", "eu-west-1", fn)}`,
          ),
        },
        Action: "sts:AssumeRole",
        Condition: {
          StringEquals: {
            "sts:ExternalId": "guardrail-3f9c1e",
            "aws:PrincipalOrgID": "o-a1b2c3d4e5",
          },
        },
      },
    ]);
  });

  it("is not trusted by the Slack notifier, which never touches EC2", () => {
    expect(MEMBER_ACTING_FUNCTIONS).not.toContain("slack-notifier");
    expect(MEMBER_ACTING_FUNCTIONS).toEqual(
      GUARDRAIL_FUNCTIONS.filter((fn) => FUNCTION_EC2_ACTIONS[fn].length > 0),
    );
    expect(JSON.stringify(trust)).not.toContain("slack-notifier");
  });

  it("holds exactly the union of the functions' EC2 actions", () => {
    const statements = role.Properties.Policies[0].PolicyDocument.Statement as Statement[];
    const granted = statements.flatMap(actionsOf).sort();
    const wanted = [
      ...new Set(MEMBER_ACTING_FUNCTIONS.flatMap((fn) => FUNCTION_EC2_ACTIONS[fn])),
    ].sort();
    expect(granted).toEqual(wanted);
    expect(MEMBER_ROLE_ACTIONS).toEqual(wanted);
    expect(new Set(granted).size).toBe(granted.length);
  });

  it("can revoke, delete and create NACL entries only, never authorise", () => {
    // CreateNetworkAclEntry: the NACL planner's inserted entries (behaviour changed on purpose).
    for (const action of MEMBER_ROLE_ACTIONS) {
      expect(action).toMatch(/^ec2:((Revoke|Delete|Describe|Get)[A-Za-z]+|CreateNetworkAclEntry)$/);
    }
    expect(MEMBER_ROLE_ACTIONS).toContain("ec2:CreateNetworkAclEntry");
  });

  it("scopes revokes and deletes to the member's own groups and ACLs, in every Region", () => {
    const statements = role.Properties.Policies[0].PolicyDocument.Statement as Statement[];
    const revoke = statements.find((s) => actionsOf(s).includes("ec2:RevokeSecurityGroupIngress"));
    expect(revoke?.Resource).toEqual([
      memberArn("security-group/*"),
      memberArn("security-group-rule/*"),
    ]);
    const del = statements.find((s) => actionsOf(s).includes("ec2:DeleteNetworkAclEntry"));
    expect(del?.Resource).toEqual([memberArn("network-acl/*")]);
    const create = statements.find((s) => actionsOf(s).includes("ec2:CreateNetworkAclEntry"));
    expect(create?.Resource).toEqual([memberArn("network-acl/*")]);
    expect(revoke?.Condition).toBeUndefined();
  });

  it("authorises the compliant remainder only when the hub's policy narrows, scoped like the revokes", () => {
    const narrowing: Any = renderSpokeTemplate({ ...INPUT, narrowing: true });
    const statements = narrowing.Resources.MemberRole.Properties.Policies[0].PolicyDocument
      .Statement as Statement[];
    const granted = statements.flatMap(actionsOf).sort();
    // The union of the functions' actions with narrowing on: the Authorize pair added, nothing else.
    const wanted = [
      ...new Set(
        MEMBER_ACTING_FUNCTIONS.flatMap((fn) => functionEc2Actions(fn, { narrowing: true })),
      ),
    ].sort();
    expect(granted).toEqual(wanted);
    expect(memberRoleActions({ narrowing: true })).toEqual(wanted);
    expect(granted.filter((a) => !MEMBER_ROLE_ACTIONS.includes(a))).toEqual([
      "ec2:AuthorizeSecurityGroupEgress",
      "ec2:AuthorizeSecurityGroupIngress",
    ]);
    const authorize = statements.find((s) =>
      actionsOf(s).includes("ec2:AuthorizeSecurityGroupIngress"),
    );
    expect(actionsOf(authorize as Statement)).toContain("ec2:RevokeSecurityGroupIngress");
    expect(authorize?.Resource).toEqual([
      memberArn("security-group/*"),
      memberArn("security-group-rule/*"),
    ]);
    // Off (the default): no Authorize action at all.
    const off = role.Properties.Policies[0].PolicyDocument.Statement as Statement[];
    expect(off.flatMap(actionsOf).filter((a) => a.includes("Authorize"))).toEqual([]);
  });

  it("limits every EC2 statement to the given Regions when asked", () => {
    const fenced: Any = renderSpokeTemplate({
      ...INPUT,
      regions: ["us-east-1", "eu-west-1", "eu-west-1"],
    });
    for (const s of fenced.Resources.MemberRole.Properties.Policies[0].PolicyDocument.Statement) {
      expect(s.Condition).toEqual({
        StringEquals: { "aws:RequestedRegion": ["eu-west-1", "us-east-1"] },
      });
    }
  });
});

describe("no wildcard actions anywhere", () => {
  it.each(statementsOf(template).map((s, i) => [`${s.role}#${i}`, s.statement] as const))(
    "statement %s names its actions",
    (_, statement) => {
      for (const action of actionsOf(statement)) {
        expect(action).not.toContain("*");
        expect(action).toMatch(/^[a-z0-9-]+:[A-Za-z]+$/);
      }
    },
  );
});

describe("spoke template inputs", () => {
  it("uses the stage, partition, role name and role Region it is given", () => {
    const t: Any = renderSpokeTemplate({
      ...INPUT,
      stage: "staging",
      partition: "aws-us-gov",
      memberRoleName: "guardrail-remediator",
      roleRegion: "us-gov-west-1",
      hubRegion: "us-gov-east-1",
    });
    expect(t.Resources.MemberRole.Properties.RoleName).toBe("guardrail-remediator");
    expect(t.Conditions.CreateMemberRole["Fn::Equals"][1]).toBe("us-gov-west-1");
    expect(t.Resources.ForwardRule.Properties.Targets[0].Arn).toBe(
      "arn:aws-us-gov:events:us-gov-east-1:111122223333:event-bus/network-guardrail-staging-hub",
    );
    expect(
      t.Resources.MemberRole.Properties.AssumeRolePolicyDocument.Statement[0].Principal.AWS[0],
    ).toBe(
      "arn:aws-us-gov:iam::111122223333:role/network-guardrail-staging-us-gov-east-1-security-group-change",
    );
  });

  it.each<[string, Partial<SpokeTemplateInput>, string]>([
    [
      "hub account",
      { hubAccount: "11112222333" },
      'hub account: expected a 12-digit account id, got "11112222333"',
    ],
    ["hub region", { hubRegion: "Ireland" }, "hub region: expected a Region name"],
    ["org id", { orgId: "r-abcd" }, "organisation id: expected an organisation id"],
    ["external id", { externalId: "x" }, "external id: expected 2 to 1224 characters"],
    ["external id", { externalId: "has space" }, "external id: expected 2 to 1224 characters"],
    ["stage", { stage: "9lives" }, "stage: expected letters, digits and hyphens"],
    ["role name", { memberRoleName: "a".repeat(65) }, "member role: expected an IAM role name"],
    ["partition", { partition: "gcp" }, "partition: expected a partition"],
    ["regions", { regions: [] }, "regions: give at least one Region"],
    [
      "regions",
      { regions: ["eu-west-1", "mars"] },
      'region: expected a Region name such as eu-west-1, got "mars"',
    ],
  ])("refuses a malformed %s", (_, bad, message) => {
    expect(() => renderSpokeTemplate({ ...INPUT, ...bad })).toThrow(ConfigurationError);
    expect(() => renderSpokeTemplate({ ...INPUT, ...bad })).toThrow(message);
  });
});
