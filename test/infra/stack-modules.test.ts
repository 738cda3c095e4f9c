import { createHash } from "node:crypto";
import { mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import {
  AUDIT_KEY_PREFIX,
  AUDIT_TABLE,
  attemptKey,
  auditKey,
  ConfigurationError,
  chainEntryKey,
  chainHeadKey,
  DEFAULT_POLICY_YAML,
  EVIDENCE_FUNCTIONS,
  type ExemptionNotice,
  exemptionAuditItem,
  FUNCTION_EC2_ACTIONS,
  flapCounterKey,
  GUARDRAIL_FUNCTIONS,
  type GuardrailFunction,
  loadPolicy,
  PolicyValidationError,
  policyId,
  postureDayKey,
  postureKey,
  readCompiledPolicy,
  sightingsKey,
  slackWindowKey,
  stateKey,
  tagRecordKey,
} from "@guardrail/core";
import {
  alarmName,
  auditStatements,
  componentName,
  type EvidenceScope,
  ec2ResourcesFor,
  evidenceStatements,
  functionStatements,
  type PermissionScope,
  parameterArn,
  roleArn,
  roleName,
  slackAppStatements,
} from "@guardrail/templates";
import { describe, expect, it } from "vitest";
import { GENERATED_POLICY_FILE, preparePolicyFile } from "../../stacks/policy-file";
import { appConfig, isProductionStage, readDeploySettings } from "../../stacks/settings";

describe("deploy settings", () => {
  it("defaults to us-east-1, the registry's sweep rate, reserved concurrency on, nothing provisioned", () => {
    expect(readDeploySettings("dev", {}, "0.1.0")).toEqual({
      stage: "dev",
      production: false,
      protection: false,
      slackWebhookParameter: "/network-guardrail/dev/slack-webhook-url",
      region: "us-east-1",
      sweepRateMinutes: 15,
      provisionedConcurrency: 0,
      reservedConcurrency: true,
      alertEmail: undefined,
      version: "0.1.0",
      regions: { kind: "all" },
      organization: null,
      securityHub: false,
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
        GUARDRAIL_REGIONS: "eu-west-1,ap-southeast-2",
      },
      "0.1.0",
    );
    expect(settings).toEqual({
      stage: "production",
      production: true,
      protection: true,
      slackWebhookParameter: "/network-guardrail/production/slack-webhook-url",
      region: "eu-west-1",
      sweepRateMinutes: 60,
      provisionedConcurrency: 2,
      reservedConcurrency: false,
      alertEmail: "sec@example.com",
      version: "2.0.0+abc",
      regions: { kind: "list", regions: ["eu-west-1", "ap-southeast-2"] },
      organization: null,
      securityHub: false,
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

  it("treats prod and production as production stages unless told otherwise", () => {
    expect(["prod", "production"].map((s) => isProductionStage(s))).toEqual([true, true]);
    expect(["dev", "ci", "prod-test", "Prod"].map((s) => isProductionStage(s))).toEqual([
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

  it("protects any stage the user marks as production, whatever its name", () => {
    const live = { GUARDRAIL_PRODUCTION: "on" };
    expect(isProductionStage("live", live)).toBe(true);
    expect(appConfig("live", live)).toMatchObject({ removal: "retain", protect: true });
    expect(readDeploySettings("live", live, "1")).toMatchObject({
      production: true,
      protection: true,
    });
    expect(isProductionStage("prod", { GUARDRAIL_PRODUCTION: "off" })).toBe(false);
    expect(appConfig("prod", { GUARDRAIL_PRODUCTION: "off" })).toMatchObject({ protect: false });
  });

  it("lets GUARDRAIL_PROTECTION override the default either way, and refuses other values", () => {
    expect(readDeploySettings("prod", { GUARDRAIL_PROTECTION: "off" }, "1")).toMatchObject({
      production: true,
      protection: false,
    });
    expect(appConfig("dev", { GUARDRAIL_PROTECTION: "on" })).toMatchObject({
      removal: "retain",
      protect: true,
    });
    expect(() => appConfig("dev", { GUARDRAIL_PRODUCTION: "yes please" })).toThrow(
      /GUARDRAIL_PRODUCTION="yes please" must be "on" or "off"/,
    );
  });

  it("names the Slack webhook parameter after the stage unless given, and checks the name", () => {
    expect(readDeploySettings("dev", {}, "1").slackWebhookParameter).toBe(
      "/network-guardrail/dev/slack-webhook-url",
    );
    expect(
      readDeploySettings("dev", { GUARDRAIL_SLACK_WEBHOOK_PARAMETER: "/team/slack" }, "1")
        .slackWebhookParameter,
    ).toBe("/team/slack");
    expect(() =>
      readDeploySettings("dev", { GUARDRAIL_SLACK_WEBHOOK_PARAMETER: "/aws/reserved" }, "1"),
    ).toThrow(/is not an SSM parameter name/);
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
    slackWebhookParameterArn: parameterArn("aws", "eu-west-1", "111122223333", "/gr/dev/slack"),
  };
  const evidenceScope: EvidenceScope = {
    tableArn: scope.tableArn,
    topicArn: scope.topicArn,
    topicKeyArn: scope.topicKeyArn,
    chainQueueArn: "arn:aws:sqs:eu-west-1:111122223333:chain.fifo",
    bucketArn: "arn:aws:s3:::evidence",
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

  it("gives the notifier its webhook parameter, its dead-letter destination and its rate counter, nothing else", () => {
    expect(functionStatements("slack-notifier", scope)).toEqual([
      {
        effect: "allow",
        actions: ["ssm:GetParameter"],
        resources: ["arn:aws:ssm:eu-west-1:111122223333:parameter/gr/dev/slack"],
      },
      { effect: "allow", actions: ["sqs:SendMessage"], resources: [scope.deadLetterQueueArn] },
      {
        effect: "allow",
        actions: ["dynamodb:UpdateItem"],
        resources: [scope.tableArn],
        conditions: [
          {
            test: "ForAllValues:StringLike",
            variable: "dynamodb:LeadingKeys",
            values: ["SLACK#*"],
          },
        ],
      },
    ]);
    expect(parameterArn("aws", "eu-west-1", "1", "plain")).toBe(
      "arn:aws:ssm:eu-west-1:1:parameter/plain",
    );
  });

  it("keeps decision writes to DECISION# items and state to STATE# items, by LeadingKeys", () => {
    const table = scope.tableArn;
    const decisions = {
      effect: "allow",
      actions: ["dynamodb:PutItem", "dynamodb:UpdateItem"],
      resources: [table],
      conditions: [
        {
          test: "ForAllValues:StringLike",
          variable: "dynamodb:LeadingKeys",
          values: ["DECISION#*"],
        },
      ],
    };
    const trail = {
      effect: "allow",
      actions: ["dynamodb:Query"],
      resources: [`${table}/index/byResource`],
    };
    const prefixed = (actions: string[], prefix: string) => ({
      effect: "allow",
      actions,
      resources: [table],
      conditions: [
        { test: "ForAllValues:StringLike", variable: "dynamodb:LeadingKeys", values: [prefix] },
      ],
    });
    const tags = prefixed(
      ["dynamodb:GetItem", "dynamodb:PutItem", "dynamodb:UpdateItem", "dynamodb:Query"],
      "TAG#*",
    );
    const flaps = prefixed(
      ["dynamodb:GetItem", "dynamodb:PutItem", "dynamodb:UpdateItem"],
      "FLAP#*",
    );
    const attempts = prefixed(["dynamodb:UpdateItem"], "ATTEMPTS#*");
    const exemptions = prefixed(["dynamodb:PutItem"], "EXEMPTION#*");
    const sightings = prefixed(["dynamodb:GetItem", "dynamodb:PutItem"], "SIGHTINGS#*");
    const posture = prefixed(["dynamodb:GetItem", "dynamodb:PutItem"], "POSTURE#*");
    const state = (actions: string[]) => ({
      effect: "allow",
      actions,
      resources: [table],
      conditions: [
        { test: "ForAllValues:StringLike", variable: "dynamodb:LeadingKeys", values: ["STATE#*"] },
      ],
    });
    for (const fn of [
      "security-group-change",
      "network-acl-change",
      "prefix-list-change",
    ] as const) {
      expect(auditStatements(fn, table), fn).toEqual([
        decisions,
        state(["dynamodb:GetItem"]),
        tags,
        flaps,
        exemptions,
        attempts,
        trail,
      ]);
    }
    expect(auditStatements("sweep", table)).toEqual([
      decisions,
      sightings,
      posture,
      state(["dynamodb:GetItem", "dynamodb:Query", "dynamodb:BatchWriteItem"]),
      tags,
      flaps,
      exemptions,
      attempts,
      trail,
    ]);
    expect(auditStatements("slack-notifier", table)).toEqual([]);
  });

  it("grants each kind of audit item under the key prefix its key builder writes", () => {
    // DynamoDB's LeadingKeys condition only lets through keys that start with a granted prefix:
    // an item written under any other prefix would be denied in AWS (the local store has no IAM).
    expect(auditKey("e-1").pk.startsWith(AUDIT_KEY_PREFIX.decision)).toBe(true);
    expect(stateKey("1", "eu-west-1", "sg-1").pk.startsWith(AUDIT_KEY_PREFIX.state)).toBe(true);
    expect(tagRecordKey("1", "eu-west-1", "sg-1", "k").pk.startsWith(AUDIT_KEY_PREFIX.tag)).toBe(
      true,
    );
    expect(flapCounterKey("r").pk.startsWith(AUDIT_KEY_PREFIX.flap)).toBe(true);
    expect(attemptKey("e-1").pk.startsWith(AUDIT_KEY_PREFIX.attempts)).toBe(true);
    expect(sightingsKey("1", "eu-west-1").pk.startsWith(AUDIT_KEY_PREFIX.sightings)).toBe(true);
    expect(slackWindowKey(60).pk.startsWith(AUDIT_KEY_PREFIX.slack)).toBe(true);
    expect(
      String(
        exemptionAuditItem({
          id: "x-1",
          decidedAt: "2026-12-06T00:00:00Z",
        } as unknown as ExemptionNotice)[AUDIT_TABLE.partitionKey],
      ).startsWith(AUDIT_KEY_PREFIX.exemption),
    ).toBe(true);
    // With every optional export on (Security Hub's records have a prefix of their own).
    const granted = (fn: GuardrailFunction) =>
      functionStatements(fn, scope, null, true).flatMap(
        (st) => st.conditions?.flatMap((c) => c.values) ?? [],
      );
    const evidence = EVIDENCE_FUNCTIONS.flatMap((fn) =>
      evidenceStatements(fn, evidenceScope).flatMap(
        (st) => st.conditions?.flatMap((c) => c.values) ?? [],
      ),
    );
    expect(chainEntryKey("1", "eu-west-1", 1).pk.startsWith(AUDIT_KEY_PREFIX.chain)).toBe(true);
    expect(chainHeadKey("1", "eu-west-1").pk.startsWith(AUDIT_KEY_PREFIX.chain)).toBe(true);
    expect(postureKey("1", "eu-west-1").pk.startsWith(AUDIT_KEY_PREFIX.posture)).toBe(true);
    expect(
      postureDayKey("1", "eu-west-1", "2026-12-06").pk.startsWith(AUDIT_KEY_PREFIX.posture),
    ).toBe(true);
    const slackApp = (["slack-interactions", "slack-actions"] as const).flatMap((fn) =>
      slackAppStatements(fn, {
        ...scope,
        slackTokenParameterArn: "arn:aws:ssm:eu-west-1:1:parameter/t",
        slackSigningSecretParameterArn: "arn:aws:ssm:eu-west-1:1:parameter/s",
        workerFunctionArn: "arn:aws:lambda:eu-west-1:1:function:worker",
        exemptionTagKeys: ["guardrail-exempt"],
      }).flatMap((st) => st.conditions?.flatMap((c) => c.values) ?? []),
    );
    const all = [...new Set([...GUARDRAIL_FUNCTIONS.flatMap(granted), ...evidence, ...slackApp])];
    for (const prefix of Object.values(AUDIT_KEY_PREFIX)) expect(all).toContain(`${prefix}*`);
    expect(granted("slack-notifier")).toEqual([`${AUDIT_KEY_PREFIX.slack}*`]);
  });

  it("never lets a function delete audit items, and only the sweep batch (state items only)", () => {
    for (const fn of GUARDRAIL_FUNCTIONS) {
      for (const statement of functionStatements(fn, scope)) {
        expect(statement.actions, fn).not.toContain("dynamodb:DeleteItem");
        if (statement.actions.includes("dynamodb:BatchWriteItem")) {
          expect(fn).toBe("sweep");
          expect(statement.conditions?.[0]?.values).toEqual(["STATE#*"]);
        }
      }
    }
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

  it("groups actions that share resources and grants each action once per resource scope", () => {
    const statements = functionStatements("sweep", scope);
    const grants = statements.flatMap((s) =>
      s.actions.map((a) => `${a} ${s.resources.join(",")} ${JSON.stringify(s.conditions ?? [])}`),
    );
    expect(new Set(grants).size).toBe(grants.length);
    const resourceSets = statements.map(
      (s) => `${s.resources.join(",")} ${JSON.stringify(s.conditions ?? [])}`,
    );
    expect(new Set(resourceSets).size).toBe(resourceSets.length);
  });
});

describe("policy file", () => {
  const tmpRoot = () => mkdtempSync(join(tmpdir(), "guardrail-policy-"));

  it("ships core's default policy when the repository has no guardrail.policy.yaml", () => {
    const root = tmpRoot();
    const prepared = preparePolicyFile(root);
    expect(prepared.source).toBe("built-in default");
    expect(prepared.file).toBe(GENERATED_POLICY_FILE);
    const compiled = readCompiledPolicy(readFileSync(join(root, prepared.file), "utf8"), "shipped");
    expect(compiled.policy).toEqual(loadPolicy(DEFAULT_POLICY_YAML));
    expect(compiled.policyId).toBe(prepared.id);
    expect(prepared.sha256).toMatch(/^[0-9a-f]{64}$/);
    expect(compiled.sourceSha256).toBe(prepared.sha256);
  });

  it("ships the user's guardrail.policy.yaml, compiled, with its text's hash and id", () => {
    const root = tmpRoot();
    const text = `# ours\n${DEFAULT_POLICY_YAML.replace("- 10.0.0.0/8 # RFC 1918", "- 10.0.0.0/9")}`;
    writeFileSync(join(root, "guardrail.policy.yaml"), text);
    const prepared = preparePolicyFile(root);
    expect(prepared.source).toBe("guardrail.policy.yaml");
    const compiled = readCompiledPolicy(readFileSync(join(root, prepared.file), "utf8"), "shipped");
    expect(compiled.policy).toEqual(loadPolicy(text));
    expect(compiled.policyId).toBe(policyId(text));
    expect(compiled.sourceSha256).toBe(createHash("sha256").update(text).digest("hex"));
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
