import "./setup";
import { createCipheriv, randomBytes } from "node:crypto";
import { ConfigurationError, DEFAULT_POLICY_YAML, PolicyValidationError } from "@guardrail/core";
import { describe, expect, it } from "vitest";
import { loadConfig, loadSlackConfig, readPolicy } from "../src/config";
import { BASE_ENV, memoryFiles, OWN_ROLE } from "./helpers";

describe("configuration at cold start", () => {
  it("reads every setting and adds the deployment's roles to the policy's own principals", () => {
    const config = loadConfig("security-group-change", BASE_ENV, memoryFiles());
    expect(config).toMatchObject({
      tableName: "guardrail-audit",
      topicArn: "arn:aws:sns:eu-west-1:123456789012:guardrail-alerts",
      ownRoleArns: [OWN_ROLE],
      stage: "test",
      version: "1.2.3",
      sweepRateMinutes: 15,
      policySource: "built-in default",
    });
    expect(config.policy.guardrail.ownPrincipals).toContain(OWN_ROLE);
  });

  it.each([
    ["GUARDRAIL_TABLE_NAME", undefined, /GUARDRAIL_TABLE_NAME is not set/],
    ["GUARDRAIL_TABLE_NAME", "no spaces allowed", /not a DynamoDB table name/],
    ["GUARDRAIL_TOPIC_ARN", "", /GUARDRAIL_TOPIC_ARN is not set/],
    ["GUARDRAIL_TOPIC_ARN", "arn:aws:sqs:eu-west-1:123456789012:q", /not an SNS topic ARN/],
    ["GUARDRAIL_OWN_ROLE_ARNS", "arn:aws:iam::123456789012:user/bob", /not an IAM role ARN/],
    ["GUARDRAIL_OWN_ROLE_ARNS", "[not json", /not valid JSON/],
    ["GUARDRAIL_OWN_ROLE_ARNS", "[1]", /must be a list/],
    ["GUARDRAIL_SWEEP_RATE_MINUTES", "0", /1 to 1440/],
    ["GUARDRAIL_SWEEP_RATE_MINUTES", "ten", /1 to 1440/],
  ])("refuses %s=%s with a clear message", (name, value, message) => {
    const env = { ...BASE_ENV, [name]: value };
    expect(() => loadConfig("sweep", env, memoryFiles())).toThrow(ConfigurationError);
    expect(() => loadConfig("sweep", env, memoryFiles())).toThrow(message);
  });

  it("accepts own role ARNs as a JSON list", () => {
    const env = {
      ...BASE_ENV,
      GUARDRAIL_OWN_ROLE_ARNS: JSON.stringify([OWN_ROLE, `${OWN_ROLE}-2`]),
    };
    expect(loadConfig("sweep", env, memoryFiles()).ownRoleArns).toEqual([
      OWN_ROLE,
      `${OWN_ROLE}-2`,
    ]);
  });

  it("uses policy.yaml next to the handler before the default policy", () => {
    const files = memoryFiles({ "/var/task/policy.yaml": DEFAULT_POLICY_YAML });
    expect(readPolicy(BASE_ENV, files).source).toBe("/var/task/policy.yaml");
    expect(readPolicy(BASE_ENV, memoryFiles()).source).toBe("built-in default");
  });

  it("requires the file GUARDRAIL_POLICY_FILE names, relative to the task root", () => {
    const env = { ...BASE_ENV, GUARDRAIL_POLICY_FILE: "conf/strict.yaml" };
    expect(() => readPolicy(env, memoryFiles())).toThrow(
      /no such file \(looked at \/var\/task\/conf\/strict\.yaml\)/,
    );
    const files = memoryFiles({ "/var/task/conf/strict.yaml": DEFAULT_POLICY_YAML });
    expect(readPolicy(env, files).source).toBe("/var/task/conf/strict.yaml");
  });

  it("fails at cold start on an invalid policy, naming the file and the field", () => {
    const files = memoryFiles({
      "/var/task/policy.yaml": "version: 1\nrules:\n  - id: x\n    kind: nope\n",
    });
    expect(() => loadConfig("security-group-change", BASE_ENV, files)).toThrow(
      PolicyValidationError,
    );
    expect(() => loadConfig("security-group-change", BASE_ENV, files)).toThrow(
      /\/var\/task\/policy\.yaml: rules\[0\]/,
    );
  });
});

describe("Slack configuration", () => {
  it("reads the webhook from GUARDRAIL_SLACK_WEBHOOK_URL", () => {
    const c = loadSlackConfig({
      GUARDRAIL_SLACK_WEBHOOK_URL: "https://hooks.example.test/services/T/B/x",
    });
    expect(c).toMatchObject({ webhookSource: "GUARDRAIL_SLACK_WEBHOOK_URL" });
  });

  it("reads the webhook from SST's linked secret JSON", () => {
    const c = loadSlackConfig({
      SST_RESOURCE_SlackWebhookUrl: JSON.stringify({ value: "https://hooks.example.test/x" }),
    });
    expect(c).toMatchObject({
      webhookUrl: "https://hooks.example.test/x",
      webhookSource: "SST_RESOURCE_SlackWebhookUrl",
    });
  });

  it("refuses a missing, malformed or plain-http webhook without echoing the secret", () => {
    expect(() => loadSlackConfig({})).toThrow(
      /set GUARDRAIL_SLACK_WEBHOOK_URL or link the SlackWebhookUrl secret/,
    );
    expect(() => loadSlackConfig({ SST_RESOURCE_SlackWebhookUrl: "nope" })).toThrow(/is not JSON/);
    expect(() => loadSlackConfig({ SST_RESOURCE_SlackWebhookUrl: "{}" })).toThrow(/has no "value"/);
    const secret = "http://hooks.example.test/secret-token";
    expect(() => loadSlackConfig({ GUARDRAIL_SLACK_WEBHOOK_URL: secret })).toThrow(
      /must be an https URL/,
    );
    const error = (() => {
      try {
        loadSlackConfig({ GUARDRAIL_SLACK_WEBHOOK_URL: "not a url secret-token" });
      } catch (e) {
        return e as Error;
      }
    })();
    expect(error?.message).toMatch(/does not hold a URL/);
    expect(error?.message).not.toContain("secret-token");
    expect(
      loadSlackConfig({ GUARDRAIL_SLACK_WEBHOOK_URL: "http://127.0.0.1:9/x" }).webhookUrl,
    ).toBe("http://127.0.0.1:9/x");
  });
});

describe("Slack webhook from SST's encrypted resource file", () => {
  const key = randomBytes(32);
  const seal = (data: unknown) => {
    const cipher = createCipheriv("aes-256-gcm", key, Buffer.alloc(12, 0));
    const body = Buffer.concat([cipher.update(JSON.stringify(data)), cipher.final()]);
    return Buffer.concat([body, cipher.getAuthTag()]);
  };
  const env = {
    SST_KEY: key.toString("base64"),
    SST_KEY_FILE: "resource.enc",
    LAMBDA_TASK_ROOT: "/var/task",
  };

  it("decrypts the linked SlackWebhookUrl the way sst/resource does", () => {
    const files: string[] = [];
    const cfg = loadSlackConfig(env, (path) => {
      files.push(path);
      return seal({
        SlackWebhookUrl: { type: "sst.sst.Secret", value: "https://hooks.slack.test/T/B/x" },
      });
    });
    expect(cfg.webhookUrl).toBe("https://hooks.slack.test/T/B/x");
    expect(cfg.webhookSource).toBe("SST_KEY_FILE");
    expect(files).toEqual(["/var/task/resource.enc"]);
  });

  it("fails with a ConfigurationError, not the key, when the file does not decrypt", () => {
    const tampered = seal({ SlackWebhookUrl: { value: "https://hooks.slack.test/T/B/x" } });
    tampered[0] = (tampered[0] ?? 0) ^ 0xff;
    expect(() => loadSlackConfig(env, () => tampered)).toThrow(ConfigurationError);
    expect(() => loadSlackConfig(env, () => tampered)).toThrow(
      /cannot read SST linked resources from resource.enc/,
    );
  });

  it("says the webhook is not set when the file links nothing", () => {
    expect(() => loadSlackConfig(env, () => seal({}))).toThrow(/the Slack webhook URL is not set/);
  });
});
