import { NOTIFY_REQUEST_TIMEOUT_MS, notifyClientOptions } from "@guardrail/aws";
import "./setup";
import { GetParameterCommand, SSMClient } from "@aws-sdk/client-ssm";
import { ConfigurationError, metricServiceName } from "@guardrail/core";
import { mockClient } from "aws-sdk-client-mock";
import { describe, expect, it, vi } from "vitest";
import { createObservability, DEFAULT_SETTLE_MS, defaultRemediationDeps } from "../src/deps";
import { defaultSlackNotifierDeps } from "../src/pipelines/slack-notifier";
import { BASE_ENV, deployedPolicyEnv } from "./helpers";

const quiet = { POWERTOOLS_LOG_LEVEL: "SILENT", ...deployedPolicyEnv() };

describe("production wiring", () => {
  it("builds every dependency from the environment without calling AWS", () => {
    const deps = defaultRemediationDeps("security-group-change", {
      ...BASE_ENV,
      ...quiet,
      AWS_REGION: "eu-west-1",
    });
    expect(deps.config).toMatchObject({
      function: "security-group-change",
      tableName: "guardrail-audit",
    });
    expect(deps.settleMs).toBe(DEFAULT_SETTLE_MS);
    expect(typeof deps.ec2.execute).toBe("function");
    expect(typeof deps.audit.putDecision).toBe("function");
    expect(typeof deps.notifier.publish).toBe("function");
    expect(deps.clock()).toBeInstanceOf(Date);
  });

  it("knows its own Lambda timeout, after which a notification claim is abandoned", () => {
    const env = { ...BASE_ENV, ...quiet };
    expect(defaultRemediationDeps("security-group-change", env).config.functionTimeoutMs).toBe(
      90_000,
    );
    expect(defaultRemediationDeps("prefix-list-change", env).config.functionTimeoutMs).toBe(
      120_000,
    );
  });

  it("gives up on an SNS request after 5 s with an error, not a warning", () => {
    expect(NOTIFY_REQUEST_TIMEOUT_MS).toBe(5_000);
    expect(notifyClientOptions().requestHandler).toEqual({
      requestTimeout: 5_000,
      throwOnRequestTimeout: true,
    });
  });

  it("fails at cold start when a setting is missing", () => {
    expect(() => defaultRemediationDeps("sweep", { ...quiet })).toThrow(ConfigurationError);
  });

  it("names the metric service after the stage unless Powertools is told otherwise", () => {
    const { metrics } = createObservability("sweep", { GUARDRAIL_STAGE: "prod", ...quiet });
    expect(JSON.stringify(metrics.serializeMetrics())).toContain(metricServiceName("prod"));
    const named = createObservability("sweep", { POWERTOOLS_SERVICE_NAME: "custom", ...quiet });
    expect(JSON.stringify(named.metrics.serializeMetrics())).toContain("custom");
  });

  it("builds the Slack notifier from the parameter name and reads the webhook at cold start", async () => {
    const ssm = mockClient(SSMClient);
    try {
      ssm.on(GetParameterCommand).resolves({
        Parameter: {
          Name: "/gr/t/slack",
          Type: "SecureString",
          Value: "https://hooks.example.test/x",
        },
      });
      const deps = defaultSlackNotifierDeps({
        GUARDRAIL_SLACK_WEBHOOK_PARAMETER: "/gr/t/slack",
        ...quiet,
      });
      expect(deps.config.webhookParameter).toBe("/gr/t/slack");
      // Before any event: the read starts when the execution environment is set up.
      await vi.waitFor(() => expect(ssm.commandCalls(GetParameterCommand)).toHaveLength(1));
      expect(ssm.commandCalls(GetParameterCommand)[0]?.args[0].input).toEqual({
        Name: "/gr/t/slack",
        WithDecryption: true,
      });
      expect(() => defaultSlackNotifierDeps({ ...quiet })).toThrow(ConfigurationError);
    } finally {
      ssm.restore();
    }
  });
});
