import {
  AUDIT_KEY_PREFIX,
  SLACK_APP_ENV,
  SLACK_APP_OUTPUT,
  SLACK_APP_SIZING,
  SLACK_FUNCTION_ENV,
  SLACK_WORKER_EC2_ACTIONS,
} from "@guardrail/core";
import {
  componentName,
  leadingKeys,
  type SlackAppScope,
  slackAppStatements,
} from "@guardrail/templates";
import { beforeAll, describe, expect, it, vi } from "vitest";
import { readSlackAppSettings } from "../../stacks/slack-app-settings";
import { type RecordedResource, runStack, type StackRun } from "./sst-harness";

vi.mock("../../.sst/platform/src/components/rpc/rpc", async () =>
  (await import("./sst-rpc-mock")).mockedRpcModule(),
);

const STAGE = "slackci";
const CHANNEL = "C0ALERTS01";
let stack: StackRun;
let apiStack: StackRun;

beforeAll(async () => {
  stack = await runStack(STAGE, { GUARDRAIL_SLACK_APP: "on", GUARDRAIL_SLACK_CHANNEL: CHANNEL });
  apiStack = await runStack(`${STAGE}api`, {
    GUARDRAIL_SLACK_APP: "on",
    GUARDRAIL_SLACK_CHANNEL: CHANNEL,
    GUARDRAIL_SLACK_ENDPOINT: "api-gateway",
  });
}, 480_000);

// biome-ignore lint/suspicious/noExplicitAny: resource inputs are arbitrary provider JSON.
type Inputs = Record<string, any>;
const SECRET_SIG = "4dabf18193072939515e22adb298388d";
function plain(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(plain);
  if (typeof value === "object" && value !== null) {
    const record = value as Record<string, unknown>;
    if (SECRET_SIG in record) return plain(record.value);
    return Object.fromEntries(Object.entries(record).map(([k, v]) => [k, plain(v)]));
  }
  return value;
}
const inputs = (r: RecordedResource) => plain(r.inputs) as Inputs;
const lambda = (run: StackRun, fn: string) =>
  run.one("aws:lambda/function:Function", `${componentName(fn as never)}Function`);
const role = (run: StackRun, fn: string) =>
  run.one("aws:iam/role:Role", `${componentName(fn as never)}Role`);
interface Statement {
  Effect: string;
  Action: string | string[];
  Resource: string | string[];
  Condition?: Record<string, Record<string, unknown>>;
}
const statements = (run: StackRun, fn: string): Statement[] =>
  (inputs(role(run, fn)).inlinePolicies as { policy: string }[]).flatMap(
    (p) => JSON.parse(p.policy).Statement as Statement[],
  );
const list = (v: string | string[]) => (Array.isArray(v) ? v : [v]);
const parameter = (name: string) => `arn:aws:ssm:us-east-1:123456789012:parameter${name}`;

describe("the Slack app's deploy settings", () => {
  it("is off unless asked for, and needs a channel id", () => {
    expect(readSlackAppSettings("prod", {})).toBeNull();
    expect(readSlackAppSettings("prod", { GUARDRAIL_SLACK_APP: "off" })).toBeNull();
    expect(() => readSlackAppSettings("prod", { GUARDRAIL_SLACK_APP: "on" })).toThrow(
      /GUARDRAIL_SLACK_CHANNEL must be the channel id/,
    );
    expect(
      readSlackAppSettings("prod", { GUARDRAIL_SLACK_APP: "on", GUARDRAIL_SLACK_CHANNEL: CHANNEL }),
    ).toEqual({
      channel: CHANNEL,
      endpoint: "function-url",
      tokenParameter: "/network-guardrail/prod/slack-bot-token",
      signingSecretParameter: "/network-guardrail/prod/slack-signing-secret",
    });
    expect(() =>
      readSlackAppSettings("prod", {
        GUARDRAIL_SLACK_APP: "on",
        GUARDRAIL_SLACK_CHANNEL: CHANNEL,
        GUARDRAIL_SLACK_ENDPOINT: "alb",
      }),
    ).toThrow(/function-url, api-gateway/);
  });
});

describe("the Slack app's IAM, as data", () => {
  const scope: SlackAppScope = {
    partition: "aws",
    region: "eu-west-1",
    accountId: "111122223333",
    tableArn: "arn:aws:dynamodb:eu-west-1:111122223333:table/audit",
    topicArn: "arn:aws:sns:eu-west-1:111122223333:topic",
    topicKeyArn: "arn:aws:kms:eu-west-1:111122223333:key/k",
    deadLetterQueueArn: "arn:aws:sqs:eu-west-1:111122223333:dlq",
    slackWebhookParameterArn: "arn:aws:ssm:eu-west-1:111122223333:parameter/w",
    slackTokenParameterArn: "arn:aws:ssm:eu-west-1:111122223333:parameter/t",
    slackSigningSecretParameterArn: "arn:aws:ssm:eu-west-1:111122223333:parameter/s",
    workerFunctionArn: "arn:aws:lambda:eu-west-1:111122223333:function:worker",
    exemptionTagKeys: ["guardrail-exempt"],
  };

  it("gives the endpoint its two secrets, its INTERACTION# items and the worker, nothing else", () => {
    expect(slackAppStatements("slack-interactions", scope)).toEqual([
      {
        effect: "allow",
        actions: ["ssm:GetParameter"],
        resources: [scope.slackSigningSecretParameterArn, scope.slackTokenParameterArn],
      },
      {
        effect: "allow",
        actions: ["dynamodb:PutItem"],
        resources: [scope.tableArn],
        conditions: [leadingKeys(AUDIT_KEY_PREFIX.interaction)],
      },
      { effect: "allow", actions: ["lambda:InvokeFunction"], resources: [scope.workerFunctionArn] },
    ]);
  });

  it("lets the worker tag security groups with the exemption key only", () => {
    const worker = slackAppStatements("slack-actions", scope);
    const tagging = worker.filter((s) => s.actions.includes("ec2:CreateTags"));
    expect(tagging).toEqual([
      {
        effect: "allow",
        actions: ["ec2:CreateTags"],
        resources: ["arn:aws:ec2:eu-west-1:111122223333:security-group/*"],
        conditions: [
          {
            test: "ForAllValues:StringEquals",
            variable: "aws:TagKeys",
            values: ["guardrail-exempt"],
          },
          { test: "Null", variable: "aws:TagKeys", values: ["false"] },
          { test: "StringLike", variable: "aws:RequestTag/guardrail-exempt", values: ["reason=*"] },
        ],
      },
    ]);
    const ec2 = worker.flatMap((s) => s.actions).filter((a) => a.startsWith("ec2:"));
    expect(ec2.sort()).toEqual([...SLACK_WORKER_EC2_ACTIONS, "ec2:CreateTags"].sort());
    // Every DynamoDB grant is held to one key prefix (or the read-only trail index).
    for (const s of worker.filter((x) => x.actions.some((a) => a.startsWith("dynamodb:")))) {
      const indexOnly = s.resources.every((r) => r.includes("/index/"));
      expect(
        indexOnly || s.conditions?.[0]?.variable === "dynamodb:LeadingKeys",
        JSON.stringify(s),
      ).toBe(true);
    }
    expect(worker).toContainEqual(
      expect.objectContaining({ conditions: [leadingKeys(AUDIT_KEY_PREFIX.interaction)] }),
    );
    // Never the signing secret: the worker trusts the endpoint's hand-over, not Slack.
    expect(JSON.stringify(worker)).not.toContain(scope.slackSigningSecretParameterArn);
  });
});

describe("the Slack app deployed (function URL)", () => {
  it("deploys the endpoint and the worker, sized from the registry", () => {
    for (const fn of ["slack-interactions", "slack-actions"] as const) {
      const l = inputs(lambda(stack, fn));
      expect(l.handler).toBe(`functions/src/handlers/${fn}.handler`);
      expect(l.memorySize).toBe(SLACK_APP_SIZING[fn].memoryMb);
      expect(l.timeout).toBe(SLACK_APP_SIZING[fn].timeoutSeconds);
    }
  });

  it("serves the endpoint on a function URL Slack can call, and outputs the interactivity URL", () => {
    const urls = stack.of("aws:lambda/functionUrl:FunctionUrl");
    expect(urls).toHaveLength(1);
    expect(inputs(urls[0] as RecordedResource).authorizationType).toBe("NONE");
    expect(String(stack.outputs[SLACK_APP_OUTPUT])).toMatch(/\/slack\/interactions$/);
    expect(stack.of("aws:apigatewayv2/api:Api")).toEqual([]);
  });

  it("keeps the token and signing secret in Parameter Store: the functions get names only", () => {
    const endpointEnv = inputs(lambda(stack, "slack-interactions")).environment.variables;
    expect(endpointEnv).toMatchObject({
      [SLACK_APP_ENV.tokenParameter]: `/network-guardrail/${STAGE}/slack-bot-token`,
      [SLACK_APP_ENV.signingSecretParameter]: `/network-guardrail/${STAGE}/slack-signing-secret`,
    });
    const notifierEnv = inputs(lambda(stack, "slack-notifier")).environment.variables;
    expect(notifierEnv).toMatchObject({
      [SLACK_APP_ENV.tokenParameter]: `/network-guardrail/${STAGE}/slack-bot-token`,
      [SLACK_APP_ENV.channel]: CHANNEL,
      [SLACK_FUNCTION_ENV.webhookParameter]: `/network-guardrail/${STAGE}/slack-webhook-url`,
    });
    // The deploy creates no parameter: a SecureString's value would sit in the deploy's state.
    expect(stack.of("aws:ssm/parameter:Parameter")).toEqual([]);
    for (const fn of ["slack-interactions", "slack-actions", "slack-notifier"]) {
      const env = JSON.stringify(inputs(lambda(stack, fn)).environment.variables);
      expect(env, fn).not.toMatch(/xox[bp]-|hooks\.slack\.com/);
    }
  });

  it("lets only the endpoint read the signing secret, and the token only where it is used", () => {
    const readers = (name: string) =>
      [
        "slack-interactions",
        "slack-actions",
        "slack-notifier",
        "sweep",
        "security-group-change",
      ].filter((fn) =>
        statements(stack, fn).some((s) => list(s.Resource).includes(parameter(name))),
      );
    expect(readers(`/network-guardrail/${STAGE}/slack-signing-secret`)).toEqual([
      "slack-interactions",
    ]);
    expect(readers(`/network-guardrail/${STAGE}/slack-bot-token`)).toEqual([
      "slack-interactions",
      "slack-actions",
    ]);
    // The notifier reads the token through its own role policy.
    const notifierRead = stack
      .of("aws:iam/rolePolicy:RolePolicy")
      .find((p) => p.name === "SlackNotifierTokenRead");
    expect(JSON.parse(String(inputs(notifierRead as RecordedResource).policy)).Statement).toEqual([
      {
        Effect: "Allow",
        Action: ["ssm:GetParameter"],
        Resource: [parameter(`/network-guardrail/${STAGE}/slack-bot-token`)],
      },
    ]);
  });

  it("counts the worker as an own principal, so its CreateTags is the loop guard's", () => {
    const workerArn = String(role(stack, "slack-actions").state.arn);
    const own = String(
      inputs(lambda(stack, "security-group-change")).environment.variables.GUARDRAIL_OWN_ROLE_ARNS,
    );
    expect(own.split(",")).toContain(workerArn);
  });
});

describe("the Slack app deployed behind API Gateway", () => {
  it("routes POST /slack/interactions to the endpoint, with no function URL", async () => {
    expect(apiStack.of("aws:lambda/functionUrl:FunctionUrl")).toEqual([]);
    expect(apiStack.of("aws:apigatewayv2/api:Api")).toHaveLength(1);
    // SST registers the route inside an output's apply, which may settle after the run returns.
    await vi.waitFor(() =>
      expect(apiStack.of("aws:apigatewayv2/route:Route").map((r) => inputs(r).routeKey)).toEqual([
        "POST /slack/interactions",
      ]),
    );
    expect(String(apiStack.outputs[SLACK_APP_OUTPUT])).toMatch(/\/slack\/interactions$/);
  });
});
