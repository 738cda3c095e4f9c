import { GUARDRAIL_FUNCTIONS, METRIC_SERVICE_DIMENSION, metricServiceName } from "@guardrail/core";
import { componentName } from "@guardrail/templates";
import { beforeAll, describe, expect, it, vi } from "vitest";
import { runStack, type StackRun } from "./sst-harness";

vi.mock("../../.sst/platform/src/components/rpc/rpc", async () =>
  (await import("./sst-rpc-mock")).mockedRpcModule(),
);

// Not named prod: the user marks the stage production, and protection follows the mark.
const STAGE = "live";
let stack: StackRun;

beforeAll(async () => {
  stack = await runStack(STAGE, {
    GUARDRAIL_PRODUCTION: "on",
    GUARDRAIL_PROVISIONED_CONCURRENCY: "3",
    GUARDRAIL_SWEEP_RATE_MINUTES: "30",
    GUARDRAIL_ALERT_EMAIL: "oncall@example.com",
    GUARDRAIL_VERSION: "1.2.3",
  });
}, 240_000);

const lambda = (fn: string) =>
  stack.one("aws:lambda/function:Function", `${componentName(fn as never)}Function`);

describe("a stage marked production", () => {
  it("retains data and protects the stage from sst remove, whatever its name", () => {
    expect(stack.app).toMatchObject({ removal: "retain", protect: true });
    expect(stack.outputs._protect).toBe(true);
    expect(stack.one("aws:dynamodb/table:Table", "AuditTable").inputs).toMatchObject({
      deletionProtectionEnabled: true,
      pointInTimeRecovery: { enabled: true },
    });
    expect(stack.one("aws:kms/key:Key", "TopicKey").inputs.deletionWindowInDays).toBe(30);
  });

  it("keeps function logs for a year", () => {
    const groups = stack.of("aws:cloudwatch/logGroup:LogGroup");
    expect(groups).toHaveLength(GUARDRAIL_FUNCTIONS.length);
    for (const group of groups) expect(group.inputs.retentionInDays).toBe(365);
  });

  it("takes the sweep rate, version and alert email from the deploy environment", () => {
    expect(
      stack.one("aws:cloudwatch/eventRule:EventRule", "SweepSchedule").inputs.scheduleExpression,
    ).toBe("rate(30 minutes)");
    const sweepAlarm = stack
      .of("aws:cloudwatch/metricAlarm:MetricAlarm")
      .find((a) => a.inputs.name === "network-guardrail-live-sweep-not-run");
    expect(sweepAlarm?.inputs).toMatchObject({
      period: 1800,
      dimensions: { [METRIC_SERVICE_DIMENSION]: metricServiceName(STAGE) },
    });
    for (const fn of GUARDRAIL_FUNCTIONS) {
      expect(lambda(fn).inputs.environment.variables, fn).toMatchObject({
        GUARDRAIL_SWEEP_RATE_MINUTES: "30",
        GUARDRAIL_VERSION: "1.2.3",
        GUARDRAIL_STAGE: STAGE,
        POWERTOOLS_SERVICE_NAME: metricServiceName(STAGE),
      });
    }
    const email = stack
      .of("aws:sns/topicSubscription:TopicSubscription")
      .filter((s) => s.inputs.protocol === "email");
    // The notification topic, and the plain alarm topic (no custom key) as well.
    expect(email.map((s) => s.inputs)).toEqual(
      expect.arrayContaining([
        {
          topic: stack.one("aws:sns/topic:Topic", "NotificationTopic").state.arn,
          protocol: "email",
          endpoint: "oncall@example.com",
        },
        {
          topic: stack.one("aws:sns/topic:Topic", "AlarmTopic").state.arn,
          protocol: "email",
          endpoint: "oncall@example.com",
        },
      ]),
    );
    expect(email).toHaveLength(2);
  });

  describe("with provisioned concurrency for security-group-change", () => {
    it("publishes a version and provisions it", () => {
      const fn = lambda("security-group-change");
      expect(fn.inputs.publish).toBe(true);
      expect(fn.inputs.reservedConcurrentExecutions).toBe(25);
      const configs = stack.of(
        "aws:lambda/provisionedConcurrencyConfig:ProvisionedConcurrencyConfig",
      );
      expect(configs.map((c) => c.inputs)).toEqual([
        { functionName: fn.state.name, qualifier: "1", provisionedConcurrentExecutions: 3 },
      ]);
    });

    it("routes events to the provisioned version, not $LATEST", () => {
      const fn = lambda("security-group-change");
      expect(
        stack.one("aws:cloudwatch/eventTarget:EventTarget", "SecurityGroupChangeTarget").inputs.arn,
      ).toBe(`${fn.state.arn}:1`);
      expect(
        stack.one("aws:lambda/permission:Permission", "SecurityGroupChangeEventsPermission").inputs,
      ).toMatchObject({ qualifier: "1", principal: "events.amazonaws.com" });
      expect(
        stack.one(
          "aws:lambda/functionEventInvokeConfig:FunctionEventInvokeConfig",
          "SecurityGroupChangeInvokeConfig",
        ).inputs.qualifier,
      ).toBe("1");
    });

    it("leaves the other functions unversioned", () => {
      for (const fn of GUARDRAIL_FUNCTIONS.filter((f) => f !== "security-group-change")) {
        expect(lambda(fn).inputs.publish, fn).toBe(false);
      }
      expect(
        stack.one("aws:cloudwatch/eventTarget:EventTarget", "NetworkAclChangeTarget").inputs.arn,
      ).toBe(lambda("network-acl-change").state.arn);
    });
  });
});
