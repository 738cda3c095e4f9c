import type { ActionType } from "./model";
import { NOTIFIER_FUNCTIONS, NOTIFIERS, type NotifierFunction } from "./notifiers";
import type { Policy } from "./policy/types";

export * from "./notifiers";

/**
 * The load-bearing facts of the product, in one place so that the functions, the infra, the
 * sandbox and their tests all read the same values.
 */

/**
 * An event's route: what an event name means to the guardrail and which function handles it.
 * One table, no scattered switches. The EventBridge rule of each function (`eventPatternFor`),
 * its EC2 grants (`FUNCTION_EC2_ACTIONS`) and the set of functions follow from it; the parser is
 * the event's entry in `EVENT_PARSERS` (cloudtrail/parsers.ts), typed over these names so that a
 * route without a parser does not compile.
 */
export interface EventSpec {
  /** Which function handles it (`null` for restrictive calls, recognised but never evaluated). */
  readonly handler: EventFunction | null;
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
  // Deleting a deny entry opens whatever the allows behind it permit: the ACL after the delete
  // is judged.
  DeleteNetworkAclEntry: {
    handler: "network-acl-change",
    effect: "permissive",
    resource: "network-acl",
  },
  // Moving a subnet to another ACL gives it that ACL's traffic: the ACL it now uses is judged.
  ReplaceNetworkAclAssociation: {
    handler: "network-acl-change",
    effect: "permissive",
    resource: "network-acl",
  },
  ModifyManagedPrefixList: {
    handler: "prefix-list-change",
    effect: "permissive",
    resource: "prefix-list",
  },
  // Restoring an old version can bring back entries (0.0.0.0/0) removed since: it opens access.
  RestoreManagedPrefixListVersion: {
    handler: "prefix-list-change",
    effect: "permissive",
    resource: "prefix-list",
  },
  RevokeSecurityGroupIngress: { handler: null, effect: "restrictive", resource: "security-group" },
  RevokeSecurityGroupEgress: { handler: null, effect: "restrictive", resource: "security-group" },
} as const satisfies Record<string, EventSpec>;

export type KnownEventName = keyof typeof EVENT_SPECS;

/**
 * Calls that can set or remove a tag on a security group, and so grant or withdraw a tag
 * exemption. Their handler records who did it (the audit trail) and announces it; they change
 * no rule. The Resource Groups Tagging API's calls come from `tagging.amazonaws.com`, whose
 * EventBridge source is `aws.tagging` (EventBridge events reference, "AWS Resource Groups
 * Tagging API events"; `aws.tag` is the source of the different "Tag Change on Resource").
 */
export const TAG_EVENT_SPECS = {
  CreateTags: { handler: "security-group-change", eventSource: "ec2.amazonaws.com" },
  DeleteTags: { handler: "security-group-change", eventSource: "ec2.amazonaws.com" },
  /** With TagSpecifications, a group is tagged as it is created. */
  CreateSecurityGroup: { handler: "security-group-change", eventSource: "ec2.amazonaws.com" },
  TagResources: { handler: "security-group-change", eventSource: "tagging.amazonaws.com" },
  UntagResources: { handler: "security-group-change", eventSource: "tagging.amazonaws.com" },
} as const satisfies Record<
  string,
  { readonly handler: EventFunction; readonly eventSource: string }
>;

export type TagEventName = keyof typeof TAG_EVENT_SPECS;

/** The EventBridge source of the Resource Groups Tagging API's CloudTrail events. */
export const TAGGING_EVENT_SOURCE = "aws.tagging";

/** Tagging event names routed to one function. */
export function tagEventNamesFor(fn: GuardrailFunction): TagEventName[] {
  return (Object.keys(TAG_EVENT_SPECS) as TagEventName[]).filter(
    (name) => TAG_EVENT_SPECS[name].handler === fn,
  );
}

/**
 * The functions CloudTrail events are routed to, and what each may do besides reading its
 * events: the remediations it may plan and the look-ups it makes (read-only EC2 calls, names of
 * LOOKUP_PERMISSIONS). Its EC2 grants are exactly these (`FUNCTION_EC2_ACTIONS`); its handler
 * file is `functions/src/handlers/<name>.ts`.
 */
export interface EventFunctionSpec extends LambdaSizing {
  readonly remediations: readonly ActionType[];
  readonly lookups: readonly LookupName[];
  readonly reservedConcurrency: number;
}

export const EVENT_FUNCTIONS = {
  // Timeouts leave room for EC2_RETRY.budgetMs (40 s) on the revoke after a look-up: a throttle
  // is waited out inside the invocation (bench/burst.ts), not by Lambda's retry a minute later.
  // The event functions revoke, and most of their invocations are cold: 1,769 MB is one full
  // vCPU (https://docs.aws.amazon.com/lambda/latest/dg/configuration-memory.html), and init is
  // CPU-bound, so it runs about 3x faster than at 512 MB for about the same GB-seconds per cold
  // invocation (bench/cold-start-quota.ts; the reasoning is in docs/benchmarks.md).
  "security-group-change": {
    remediations: ["revoke-security-group-rules"],
    lookups: [
      "describeSecurityGroups",
      "describeSecurityGroupRules",
      "getManagedPrefixListEntries",
    ],
    memoryMb: 1769,
    timeoutSeconds: 90,
    reservedConcurrency: 25,
  },
  // The ACL is read before anything is planned (and again when a write finds it changed).
  "network-acl-change": {
    remediations: ["delete-network-acl-entry", "insert-network-acl-entries"],
    lookups: ["describeNetworkAcls"],
    memoryMb: 1769,
    timeoutSeconds: 60,
    reservedConcurrency: 10,
  },
  "prefix-list-change": {
    remediations: ["revoke-security-group-rules"],
    lookups: [
      "describeSecurityGroupRules",
      "describeSecurityGroups",
      "getManagedPrefixListEntries",
      "getManagedPrefixListAssociations",
    ],
    memoryMb: 1769,
    timeoutSeconds: 120,
    reservedConcurrency: 5,
  },
} as const satisfies Record<string, EventFunctionSpec>;
export type EventFunction = keyof typeof EVENT_FUNCTIONS;

/**
 * The Lambdas of the product: the event functions, the sweep, then the notifiers
 * (notifiers.ts). Their handler files are `functions/src/handlers/<name>.ts`.
 */
export type GuardrailFunction = EventFunction | "sweep" | NotifierFunction;
export const GUARDRAIL_FUNCTIONS: readonly GuardrailFunction[] = [
  ...(Object.keys(EVENT_FUNCTIONS) as EventFunction[]),
  "sweep",
  ...(Object.keys(NOTIFIER_FUNCTIONS) as NotifierFunction[]),
];

/** Whether a function is one of the notifiers subscribed to the topic. */
export function isNotifierFunction(fn: GuardrailFunction): fn is NotifierFunction {
  return Object.hasOwn(NOTIFIER_FUNCTIONS, fn);
}

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
  const tagging = tagEventNamesFor(fn);
  const taggingApi = tagging.some((n) => TAG_EVENT_SPECS[n].eventSource !== "ec2.amazonaws.com");
  // Own roles by exact ARN: EventBridge's wildcard matching is not IAM's, so the patterns
  // never hold one (the functions' own check, `isOwnPrincipal`, stays the authority).
  return {
    source: taggingApi ? [EVENT_SOURCE, TAGGING_EVENT_SOURCE] : [EVENT_SOURCE],
    "detail-type": [EVENT_DETAIL_TYPE],
    detail: {
      eventSource: taggingApi
        ? ["ec2.amazonaws.com", "tagging.amazonaws.com"]
        : ["ec2.amazonaws.com"],
      eventName: [...names, ...tagging],
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
  "revoke-security-group-rules": [
    "ec2:RevokeSecurityGroupIngress",
    "ec2:RevokeSecurityGroupEgress",
  ],
  "revoke-security-group-permissions": [
    "ec2:RevokeSecurityGroupIngress",
    "ec2:RevokeSecurityGroupEgress",
  ],
  "delete-network-acl-entry": ["ec2:DeleteNetworkAclEntry"],
  "insert-network-acl-entries": ["ec2:CreateNetworkAclEntry"],
  // Authorize the compliant remainder, then revoke the rule: granted only when some rule of the
  // policy narrows (see `narrowingEc2Actions`).
  "narrow-security-group-rule": [
    "ec2:AuthorizeSecurityGroupIngress",
    "ec2:AuthorizeSecurityGroupEgress",
    "ec2:RevokeSecurityGroupIngress",
    "ec2:RevokeSecurityGroupEgress",
  ],
};

/** Read-only EC2 calls the policy may need (tags, rule direction, prefix lists, sweep). */
export const LOOKUP_PERMISSIONS = {
  describeSecurityGroups: "ec2:DescribeSecurityGroups",
  describeSecurityGroupRules: "ec2:DescribeSecurityGroupRules",
  describeNetworkAcls: "ec2:DescribeNetworkAcls",
  getManagedPrefixListEntries: "ec2:GetManagedPrefixListEntries",
  describeManagedPrefixLists: "ec2:DescribeManagedPrefixLists",
  /** EC2 cannot filter rules by prefix list: prefix-list-change asks which groups reference it. */
  getManagedPrefixListAssociations: "ec2:GetManagedPrefixListAssociations",
  /** The sweep compares the Regions enabled now with the covered ones (enabled since the deploy). */
  describeRegions: "ec2:DescribeRegions",
} as const;
export type LookupName = keyof typeof LOOKUP_PERMISSIONS;

/** An event function's EC2 actions: its remediations' then its look-ups', each once, in order. */
function eventFunctionEc2Actions(spec: EventFunctionSpec): string[] {
  return [
    ...new Set([
      ...spec.remediations.flatMap((action) => REMEDIATION_PERMISSIONS[action]),
      ...spec.lookups.map((name) => LOOKUP_PERMISSIONS[name]),
    ]),
  ];
}

function eventFunctionTable<T>(of: (spec: EventFunctionSpec, fn: EventFunction) => T) {
  return Object.fromEntries(
    Object.entries(EVENT_FUNCTIONS).map(([fn, spec]) => [fn, of(spec, fn as EventFunction)]),
  ) as Record<EventFunction, T>;
}

function notifierFunctionTable<T>(of: (fn: NotifierFunction) => T) {
  return Object.fromEntries(
    (Object.keys(NOTIFIER_FUNCTIONS) as NotifierFunction[]).map((fn) => [fn, of(fn)]),
  ) as Record<NotifierFunction, T>;
}

/**
 * Exactly the EC2 actions each function's role gets when no rule narrows. No wildcards, no
 * Authorize; the only Create is CreateNetworkAclEntry, for the NACL planner's inserted entries.
 */
export const FUNCTION_EC2_ACTIONS: Record<GuardrailFunction, readonly string[]> = {
  ...eventFunctionTable((spec) => eventFunctionEc2Actions(spec)),
  sweep: [
    ...REMEDIATION_PERMISSIONS["revoke-security-group-rules"],
    ...REMEDIATION_PERMISSIONS["delete-network-acl-entry"],
    ...REMEDIATION_PERMISSIONS["insert-network-acl-entries"],
    LOOKUP_PERMISSIONS.describeSecurityGroups,
    LOOKUP_PERMISSIONS.describeSecurityGroupRules,
    LOOKUP_PERMISSIONS.describeNetworkAcls,
    LOOKUP_PERMISSIONS.getManagedPrefixListEntries,
    LOOKUP_PERMISSIONS.describeManagedPrefixLists,
    LOOKUP_PERMISSIONS.describeRegions,
  ],
  ...notifierFunctionTable(() => []),
};

/**
 * The functions whose plans may narrow a security-group rule (`narrow-security-group-rule`):
 * those that judge security-group rules by id. prefix-list-change judges rules whose peer is a
 * prefix list, which are never narrowed; the NACL function judges no group.
 */
export const NARROWING_FUNCTIONS: readonly GuardrailFunction[] = ["security-group-change", "sweep"];

/** Whether some rule of the policy narrows (`remediation.narrow`): the Authorize grant then exists. */
export function policyNarrows(policy: Pick<Policy, "rules">): boolean {
  return policy.rules.some((r) => r.remediation.narrow);
}

/**
 * The EC2 actions of a function's role: `FUNCTION_EC2_ACTIONS`, and, when some rule of the
 * policy narrows and the function is one that narrows, what narrowing needs besides
 * (`ec2:AuthorizeSecurityGroupIngress/Egress`). With no rule narrowing, no role has any
 * Authorize action.
 *
 * @example
 * functionEc2Actions("sweep", { narrowing: false }).some((a) => a.includes("Authorize")) // false
 */
export function functionEc2Actions(
  fn: GuardrailFunction,
  { narrowing }: { readonly narrowing: boolean },
): readonly string[] {
  const base = FUNCTION_EC2_ACTIONS[fn];
  if (!narrowing || !NARROWING_FUNCTIONS.includes(fn)) return base;
  return [
    ...base,
    ...REMEDIATION_PERMISSIONS["narrow-security-group-rule"].filter((a) => !base.includes(a)),
  ];
}

/** CloudWatch metric namespace and names the functions emit (EMF). */
export const METRICS = {
  namespace: "NetworkGuardrail",
  violations: "Violations",
  remediations: "Remediations",
  remediationFailures: "RemediationFailures",
  invalidEvents: "InvalidEvents",
  exposureSeconds: "ExposureSeconds",
  sweepRuns: "SweepRuns",
  /** The flap guard's escalations: a rule something keeps re-opening (see `FlapVerdict`). */
  revokeLoops: "RevokeLoops",
  /** Revokes folded into their loop's escalation (recorded, not announced). */
  foldedRevokes: "FoldedRevokes",
  /** A violation the sweep found twice in a row that no event decision covered. */
  eventPathMisses: "EventPathMisses",
  /** Rules or entries the sweep could not read (not judged). */
  unreadableRules: "UnreadableRules",
  /** A trail not logging or not delivering, or an event rule disabled (the sweep checks). */
  eventPathChecksFailed: "EventPathChecksFailed",
  /** Non-critical messages the Slack notifier folded into a digest. */
  slackFolded: "SlackFolded",
  /** Findings Security Hub did not take (after retries); the sweep sends them again. */
  securityHubFailures: "SecurityHubFailures",
  /** Events from a Region the deploy does not cover: reported, never acted on. */
  eventsNotCovered: "EventsNotCovered",
  /** Regions enabled in the account since the deploy, not covered until the next one. */
  regionsNotCovered: "RegionsNotCovered",
  /** Organisation accounts the sweep could not enter through the member role (not deployed). */
  accountsNotDeployed: "AccountsNotDeployed",
} as const;

/** Alarm thresholds. Every alarm's action is the guardrail's SNS topic. */
export const ALARMS = {
  functionErrors: { threshold: 1, periodSeconds: 300, evaluationPeriods: 1 },
  dlqDepth: { threshold: 1, periodSeconds: 60, evaluationPeriods: 1 },
  remediationFailures: { threshold: 1, periodSeconds: 60, evaluationPeriods: 1 },
  invalidEvents: { threshold: 1, periodSeconds: 300, evaluationPeriods: 1 },
  /** Sweep not run: fewer than 1 run over this many sweep intervals. */
  sweepMissedIntervals: 2,
  /** Lambda `Throttles` of an event function: events wait in Lambda's queue. */
  throttles: { threshold: 1, periodSeconds: 300, evaluationPeriods: 1 },
  /** Lambda `AsyncEventAge` (ms, Maximum): events waiting this long to be handled. */
  asyncEventAgeMs: { threshold: 5 * 60_000, periodSeconds: 60, evaluationPeriods: 3 },
  /** Lambda `AsyncEventsDropped`: an event expired or was dropped without its destination. */
  asyncEventsDropped: { threshold: 1, periodSeconds: 300, evaluationPeriods: 1 },
  eventPathMisses: { threshold: 1, periodSeconds: 3600, evaluationPeriods: 1 },
  unreadableRules: { threshold: 1, periodSeconds: 3600, evaluationPeriods: 1 },
  eventPathChecksFailed: { threshold: 1, periodSeconds: 3600, evaluationPeriods: 1 },
  eventsNotCovered: { threshold: 1, periodSeconds: 3600, evaluationPeriods: 1 },
  regionsNotCovered: { threshold: 1, periodSeconds: 3600, evaluationPeriods: 1 },
  accountsNotDeployed: { threshold: 1, periodSeconds: 3600, evaluationPeriods: 1 },
} as const;

/** EventBridge target retry policy for event-driven functions (then the DLQ). */
/**
 * EventBridge target retry policy of the event rules. It covers only EventBridge's delivery to
 * Lambda's asynchronous queue, never a function error (see `DELIVERY`).
 */
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
 * One item per decision under `DECISION#<id>`, and the sweep's state under `STATE#<account>#<region>`
 * (`AUDIT_KEY_PREFIX`).
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
  /** sha256 of the policy's source text the stack shipped: the compiled policy must carry it. */
  policySha256: "GUARDRAIL_POLICY_SHA256",
  stage: "GUARDRAIL_STAGE",
  version: "GUARDRAIL_VERSION",
  sweepRateMinutes: "GUARDRAIL_SWEEP_RATE_MINUTES",
  /** The chain writer's FIFO queue (decision writers send each record there); unset: no chain. */
  chainQueueUrl: "GUARDRAIL_CHAIN_QUEUE_URL",
} as const;

/** A Lambda's memory and timeout. */
export interface LambdaSizing {
  readonly memoryMb: number;
  readonly timeoutSeconds: number;
}

/**
 * How each Lambda is sized. The infra reads these; the benchmark reports against them.
 *
 * Reserved concurrency is both a floor (other functions in the account cannot starve the
 * guardrail) and a ceiling. The ceiling matters: the event functions call EC2, whose API is
 * throttled per account and Region with a token bucket shared with every other caller, so more
 * parallel revokes than EC2 accepts only turns a burst into `RequestLimitExceeded` retries for
 * everyone. EventBridge delivers asynchronously, so an invocation over the limit is queued and
 * retried by Lambda, not lost: at 25 concurrent evaluations of ~0.5 s, a burst of 1,000
 * violations drains in ~20 s (EC2 throttling, not Lambda, is then the bound). `sweep` is 1 so that
 * two sweeps never run at once; `slack-notifier` is low because Slack webhooks accept about one
 * message per second.
 */
export const FUNCTION_SIZING: Record<
  GuardrailFunction,
  LambdaSizing & { readonly reservedConcurrency: number }
> = {
  ...eventFunctionTable(({ memoryMb, timeoutSeconds, reservedConcurrency }) => ({
    memoryMb,
    timeoutSeconds,
    reservedConcurrency,
  })),
  sweep: { memoryMb: 1024, timeoutSeconds: 300, reservedConcurrency: 1 },
  ...notifierFunctionTable((fn) => NOTIFIER_FUNCTIONS[fn]),
};

/**
 * Which data each function's role may touch besides EC2: the audit table's decision records,
 * the sweep's state items (`state`: none, read by event functions for "previous" rules, or
 * written by the sweep alone), the SNS topic.
 */
export const FUNCTION_DATA_ACCESS: Record<
  GuardrailFunction,
  {
    readonly audit: boolean;
    readonly state: "none" | "read" | "write";
    readonly notify: boolean;
  }
> = {
  ...eventFunctionTable(() => ({ audit: true, state: "read", notify: true }) as const),
  sweep: { audit: true, state: "write", notify: true },
  ...notifierFunctionTable(() => ({ audit: false, state: "none", notify: false }) as const),
};

/**
 * Partition-key prefixes of the audit table. Decisions and the sweep's state live under
 * different prefixes so that IAM (`dynamodb:LeadingKeys`) can keep each writer to its own items.
 */
export const AUDIT_KEY_PREFIX = {
  decision: "DECISION#",
  state: "STATE#",
  /** Exemption-tag records: who set each tag and the hash of its value (the approvals). */
  tag: "TAG#",
  /** The flap guard's per-rule counters. */
  flap: "FLAP#",
  /** Failed remediation attempts of a decision (the failed alert waits for the last). */
  attempts: "ATTEMPTS#",
  /** The sweep's pending sightings, checked against the trail at the next run. */
  sightings: "SIGHTINGS#",
  /** The Slack notifier's message count per window (folding into digests). */
  slack: "SLACK#",
  /** What was last sent to Security Hub, one item per finding (see `SecurityHubRecord`). */
  securityHub: "SECURITYHUB#",
  /** The hash chain over decision records, one partition per account and Region (`report/chain.ts`). */
  chain: "CHAIN#",
  /** What is exposed now, per account and Region, and one summary a day (`report/posture.ts`). */
  posture: "POSTURE#",
  /**
   * The Slack app's interactions: the replay keys of signed requests (with a TTL) and the audit
   * record of who pressed what, granted or refused.
   */
  interaction: "INTERACTION#",
  /** Announcements of exemption grants and removals (who set or removed which value, when). */
  exemption: "EXEMPTION#",
} as const;

/**
 * DynamoDB actions by kind of item. Decisions are written one at a time with a condition and
 * never deleted by the functions (TTL expires them); only the sweep batches, and only state
 * items (`BatchWriteItem` can delete). The trail look-up queries the by-resource index.
 */
export const AUDIT_DECISION_ACTIONS = ["dynamodb:PutItem", "dynamodb:UpdateItem"] as const;
/** Exemption-tag records: read (one partition per account and Region) and conditional writes. */
export const AUDIT_TAG_ACTIONS = [
  "dynamodb:GetItem",
  "dynamodb:PutItem",
  "dynamodb:UpdateItem",
  "dynamodb:Query",
] as const;
/** The flap guard's counters: a conditional update or put, and a consistent read. */
export const AUDIT_FLAP_ACTIONS = [
  "dynamodb:GetItem",
  "dynamodb:PutItem",
  "dynamodb:UpdateItem",
] as const;
/** A resource's stored state: the event functions read one item. */
export const AUDIT_STATE_READ_ACTIONS = ["dynamodb:GetItem"] as const;
/** The sweep reads as they do, queries an account and Region's states, and writes them. */
export const AUDIT_STATE_WRITE_ACTIONS = [
  ...AUDIT_STATE_READ_ACTIONS,
  "dynamodb:Query",
  // The sweep writes the last state of thousands of rules 25 items per call.
  "dynamodb:BatchWriteItem",
] as const;
export const AUDIT_TRAIL_ACTIONS = ["dynamodb:Query"] as const;
/**
 * Security Hub records: an event function reads and writes its own findings' (GetItem,
 * PutItem); the sweep reads a whole account and Region (Query) and writes 25 at a time
 * (BatchWriteItem, which also deletes the records of archived findings).
 */
export const AUDIT_SECURITY_HUB_ACTIONS = {
  event: ["dynamodb:GetItem", "dynamodb:PutItem"],
  sweep: ["dynamodb:Query", "dynamodb:BatchWriteItem"],
} as const;

/**
 * Security Hub: import into the account's default product, and set the workflow and note of
 * findings that already exist. Exactly these two actions, on the product and on the hub
 * (Service Authorization Reference, "Actions, resources, and condition keys for AWS Security
 * Hub": BatchImportFindings takes the `product` resource, BatchUpdateFindings the `hub`).
 */
export const SECURITY_HUB_ACTIONS = [
  "securityhub:BatchImportFindings",
  "securityhub:BatchUpdateFindings",
] as const;

/**
 * The resources of `SECURITY_HUB_ACTIONS` in one account (every Region): its default product
 * and its hub. `account` may be a CloudFormation reference (`\${AWS::AccountId}`).
 *
 * @example
 * securityHubResources("aws", "123456789012").importFindings
 * // "arn:aws:securityhub:*:123456789012:product/123456789012/default"
 */
export function securityHubResources(partition: string, account: string) {
  return {
    importFindings: `arn:${partition}:securityhub:*:${account}:product/${account}/default`,
    updateFindings: `arn:${partition}:securityhub:*:${account}:hub/default`,
  } as const;
}

/**
 * The Security Hub export's setting (`on` or `off`; default `off`): the functions and the sweep
 * import their findings into each account's Security Hub. Off by default because
 * BatchImportFindings fails in an account or Region where Security Hub is not enabled, and
 * each finding ingested is billed.
 */
export const SECURITY_HUB_FUNCTION_ENV = { enabled: NOTIFIERS["security-hub"].switch } as const;

/** Actions granted on the topic and on its KMS key (to functions with `notify`). */
export const NOTIFY_ACTIONS = ["sns:Publish"] as const;
export const TOPIC_KEY_ACTIONS = ["kms:GenerateDataKey", "kms:Decrypt"] as const;

/**
 * The only dimension the alarmed metrics may carry. Powertools Metrics adds `service` =
 * `POWERTOOLS_SERVICE_NAME`, which the infra sets to `metricServiceName(stage)`. A CloudWatch
 * alarm sees only datapoints whose dimensions match exactly, so emit RemediationFailures,
 * InvalidEvents and SweepRuns with no other dimension or their alarms stay blind.
 */
export const METRIC_SERVICE_DIMENSION = "service";

/**
 * The `service` dimension value of one stage, so that two stages in one account do not mix.
 *
 * @example
 * metricServiceName("prod"); // "network-guardrail-prod"
 */
export function metricServiceName(stage: string): string {
  return `network-guardrail-${stage}`;
}

/** Seconds the notifier keeps the webhook URL before reading the parameter again (rotation). */
export const SLACK_WEBHOOK_MAX_AGE_SECONDS = 300;

/**
 * File name of the policy inside each function bundle (default of GUARDRAIL_POLICY_FILE): the
 * policy compiled at deploy (core's `compilePolicy`), so that no function parses YAML or runs
 * the policy schema at cold start.
 */
export const BUNDLED_POLICY_FILE = "policy.compiled.json";

/**
 * Keys of the deploy outputs (`.sst/outputs.json` after `sst deploy`). `functionNames` maps each
 * GuardrailFunction to its Lambda name.
 */
export const STACK_OUTPUTS = {
  auditTableName: "auditTableName",
  topicArn: "topicArn",
  deadLetterQueueUrl: "deadLetterQueueUrl",
  functionNames: "functionNames",
  /** The Object Lock bucket of the hash chain's copy (`guardrail audit --verify --bucket`). */
  evidenceBucket: "evidenceBucket",
  /** Organisation mode only: the hub bus ARN the spokes forward to. */
  hubBusArn: "hubBusArn",
} as const;

/**
 * Environment of organisation (hub) mode. Without `orgId` the functions run in single-account
 * mode and read none of the others. The infra sets them from its own configuration.
 */
export const ORG_FUNCTION_ENV = {
  /** `o-…`: turns organisation mode on. */
  orgId: "GUARDRAIL_ORG_ID",
  /** The role the hub assumes in each member account (the spoke template creates it). */
  memberRoleName: "GUARDRAIL_MEMBER_ROLE_NAME",
  /** Shared with the spokes' trust policies (or the `GuardrailExternalId` SST secret). */
  externalId: "GUARDRAIL_EXTERNAL_ID",
  /**
   * Optional allow list on top of AWS Organizations: when set, the sweep visits only these of
   * the organisation's active accounts (comma-separated or a JSON list).
   */
  accounts: "GUARDRAIL_ACCOUNTS",
  /** Accounts the sweep never visits (comma-separated or a JSON list). */
  denyAccounts: "GUARDRAIL_DENY_ACCOUNTS",
  /**
   * The covered Regions, in both modes: the functions act on events from these Regions only, and
   * the sweep visits each of them (in each account). The deploy writes the resolved list (home
   * Region first); unset, the function's own Region alone.
   */
  regions: "GUARDRAIL_REGIONS",
  /**
   * A role (in the management account) to read account tags and OUs from AWS Organizations,
   * when the policy scopes by them. Unset: the functions' own role asks (the hub is then a
   * delegated administrator allowed to).
   */
  organizationsRoleArn: "GUARDRAIL_ORGANIZATIONS_ROLE_ARN",
} as const;

/**
 * Read-only AWS Organizations calls the organisation sweep makes every run to find its accounts:
 * every account, or the accounts below the OUs the policy is scoped to (and their sub-OUs).
 * https://docs.aws.amazon.com/organizations/latest/APIReference/API_ListAccounts.html
 */
export const SWEEP_ORGANIZATIONS_ACTIONS = [
  "organizations:ListAccounts",
  "organizations:ListAccountsForParent",
  "organizations:ListOrganizationalUnitsForParent",
] as const;

/** The SST secret that may hold the external id instead of `GUARDRAIL_EXTERNAL_ID`. */
export const EXTERNAL_ID_SECRET = "GuardrailExternalId";

/**
 * Organisation mode: how many (account, Region) targets the sweep works on at once. Each target
 * is its own EC2 throttling bucket, but the sweep's Lambda shares one CPU and the STS and
 * audit-table calls of all of them.
 */
export const SWEEP_TARGET_CONCURRENCY = 4;

/**
 * Assumed member-role credentials are renewed this long before they expire, so that no call is
 * signed with credentials that run out in flight (the SDK's own margin is the same 5 minutes).
 */
export const MEMBER_CREDENTIAL_REFRESH_MS = 5 * 60_000;

/** Session length asked of STS for the member role (its MaxSessionDuration is one hour). */
export const MEMBER_SESSION_SECONDS = 3600;

/**
 * The audit-evidence Lambdas, beside the guardrail's: the hash chain's single writer (an SQS
 * FIFO consumer) and the weekly posture digest (a schedule). Neither touches EC2.
 */
export const EVIDENCE_FUNCTIONS = ["chain-writer", "posture-digest"] as const;
export type EvidenceFunction = (typeof EVIDENCE_FUNCTIONS)[number];

export const EVIDENCE_SIZING: Record<EvidenceFunction, LambdaSizing> = {
  "chain-writer": { memoryMb: 256, timeoutSeconds: 60 },
  "posture-digest": { memoryMb: 256, timeoutSeconds: 120 },
};

/** Environment of the evidence functions (with `FUNCTION_ENV.tableName` and `topicArn`). */
export const EVIDENCE_ENV = {
  /** The Object Lock bucket of the chain's copy; unset: no S3 copy. */
  bucket: "GUARDRAIL_EVIDENCE_BUCKET",
  /** `COMPLIANCE`, `GOVERNANCE` or `NONE`: the retention each object is written with. */
  lockMode: "GUARDRAIL_EVIDENCE_LOCK_MODE",
  /** Days each object (and chain entry) is kept. */
  retentionDays: "GUARDRAIL_EVIDENCE_RETENTION_DAYS",
} as const;

/** The weekly digest's schedule (an EventBridge rule's cron: Mondays 08:00 UTC). */
export const POSTURE_DIGEST_SCHEDULE = "cron(0 8 ? * MON *)";

/**
 * The chain's items: the writer reads the head and entries (consistent reads) and writes each
 * once with a condition. Nothing deletes them but TTL.
 */
export const AUDIT_CHAIN_ACTIONS = ["dynamodb:GetItem", "dynamodb:PutItem"] as const;
/** The sweep's posture snapshot (read the last, write the new) and the digest's read. */
export const AUDIT_POSTURE_WRITE_ACTIONS = ["dynamodb:GetItem", "dynamodb:PutItem"] as const;
export const AUDIT_POSTURE_READ_ACTIONS = ["dynamodb:Query"] as const;
/** Decision writers send each record to the chain queue. */
export const CHAIN_ENQUEUE_ACTIONS = ["sqs:SendMessage"] as const;
/**
 * What Lambda's SQS event source mapping needs of the consumer's role (the actions of the
 * AWSLambdaSQSQueueExecutionRole managed policy).
 * https://docs.aws.amazon.com/lambda/latest/dg/services-sqs-configure.html
 */
export const CHAIN_CONSUME_ACTIONS = [
  "sqs:ReceiveMessage",
  "sqs:DeleteMessage",
  "sqs:GetQueueAttributes",
] as const;
/**
 * The chain writer's S3 grants: PutObject, and PutObjectRetention, which S3 requires of a PUT
 * that carries `x-amz-object-lock-*` headers. No Get, no Delete, no BypassGovernanceRetention.
 */
export const EVIDENCE_WRITE_ACTIONS = ["s3:PutObject", "s3:PutObjectRetention"] as const;
