import {
  AUDIT_SECURITY_HUB_ACTIONS,
  GUARDRAIL_FUNCTIONS,
  SECURITY_HUB_ACTIONS,
  SECURITY_HUB_FUNCTION_ENV,
} from "@guardrail/core";
import {
  functionStatements,
  type PermissionScope,
  parameterArn,
  renderSpokeTemplate,
} from "@guardrail/templates";
import { describe, expect, it } from "vitest";
import { readDeploySettings } from "../../stacks/settings";

const scope: PermissionScope = {
  partition: "aws",
  region: "eu-west-1",
  accountId: "111122223333",
  tableArn: "arn:aws:dynamodb:eu-west-1:111122223333:table/audit",
  topicArn: "arn:aws:sns:eu-west-1:111122223333:topic",
  topicKeyArn: "arn:aws:kms:eu-west-1:111122223333:key/k",
  deadLetterQueueArn: "arn:aws:sqs:eu-west-1:111122223333:dlq",
  slackWebhookParameterArn: parameterArn("aws", "eu-west-1", "111122223333", "/gr/dev/slack"),
};

const securityHubActions = (statements: { actions: string[] }[]) =>
  statements.flatMap((s) => s.actions).filter((a) => a.startsWith("securityhub:"));

describe("Security Hub grants", () => {
  it("are off by default: no function may call Security Hub", () => {
    expect(readDeploySettings("dev", {}, "1.0.0").securityHub).toBe(false);
    for (const fn of GUARDRAIL_FUNCTIONS) {
      expect(securityHubActions(functionStatements(fn, scope))).toEqual([]);
    }
  });

  it("grant exactly the two actions, on the account's default product and hub, to the deciding functions", () => {
    expect(
      readDeploySettings("dev", { [SECURITY_HUB_FUNCTION_ENV.enabled]: "on" }, "1.0.0").securityHub,
    ).toBe(true);
    for (const fn of [
      "security-group-change",
      "network-acl-change",
      "prefix-list-change",
      "sweep",
    ] as const) {
      const statements = functionStatements(fn, scope, null, true);
      const hub = statements.filter((s) => s.actions.some((a) => a.startsWith("securityhub:")));
      expect(hub).toEqual([
        {
          effect: "allow",
          actions: ["securityhub:BatchImportFindings"],
          resources: ["arn:aws:securityhub:eu-west-1:111122223333:product/111122223333/default"],
        },
        {
          effect: "allow",
          actions: ["securityhub:BatchUpdateFindings"],
          resources: ["arn:aws:securityhub:eu-west-1:111122223333:hub/default"],
        },
      ]);
      expect(statements).toContainEqual({
        effect: "allow",
        actions: [...AUDIT_SECURITY_HUB_ACTIONS[fn === "sweep" ? "sweep" : "event"]],
        resources: [scope.tableArn],
        conditions: [
          {
            test: "ForAllValues:StringLike",
            variable: "dynamodb:LeadingKeys",
            values: ["SECURITYHUB#*"],
          },
        ],
      });
    }
    // Only the sweep batches (and so may delete): the records of findings it archived.
    for (const fn of GUARDRAIL_FUNCTIONS) {
      const batching = functionStatements(fn, scope, null, true).filter((s) =>
        s.actions.includes("dynamodb:BatchWriteItem"),
      );
      expect(batching.length > 0, fn).toBe(fn === "sweep");
    }
    expect(securityHubActions(functionStatements("slack-notifier", scope, null, true))).toEqual([]);
    expect([...SECURITY_HUB_ACTIONS].sort()).toEqual([
      "securityhub:BatchImportFindings",
      "securityhub:BatchUpdateFindings",
    ]);
  });

  it("let the member role import into its own account only when the spoke template says so", () => {
    const input = {
      hubAccount: "111122223333",
      hubRegion: "eu-west-1",
      externalId: "guardrail-3f9c",
      orgId: "o-a1b2c3d4e5",
    };
    // biome-ignore lint/suspicious/noExplicitAny: the rendered template is JSON to read from.
    const statementsOf = (t: Record<string, any>) =>
      t.Resources.MemberRole.Properties.Policies[0].PolicyDocument.Statement as {
        Sid: string;
        Action: string[];
        Resource: unknown[];
      }[];
    expect(
      statementsOf(renderSpokeTemplate(input))
        .flatMap((s) => s.Action)
        .filter((a) => a.startsWith("securityhub:")),
    ).toEqual([]);
    const on = statementsOf(renderSpokeTemplate({ ...input, securityHub: true })).filter((s) =>
      s.Sid.startsWith("SecurityHub"),
    );
    expect(on).toEqual([
      {
        Sid: "SecurityHubImport",
        Effect: "Allow",
        Action: ["securityhub:BatchImportFindings"],
        Resource: [
          {
            "Fn::Sub":
              // biome-ignore lint/suspicious/noTemplateCurlyInString: Fn::Sub syntax, not a JS template.
              "arn:${AWS::Partition}:securityhub:*:${AWS::AccountId}:product/${AWS::AccountId}/default",
          },
        ],
      },
      {
        Sid: "SecurityHubUpdate",
        Effect: "Allow",
        Action: ["securityhub:BatchUpdateFindings"],
        Resource: [
          // biome-ignore lint/suspicious/noTemplateCurlyInString: Fn::Sub syntax, not a JS template.
          { "Fn::Sub": "arn:${AWS::Partition}:securityhub:*:${AWS::AccountId}:hub/default" },
        ],
      },
    ]);
  });
});
