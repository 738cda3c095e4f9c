import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import {
  DEFAULT_POLICY_YAML,
  FUNCTION_EC2_ACTIONS,
  functionEc2Actions,
  GUARDRAIL_FUNCTIONS,
  type GuardrailFunction,
  loadPolicy,
  NARROWING_FUNCTIONS,
  POLICY_ENV,
  policyNarrows,
} from "@guardrail/core";
import { componentName, functionStatements, type PermissionScope } from "@guardrail/templates";
import { beforeAll, describe, expect, it, vi } from "vitest";
import { ACCOUNT_ID, REGION, type RecordedResource, runStack, type StackRun } from "./sst-harness";

vi.mock("../../.sst/platform/src/components/rpc/rpc", async () =>
  (await import("./sst-rpc-mock")).mockedRpcModule(),
);

/** The shipped policy with one rule narrowing (`remediation.narrow`). */
const NARROWING_POLICY_YAML = DEFAULT_POLICY_YAML.replace(
  "  - id: internet-exposure\n",
  "  - id: internet-exposure\n    remediation:\n      narrow: true\n",
);

const AUTHORIZE = ["ec2:AuthorizeSecurityGroupEgress", "ec2:AuthorizeSecurityGroupIngress"];
const isAuthorize = (a: string) => /^ec2:Authorize/.test(a);

describe("the Authorize grant follows remediation.narrow", () => {
  const scope: PermissionScope = {
    partition: "aws",
    region: "eu-west-1",
    accountId: "111122223333",
    tableArn: "arn:aws:dynamodb:eu-west-1:111122223333:table/audit",
    topicArn: "arn:aws:sns:eu-west-1:111122223333:topic",
    topicKeyArn: "arn:aws:kms:eu-west-1:111122223333:key/k",
    deadLetterQueueArn: "arn:aws:sqs:eu-west-1:111122223333:dlq",
    slackWebhookParameterArn: "arn:aws:ssm:eu-west-1:111122223333:parameter/webhook",
  };
  const actions = (fn: GuardrailFunction, narrowing: boolean) =>
    functionStatements(fn, { ...scope, narrowing }).flatMap((s) => s.actions);

  it("reads the policy: on when some rule narrows, off for the shipped default", () => {
    expect(policyNarrows(loadPolicy(DEFAULT_POLICY_YAML))).toBe(false);
    expect(policyNarrows(loadPolicy(NARROWING_POLICY_YAML))).toBe(true);
  });

  it("with narrowing off, no function has any Authorize action", () => {
    for (const fn of GUARDRAIL_FUNCTIONS) {
      expect(actions(fn, false).filter(isAuthorize), fn).toEqual([]);
      expect(functionEc2Actions(fn, { narrowing: false }), fn).toEqual(FUNCTION_EC2_ACTIONS[fn]);
    }
  });

  it("with narrowing on, only the functions that narrow get Authorize, scoped like the revokes", () => {
    expect([...NARROWING_FUNCTIONS].sort()).toEqual(["security-group-change", "sweep"]);
    for (const fn of GUARDRAIL_FUNCTIONS) {
      const narrowing = NARROWING_FUNCTIONS.includes(fn);
      expect(actions(fn, true).filter(isAuthorize).sort(), fn).toEqual(narrowing ? AUTHORIZE : []);
      if (!narrowing) continue;
      const statements = functionStatements(fn, { ...scope, narrowing: true });
      const revoke = statements.find((s) => s.actions.includes("ec2:RevokeSecurityGroupIngress"));
      const authorize = statements.find((s) =>
        s.actions.includes("ec2:AuthorizeSecurityGroupIngress"),
      );
      // The same statement: the same resources and Region condition as the revokes.
      expect(authorize, fn).toBe(revoke);
      expect(authorize?.resources, fn).toEqual([
        "arn:aws:ec2:eu-west-1:111122223333:security-group/*",
        "arn:aws:ec2:eu-west-1:111122223333:security-group-rule/*",
      ]);
      // Nothing else changes.
      expect(
        actions(fn, true).filter((a) => !isAuthorize(a)),
        fn,
      ).toEqual(actions(fn, false));
    }
  });
});

describe("a stack whose policy narrows", () => {
  let stack: StackRun;

  beforeAll(async () => {
    const dir = mkdtempSync(join(tmpdir(), "guardrail-narrowing-"));
    const file = join(dir, "narrowing.yaml");
    writeFileSync(file, NARROWING_POLICY_YAML);
    stack = await runStack("ci", { [POLICY_ENV]: file });
  }, 240_000);

  interface PolicyStatement {
    Action: string | string[];
    Resource: string | string[];
  }
  const list = (v: string | string[]) => (Array.isArray(v) ? v : [v]);
  const rolePolicy = (fn: GuardrailFunction): PolicyStatement[] => {
    const role = stack.one("aws:iam/role:Role", `${componentName(fn)}Role`) as RecordedResource;
    const policies = role.inputs.inlinePolicies as unknown as { policy: string }[];
    return policies.flatMap((p) => JSON.parse(p.policy).Statement as PolicyStatement[]);
  };

  it("grants Authorize to security-group-change and the sweep only, on the revokes' resources", () => {
    for (const fn of GUARDRAIL_FUNCTIONS) {
      const statements = rolePolicy(fn);
      const granted = statements.flatMap((s) => list(s.Action));
      const narrowing = NARROWING_FUNCTIONS.includes(fn);
      expect(granted.filter(isAuthorize).sort(), fn).toEqual(narrowing ? AUTHORIZE : []);
      if (!narrowing) continue;
      const authorize = statements.find((s) =>
        list(s.Action).includes("ec2:AuthorizeSecurityGroupEgress"),
      );
      expect(list(authorize?.Resource ?? []), fn).toEqual([
        `arn:aws:ec2:${REGION}:${ACCOUNT_ID}:security-group/*`,
        `arn:aws:ec2:${REGION}:${ACCOUNT_ID}:security-group-rule/*`,
      ]);
      expect(list(authorize?.Action ?? []), fn).toContain("ec2:RevokeSecurityGroupIngress");
    }
  });
});
