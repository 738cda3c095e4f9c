import "./setup";
import { createCipheriv, createHash, randomBytes } from "node:crypto";
import { readSstLinkedValue } from "@guardrail/aws";
import {
  ConfigurationError,
  checkWebhook,
  DEFAULT_POLICY_YAML,
  loadPolicy,
  PolicyArtefactError,
  PolicyValidationError,
  policyId,
  withOwnPrincipals,
} from "@guardrail/core";
import { describe, expect, it } from "vitest";
import { loadConfig, loadSlackConfig, readPolicy } from "../src/config";
import { BASE_ENV, compiledPolicy, memoryFiles, OWN_ROLE } from "./helpers";

describe("configuration at cold start", () => {
  it.each([
    ["GUARDRAIL_TABLE_NAME", undefined, /GUARDRAIL_TABLE_NAME is not set/],
    ["GUARDRAIL_TABLE_NAME", "no spaces allowed", /not a DynamoDB table name/],
    ["GUARDRAIL_TOPIC_ARN", "", /GUARDRAIL_TOPIC_ARN is not set/],
    ["GUARDRAIL_TOPIC_ARN", "arn:aws:sqs:eu-west-1:123456789012:q", /not an SNS topic ARN/],
    ["GUARDRAIL_OWN_ROLE_ARNS", "arn:aws:iam::123456789012:user/bob", /not an IAM role ARN/],
    ["GUARDRAIL_OWN_ROLE_ARNS", "[not json", /not valid JSON/],
    ["GUARDRAIL_OWN_ROLE_ARNS", "[1]", /must be a list/],
    ["GUARDRAIL_SWEEP_RATE_MINUTES", "0", /5 to 1440/],
    ["GUARDRAIL_SWEEP_RATE_MINUTES", "ten", /5 to 1440/],
  ])("refuses %s=%s with a clear message", (name, value, message) => {
    const env = { ...BASE_ENV, [name]: value };
    expect(() => loadConfig("sweep", env, memoryFiles())).toThrow(ConfigurationError);
    expect(() => loadConfig("sweep", env, memoryFiles())).toThrow(message);
  });

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

  it("uses policy.compiled.json, then policy.yaml, next to the handler before the default policy", () => {
    const both = memoryFiles({
      "/var/task/policy.yaml": DEFAULT_POLICY_YAML,
      "/var/task/policy.compiled.json": compiledPolicy(DEFAULT_POLICY_YAML),
    });
    expect(readPolicy(BASE_ENV, both).source).toBe("/var/task/policy.compiled.json");
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

const STRICT = DEFAULT_POLICY_YAML.replace("- 10.0.0.0/8 # RFC 1918", "- 10.0.0.0/9");
const sha256 = (text: string) => createHash("sha256").update(text).digest("hex");

/** The files of a deployed bundle: the compiled policy only, and no YAML reader. */
function bundleFiles(text: string): ReturnType<typeof memoryFiles> {
  const { parseSource: _, ...files } = memoryFiles({ "/var/task/policy.compiled.json": text });
  return files;
}

describe("the compiled policy at cold start", () => {
  const env = { ...BASE_ENV, GUARDRAIL_POLICY_SHA256: sha256(STRICT) };

  it("loads the policy compiled at deploy, with the source's policy id, without a YAML reader", () => {
    const config = loadConfig("security-group-change", env, bundleFiles(compiledPolicy(STRICT)));
    expect(config.policySource).toBe("/var/task/policy.compiled.json");
    expect(config.policyId).toBe(policyId(STRICT));
    expect(config.policy).toEqual(withOwnPrincipals(loadPolicy(STRICT), [OWN_ROLE]));
    expect(config.policy.networks.trusted.map((c) => c.cidr)).toContain("10.0.0.0/9");
  });

  it("fails the init on a payload that does not match its hash", () => {
    const file = JSON.parse(compiledPolicy(STRICT));
    file.payload = file.payload.replace("10.0.0.0/9", "10.0.0.0/8");
    const run = () => loadConfig("security-group-change", env, bundleFiles(JSON.stringify(file)));
    expect(run).toThrow(PolicyArtefactError);
    expect(run).toThrow(/policy\.compiled\.json: the payload does not match its sha256/);
  });

  it("fails the init on an artefact of another policy than the stack shipped", () => {
    const run = () =>
      loadConfig("security-group-change", env, bundleFiles(compiledPolicy(DEFAULT_POLICY_YAML)));
    expect(run).toThrow(PolicyArtefactError);
    expect(run).toThrow(`but the stack shipped ${sha256(STRICT)}`);
  });

  it("fails the init on truncated JSON and on another format version", () => {
    const text = compiledPolicy(STRICT);
    const truncated = () =>
      loadConfig("security-group-change", env, bundleFiles(text.slice(0, 100)));
    expect(truncated).toThrow(PolicyArtefactError);
    expect(truncated).toThrow("the compiled policy is not JSON");
    const other = text.replace("guardrail.compiled-policy/v1", "guardrail.compiled-policy/v2");
    const versioned = () => loadConfig("security-group-change", env, bundleFiles(other));
    expect(versioned).toThrow(PolicyArtefactError);
    expect(versioned).toThrow(/format "guardrail\.compiled-policy\/v2" is not/);
  });

  it("refuses policy source text in a bundle rather than parse YAML at cold start", () => {
    const { parseSource: _, ...files } = memoryFiles({ "/var/task/policy.yaml": STRICT });
    const run = () => loadConfig("security-group-change", BASE_ENV, files);
    expect(run).toThrow(PolicyArtefactError);
    expect(run).toThrow(/\/var\/task\/policy\.yaml: this function loads only a policy compiled/);
    const none = () =>
      loadConfig("security-group-change", BASE_ENV, { ...files, exists: () => false });
    expect(none).toThrow(/built-in default: this function loads only a policy compiled/);
  });
});

describe("Slack configuration", () => {
  it("reads the name of the webhook parameter, never a URL, from the environment", () => {
    const c = loadSlackConfig({
      GUARDRAIL_SLACK_WEBHOOK_PARAMETER: "/network-guardrail/test/slack-webhook-url",
      GUARDRAIL_STAGE: "test",
    });
    expect(c).toEqual({
      webhookParameter: "/network-guardrail/test/slack-webhook-url",
      stage: "test",
      version: "unversioned",
    });
  });

  it("refuses a missing or malformed parameter name", () => {
    expect(() => loadSlackConfig({})).toThrow(/GUARDRAIL_SLACK_WEBHOOK_PARAMETER is not set/);
    const mistake = () =>
      loadSlackConfig({
        GUARDRAIL_SLACK_WEBHOOK_PARAMETER: "https://hooks.example.test/secret-x?y",
      });
    expect(mistake).toThrow(/is not an SSM parameter name/);
    // A URL pasted as the name is the secret: the error does not repeat it.
    expect(mistake).not.toThrow(/secret-x/);
  });

  it("checks a webhook URL without echoing it", () => {
    expect(() => checkWebhook("http://hooks.example.test/secret-token", "the parameter p")).toThrow(
      /the parameter p must be an https URL/,
    );
    const error = (() => {
      try {
        checkWebhook("not a url secret-token", "the parameter p");
      } catch (e) {
        return e as Error;
      }
    })();
    expect(error?.message).toMatch(/does not hold a URL/);
    expect(error?.message).not.toContain("secret-token");
    expect(checkWebhook("http://127.0.0.1:9/x", "p")).toBe("http://127.0.0.1:9/x");
  });
});

describe("a linked value from SST's encrypted resource file (the external id secret)", () => {
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

  it("decrypts a linked secret the way sst/resource does", () => {
    const files: string[] = [];
    const value = readSstLinkedValue(env, "GuardrailExternalId", (path) => {
      files.push(path);
      return seal({ GuardrailExternalId: { type: "sst.sst.Secret", value: "guardrail-3f9c" } });
    });
    expect(value).toBe("guardrail-3f9c");
    expect(files).toEqual(["/var/task/resource.enc"]);
  });

  it("fails with a ConfigurationError, not the key, when the file does not decrypt", () => {
    const tampered = seal({ GuardrailExternalId: { value: "guardrail-3f9c" } });
    tampered[0] = (tampered[0] ?? 0) ^ 0xff;
    const read = () => readSstLinkedValue(env, "GuardrailExternalId", () => tampered);
    expect(read).toThrow(ConfigurationError);
    expect(read).toThrow(/cannot read SST linked resources from resource.enc/);
  });

  it("returns nothing when the file does not link the name", () => {
    expect(readSstLinkedValue(env, "GuardrailExternalId", () => seal({}))).toBeUndefined();
  });
});
