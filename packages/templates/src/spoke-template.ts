import {
  AWS_PATTERNS,
  ConfigurationError,
  EVENT_DRIVEN_FUNCTIONS,
  eventPatternFor,
  FUNCTION_EC2_ACTIONS,
  functionEc2Actions,
  GUARDRAIL_FUNCTIONS,
  type GuardrailFunction,
  SECURITY_HUB_ACTIONS,
  securityHubResources,
} from "@guardrail/core";
import { APP_NAME, hubBusName, memberRoleName, roleArn, roleName } from "./naming";
import { ec2ResourcesFor, serviceTrustPolicy } from "./permissions";

/**
 * The spoke of a multi-account deployment, as a plain CloudFormation template that the hub
 * renders for a StackSet (one stack instance per member account and Region). Pure: no SST, no
 * Pulumi, so the CLI and the tests import it directly.
 *
 * Per account and Region it creates:
 * - an EventBridge rule on the default bus forwarding the handled CloudTrail events to the hub
 *   bus, and the role EventBridge uses to put them there;
 * - once per account (in `roleRegion` only, since IAM is global), the member role the hub's
 *   functions assume to remediate: trusted only by those roles' exact ARNs, only with the
 *   external id and only from inside the organisation, holding only the EC2 actions the
 *   functions need.
 */

/** The functions that act in member accounts: those with EC2 actions (not slack-notifier). */
export const MEMBER_ACTING_FUNCTIONS: readonly GuardrailFunction[] = GUARDRAIL_FUNCTIONS.filter(
  (fn) => FUNCTION_EC2_ACTIONS[fn].length > 0,
);

/**
 * Every EC2 action any hub function needs in a member account, each once, sorted: the union of
 * the functions' actions, with the Authorize actions of narrowing only when some rule of the
 * hub's policy narrows (`policyNarrows`).
 */
export function memberRoleActions({ narrowing }: { readonly narrowing: boolean }): string[] {
  return [
    ...new Set(MEMBER_ACTING_FUNCTIONS.flatMap((fn) => functionEc2Actions(fn, { narrowing }))),
  ].sort();
}

/** The member role's EC2 actions when no rule narrows (no Authorize action). */
export const MEMBER_ROLE_ACTIONS: readonly string[] = memberRoleActions({ narrowing: false });

/** `arn:aws:events:eu-west-1:111122223333:event-bus/network-guardrail-prod-hub`. */
export function hubBusArn(
  partition: string,
  region: string,
  accountId: string,
  stage: string,
): string {
  return `arn:${partition}:events:${region}:${accountId}:event-bus/${hubBusName(stage)}`;
}

/**
 * The policy of a forwarding rule's dead-letter queue: that rule alone may send its failed
 * events there. The ARNs are strings for Pulumi, or CloudFormation intrinsics for the spoke.
 */
export function forwardDeadLetterPolicy<Arn>(queueArn: Arn, ruleArn: Arn) {
  return {
    Version: "2012-10-17",
    Statement: [
      {
        Sid: "ForwardRuleSendsFailedEvents",
        Effect: "Allow",
        Principal: { Service: "events.amazonaws.com" },
        Action: "sqs:SendMessage",
        Resource: queueArn,
        Condition: { ArnEquals: { "aws:SourceArn": ruleArn } },
      },
    ],
  };
}

/**
 * The EventBridge pattern a spoke forwards: every handled event of every event-driven function
 * in one rule. The own-role exclusion of `eventPatternFor` is left to the hub's rules, which
 * know the member role; a spoke forwards every successful call.
 */
export function forwardedEventPattern() {
  const names = EVENT_DRIVEN_FUNCTIONS.flatMap((fn) => eventPatternFor(fn, []).detail.eventName);
  const base = eventPatternFor(EVENT_DRIVEN_FUNCTIONS[0] as GuardrailFunction, []);
  return {
    source: base.source,
    "detail-type": base["detail-type"],
    detail: {
      eventSource: base.detail.eventSource,
      eventName: [...new Set(names)],
      errorCode: base.detail.errorCode,
    },
  };
}

export interface SpokeTemplateInput {
  /** The account of the hub deployment. */
  readonly hubAccount: string;
  /** The Region of the hub deployment (its bus and functions). */
  readonly hubRegion: string;
  /** Shared with the hub (`GUARDRAIL_EXTERNAL_ID`); guards against the confused deputy. */
  readonly externalId: string;
  /** The organisation id (`o-…`): only principals inside it may assume the member role. */
  readonly orgId: string;
  /** The hub's stage. Default `prod`. */
  readonly stage?: string;
  /** Default `aws`. */
  readonly partition?: string;
  /** Default `memberRoleName(stage)`; must equal the hub's `GUARDRAIL_MEMBER_ROLE_NAME`. */
  readonly memberRoleName?: string;
  /** The one Region of each account where the (global) member role is created. Default hubRegion. */
  readonly roleRegion?: string;
  /**
   * When given, the member role may act only in these Regions (`aws:RequestedRegion`), as a
   * second fence besides the StackSet's own Region list.
   */
  readonly regions?: readonly string[];
  /**
   * The hub imports findings into each account's Security Hub (`GUARDRAIL_SECURITY_HUB=on`):
   * the member role may then also call BatchImportFindings on the account's default product
   * and BatchUpdateFindings on its hub. Default false.
   */
  readonly securityHub?: boolean;
  /**
   * Some rule of the hub's policy narrows security-group rules (`remediation.narrow`): the member
   * role may then also call `ec2:AuthorizeSecurityGroupIngress/Egress`, scoped like the revokes,
   * to authorize a rule's compliant remainder before revoking it. Default false: no Authorize.
   */
  readonly narrowing?: boolean;
}

const {
  accountId: ACCOUNT_ID,
  region: REGION,
  orgId: ORG_ID,
  externalId: EXTERNAL_ID,
  roleName: ROLE_NAME,
} = AWS_PATTERNS;
const STAGE = /^[a-zA-Z][a-zA-Z0-9-]*$/;
const PARTITION = /^aws(-[a-z]+)*$/;

function check(value: string, re: RegExp, what: string): string {
  if (!re.test(value)) {
    throw new ConfigurationError(`${what}: expected ${describe(re)}, got ${JSON.stringify(value)}`);
  }
  return value;
}

function describe(re: RegExp): string {
  switch (re) {
    case ACCOUNT_ID:
      return "a 12-digit account id";
    case REGION:
      return "a Region name such as eu-west-1";
    case ORG_ID:
      return "an organisation id such as o-a1b2c3d4e5";
    case EXTERNAL_ID:
      return "2 to 1224 characters of letters, digits and +=,.@:/-_";
    case ROLE_NAME:
      return "an IAM role name of at most 64 letters, digits and +=,.@-_";
    case STAGE:
      return "letters, digits and hyphens, starting with a letter";
    default:
      return "a partition such as aws";
  }
}

/** The inputs, checked, with every default applied. */
export interface SpokeSettings {
  readonly hubAccount: string;
  readonly hubRegion: string;
  readonly externalId: string;
  readonly orgId: string;
  readonly stage: string;
  readonly partition: string;
  readonly memberRoleName: string;
  readonly roleRegion: string;
  readonly regions: readonly string[] | null;
  readonly securityHub: boolean;
  readonly narrowing: boolean;
}

/**
 * Checks the inputs and applies the defaults.
 *
 * @throws ConfigurationError naming the first bad input.
 */
export function spokeSettings(input: SpokeTemplateInput): SpokeSettings {
  const stage = check(input.stage ?? "prod", STAGE, "stage");
  const hubRegion = check(input.hubRegion, REGION, "hub region");
  const regions =
    input.regions === undefined ? null : input.regions.map((r) => check(r, REGION, "region"));
  if (regions !== null && regions.length === 0) {
    throw new ConfigurationError("regions: give at least one Region, or leave it out");
  }
  return {
    hubAccount: check(input.hubAccount, ACCOUNT_ID, "hub account"),
    hubRegion,
    externalId: check(input.externalId, EXTERNAL_ID, "external id"),
    orgId: check(input.orgId, ORG_ID, "organisation id"),
    stage,
    partition: check(input.partition ?? "aws", PARTITION, "partition"),
    memberRoleName: check(input.memberRoleName ?? memberRoleName(stage), ROLE_NAME, "member role"),
    roleRegion: check(input.roleRegion ?? hubRegion, REGION, "role region"),
    regions: regions === null ? null : [...new Set(regions)].sort(),
    securityHub: input.securityHub ?? false,
    narrowing: input.narrowing ?? false,
  };
}

/** The ARNs of the hub roles the member role trusts. */
export function hubFunctionRoleArns(s: SpokeSettings): string[] {
  return MEMBER_ACTING_FUNCTIONS.map((fn) =>
    roleArn(s.partition, s.hubAccount, roleName(APP_NAME, s.stage, s.hubRegion, fn)),
  );
}

type Json = string | number | boolean | null | Json[] | { [key: string]: Json };

/** `Fn::Sub` references to CloudFormation pseudo parameters: the member's values at deploy time. */
const PSEUDO = {
  // biome-ignore lint/suspicious/noTemplateCurlyInString: Fn::Sub syntax, not a JS template.
  partition: "${AWS::Partition}",
  // biome-ignore lint/suspicious/noTemplateCurlyInString: Fn::Sub syntax, not a JS template.
  accountId: "${AWS::AccountId}",
} as const;

/** An ARN with pseudo parameters, resolved by CloudFormation. */
const sub = (text: string): Json => ({ "Fn::Sub": text });

/** The member role's EC2 statements: one per resource scope, the actions listed explicitly. */
function memberStatements(s: SpokeSettings): Json[] {
  const placeholders = {
    partition: PSEUDO.partition,
    // The role is global: it remediates in every Region of the account.
    region: "*",
    accountId: PSEUDO.accountId,
    tableArn: "",
    topicArn: "",
    topicKeyArn: "",
    deadLetterQueueArn: "",
    slackWebhookParameterArn: "",
  };
  const byResources = new Map<string, { actions: string[]; resources: string[] }>();
  for (const action of memberRoleActions({ narrowing: s.narrowing })) {
    const resources = ec2ResourcesFor(action, placeholders);
    const key = resources.join("\n");
    const group = byResources.get(key) ?? { actions: [], resources };
    group.actions.push(action);
    byResources.set(key, group);
  }
  const condition: Json =
    s.regions === null ? null : { StringEquals: { "aws:RequestedRegion": [...s.regions] } };
  const ec2 = [...byResources.values()].map(({ actions, resources }, i) => ({
    Sid: `Ec2${i + 1}`,
    Effect: "Allow",
    Action: actions,
    Resource: resources.map((r) => (r.includes("${") ? sub(r) : r)),
    ...(condition === null ? {} : { Condition: condition }),
  }));
  if (!s.securityHub) return ec2;
  const [importFindings, updateFindings] = SECURITY_HUB_ACTIONS;
  const own = securityHubResources(PSEUDO.partition, PSEUDO.accountId);
  return [
    ...ec2,
    {
      Sid: "SecurityHubImport",
      Effect: "Allow",
      Action: [importFindings],
      Resource: [sub(own.importFindings)],
      ...(condition === null ? {} : { Condition: condition }),
    },
    {
      Sid: "SecurityHubUpdate",
      Effect: "Allow",
      Action: [updateFindings],
      Resource: [sub(own.updateFindings)],
      ...(condition === null ? {} : { Condition: condition }),
    },
  ];
}

/**
 * Renders the spoke template as a CloudFormation JSON object (`JSON.stringify` it for
 * `aws cloudformation create-stack-set --template-body`).
 *
 * In the hub's own account and Region the forwarding rule is not created: the hub's stack
 * already listens on that default bus, and forwarding would deliver every event twice.
 *
 * @throws ConfigurationError for a malformed input.
 * @example
 * const template = renderSpokeTemplate({ hubAccount: "111122223333", hubRegion: "eu-west-1",
 *   externalId: "guardrail-3f9c", orgId: "o-a1b2c3d4e5" });
 * writeFileSync("spoke.json", JSON.stringify(template, null, 2));
 */
export function renderSpokeTemplate(input: SpokeTemplateInput): Record<string, Json> {
  const s = spokeSettings(input);
  const busArn = hubBusArn(s.partition, s.hubRegion, s.hubAccount, s.stage);
  return {
    AWSTemplateFormatVersion: "2010-09-09",
    Description:
      `Network guardrail spoke (${s.stage}): forwards security-group and network-ACL CloudTrail ` +
      `events to the hub bus in ${s.hubAccount}/${s.hubRegion}; remediation role for the hub.`,
    Conditions: {
      IsHubRegionOfHubAccount: {
        "Fn::And": [
          { "Fn::Equals": [{ Ref: "AWS::AccountId" }, s.hubAccount] },
          { "Fn::Equals": [{ Ref: "AWS::Region" }, s.hubRegion] },
        ],
      },
      Forward: { "Fn::Not": [{ Condition: "IsHubRegionOfHubAccount" }] },
      CreateMemberRole: { "Fn::Equals": [{ Ref: "AWS::Region" }, s.roleRegion] },
    },
    Resources: {
      ForwarderRole: {
        Type: "AWS::IAM::Role",
        Condition: "Forward",
        Properties: {
          Description: "Lets this account's EventBridge put guardrail events on the hub bus.",
          AssumeRolePolicyDocument: serviceTrustPolicy("events.amazonaws.com", {
            Ref: "AWS::AccountId",
          }),
          Policies: [
            {
              PolicyName: "put-events-to-hub",
              PolicyDocument: {
                Version: "2012-10-17",
                Statement: [{ Effect: "Allow", Action: ["events:PutEvents"], Resource: [busArn] }],
              },
            },
          ],
        },
      },
      ForwardRule: {
        Type: "AWS::Events::Rule",
        Condition: "Forward",
        Properties: {
          Description: `Network guardrail (${s.stage}): forward handled CloudTrail events to the hub`,
          EventBusName: "default",
          EventPattern: forwardedEventPattern() as unknown as Json,
          State: "ENABLED",
          Targets: [
            {
              Id: "guardrail-hub",
              Arn: busArn,
              RoleArn: { "Fn::GetAtt": ["ForwarderRole", "Arn"] },
              // A PutEvents to the hub that keeps failing (hub bus policy, the role, the hub
              // Region down) lands here instead of being dropped; the alarms below see it.
              // Event-bus targets take no RetryPolicy (EventBridge retries them on its own).
              // https://docs.aws.amazon.com/cdk/api/v2/docs/aws-cdk-lib.aws_events_targets.EventBusProps.html
              DeadLetterConfig: { Arn: { "Fn::GetAtt": ["ForwardDeadLetterQueue", "Arn"] } },
            },
          ],
        },
      },
      ForwardDeadLetterQueue: {
        Type: "AWS::SQS::Queue",
        Condition: "Forward",
        Properties: { MessageRetentionPeriod: 14 * 24 * 3600, SqsManagedSseEnabled: true },
      },
      ForwardDeadLetterQueuePolicy: {
        Type: "AWS::SQS::QueuePolicy",
        Condition: "Forward",
        Properties: {
          Queues: [{ Ref: "ForwardDeadLetterQueue" }],
          PolicyDocument: forwardDeadLetterPolicy(
            { "Fn::GetAtt": ["ForwardDeadLetterQueue", "Arn"] },
            { "Fn::GetAtt": ["ForwardRule", "Arn"] },
          ),
        },
      },
      ForwardFailuresAlarm: {
        Type: "AWS::CloudWatch::Alarm",
        Condition: "Forward",
        Properties: {
          AlarmDescription: `Network guardrail (${s.stage}): this account failed to forward CloudTrail events to the hub; they are in the forwarding DLQ, NOT evaluated.`,
          Namespace: "AWS/Events",
          MetricName: "FailedInvocations",
          Dimensions: [{ Name: "RuleName", Value: { Ref: "ForwardRule" } }],
          Statistic: "Sum",
          Period: 300,
          EvaluationPeriods: 1,
          Threshold: 1,
          ComparisonOperator: "GreaterThanOrEqualToThreshold",
          TreatMissingData: "notBreaching",
        },
      },
      ForwardDeadLetterAlarm: {
        Type: "AWS::CloudWatch::Alarm",
        Condition: "Forward",
        Properties: {
          AlarmDescription: `Network guardrail (${s.stage}): events this account could not forward to the hub wait in the forwarding DLQ.`,
          Namespace: "AWS/SQS",
          MetricName: "ApproximateNumberOfMessagesVisible",
          Dimensions: [
            { Name: "QueueName", Value: { "Fn::GetAtt": ["ForwardDeadLetterQueue", "QueueName"] } },
          ],
          Statistic: "Maximum",
          Period: 60,
          EvaluationPeriods: 1,
          Threshold: 1,
          ComparisonOperator: "GreaterThanOrEqualToThreshold",
          TreatMissingData: "notBreaching",
        },
      },
      MemberRole: {
        Type: "AWS::IAM::Role",
        Condition: "CreateMemberRole",
        Properties: {
          RoleName: s.memberRoleName,
          Description: `Assumed by the network guardrail hub (${s.hubAccount}) to revoke offending rules.`,
          MaxSessionDuration: 3600,
          AssumeRolePolicyDocument: {
            Version: "2012-10-17",
            Statement: [
              {
                Effect: "Allow",
                Principal: { AWS: hubFunctionRoleArns(s) },
                Action: "sts:AssumeRole",
                Condition: {
                  StringEquals: { "sts:ExternalId": s.externalId, "aws:PrincipalOrgID": s.orgId },
                },
              },
            ],
          },
          Policies: [
            {
              PolicyName: "guardrail-remediation",
              PolicyDocument: { Version: "2012-10-17", Statement: memberStatements(s) },
            },
          ],
        },
      },
    },
    Outputs: {
      ForwardRuleArn: { Condition: "Forward", Value: { "Fn::GetAtt": ["ForwardRule", "Arn"] } },
      MemberRoleArn: {
        Condition: "CreateMemberRole",
        Value: { "Fn::GetAtt": ["MemberRole", "Arn"] },
      },
    },
  };
}
