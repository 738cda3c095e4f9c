import { mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import {
  ConfigurationError,
  DEFAULT_POLICY_YAML,
  FUNCTION_EC2_ACTIONS,
  GUARDRAIL_FUNCTIONS,
  PolicyValidationError,
} from "@guardrail/core";
import { describe, expect, it } from "vitest";
import { alarmName, componentName, roleArn, roleName } from "../../stacks/naming";
import {
  ec2ResourcesFor,
  functionStatements,
  type PermissionScope,
} from "../../stacks/permissions";
import { GENERATED_POLICY_FILE, preparePolicyFile } from "../../stacks/policy-file";
import { appConfig, isProductionStage, readDeploySettings } from "../../stacks/settings";

describe("deploy settings", () => {
  it("defaults to us-east-1, the registry's sweep rate, reserved concurrency on, nothing provisioned", () => {
    expect(readDeploySettings("dev", {}, "0.1.0")).toEqual({
      stage: "dev",
      production: false,
      region: "us-east-1",
      sweepRateMinutes: 15,
      provisionedConcurrency: 0,
      reservedConcurrency: true,
      alertEmail: undefined,
      version: "0.1.0",
      organization: null,
    });
  });

  it("reads every setting from the environment", () => {
    const settings = readDeploySettings(
      "production",
      {
        GUARDRAIL_REGION: "eu-west-1",
        GUARDRAIL_SWEEP_RATE_MINUTES: "60",
        GUARDRAIL_PROVISIONED_CONCURRENCY: "2",
        GUARDRAIL_RESERVED_CONCURRENCY: "off",
        GUARDRAIL_ALERT_EMAIL: "sec@example.com",
        GUARDRAIL_VERSION: "2.0.0+abc",
      },
      "0.1.0",
    );
    expect(settings).toEqual({
      stage: "production",
      production: true,
      region: "eu-west-1",
      sweepRateMinutes: 60,
      provisionedConcurrency: 2,
      reservedConcurrency: false,
      alertEmail: "sec@example.com",
      version: "2.0.0+abc",
      organization: null,
    });
  });

  it.each([
    ["GUARDRAIL_SWEEP_RATE_MINUTES", "4"],
    ["GUARDRAIL_SWEEP_RATE_MINUTES", "1441"],
    ["GUARDRAIL_SWEEP_RATE_MINUTES", "15.5"],
    ["GUARDRAIL_SWEEP_RATE_MINUTES", "soon"],
    ["GUARDRAIL_PROVISIONED_CONCURRENCY", "-1"],
    ["GUARDRAIL_PROVISIONED_CONCURRENCY", "101"],
    ["GUARDRAIL_RESERVED_CONCURRENCY", "maybe"],
    ["GUARDRAIL_ALERT_EMAIL", "not-an-email"],
    ["GUARDRAIL_REGION", "Mars"],
  ])("refuses %s=%s with a ConfigurationError naming the variable", (name, value) => {
    const read = () => readDeploySettings("dev", { [name]: value }, "0.1.0");
    expect(read).toThrow(ConfigurationError);
    expect(read).toThrow(name);
  });

  it("refuses a stage name that cannot appear in resource names", () => {
    expect(() => readDeploySettings("my_stage", {}, "0.1.0")).toThrow(ConfigurationError);
    expect(() => readDeploySettings("-x", {}, "0.1.0")).toThrow(/stage "-x"/);
  });

  it("ignores empty variables, as a shell leaves them", () => {
    expect(
      readDeploySettings("dev", { GUARDRAIL_SWEEP_RATE_MINUTES: " " }, "1").sweepRateMinutes,
    ).toBe(15);
  });

  it("treats prod and production as production stages only", () => {
    expect(["prod", "production"].map(isProductionStage)).toEqual([true, true]);
    expect(["dev", "ci", "prod-test", "Prod"].map(isProductionStage)).toEqual([
      false,
      false,
      false,
      false,
    ]);
  });

  it("retains and protects production, removes other stages, and pins the AWS provider", () => {
    expect(appConfig("prod", { GUARDRAIL_REGION: "eu-central-1" })).toEqual({
      name: "network-guardrail",
      home: "aws",
      removal: "retain",
      protect: true,
      providers: { aws: { region: "eu-central-1", version: "7.20.0" } },
    });
    expect(appConfig("dev", {})).toMatchObject({ removal: "remove", protect: false });
  });
});

describe("naming", () => {
  it("names a role app-stage-region-function", () => {
    expect(roleName("network-guardrail", "prod", "us-east-1", "sweep")).toBe(
      "network-guardrail-prod-us-east-1-sweep",
    );
  });

  it("keeps long role names within IAM's 64 characters, unique and still ending in the function", () => {
    const a = roleName(
      "network-guardrail",
      "feature-branch-1234",
      "ap-southeast-2",
      "security-group-change",
    );
    const b = roleName(
      "network-guardrail",
      "feature-branch-1235",
      "ap-southeast-2",
      "security-group-change",
    );
    expect(a.length).toBeLessThanOrEqual(64);
    expect(b.length).toBeLessThanOrEqual(64);
    expect(a).not.toBe(b);
    expect(a.endsWith("-security-group-change")).toBe(true);
  });

  it("builds role ARNs at path /, component names and alarm names", () => {
    expect(roleArn("aws-us-gov", "111122223333", "r")).toBe(
      "arn:aws-us-gov:iam::111122223333:role/r",
    );
    expect(GUARDRAIL_FUNCTIONS.map(componentName)).toEqual([
      "SecurityGroupChange",
      "NetworkAclChange",
      "PrefixListChange",
      "Sweep",
      "SlackNotifier",
    ]);
    expect(alarmName("network-guardrail", "dev", "sweep-not-run")).toBe(
      "network-guardrail-dev-sweep-not-run",
    );
  });
});

describe("function permissions", () => {
  const scope: PermissionScope = {
    partition: "aws",
    region: "eu-west-1",
    accountId: "111122223333",
    tableArn: "arn:aws:dynamodb:eu-west-1:111122223333:table/audit",
    topicArn: "arn:aws:sns:eu-west-1:111122223333:topic",
    topicKeyArn: "arn:aws:kms:eu-west-1:111122223333:key/k",
    deadLetterQueueArn: "arn:aws:sqs:eu-west-1:111122223333:dlq",
  };

  it("knows a resource scope for every EC2 action in the registry", () => {
    for (const fn of GUARDRAIL_FUNCTIONS) {
      for (const action of FUNCTION_EC2_ACTIONS[fn]) {
        expect(ec2ResourcesFor(action, scope).length, action).toBeGreaterThan(0);
      }
    }
  });

  it("refuses an EC2 action whose scope was never decided", () => {
    expect(() => ec2ResourcesFor("ec2:ModifySecurityGroupRules", scope)).toThrow(
      ConfigurationError,
    );
    expect(() => ec2ResourcesFor("ec2:ModifySecurityGroupRules", scope)).toThrow(
      /ec2:ModifySecurityGroupRules/,
    );
  });

  it("scopes to the given partition, Region and account, and any owner for prefix lists", () => {
    expect(ec2ResourcesFor("ec2:DeleteNetworkAclEntry", scope)).toEqual([
      "arn:aws:ec2:eu-west-1:111122223333:network-acl/*",
    ]);
    expect(ec2ResourcesFor("ec2:GetManagedPrefixListEntries", scope)).toEqual([
      "arn:aws:ec2:eu-west-1:*:prefix-list/*",
    ]);
    expect(ec2ResourcesFor("ec2:DescribeNetworkAcls", scope)).toEqual(["*"]);
  });

  it("gives the notifier nothing but its dead-letter destination and its rate counter", () => {
    expect(functionStatements("slack-notifier", scope)).toEqual([
      { effect: "allow", actions: ["sqs:SendMessage"], resources: [scope.deadLetterQueueArn] },
      { effect: "allow", actions: ["dynamodb:UpdateItem"], resources: [scope.tableArn] },
    ]);
  });

  it("lets the sweep read trail status and its account's event rules, nothing more", () => {
    const statements = functionStatements("sweep", scope);
    expect(statements).toContainEqual({
      effect: "allow",
      actions: ["cloudtrail:GetTrailStatus"],
      resources: ["arn:aws:cloudtrail:*:*:trail/*"],
    });
    expect(statements).toContainEqual({
      effect: "allow",
      actions: ["events:DescribeRule"],
      resources: [`arn:aws:events:${scope.region}:${scope.accountId}:rule/*`],
    });
  });

  it("groups actions that share resources and grants each action once", () => {
    const statements = functionStatements("sweep", scope);
    const actions = statements.flatMap((s) => s.actions);
    expect(new Set(actions).size).toBe(actions.length);
    const resourceSets = statements.map((s) => s.resources.join(","));
    expect(new Set(resourceSets).size).toBe(resourceSets.length);
  });
});

describe("policy file", () => {
  const tmpRoot = () => mkdtempSync(join(tmpdir(), "guardrail-policy-"));

  it("ships core's default policy when the repository has no guardrail.policy.yaml", () => {
    const root = tmpRoot();
    const prepared = preparePolicyFile(root);
    expect(prepared.source).toBe("(default policy)");
    expect(prepared.file).toBe(GENERATED_POLICY_FILE);
    expect(readFileSync(join(root, prepared.file), "utf8")).toBe(DEFAULT_POLICY_YAML);
    expect(prepared.sha256).toMatch(/^[0-9a-f]{64}$/);
  });

  it("ships the user's guardrail.policy.yaml verbatim when it is valid", () => {
    const root = tmpRoot();
    const text = `# ours\n${DEFAULT_POLICY_YAML}`;
    writeFileSync(join(root, "guardrail.policy.yaml"), text);
    const prepared = preparePolicyFile(root);
    expect(prepared.source).toBe("guardrail.policy.yaml");
    expect(readFileSync(join(root, prepared.file), "utf8")).toBe(text);
  });

  it("fails the deploy with an error naming the file and the offending field", () => {
    const root = tmpRoot();
    writeFileSync(join(root, "guardrail.policy.yaml"), "version: 1\nrules: 7\n");
    let caught: unknown;
    try {
      preparePolicyFile(root);
    } catch (error) {
      caught = error;
    }
    expect(caught).toBeInstanceOf(ConfigurationError);
    expect((caught as Error).message).toMatch(/^guardrail\.policy\.yaml: policy is invalid/);
    expect((caught as Error).message).toContain("rules");
    expect((caught as Error).cause).toBeInstanceOf(PolicyValidationError);
  });

  it("reports YAML syntax errors the same way", () => {
    const root = tmpRoot();
    writeFileSync(join(root, "guardrail.policy.yaml"), "rules: [\n");
    expect(() => preparePolicyFile(root)).toThrow(/^guardrail\.policy\.yaml: /);
  });
});
