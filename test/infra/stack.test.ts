import { createDecipheriv, createHash } from "node:crypto";
import { readFileSync } from "node:fs";
import { dirname, join } from "node:path";
import {
  ALARMS,
  AUDIT_KEY_PREFIX,
  AUDIT_TABLE,
  BUNDLED_POLICY_FILE,
  DEFAULT_POLICY_YAML,
  DEFAULT_SWEEP_RATE_MINUTES,
  DELIVERY,
  EVENT_DRIVEN_FUNCTIONS,
  EVENT_SPECS,
  EVIDENCE_FUNCTIONS,
  eventPatternFor,
  FUNCTION_DATA_ACCESS,
  FUNCTION_EC2_ACTIONS,
  FUNCTION_ENV,
  FUNCTION_SIZING,
  GUARDRAIL_FUNCTIONS,
  type GuardrailFunction,
  HANDLED_EVENT_NAMES,
  METRIC_SERVICE_DIMENSION,
  METRICS,
  metricServiceName,
  NOTIFY_ACTIONS,
  policyId,
  readCompiledPolicy,
  SLACK_FUNCTION_ENV,
  STACK_OUTPUTS,
  TAG_EVENT_SPECS,
  TARGET_RETRY,
  TOPIC_KEY_ACTIONS,
} from "@guardrail/core";
import { defaultPolicyFiles, loadConfig, loadSlackConfig } from "@guardrail/functions/config";
import { matchesPattern } from "@guardrail/sandbox/pattern-matcher";
import {
  auditStatements,
  componentName,
  exemptionTagKeys,
  leadingKeys,
  roleName,
  type Statement,
} from "@guardrail/templates";
import { beforeAll, describe, expect, it, vi } from "vitest";
import { main } from "../../packages/cli/src/main";
import { memoryIo } from "../../packages/cli/test/support/io";
import { fixtureEvents } from "./fixture-events";
import { ACCOUNT_ID, REGION, type RecordedResource, runStack, type StackRun } from "./sst-harness";
import { ROOT } from "./sst-rpc-mock";

vi.mock("../../.sst/platform/src/components/rpc/rpc", async () =>
  (await import("./sst-rpc-mock")).mockedRpcModule(),
);

const STAGE = "ci";
let stack: StackRun;

beforeAll(async () => {
  stack = await runStack(STAGE);
}, 240_000);

/** Pulumi wraps secret-tainted values as `{ <sig>: <secret sig>, value }` in mock inputs. */
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
  Sid?: string;
  Effect: string;
  Action: string | string[];
  Resource: string | string[];
  Principal?: unknown;
  Condition?: Record<string, Record<string, unknown>>;
}
const list = (v: string | string[]) => (Array.isArray(v) ? v : [v]);

const lambdaOf = (fn: GuardrailFunction) =>
  stack.one("aws:lambda/function:Function", `${componentName(fn)}Function`);
const roleOf = (fn: GuardrailFunction) =>
  stack.one("aws:iam/role:Role", `${componentName(fn)}Role`);
const arnOf = (r: RecordedResource) => String(r.state.arn);
const table = () => stack.one("aws:dynamodb/table:Table", "AuditTable");
const topic = () => stack.one("aws:sns/topic:Topic", "NotificationTopic");
const topicKey = () => stack.one("aws:kms/key:Key", "TopicKey");
const deadLetterQueue = () => stack.one("aws:sqs/queue:Queue", "DeadLetterQueue");
const ownRoleArns = () => GUARDRAIL_FUNCTIONS.map((fn) => arnOf(roleOf(fn)));
const rolePolicy = (fn: GuardrailFunction): PolicyStatement[] => {
  const policies = inputs(roleOf(fn)).inlinePolicies as unknown as { policy: string }[];
  return policies.flatMap((p) => JSON.parse(p.policy).Statement as PolicyStatement[]);
};

describe("functions", () => {
  it("deploys one Lambda per guardrail function, on nodejs22.x and arm64, sized from the registry", () => {
    // The guardrail's functions and the audit evidence's (test/infra/evidence.test.ts).
    expect(stack.of("aws:lambda/function:Function")).toHaveLength(
      GUARDRAIL_FUNCTIONS.length + EVIDENCE_FUNCTIONS.length,
    );
    for (const fn of GUARDRAIL_FUNCTIONS) {
      const lambda = inputs(lambdaOf(fn));
      expect(lambda.runtime, fn).toBe("nodejs22.x");
      expect(lambda.architectures, fn).toEqual(["arm64"]);
      expect(lambda.handler, fn).toBe(`functions/src/handlers/${fn}.handler`);
      expect(lambda.memorySize, fn).toBe(FUNCTION_SIZING[fn].memoryMb);
      expect(lambda.timeout, fn).toBe(FUNCTION_SIZING[fn].timeoutSeconds);
      expect(lambda.reservedConcurrentExecutions, fn).toBe(FUNCTION_SIZING[fn].reservedConcurrency);
      expect(lambda.publish, fn).toBe(false);
      expect(lambda.role, fn).toBe(arnOf(roleOf(fn)));
    }
    expect(
      stack.of("aws:lambda/provisionedConcurrencyConfig:ProvisionedConcurrencyConfig"),
    ).toEqual([]);
  });

  it("gives every function the agreed environment, naming every guardrail role", () => {
    for (const fn of GUARDRAIL_FUNCTIONS) {
      const env = (inputs(lambdaOf(fn)).environment as { variables: Record<string, string> })
        .variables;
      expect(env, fn).toMatchObject({
        [FUNCTION_ENV.tableName]: table().state.name,
        [FUNCTION_ENV.topicArn]: arnOf(topic()),
        [FUNCTION_ENV.ownRoleArns]: ownRoleArns().join(","),
        [FUNCTION_ENV.policyFile]: BUNDLED_POLICY_FILE,
        [FUNCTION_ENV.policySha256]: createHash("sha256").update(DEFAULT_POLICY_YAML).digest("hex"),
        [FUNCTION_ENV.stage]: STAGE,
        [FUNCTION_ENV.version]: JSON.parse(readFileSync(join(ROOT, "package.json"), "utf8"))
          .version,
        [FUNCTION_ENV.sweepRateMinutes]: String(DEFAULT_SWEEP_RATE_MINUTES),
        POWERTOOLS_SERVICE_NAME: metricServiceName(STAGE),
        POWERTOOLS_METRICS_NAMESPACE: METRICS.namespace,
      });
    }
  });

  it("names roles deterministically, so the ARNs in patterns and environments are the real ones", () => {
    for (const fn of GUARDRAIL_FUNCTIONS) {
      expect(inputs(roleOf(fn)).name).toBe(roleName("network-guardrail", STAGE, REGION, fn));
      expect(arnOf(roleOf(fn))).toBe(
        `arn:aws:iam::${ACCOUNT_ID}:role/${roleName("network-guardrail", STAGE, REGION, fn)}`,
      );
    }
  });

  it("bundles every handler with esbuild and ships the policy compiled at deploy", () => {
    expect(stack.builds.map((b) => b.input.functionID).sort()).toEqual(
      [...GUARDRAIL_FUNCTIONS, ...EVIDENCE_FUNCTIONS].map(componentName).sort(),
    );
    const guardrail = new Set<string>(GUARDRAIL_FUNCTIONS.map(componentName));
    for (const build of stack.builds.filter((b) => guardrail.has(b.input.functionID))) {
      expect(build.input.runtime).toBe("nodejs22.x");
      expect(build.input.properties).toMatchObject({ format: "esm", architecture: "arm64" });
      expect(build.input.copyFiles).toEqual([
        expect.objectContaining({ to: BUNDLED_POLICY_FILE, isDir: false }),
      ]);
      const shipped = readFileSync(build.input.copyFiles[0]?.from as string, "utf8");
      expect(readCompiledPolicy(shipped, "shipped").policyId).toBe(policyId(DEFAULT_POLICY_YAML));
      // The zip SST uploads holds the bundle and the policy (names are stored uncompressed).
      const zip = readFileSync(
        join(stack.workDir, "artifacts", build.input.functionID, "code.zip"),
      );
      expect(zip.includes(Buffer.from(BUNDLED_POLICY_FILE)), build.input.functionID).toBe(true);
      const handlerFile = `${build.handler.slice(0, build.handler.lastIndexOf("."))}.mjs`;
      expect(zip.includes(Buffer.from(handlerFile)), handlerFile).toBe(true);
      expect(zip.includes(Buffer.from("resource.enc")), build.input.functionID).toBe(true);
    }
  });

  it("links no secret in single-account mode: the Slack webhook is not in the bundle", () => {
    for (const build of stack.builds) {
      expect(Object.keys(build.input.links), build.input.functionID).toEqual([]);
    }
  });

  it("gives the notifier the webhook parameter's name, and no function a webhook URL", () => {
    for (const fn of GUARDRAIL_FUNCTIONS) {
      const env = (inputs(lambdaOf(fn)).environment as { variables: Record<string, string> })
        .variables;
      for (const [name, value] of Object.entries(env)) {
        if (name === FUNCTION_ENV.chainQueueUrl) continue;
        expect(value, `${fn} ${name}`).not.toMatch(/hooks\.slack|https?:\/\//);
      }
      if (fn === "slack-notifier") {
        expect(env[SLACK_FUNCTION_ENV.webhookParameter]).toBe(
          `/network-guardrail/${STAGE}/slack-webhook-url`,
        );
        // The notifier's config loader accepts the environment the stack sets.
        expect(loadSlackConfig(env).webhookParameter).toBe(
          `/network-guardrail/${STAGE}/slack-webhook-url`,
        );
      } else {
        expect(env[SLACK_FUNCTION_ENV.webhookParameter], fn).toBeUndefined();
      }
      // SST still ships its (here empty) encrypted link file: nothing secret is in it.
      const build = stack.builds.find((b) => b.input.functionID === componentName(fn));
      const encrypted = readFileSync(join(build?.out as string, env.SST_KEY_FILE as string));
      const decipher = createDecipheriv(
        "aes-256-gcm",
        Buffer.from(env.SST_KEY as string, "base64"),
        Buffer.alloc(12, 0),
      );
      decipher.setAuthTag(encrypted.subarray(-16));
      const links = JSON.parse(
        Buffer.concat([decipher.update(encrypted.subarray(0, -16)), decipher.final()]).toString(),
      );
      expect(links, fn).toEqual({});
    }
  });

  it("sends invocations that fail Lambda's async retries to the dead-letter queue", () => {
    for (const fn of GUARDRAIL_FUNCTIONS) {
      const config = inputs(
        stack.one(
          "aws:lambda/functionEventInvokeConfig:FunctionEventInvokeConfig",
          `${componentName(fn)}InvokeConfig`,
        ),
      );
      expect(config).toMatchObject({
        functionName: inputs(lambdaOf(fn)).name,
        qualifier: "$LATEST",
        maximumRetryAttempts: DELIVERY.asyncRetryAttempts,
        maximumEventAgeInSeconds: DELIVERY.maximumEventAgeSeconds,
        destinationConfig: { onFailure: { destination: arnOf(deadLetterQueue()) } },
      });
    }
  });
});

describe("IAM", () => {
  it("trusts only the Lambda service", () => {
    for (const fn of GUARDRAIL_FUNCTIONS) {
      const trust = JSON.parse(String(inputs(roleOf(fn)).assumeRolePolicy));
      expect(trust.Statement, fn).toEqual([
        {
          Effect: "Allow",
          Principal: { Service: "lambda.amazonaws.com" },
          Action: "sts:AssumeRole",
        },
      ]);
    }
  });

  it("grants explicit actions only: no wildcard action, no Authorize, no Create but the NACL planner's CreateNetworkAclEntry", () => {
    const documents = [
      ...GUARDRAIL_FUNCTIONS.flatMap(rolePolicy),
      ...stack
        .of("aws:iam/policy:Policy")
        .flatMap((p) => JSON.parse(String(p.inputs.policy)).Statement),
      ...stack
        .of("aws:iam/rolePolicy:RolePolicy")
        .flatMap((p) => JSON.parse(String(p.inputs.policy)).Statement),
    ] as PolicyStatement[];
    expect(documents.length).toBeGreaterThan(0);
    for (const statement of documents) {
      expect(statement.Effect).toBe("Allow");
      for (const action of list(statement.Action)) {
        expect(action).not.toContain("*");
        expect(action).not.toMatch(/^ec2:(Authorize|Create(?!NetworkAclEntry$))/);
      }
    }
  });

  it("grants each function exactly its EC2 actions from FUNCTION_EC2_ACTIONS", () => {
    for (const fn of GUARDRAIL_FUNCTIONS) {
      const ec2 = rolePolicy(fn)
        .flatMap((s) => list(s.Action))
        .filter((a) => a.startsWith("ec2:"));
      expect([...ec2].sort(), fn).toEqual([...new Set(FUNCTION_EC2_ACTIONS[fn])].sort());
    }
  });

  it("uses resource * only for EC2 Describe calls, which support no resource-level permissions", () => {
    for (const fn of GUARDRAIL_FUNCTIONS) {
      for (const statement of rolePolicy(fn)) {
        if (!list(statement.Resource).includes("*")) continue;
        expect(list(statement.Resource), fn).toEqual(["*"]);
        for (const action of list(statement.Action)) expect(action, fn).toMatch(/^ec2:Describe/);
      }
    }
  });

  it("scopes revokes and NACL deletes to the deploy's account and Region", () => {
    const statements = rolePolicy("sweep");
    const revoke = statements.find((s) =>
      list(s.Action).includes("ec2:RevokeSecurityGroupIngress"),
    );
    expect(revoke?.Resource).toEqual([
      `arn:aws:ec2:${REGION}:${ACCOUNT_ID}:security-group/*`,
      `arn:aws:ec2:${REGION}:${ACCOUNT_ID}:security-group-rule/*`,
    ]);
    const nacl = statements.find((s) => list(s.Action).includes("ec2:DeleteNetworkAclEntry"));
    expect(nacl?.Resource).toEqual([`arn:aws:ec2:${REGION}:${ACCOUNT_ID}:network-acl/*`]);
  });

  it("grants the topic, key, webhook parameter and queue only to the functions that use them", () => {
    for (const fn of GUARDRAIL_FUNCTIONS) {
      const other = rolePolicy(fn).filter(
        (s) => !list(s.Action).some((a) => a.startsWith("ec2:") || a.startsWith("dynamodb:")),
      );
      const expected = [
        ...(FUNCTION_DATA_ACCESS[fn].audit
          ? [
              {
                actions: ["sqs:SendMessage"],
                resources: [arnOf(stack.one("aws:sqs/queue:Queue", "ChainQueue"))],
              },
            ]
          : []),
        ...(FUNCTION_DATA_ACCESS[fn].notify
          ? [
              { actions: [...NOTIFY_ACTIONS], resources: [arnOf(topic())] },
              { actions: [...TOPIC_KEY_ACTIONS], resources: [arnOf(topicKey())] },
            ]
          : []),
        ...(fn === "slack-notifier"
          ? [
              {
                actions: ["ssm:GetParameter"],
                resources: [
                  `arn:aws:ssm:${REGION}:${ACCOUNT_ID}:parameter/network-guardrail/${STAGE}/slack-webhook-url`,
                ],
              },
            ]
          : []),
        { actions: ["sqs:SendMessage"], resources: [arnOf(deadLetterQueue())] },
        ...(fn === "sweep"
          ? [
              {
                actions: ["cloudtrail:GetTrailStatus"],
                resources: ["arn:aws:cloudtrail:*:*:trail/*"],
              },
              {
                actions: ["events:DescribeRule"],
                resources: [expect.stringMatching(/^arn:aws:events:[^:]+:\d+:rule\/\*$/)],
              },
            ]
          : []),
      ];
      expect(
        other.map((s) => ({ actions: list(s.Action), resources: list(s.Resource) })),
        fn,
      ).toEqual(expected);
    }
  });

  it("scopes audit-table access per function by key prefix, as rendered on the roles", () => {
    const tableArn = arnOf(table());
    for (const fn of GUARDRAIL_FUNCTIONS) {
      const rendered = rolePolicy(fn).filter((s) =>
        list(s.Action).some((a) => a.startsWith("dynamodb:")),
      );
      // The notifier's only table access: its per-window message counter (SLACK# items).
      const counter: Statement[] =
        fn === "slack-notifier"
          ? [
              {
                effect: "allow",
                actions: ["dynamodb:UpdateItem"],
                resources: [tableArn],
                conditions: [leadingKeys(AUDIT_KEY_PREFIX.slack)],
              },
            ]
          : [];
      expect(rendered, fn).toEqual(
        [...auditStatements(fn, tableArn), ...counter].map((s) => ({
          Effect: "Allow",
          Action: s.actions,
          Resource: s.resources,
          ...(s.conditions
            ? {
                Condition: Object.fromEntries(
                  s.conditions.map((c) => [c.test, { [c.variable]: c.values }]),
                ),
              }
            : {}),
        })),
      );
      const actions = rendered.flatMap((s) => list(s.Action));
      expect(actions, fn).not.toContain("dynamodb:DeleteItem");
      if (fn !== "sweep") expect(actions, fn).not.toContain("dynamodb:BatchWriteItem");
      for (const s of rendered.filter((r) => list(r.Resource).includes(tableArn))) {
        expect(
          s.Condition?.["ForAllValues:StringLike"]?.["dynamodb:LeadingKeys"],
          fn,
        ).toBeDefined();
      }
    }
    const batch = rolePolicy("sweep").find((s) =>
      list(s.Action).includes("dynamodb:BatchWriteItem"),
    );
    expect(batch?.Condition).toEqual({
      "ForAllValues:StringLike": { "dynamodb:LeadingKeys": [`${AUDIT_KEY_PREFIX.state}*`] },
    });
  });

  it("attaches no managed policy but basic logging", () => {
    for (const fn of GUARDRAIL_FUNCTIONS) {
      expect(inputs(roleOf(fn)).managedPolicyArns, fn).toEqual([
        "arn:aws:iam::aws:policy/service-role/AWSLambdaBasicExecutionRole",
      ]);
    }
    expect(stack.of("aws:iam/rolePolicyAttachment:RolePolicyAttachment")).toEqual([]);
  });
});

describe("EventBridge rules", () => {
  const ruleOf = (fn: GuardrailFunction) =>
    stack.one("aws:cloudwatch/eventRule:EventRule", `${componentName(fn)}Rule`);
  const patternOf = (fn: GuardrailFunction) => JSON.parse(String(inputs(ruleOf(fn)).eventPattern));

  it("puts one rule per event-driven function on the default bus, with core's pattern", () => {
    for (const fn of EVENT_DRIVEN_FUNCTIONS) {
      expect(inputs(ruleOf(fn)).eventBusName).toBe("default");
      expect(patternOf(fn)).toEqual(eventPatternFor(fn, ownRoleArns()));
    }
  });

  it("targets each function with the registry's retry policy and the dead-letter queue", () => {
    for (const fn of [...EVENT_DRIVEN_FUNCTIONS, "sweep" as const]) {
      const rule =
        fn === "sweep"
          ? stack.one("aws:cloudwatch/eventRule:EventRule", "SweepSchedule")
          : ruleOf(fn);
      const target = inputs(
        stack.one("aws:cloudwatch/eventTarget:EventTarget", `${componentName(fn)}Target`),
      );
      expect(target).toMatchObject({
        rule: rule.state.name,
        eventBusName: "default",
        arn: arnOf(lambdaOf(fn)),
        retryPolicy: {
          maximumRetryAttempts: TARGET_RETRY.maximumRetryAttempts,
          maximumEventAgeInSeconds: TARGET_RETRY.maximumEventAgeSeconds,
        },
        deadLetterConfig: { arn: arnOf(deadLetterQueue()) },
      });
      const permission = inputs(
        stack.one("aws:lambda/permission:Permission", `${componentName(fn)}EventsPermission`),
      );
      expect(permission).toMatchObject({
        action: "lambda:InvokeFunction",
        function: inputs(lambdaOf(fn)).name,
        principal: "events.amazonaws.com",
        sourceArn: arnOf(rule),
      });
    }
  });

  it("schedules the sweep every DEFAULT_SWEEP_RATE_MINUTES minutes", () => {
    const schedule = inputs(stack.one("aws:cloudwatch/eventRule:EventRule", "SweepSchedule"));
    expect(schedule.scheduleExpression).toBe(`rate(${DEFAULT_SWEEP_RATE_MINUTES} minutes)`);
  });

  it("lets exactly the guardrail's rules send to the dead-letter queue", () => {
    const policy = JSON.parse(
      String(inputs(stack.one("aws:sqs/queuePolicy:QueuePolicy", "DeadLetterQueuePolicy")).policy),
    );
    // The weekly digest's schedule invokes a function that does not evaluate events.
    const ruleArns = stack
      .of("aws:cloudwatch/eventRule:EventRule")
      .filter((r) => r.name !== "PostureDigestSchedule")
      .map(arnOf);
    expect(ruleArns).toHaveLength(EVENT_DRIVEN_FUNCTIONS.length + 1);
    expect(policy.Statement).toEqual([
      {
        Sid: "GuardrailRulesSendFailedEvents",
        Effect: "Allow",
        Principal: { Service: "events.amazonaws.com" },
        Action: "sqs:SendMessage",
        Resource: arnOf(deadLetterQueue()),
        Condition: { ArnEquals: { "aws:SourceArn": expect.arrayContaining(ruleArns) } },
      },
    ]);
    expect(policy.Statement[0].Condition.ArnEquals["aws:SourceArn"]).toHaveLength(ruleArns.length);
  });

  describe("patterns against the CloudTrail fixtures", () => {
    const { events, skipped } = fixtureEvents();
    const matching = (event: unknown) =>
      EVENT_DRIVEN_FUNCTIONS.filter((fn) => matchesPattern(patternOf(fn), event));
    const succeeded = events.filter((e) => e.event.detail.errorCode === undefined);
    const handled = succeeded.filter((e) => HANDLED_EVENT_NAMES.includes(e.eventName));

    it("covers every handled event name with at least one whole fixture", () => {
      expect(new Set(handled.map((e) => e.eventName))).toEqual(new Set(HANDLED_EVENT_NAMES));
    });

    it("skips only partial captures, which are not whole events", () => {
      for (const s of skipped) {
        expect(s.id.split("/")[1], s.reason).toMatch(/^(FRAGMENT_|requestParameters-only_)/);
      }
    });

    it("routes every successful handled event to exactly its function", () => {
      for (const e of handled) {
        const spec = EVENT_SPECS[e.eventName as keyof typeof EVENT_SPECS];
        expect(matching(e.event), e.id).toEqual([spec.handler]);
      }
    });

    it("matches no rule for failed calls (errorCode present)", () => {
      const failed = events.filter((e) => e.event.detail.errorCode !== undefined);
      expect(failed.length).toBeGreaterThan(0);
      for (const e of failed) expect(matching(e.event), e.id).toEqual([]);
      for (const e of handled) {
        const event = structuredClone(e.event);
        event.detail.errorCode = "Client.UnauthorizedOperation";
        event.detail.responseElements = null;
        expect(matching(event), e.id).toEqual([]);
      }
    });

    it("matches no rule for events the guardrail does not evaluate", () => {
      // Tagging calls go to security-group-change (exemption tags); see tagging.test.ts.
      const others = succeeded.filter(
        (e) =>
          !HANDLED_EVENT_NAMES.includes(e.eventName) &&
          !Object.hasOwn(TAG_EVENT_SPECS, e.eventName),
      );
      expect([...new Set(others.map((e) => e.eventName))]).toEqual(
        expect.arrayContaining(["RevokeSecurityGroupIngress", "DescribeSecurityGroups"]),
      );
      for (const e of others) expect(matching(e.event), e.id).toEqual([]);
    });

    it("ignores the guardrail's own calls but not another role's", () => {
      for (const e of handled) {
        const spec = EVENT_SPECS[e.eventName as keyof typeof EVENT_SPECS];
        for (const arn of ownRoleArns()) {
          const own = structuredClone(e.event);
          own.detail.userIdentity = assumedRole(arn);
          expect(matching(own), `${e.id} as ${arn}`).toEqual([]);
        }
        const other = structuredClone(e.event);
        other.detail.userIdentity = assumedRole(`arn:aws:iam::${ACCOUNT_ID}:role/deployer`);
        expect(matching(other), e.id).toEqual([spec.handler]);
      }
    });
  });
});

function assumedRole(roleArn: string) {
  const role = roleArn.split("/").pop();
  return {
    type: "AssumedRole",
    principalId: "AROAEXAMPLE:session",
    arn: `arn:aws:sts::${ACCOUNT_ID}:assumed-role/${role}/session`,
    accountId: ACCOUNT_ID,
    sessionContext: {
      sessionIssuer: {
        type: "Role",
        principalId: "AROAEXAMPLE",
        arn: roleArn,
        accountId: ACCOUNT_ID,
        userName: role,
      },
      attributes: { creationDate: "2025-01-01T00:00:00Z", mfaAuthenticated: "false" },
    },
  };
}

describe("audit table", () => {
  it("is on-demand with point-in-time recovery, TTL and both GSIs from AUDIT_TABLE", () => {
    const t = inputs(table());
    expect(t).toMatchObject({
      billingMode: "PAY_PER_REQUEST",
      hashKey: AUDIT_TABLE.partitionKey,
      rangeKey: AUDIT_TABLE.sortKey,
      pointInTimeRecovery: { enabled: true },
      ttl: { attributeName: AUDIT_TABLE.ttlAttribute, enabled: true },
      deletionProtectionEnabled: false,
    });
    expect(t.globalSecondaryIndexes).toEqual(
      [AUDIT_TABLE.byAccount, AUDIT_TABLE.byResource].map((index) => ({
        name: index.indexName,
        keySchemas: [
          { attributeName: index.partitionKey, keyType: "HASH" },
          { attributeName: index.sortKey, keyType: "RANGE" },
        ],
        projectionType: "ALL",
      })),
    );
    const attributes = (t.attributes as unknown as { name: string }[]).map((a) => a.name).sort();
    expect(attributes).toEqual(["pk", "sk", "gsi1pk", "gsi1sk", "gsi2pk", "gsi2sk"].sort());
  });
});

describe("notifications", () => {
  const publishers = () =>
    GUARDRAIL_FUNCTIONS.filter((fn) => FUNCTION_DATA_ACCESS[fn].notify).map((fn) =>
      arnOf(roleOf(fn)),
    );
  const root = `arn:aws:iam::${ACCOUNT_ID}:root`;

  it("encrypts the topic with a rotating key only the publishing roles and alarms may use", () => {
    expect(inputs(topic()).kmsMasterKeyId).toBe(arnOf(topicKey()));
    const key = inputs(topicKey());
    expect(key.enableKeyRotation).toBe(true);
    const statements = JSON.parse(String(key.policy)).Statement as PolicyStatement[];
    expect(statements.map((s) => s.Sid)).toEqual([
      "AccountAdministersKey",
      "GuardrailRolesEncryptMessages",
      "AlarmsEncryptMessages",
    ]);
    const [admin, roles, alarms] = statements;
    // The account administers the key but cannot use it to encrypt or decrypt.
    expect(admin?.Principal).toEqual({ AWS: root });
    for (const action of list(admin?.Action ?? [])) {
      expect(action).not.toMatch(/^kms:(Encrypt|Decrypt|GenerateDataKey|ReEncrypt)|^kms:\*$/);
    }
    expect(roles).toEqual({
      Sid: "GuardrailRolesEncryptMessages",
      Effect: "Allow",
      Principal: { AWS: root },
      Action: [...TOPIC_KEY_ACTIONS],
      Resource: "*",
      Condition: { ArnEquals: { "aws:PrincipalArn": publishers() } },
    });
    expect(publishers()).not.toContain(arnOf(roleOf("slack-notifier")));
    // EventBridge publishes nothing to the topic, so it has no grant.
    expect(alarms).toEqual({
      Sid: "AlarmsEncryptMessages",
      Effect: "Allow",
      Principal: { Service: "cloudwatch.amazonaws.com" },
      Action: [...TOPIC_KEY_ACTIONS],
      Resource: "*",
    });
  });

  it("lets only the guardrail's publishing roles and its own alarms publish to the topic", () => {
    const policy = inputs(stack.one("aws:sns/topicPolicy:TopicPolicy", "NotificationTopicPolicy"));
    expect(policy.arn).toBe(arnOf(topic()));
    const alarmArns = stack.of("aws:cloudwatch/metricAlarm:MetricAlarm").map(arnOf).sort();
    expect(alarmArns.length).toBeGreaterThan(0);
    const topicArn = arnOf(topic());
    const statements = JSON.parse(String(policy.policy)).Statement;
    statements[1]?.Condition?.ArnEquals?.["aws:SourceArn"]?.sort();
    expect(statements).toEqual([
      {
        Sid: "GuardrailRolesPublish",
        Effect: "Allow",
        Principal: { AWS: root },
        Action: [...NOTIFY_ACTIONS],
        Resource: topicArn,
        Condition: { ArnEquals: { "aws:PrincipalArn": publishers() } },
      },
      {
        Sid: "GuardrailAlarmsPublish",
        Effect: "Allow",
        Principal: { Service: "cloudwatch.amazonaws.com" },
        Action: [...NOTIFY_ACTIONS],
        Resource: topicArn,
        Condition: {
          ArnEquals: { "aws:SourceArn": alarmArns },
          StringEquals: { "aws:SourceAccount": ACCOUNT_ID },
        },
      },
      {
        Sid: "NobodyElsePublishes",
        Effect: "Deny",
        Principal: "*",
        Action: [...NOTIFY_ACTIONS],
        Resource: topicArn,
        Condition: {
          ArnNotEquals: { "aws:PrincipalArn": publishers() },
          BoolIfExists: { "aws:PrincipalIsAWSService": "false" },
        },
      },
    ]);
    // Every alarm that notifies the topic is named in the policy.
    for (const alarm of stack.of("aws:cloudwatch/metricAlarm:MetricAlarm")) {
      expect(inputs(alarm).alarmActions).toContain(topicArn);
    }
  });

  it("subscribes the Slack notifier to the topic, with SNS allowed to invoke it", () => {
    const subscription = inputs(
      stack.one("aws:sns/topicSubscription:TopicSubscription", "SlackNotifierSubscription"),
    );
    expect(subscription).toEqual({
      topic: arnOf(topic()),
      protocol: "lambda",
      endpoint: arnOf(lambdaOf("slack-notifier")),
    });
    expect(
      inputs(stack.one("aws:lambda/permission:Permission", "SlackNotifierTopicPermission")),
    ).toMatchObject({
      principal: "sns.amazonaws.com",
      sourceArn: arnOf(topic()),
      function: inputs(lambdaOf("slack-notifier")).name,
    });
    expect(stack.of("aws:sns/topicSubscription:TopicSubscription")).toHaveLength(1);
  });
});

describe("alarms", () => {
  const alarms = () => stack.of("aws:cloudwatch/metricAlarm:MetricAlarm").map(inputs);
  const alarm = (name: string) => {
    const found = alarms().find((a) => a.name === `network-guardrail-${STAGE}-${name}`);
    if (!found) throw new Error(`no alarm ${name}`);
    return found;
  };

  it("notifies the topic and the plain alarm topic when every alarm fires and when it clears", () => {
    // Errors per function, 4 product alarms, 3 Lambda queue alarms per event function, and
    // EventPathMisses, EventPathChecksFailed, UnreadableRules, EventsNotCovered,
    // RegionsNotCovered and AccountsNotDeployed.
    expect(alarms()).toHaveLength(
      GUARDRAIL_FUNCTIONS.length + 4 + 3 * EVENT_DRIVEN_FUNCTIONS.length + 6,
    );
    const plain = arnOf(stack.one("aws:sns/topic:Topic", "AlarmTopic"));
    for (const a of alarms()) {
      expect(a.alarmActions, a.name).toEqual([arnOf(topic()), plain]);
      expect(a.okActions, a.name).toEqual([arnOf(topic()), plain]);
    }
  });

  it("sends alarms to a topic without the custom KMS key", () => {
    expect(inputs(stack.one("aws:sns/topic:Topic", "AlarmTopic")).kmsMasterKeyId).toBeUndefined();
  });

  it("watches each event function's throttling, queue age and dropped events", () => {
    for (const fn of EVENT_DRIVEN_FUNCTIONS) {
      const name = inputs(lambdaOf(fn)).name;
      expect(alarm(`${fn}-throttles`)).toMatchObject({
        namespace: "AWS/Lambda",
        metricName: "Throttles",
        dimensions: { FunctionName: name },
        threshold: ALARMS.throttles.threshold,
      });
      expect(alarm(`${fn}-asynceventage`)).toMatchObject({
        metricName: "AsyncEventAge",
        statistic: "Maximum",
        threshold: ALARMS.asyncEventAgeMs.threshold,
      });
      expect(alarm(`${fn}-asynceventsdropped`)).toMatchObject({
        metricName: "AsyncEventsDropped",
        threshold: ALARMS.asyncEventsDropped.threshold,
      });
    }
  });

  it("watches the event path: misses, broken trails or rules, unreadable rules, coverage gaps", () => {
    for (const [what, metric] of [
      ["event-path-misses", METRICS.eventPathMisses],
      ["event-path-checks-failed", METRICS.eventPathChecksFailed],
      ["unreadable-rules", METRICS.unreadableRules],
      ["events-not-covered", METRICS.eventsNotCovered],
      ["regions-not-covered", METRICS.regionsNotCovered],
      ["accounts-not-deployed", METRICS.accountsNotDeployed],
    ] as const) {
      expect(alarm(what)).toMatchObject({
        namespace: METRICS.namespace,
        metricName: metric,
        dimensions: { [METRIC_SERVICE_DIMENSION]: metricServiceName(STAGE) },
        comparisonOperator: "GreaterThanOrEqualToThreshold",
      });
    }
  });

  it("watches every function's errors", () => {
    for (const fn of GUARDRAIL_FUNCTIONS) {
      expect(alarm(`${fn}-errors`)).toMatchObject({
        namespace: "AWS/Lambda",
        metricName: "Errors",
        dimensions: { FunctionName: inputs(lambdaOf(fn)).name },
        statistic: "Sum",
        threshold: ALARMS.functionErrors.threshold,
        period: ALARMS.functionErrors.periodSeconds,
        evaluationPeriods: ALARMS.functionErrors.evaluationPeriods,
        comparisonOperator: "GreaterThanOrEqualToThreshold",
      });
    }
  });

  it("fires on the first dead-lettered message", () => {
    expect(alarm("dead-letter-queue")).toMatchObject({
      namespace: "AWS/SQS",
      metricName: "ApproximateNumberOfMessagesVisible",
      dimensions: { QueueName: deadLetterQueue().state.name },
      threshold: ALARMS.dlqDepth.threshold,
      period: ALARMS.dlqDepth.periodSeconds,
      comparisonOperator: "GreaterThanOrEqualToThreshold",
    });
  });

  it("watches remediation failures and invalid events on the stage's service dimension", () => {
    const dimensions = { [METRIC_SERVICE_DIMENSION]: metricServiceName(STAGE) };
    expect(alarm("remediation-failures")).toMatchObject({
      namespace: METRICS.namespace,
      metricName: METRICS.remediationFailures,
      dimensions,
      threshold: ALARMS.remediationFailures.threshold,
      period: ALARMS.remediationFailures.periodSeconds,
      comparisonOperator: "GreaterThanOrEqualToThreshold",
    });
    expect(alarm("invalid-events")).toMatchObject({
      namespace: METRICS.namespace,
      metricName: METRICS.invalidEvents,
      dimensions,
      threshold: ALARMS.invalidEvents.threshold,
      period: ALARMS.invalidEvents.periodSeconds,
    });
  });

  it("fires when no sweep ran for sweepMissedIntervals intervals, missing data counting as breaching", () => {
    expect(alarm("sweep-not-run")).toMatchObject({
      namespace: METRICS.namespace,
      metricName: METRICS.sweepRuns,
      dimensions: { [METRIC_SERVICE_DIMENSION]: metricServiceName(STAGE) },
      statistic: "Sum",
      period: DEFAULT_SWEEP_RATE_MINUTES * 60,
      evaluationPeriods: ALARMS.sweepMissedIntervals,
      datapointsToAlarm: ALARMS.sweepMissedIntervals,
      threshold: 1,
      comparisonOperator: "LessThanThreshold",
      treatMissingData: "breaching",
    });
  });
});

describe("stage and outputs", () => {
  it("removes everything and protects nothing outside production", () => {
    expect(stack.app).toMatchObject({
      name: "network-guardrail",
      removal: "remove",
      protect: false,
    });
    expect(stack.app.providers).toEqual({ aws: { region: REGION, version: "7.20.0" } });
  });

  it("outputs the table name, topic ARN, queue URL and every function name", () => {
    expect(stack.outputs[STACK_OUTPUTS.auditTableName]).toBe(table().state.name);
    expect(stack.outputs[STACK_OUTPUTS.topicArn]).toBe(arnOf(topic()));
    expect(stack.outputs[STACK_OUTPUTS.deadLetterQueueUrl]).toBe(deadLetterQueue().state.url);
    expect(plain(stack.outputs[STACK_OUTPUTS.functionNames])).toEqual(
      Object.fromEntries(GUARDRAIL_FUNCTIONS.map((fn) => [fn, inputs(lambdaOf(fn)).name])),
    );
  });

  it("creates no email subscription unless GUARDRAIL_ALERT_EMAIL is set", () => {
    expect(
      stack
        .of("aws:sns/topicSubscription:TopicSubscription")
        .filter((s) => s.inputs.protocol === "email"),
    ).toEqual([]);
  });
});

describe("contract with the functions", () => {
  it("sets an environment every remediating function accepts at cold start", () => {
    for (const fn of GUARDRAIL_FUNCTIONS.filter((f) => f !== "slack-notifier")) {
      const variables = (inputs(lambdaOf(fn)).environment as { variables: Record<string, string> })
        .variables;
      const build = stack.builds.find((b) => b.input.functionID === componentName(fn));
      // The zip's root (LAMBDA_TASK_ROOT) holds policy.compiled.json, copied from this file.
      const taskRoot = dirname(build?.input.copyFiles[0]?.from as string);
      const env = { ...variables, LAMBDA_TASK_ROOT: taskRoot };
      const config = loadConfig(fn, env, defaultPolicyFiles(env));
      expect(config, fn).toMatchObject({
        tableName: table().state.name,
        topicArn: arnOf(topic()),
        ownRoleArns: ownRoleArns(),
        stage: STAGE,
        sweepRateMinutes: DEFAULT_SWEEP_RATE_MINUTES,
      });
      expect(config.policySource, fn).toBe(join(taskRoot, BUNDLED_POLICY_FILE));
    }
  });
});

describe("guardrail scp against this stack", () => {
  it("names every role this stack deploys and the tag key of the policy it ships", async () => {
    const io = memoryIo({ cwd: ROOT });
    const code = await main(
      [
        "scp",
        "--stage",
        STAGE,
        "--regions",
        REGION,
        "--deployer",
        "arn:aws:iam::123456789012:role/deploy",
        "--approver",
        "arn:aws:iam::*:role/approver",
      ],
      io,
    );
    expect(code, io.stderr.text()).toBe(0);
    const text = io.stdout.text().trimEnd();
    expect(text.length).toBeLessThanOrEqual(5120);
    const scp = JSON.parse(text) as { Statement: PolicyStatement[] };
    const protectedRoles = list(scp.Statement[0]?.Resource ?? []);
    for (const fn of GUARDRAIL_FUNCTIONS) {
      expect(protectedRoles, fn).toContain(`arn:aws:iam::*:role/${inputs(roleOf(fn)).name}`);
    }
    // The tag key is the one in the policy the functions are bundled with.
    const build = stack.builds.find((b) => b.input.copyFiles.length > 0);
    const shipped = readCompiledPolicy(
      readFileSync(build?.input.copyFiles[0]?.from as string, "utf8"),
      "shipped",
    ).policy;
    expect(shipped.exemptions.tagKey).not.toBeNull();
    expect(scp.Statement[1]?.Condition?.["ForAnyValue:StringEqualsIgnoreCase"]).toEqual({
      "aws:TagKeys": exemptionTagKeys(shipped),
    });
    expect(exemptionTagKeys(shipped)).toContain(shipped.exemptions.tagKey);
  });
});
