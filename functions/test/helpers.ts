import { createHash } from "node:crypto";
import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Logger } from "@aws-lambda-powertools/logger";
import { Metrics } from "@aws-lambda-powertools/metrics";
import { DynamoDBClient } from "@aws-sdk/client-dynamodb";
import {
  EC2Client,
  type NetworkAcl,
  type NetworkAclEntry,
  type SecurityGroupRule,
} from "@aws-sdk/client-ec2";
import { SNSClient } from "@aws-sdk/client-sns";
import { DynamoDBDocumentClient } from "@aws-sdk/lib-dynamodb";
import {
  BUNDLED_POLICY_FILE,
  compilePolicy,
  DEFAULT_POLICY_YAML,
  type GuardrailFunction,
  judgeTagging,
  loadPolicy,
  METRICS,
  type TagRecord,
} from "@guardrail/core";
import type { Context } from "aws-lambda";
import { type MockInstance, vi } from "vitest";
import { createAuditStore } from "../../packages/aws/src/audit";
import { createEc2Gateway } from "../../packages/aws/src/ec2";
import { createNotifier } from "../../packages/aws/src/sns";
import { EXTERNAL_ID, MEMBER_ROLE, ORG_ID } from "../../packages/aws/test/organisation";
import { actor } from "../../packages/core/test/policy-builders";
import { loadFixture } from "../../test/fixtures/load";
import { SSH_FROM_WORLD_NACL_ENTRY } from "../../test/fixtures/network-acl-entries";
import { type Env, loadConfig, type PolicyFiles } from "../src/config";
import type { RemediationDeps } from "../src/deps";

export { awsError } from "../../packages/aws/test/helpers";
// The organisation of the organisation-mode tests (its ids, the member role, the mocked tree).
export * from "../../packages/aws/test/organisation";

export const ACCOUNT = "123456789012";
/** The security group of most CloudTrail fixtures here, ssh-from-world's among them. */
export const GROUP = "sg-0a1b2c3d4e5f60001";
/** The id of the rule ssh-from-world opens. */
export const RULE = "sgr-0a00000000same01";
/** The managed prefix list of the prefix-list fixtures. */
export const LIST = "pl-0123456789abcdef0";
export const TABLE = "guardrail-audit";
export const TOPIC = `arn:aws:sns:eu-west-1:${ACCOUNT}:guardrail-alerts`;
export const OWN_ROLE = `arn:aws:iam::${ACCOUNT}:role/guardrail-security-group-change`;

export const BASE_ENV: Env = {
  GUARDRAIL_TABLE_NAME: TABLE,
  GUARDRAIL_TOPIC_ARN: TOPIC,
  GUARDRAIL_OWN_ROLE_ARNS: OWN_ROLE,
  GUARDRAIL_STAGE: "test",
  GUARDRAIL_VERSION: "1.2.3",
};

/** Policy files held in memory: `files` maps path → text; source text is read with `loadPolicy`. */
export function memoryFiles(
  files: Record<string, string> = {},
  handlerDirs = ["/var/task"],
): PolicyFiles {
  return {
    exists: (p) => Object.hasOwn(files, p),
    read: (p) => {
      const text = files[p];
      if (text === undefined) throw new Error(`ENOENT ${p}`);
      return text;
    },
    handlerDirs,
    parseSource: loadPolicy,
  };
}

/** The handler's policy files: `policy.yaml` holding `yaml` when given, none otherwise (the default). */
export function policyFiles(yaml?: string): PolicyFiles {
  return memoryFiles(yaml ? { "/var/task/policy.yaml": yaml } : {});
}

/** The policy compiled as the deploy compiles it into each bundle (stacks/policy-file.ts). */
export function compiledPolicy(text: string): string {
  return compilePolicy(text, loadPolicy(text));
}

/**
 * What a deployed function finds: the policy compiled as the deploy compiles it, in a file
 * named by GUARDRAIL_POLICY_FILE, and the source's sha256.
 */
export function deployedPolicyEnv(text: string = DEFAULT_POLICY_YAML): Env {
  const path = join(mkdtempSync(join(tmpdir(), "guardrail-policy-")), BUNDLED_POLICY_FILE);
  writeFileSync(path, compiledPolicy(text));
  return {
    GUARDRAIL_POLICY_FILE: path,
    GUARDRAIL_POLICY_SHA256: createHash("sha256").update(text).digest("hex"),
  };
}

/** Organisation mode in eu-west-1: the organisation, the member role and its external id. */
export const ORG_ENV: Env = {
  ...BASE_ENV,
  AWS_REGION: "eu-west-1",
  GUARDRAIL_ORG_ID: ORG_ID,
  GUARDRAIL_MEMBER_ROLE_NAME: MEMBER_ROLE,
  GUARDRAIL_EXTERNAL_ID: EXTERNAL_ID,
};

/** The default policy with a different tag key line or extra YAML appended to a rule list. */
export function policyWith(edit: (yaml: string) => string): string {
  return edit(DEFAULT_POLICY_YAML);
}

/** The shipped policy with admin-ports and internet-exposure narrowing. */
export const NARROWING = policyWith((y) =>
  y
    .replace("  - id: admin-ports\n", "  - id: admin-ports\n    remediation:\n      narrow: true\n")
    .replace(
      "  - id: internet-exposure\n",
      "  - id: internet-exposure\n    remediation:\n      narrow: true\n",
    ),
);

/** The EventBridge Scheduler event that starts a sweep of ACCOUNT in eu-west-1. */
export function scheduledEvent(id = "run-1", time = "2025-01-01T00:00:00Z") {
  return {
    version: "0",
    id,
    "detail-type": "Scheduled Event",
    source: "aws.events",
    account: ACCOUNT,
    time,
    region: "eu-west-1",
    resources: [],
    detail: {},
  };
}

export const BREAK_GLASS = `arn:aws:iam::${ACCOUNT}:role/break-glass`;

/** The default policy, plus: changes made through the break-glass role are exempt. */
export const BREAK_GLASS_POLICY = policyWith((y) =>
  y.replace(
    "exemptions:\n  tagKey: guardrail-exempt",
    `exemptions:\n  tagKey: guardrail-exempt\n  principals:\n    - pattern: "${BREAK_GLASS}"\n      reason: break-glass role, paged on use`,
  ),
);

/** The CloudTrail userIdentity of an on-call session of the break-glass role. */
export function breakGlassIdentity() {
  return {
    type: "AssumedRole",
    arn: `arn:aws:sts::${ACCOUNT}:assumed-role/break-glass/oncall`,
    accountId: ACCOUNT,
    sessionContext: { sessionIssuer: { type: "Role", arn: BREAK_GLASS } },
  };
}

/** Top-level fields of a CloudTrail record that tests set on a fixture. */
export interface RecordFields {
  readonly eventID?: string;
  readonly eventTime?: string;
  readonly userAgent?: string;
  readonly userIdentity?: Record<string, unknown>;
}

/**
 * The ssh-from-world fixture, a bare CloudTrail record: alice opens tcp 22 to 0.0.0.0/0 on
 * sg-0a1b2c3d4e5f60001, the rule's id (sgr-0a00000000same01) in the response; `fields` replace
 * the record's own.
 */
export function sshFromWorld(fields: RecordFields = {}) {
  return Object.assign(
    loadFixture("AuthorizeSecurityGroupIngress", "items-form_tcp-22_same-rule-as-legacy-flat"),
    fields,
  );
}

/** The same change, as alice made it in `account` and `region`. */
export function sshFromWorldIn(account: string, region = "eu-west-1") {
  const e = sshFromWorld();
  e.recipientAccountId = account;
  e.awsRegion = region;
  e.userIdentity.accountId = account;
  e.userIdentity.arn = `arn:aws:iam::${account}:user/alice`;
  return e;
}

/** A tagging of sg-0a1b2c3d4e5f60001's exemption tag: `by` set it to `value`. */
export interface Tagging {
  readonly value: string;
  readonly by: string;
  readonly byType?: string;
  readonly eventId: string;
  readonly eventTime: string;
  /** The policy that judged it (its approvers). */
  readonly policyYaml: string;
}

/** The record the audit table keeps of a tagging, as core judges it. */
export function tagRecord(t: Tagging): TagRecord {
  return judgeTagging(
    { groupId: GROUP, key: "guardrail-exempt", value: t.value },
    {
      eventId: t.eventId,
      eventTime: t.eventTime,
      actor: actor({ arn: t.by, type: t.byType ?? "AssumedRole", sessionIssuerArn: null }),
    },
    loadPolicy(t.policyYaml),
  ).record;
}

/** An inbound tcp rule on one port, as DescribeSecurityGroupRules lists it (from anywhere by default). */
export function ingressRule(
  id: string,
  group: string,
  port: number,
  peer: Partial<SecurityGroupRule> = { CidrIpv4: "0.0.0.0/0" },
): SecurityGroupRule {
  return {
    SecurityGroupRuleId: id,
    GroupId: group,
    IsEgress: false,
    IpProtocol: "tcp",
    FromPort: port,
    ToPort: port,
    ...peer,
  };
}

/** The message attributes (all of type String) of the alert that sshFromWorld's rule was revoked. */
export const SSH_REVOKED_ATTRIBUTES: Readonly<Record<string, string>> = {
  severity: "critical",
  outcome: "violation",
  result: "revoked",
  rule: "admin-ports",
  account: ACCOUNT,
  region: "eu-west-1",
  eventName: "AuthorizeSecurityGroupIngress",
  source: "event",
};

/** The rule sshFromWorld opens, as DescribeSecurityGroupRules lists it, with `over` changed. */
export function sshFromWorldRule(over: Partial<SecurityGroupRule> = {}): SecurityGroupRule {
  return { ...ingressRule(RULE, GROUP, 22), ...over };
}

/** Entry 100 of the ReplaceNetworkAclEntry fixture's ACL: tcp 22 from anywhere, inbound. */
export const SSH_FROM_WORLD_ENTRY: NetworkAclEntry = {
  ...SSH_FROM_WORLD_NACL_ENTRY,
  PortRange: { ...SSH_FROM_WORLD_NACL_ENTRY.PortRange },
};

/** What DescribeNetworkAcls answers once that entry is in its ACL (and no other is). */
export function aclWithSshFromWorld(): { NetworkAcls: NetworkAcl[] } {
  return {
    NetworkAcls: [
      { NetworkAclId: "acl-0a1b2c3d4e5f60001", Entries: [{ ...SSH_FROM_WORLD_ENTRY }] },
    ],
  };
}

const credentials = { accessKeyId: "AKIDTEST", secretAccessKey: "secret" };

export interface TestDepsOptions {
  readonly fn?: GuardrailFunction;
  readonly policyYaml?: string;
  readonly now?: Date;
  readonly settleMs?: number;
  readonly ec2Client?: EC2Client;
}

/**
 * Real adapters over real SDK clients; tests mock the clients with aws-sdk-client-mock
 * (`mockClient(EC2Client)` patches every instance).
 */
export function testDeps(options: TestDepsOptions = {}): RemediationDeps & {
  addMetric: MockInstance<Metrics["addMetric"]>;
} {
  const fn = options.fn ?? "security-group-change";
  const config = loadConfig(fn, BASE_ENV, policyFiles(options.policyYaml));
  const now = options.now ?? new Date("2024-11-05T10:15:02.500Z");
  const clock = () => new Date(now);
  const logger = new Logger({ serviceName: "test", logLevel: "SILENT" });
  const metrics = new Metrics({ namespace: METRICS.namespace, serviceName: "test" });
  const addMetric = vi.spyOn(metrics, "addMetric");
  const ec2 = options.ec2Client ?? new EC2Client({ region: "eu-west-1", credentials });
  return {
    config,
    logger,
    metrics,
    addMetric,
    clock,
    settleMs: options.settleMs ?? 0,
    ec2: createEc2Gateway(ec2, clock),
    audit: createAuditStore(TABLE, async () =>
      DynamoDBDocumentClient.from(new DynamoDBClient({ region: "eu-west-1", credentials }), {
        marshallOptions: { removeUndefinedValues: true },
      }),
    ),
    notifier: createNotifier(
      TOPIC,
      async () => new SNSClient({ region: "eu-west-1", credentials }),
    ),
  };
}

export const lambdaContext = {
  functionName: "test",
  functionVersion: "1",
  invokedFunctionArn: `arn:aws:lambda:eu-west-1:${ACCOUNT}:function:test`,
  memoryLimitInMB: "512",
  awsRequestId: "req-1",
  logGroupName: "/aws/lambda/test",
  logStreamName: "stream",
  callbackWaitsForEmptyEventLoop: true,
  getRemainingTimeInMillis: () => 30_000,
  done: () => undefined,
  fail: () => undefined,
  succeed: () => undefined,
} as unknown as Context;

/** The metric values recorded under one name. */
export function metricValues(spy: MockInstance<Metrics["addMetric"]>, name: string): number[] {
  return spy.mock.calls.filter((c) => c[0] === name).map((c) => c[2]);
}
