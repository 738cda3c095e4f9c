import type { ActionType } from "./model";

/**
 * The load-bearing facts of the product, in one place so that the functions, the infra, the
 * sandbox and their tests all read the same values.
 */

/** What an event name means to the guardrail. One table, no scattered switches. */
export interface EventSpec {
  /** Which function handles it (`null` for restrictive calls, recognised but never evaluated). */
  readonly handler: GuardrailFunction | null;
  /** `permissive` calls can open access; `restrictive` ones only remove it. */
  readonly effect: "permissive" | "restrictive";
  readonly resource: "security-group" | "network-acl" | "prefix-list";
}

export const EVENT_SPECS = {
  AuthorizeSecurityGroupIngress: {
    handler: "security-group-change",
    effect: "permissive",
    resource: "security-group",
  },
  AuthorizeSecurityGroupEgress: {
    handler: "security-group-change",
    effect: "permissive",
    resource: "security-group",
  },
  ModifySecurityGroupRules: {
    handler: "security-group-change",
    effect: "permissive",
    resource: "security-group",
  },
  CreateNetworkAclEntry: {
    handler: "network-acl-change",
    effect: "permissive",
    resource: "network-acl",
  },
  ReplaceNetworkAclEntry: {
    handler: "network-acl-change",
    effect: "permissive",
    resource: "network-acl",
  },
  ModifyManagedPrefixList: {
    handler: "prefix-list-change",
    effect: "permissive",
    resource: "prefix-list",
  },
  RevokeSecurityGroupIngress: { handler: null, effect: "restrictive", resource: "security-group" },
  RevokeSecurityGroupEgress: { handler: null, effect: "restrictive", resource: "security-group" },
  DeleteNetworkAclEntry: { handler: null, effect: "restrictive", resource: "network-acl" },
} as const satisfies Record<string, EventSpec>;

export type KnownEventName = keyof typeof EVENT_SPECS;

/** The Lambdas of the product. Their handler files are `functions/src/handlers/<name>.ts`. */
export const GUARDRAIL_FUNCTIONS = [
  "security-group-change",
  "network-acl-change",
  "prefix-list-change",
  "sweep",
  "slack-notifier",
] as const;
export type GuardrailFunction = (typeof GUARDRAIL_FUNCTIONS)[number];

/** Event names routed to one event-driven function. */
export function eventNamesFor(fn: GuardrailFunction): string[] {
  return Object.entries(EVENT_SPECS)
    .filter(([, spec]) => spec.handler === fn)
    .map(([name]) => name);
}

/** Every event name some function evaluates (the permissive ones). */
export const HANDLED_EVENT_NAMES: readonly string[] = Object.entries(EVENT_SPECS)
  .filter(([, spec]) => spec.handler !== null)
  .map(([name]) => name);

export const EVENT_DETAIL_TYPE = "AWS API Call via CloudTrail";
export const EVENT_SOURCE = "aws.ec2";

/**
 * The EventBridge pattern for one event-driven function.
 *
 * - `errorCode` must be absent: failed calls changed nothing.
 * - The guardrail's own roles are excluded. EventBridge's `anything-but` does not match a missing
 *   field, and IAM users and root have no session issuer, so the pattern also accepts
 *   `exists: false` (the array is an OR).
 */
export function eventPatternFor(fn: GuardrailFunction, ownRoleArns: readonly string[]) {
  const names = eventNamesFor(fn);
  if (names.length === 0) throw new Error(`${fn} is not event-driven`);
  return {
    source: [EVENT_SOURCE],
    "detail-type": [EVENT_DETAIL_TYPE],
    detail: {
      eventSource: ["ec2.amazonaws.com"],
      eventName: names,
      errorCode: [{ exists: false }],
      userIdentity: {
        sessionContext: {
          sessionIssuer: {
            arn: [{ "anything-but": [...ownRoleArns] }, { exists: false }],
          },
        },
      },
    },
  };
}

/** Event-driven functions (those with an EventBridge rule). */
export const EVENT_DRIVEN_FUNCTIONS = GUARDRAIL_FUNCTIONS.filter(
  (fn) => eventNamesFor(fn).length > 0,
);

/** The EC2 actions each remediation action needs. The infra grants exactly these. */
export const REMEDIATION_PERMISSIONS: Record<ActionType, readonly string[]> = {
  "revoke-security-group-rules": ["ec2:RevokeSecurityGroupIngress", "ec2:RevokeSecurityGroupEgress"],
  "revoke-security-group-permissions": [
    "ec2:RevokeSecurityGroupIngress",
    "ec2:RevokeSecurityGroupEgress",
  ],
  "delete-network-acl-entry": ["ec2:DeleteNetworkAclEntry"],
};

/** Read-only EC2 calls the policy may need (tags, rule direction, prefix lists, sweep). */
export const LOOKUP_PERMISSIONS = {
  describeSecurityGroups: "ec2:DescribeSecurityGroups",
  describeSecurityGroupRules: "ec2:DescribeSecurityGroupRules",
  describeNetworkAcls: "ec2:DescribeNetworkAcls",
  getManagedPrefixListEntries: "ec2:GetManagedPrefixListEntries",
  describeManagedPrefixLists: "ec2:DescribeManagedPrefixLists",
} as const;

/** Exactly the EC2 actions each function's role gets. No wildcards, no Authorize/Create. */
export const FUNCTION_EC2_ACTIONS: Record<GuardrailFunction, readonly string[]> = {
  "security-group-change": [
    ...REMEDIATION_PERMISSIONS["revoke-security-group-rules"],
    LOOKUP_PERMISSIONS.describeSecurityGroups,
    LOOKUP_PERMISSIONS.describeSecurityGroupRules,
    LOOKUP_PERMISSIONS.getManagedPrefixListEntries,
  ],
  "network-acl-change": [...REMEDIATION_PERMISSIONS["delete-network-acl-entry"]],
  "prefix-list-change": [
    ...REMEDIATION_PERMISSIONS["revoke-security-group-rules"],
    LOOKUP_PERMISSIONS.describeSecurityGroupRules,
    LOOKUP_PERMISSIONS.describeSecurityGroups,
    LOOKUP_PERMISSIONS.getManagedPrefixListEntries,
  ],
  sweep: [
    ...REMEDIATION_PERMISSIONS["revoke-security-group-rules"],
    ...REMEDIATION_PERMISSIONS["delete-network-acl-entry"],
    LOOKUP_PERMISSIONS.describeSecurityGroups,
    LOOKUP_PERMISSIONS.describeSecurityGroupRules,
    LOOKUP_PERMISSIONS.describeNetworkAcls,
    LOOKUP_PERMISSIONS.getManagedPrefixListEntries,
    LOOKUP_PERMISSIONS.describeManagedPrefixLists,
  ],
  "slack-notifier": [],
};

/** CloudWatch metric namespace and names the functions emit (EMF). */
export const METRICS = {
  namespace: "NetworkGuardrail",
  violations: "Violations",
  remediations: "Remediations",
  remediationFailures: "RemediationFailures",
  invalidEvents: "InvalidEvents",
  exposureSeconds: "ExposureSeconds",
  sweepRuns: "SweepRuns",
} as const;

/** Alarm thresholds. Every alarm's action is the guardrail's SNS topic. */
export const ALARMS = {
  functionErrors: { threshold: 1, periodSeconds: 300, evaluationPeriods: 1 },
  dlqDepth: { threshold: 1, periodSeconds: 60, evaluationPeriods: 1 },
  remediationFailures: { threshold: 1, periodSeconds: 60, evaluationPeriods: 1 },
  invalidEvents: { threshold: 1, periodSeconds: 300, evaluationPeriods: 1 },
  /** Sweep not run: fewer than 1 run over this many sweep intervals. */
  sweepMissedIntervals: 2,
} as const;

/** EventBridge target retry policy for event-driven functions (then the DLQ). */
export const TARGET_RETRY = { maximumRetryAttempts: 8, maximumEventAgeSeconds: 3600 } as const;

/** Default sweep schedule. */
export const DEFAULT_SWEEP_RATE_MINUTES = 15;

/** NotFound codes that mean "the rule is already gone": success, recorded as such. */
export const ALREADY_GONE_ERROR_CODES = [
  "InvalidPermission.NotFound",
  "InvalidSecurityGroupRuleId.NotFound",
  "InvalidNetworkAclEntry.NotFound",
] as const;

/**
 * The audit table's key schema, shared by the infra, the functions and `guardrail audit`.
 * One item per decision; idempotency items live in the same table under `IDEMPOTENCY#<eventId>`.
 */
export const AUDIT_TABLE = {
  partitionKey: "pk",
  sortKey: "sk",
  ttlAttribute: "expiresAt",
  byAccount: { indexName: "byAccount", partitionKey: "gsi1pk", sortKey: "gsi1sk" },
  byResource: { indexName: "byResource", partitionKey: "gsi2pk", sortKey: "gsi2sk" },
} as const;

/** Environment variables the infra sets and the functions read (checked at cold start). */
export const FUNCTION_ENV = {
  tableName: "GUARDRAIL_TABLE_NAME",
  topicArn: "GUARDRAIL_TOPIC_ARN",
  ownRoleArns: "GUARDRAIL_OWN_ROLE_ARNS",
  policyFile: "GUARDRAIL_POLICY_FILE",
  stage: "GUARDRAIL_STAGE",
  version: "GUARDRAIL_VERSION",
  sweepRateMinutes: "GUARDRAIL_SWEEP_RATE_MINUTES",
} as const;
