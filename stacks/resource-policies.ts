import {
  FUNCTION_DATA_ACCESS,
  GUARDRAIL_FUNCTIONS,
  NOTIFY_ACTIONS,
  TOPIC_KEY_ACTIONS,
} from "@guardrail/core";

/*
 * The resource policies of the notification key and topic as plain data, so that the tests
 * check every statement without SST. Principals that are roles of this stack are named in an
 * `aws:PrincipalArn` condition on the account principal, not as principals: KMS and SNS refuse a
 * policy naming a role that does not exist yet, and the roles are created after the key.
 */

/** The functions that publish decisions and sweep summaries to the topic. */
export const PUBLISHING_FUNCTIONS = GUARDRAIL_FUNCTIONS.filter(
  (fn) => FUNCTION_DATA_ACCESS[fn].notify,
);

/**
 * What the account (its administrators, through IAM) may do with the key: manage it, never use
 * it. AWS's default key-administrator statement, so the key can always be changed or deleted.
 * https://docs.aws.amazon.com/kms/latest/developerguide/key-policy-default.html#key-policy-default-allow-administrators
 */
export const KEY_ADMIN_ACTIONS = [
  "kms:Create*",
  "kms:Describe*",
  "kms:Enable*",
  "kms:List*",
  "kms:Put*",
  "kms:Update*",
  "kms:Revoke*",
  "kms:Disable*",
  "kms:Get*",
  "kms:Delete*",
  "kms:TagResource",
  "kms:UntagResource",
  "kms:ScheduleKeyDeletion",
  "kms:CancelKeyDeletion",
  "kms:RotateKeyOnDemand",
] as const;

export interface PolicyDocument {
  readonly Version: "2012-10-17";
  readonly Statement: readonly Record<string, unknown>[];
}

/** A policy of these statements, in the current policy language version. */
function policyDocument(statements: readonly Record<string, unknown>[]): PolicyDocument {
  return { Version: "2012-10-17", Statement: statements };
}

export interface KeyPolicyInput {
  readonly partition: string;
  readonly accountId: string;
  /** The roles of PUBLISHING_FUNCTIONS. */
  readonly publisherRoleArns: readonly string[];
}

/**
 * The topic key's policy. Only the publishing roles and CloudWatch alarms may use it; the
 * account administers it. No statement for EventBridge: nothing the guardrail deploys has
 * EventBridge publish to the topic.
 *
 * CloudWatch gets no `aws:SourceArn`/`aws:SourceAccount` condition here: AWS documents those
 * keys for the topic policy (below) but its page on alarms and encrypted topics shows the key
 * statement without conditions, and a condition KMS does not receive would drop every alarm
 * silently. The grant is bounded by the topic policy instead: a data key alone publishes
 * nothing. https://docs.aws.amazon.com/sns/latest/dg/sns-key-management.html#compatibility-with-aws-services
 */
export function topicKeyPolicy(input: KeyPolicyInput): PolicyDocument {
  return policyDocument([
    {
      Sid: "AccountAdministersKey",
      Effect: "Allow",
      Principal: { AWS: accountRoot(input) },
      Action: [...KEY_ADMIN_ACTIONS],
      Resource: "*",
    },
    publishersMay("GuardrailRolesEncryptMessages", TOPIC_KEY_ACTIONS, "*", input),
    alarmsMay("AlarmsEncryptMessages", TOPIC_KEY_ACTIONS, "*"),
  ]);
}

function accountRoot(input: KeyPolicyInput): string {
  return `arn:${input.partition}:iam::${input.accountId}:root`;
}

/** The account principal, limited to the publishing roles (they may not exist yet). */
function publishersMay(
  sid: string,
  actions: readonly string[],
  resource: string,
  input: KeyPolicyInput,
): Record<string, unknown> {
  return {
    Sid: sid,
    Effect: "Allow",
    Principal: { AWS: accountRoot(input) },
    Action: [...actions],
    Resource: resource,
    Condition: { ArnEquals: { "aws:PrincipalArn": [...input.publisherRoleArns] } },
  };
}

/** CloudWatch alarms (the service principal), limited by `condition` when given. */
function alarmsMay(
  sid: string,
  actions: readonly string[],
  resource: string,
  condition?: Record<string, unknown>,
): Record<string, unknown> {
  return {
    Sid: sid,
    Effect: "Allow",
    Principal: { Service: "cloudwatch.amazonaws.com" },
    Action: [...actions],
    Resource: resource,
    ...(condition === undefined ? {} : { Condition: condition }),
  };
}

export interface TopicPolicyInput extends KeyPolicyInput {
  readonly topicArn: string;
  /** Every alarm whose actions name the topic. */
  readonly alarmArns: readonly string[];
}

/**
 * The topic's policy: only the guardrail's publishing roles and its own alarms may publish. The
 * deny matters because in one account an identity policy alone lets any principal publish; it
 * spares AWS services (`aws:PrincipalIsAWSService`) so that the alarms' statement can apply, and
 * that statement names each alarm ARN with `aws:SourceArn` and the account with
 * `aws:SourceAccount`, which CloudWatch sends when an alarm publishes.
 * https://repost.aws/knowledge-center/cloudwatch-receive-sns-for-alarm-trigger
 */
export function topicPolicy(input: TopicPolicyInput): PolicyDocument {
  return policyDocument([
    publishersMay("GuardrailRolesPublish", NOTIFY_ACTIONS, input.topicArn, input),
    alarmsMay("GuardrailAlarmsPublish", NOTIFY_ACTIONS, input.topicArn, {
      ArnEquals: { "aws:SourceArn": [...input.alarmArns].sort() },
      StringEquals: { "aws:SourceAccount": input.accountId },
    }),
    {
      Sid: "NobodyElsePublishes",
      Effect: "Deny",
      Principal: "*",
      Action: [...NOTIFY_ACTIONS],
      Resource: input.topicArn,
      Condition: {
        ArnNotEquals: { "aws:PrincipalArn": [...input.publisherRoleArns] },
        BoolIfExists: { "aws:PrincipalIsAWSService": "false" },
      },
    },
  ]);
}
