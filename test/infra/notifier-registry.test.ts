import {
  type AfterRecordNotifier,
  FUNCTION_DATA_ACCESS,
  GUARDRAIL_FUNCTIONS,
  NOTIFIERS,
  type NotifierSpec,
  notifierParameterName,
  SECURITY_HUB_ACTIONS,
  topicNotifiers,
} from "@guardrail/core";
import { componentName } from "@guardrail/templates";
import { beforeAll, describe, expect, it, vi } from "vitest";
import { ACCOUNT_ID, REGION, type RecordedResource, runStack, type StackRun } from "./sst-harness";

vi.mock("../../.sst/platform/src/components/rpc/rpc", async () =>
  (await import("./sst-rpc-mock")).mockedRpcModule(),
);

/*
 * Every channel of NOTIFIERS, as the deploy wires it with every switch on: the function, its
 * environment, its topic subscription, its secret's read and its alarm for a topic channel; the
 * switch and the grants on each deciding function for an after-record channel. A channel added
 * to the table is checked here without an edit.
 */

const STAGE = "notifyci";
/** Every channel's switch on, plus what the Slack app needs besides its switch. */
const SWITCHES: Record<string, string> = {
  ...Object.fromEntries(
    Object.values(NOTIFIERS as Record<string, NotifierSpec>)
      .filter((spec) => spec.switch !== null)
      .map((spec) => [spec.switch, "on"]),
  ),
  GUARDRAIL_SLACK_CHANNEL: "C0NOTIFY1",
};
let stack: StackRun;

beforeAll(async () => {
  stack = await runStack(STAGE, SWITCHES);
}, 240_000);

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
// biome-ignore lint/suspicious/noExplicitAny: resource inputs are arbitrary provider JSON.
type Inputs = Record<string, any>;
const inputs = (r: RecordedResource) => plain(r.inputs) as Inputs;
interface PolicyStatement {
  Action: string | string[];
  Resource: string | string[];
}
const list = (v: string | string[]) => (Array.isArray(v) ? v : [v]);
const lambdaOf = (fn: string) =>
  stack.one("aws:lambda/function:Function", `${componentName(fn as never)}Function`);
const environmentOf = (fn: string) =>
  (inputs(lambdaOf(fn)).environment as { variables: Record<string, string> }).variables;
/** Every statement that applies to a function's role: its inline policies and role policies. */
function grantsOf(fn: string): PolicyStatement[] {
  const role = stack.one("aws:iam/role:Role", `${componentName(fn as never)}Role`);
  const inline = (inputs(role).inlinePolicies as { policy: string }[]).flatMap(
    (p) => JSON.parse(p.policy).Statement as PolicyStatement[],
  );
  const roleName = inputs(role).name as string;
  const attached = stack
    .of("aws:iam/rolePolicy:RolePolicy")
    .filter((p) => inputs(p).role === roleName)
    .flatMap((p) => JSON.parse(inputs(p).policy as string).Statement as PolicyStatement[]);
  return [...inline, ...attached];
}
const grants = (fn: string, action: string, resource: string) =>
  grantsOf(fn).some((s) => list(s.Action).includes(action) && list(s.Resource).includes(resource));

describe("every topic channel of the notifier registry, deployed", () => {
  const channels = topicNotifiers();

  it("has channels to check, each on a function of the stack", () => {
    expect(channels.length).toBeGreaterThan(0);
    for (const [, spec] of channels) expect(GUARDRAIL_FUNCTIONS).toContain(spec.function);
  });

  it.each(channels)(
    "%s: its function gets the secret parameter's name, never a value",
    (_, spec) => {
      const env = environmentOf(spec.function);
      expect(env[spec.secret.env]).toBe(notifierParameterName(spec.secret, STAGE, SWITCHES));
      expect(env[spec.secret.env]).toMatch(/^\/network-guardrail\//);
    },
  );

  it.each(channels)("%s: its function may read exactly its secret parameter", (_, spec) => {
    const name = notifierParameterName(spec.secret, STAGE, SWITCHES);
    const arn = `arn:aws:ssm:${REGION}:${ACCOUNT_ID}:parameter${name}`;
    expect(grants(spec.function, "ssm:GetParameter", arn)).toBe(true);
    // No other function of the guardrail may.
    for (const fn of GUARDRAIL_FUNCTIONS.filter((f) => f !== spec.function)) {
      expect(grants(fn, "ssm:GetParameter", arn), fn).toBe(false);
    }
  });

  it.each(channels)(
    "%s: its function is subscribed to the topic, invocable by it alone",
    (_, spec) => {
      const id = componentName(spec.function);
      const topic = stack.one("aws:sns/topic:Topic", "NotificationTopic");
      const subscription = inputs(
        stack.one("aws:sns/topicSubscription:TopicSubscription", `${id}Subscription`),
      );
      expect(subscription).toMatchObject({ protocol: "lambda", topic: topic.state.arn });
      expect(subscription.endpoint).toBe(lambdaOf(spec.function).state.arn);
      expect(
        inputs(stack.one("aws:lambda/permission:Permission", `${id}TopicPermission`)),
      ).toMatchObject({
        action: "lambda:InvokeFunction",
        principal: "sns.amazonaws.com",
        sourceArn: topic.state.arn,
        function: inputs(lambdaOf(spec.function)).name,
      });
    },
  );

  it.each(channels)("%s: its function's errors are alarmed", (_, spec) => {
    const alarm = inputs(
      stack.one(
        "aws:cloudwatch/metricAlarm:MetricAlarm",
        `${componentName(spec.function)}ErrorsAlarm`,
      ),
    );
    expect(alarm).toMatchObject({ namespace: "AWS/Lambda", metricName: "Errors" });
    expect(alarm.dimensions).toEqual({ FunctionName: inputs(lambdaOf(spec.function)).name });
    expect(alarm.alarmActions.length).toBeGreaterThan(0);
  });
});

describe("every after-record channel of the notifier registry, deployed", () => {
  const channels = (Object.entries(NOTIFIERS) as [string, NotifierSpec][]).filter(
    (entry): entry is [string, AfterRecordNotifier] => entry[1].delivery === "after-record",
  );

  it.each(channels)("%s: every deciding function has its switch on, the others none", (_, spec) => {
    for (const fn of GUARDRAIL_FUNCTIONS) {
      expect(environmentOf(fn)[spec.switch], fn).toBe(
        FUNCTION_DATA_ACCESS[fn].audit ? "on" : undefined,
      );
    }
  });

  it("security-hub: every deciding function may import and update its findings", () => {
    for (const fn of GUARDRAIL_FUNCTIONS.filter((f) => FUNCTION_DATA_ACCESS[f].audit)) {
      const actions = grantsOf(fn).flatMap((s) => list(s.Action));
      for (const action of SECURITY_HUB_ACTIONS) expect(actions, fn).toContain(action);
    }
  });
});
