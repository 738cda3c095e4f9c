import {
  AUDIT_CHAIN_ACTIONS,
  AUDIT_DECISION_ACTIONS,
  AUDIT_FLAP_ACTIONS,
  AUDIT_KEY_PREFIX,
  AUDIT_POSTURE_READ_ACTIONS,
  AUDIT_POSTURE_WRITE_ACTIONS,
  AUDIT_SECURITY_HUB_ACTIONS,
  AUDIT_STATE_READ_ACTIONS,
  AUDIT_STATE_WRITE_ACTIONS,
  AUDIT_TABLE,
  AUDIT_TAG_ACTIONS,
  AUDIT_TRAIL_ACTIONS,
  CHAIN_CONSUME_ACTIONS,
  CHAIN_ENQUEUE_ACTIONS,
  ConfigurationError,
  channelsOf,
  EVIDENCE_WRITE_ACTIONS,
  type EvidenceFunction,
  FUNCTION_DATA_ACCESS,
  FUNCTION_EC2_ACTIONS,
  functionEc2Actions,
  type GuardrailFunction,
  NOTIFY_ACTIONS,
  SECURITY_HUB_ACTIONS,
  SELF_MONITORING_ACTIONS,
  SWEEP_ORGANIZATIONS_ACTIONS,
  securityHubResources,
  TOPIC_KEY_ACTIONS,
} from "@guardrail/core";

/**
 * Each function's IAM statements as plain data, built only from the registry. Pure, so the
 * tests check the exact grants without SST, and the stack passes them to `permissions` (never
 * `link`, which grants `dynamodb:*`, `sns:*`, `sqs:*`).
 */

/** An IAM condition in SST's `permissions` shape (`test` is the operator). */
export interface Condition {
  readonly test: string;
  readonly variable: string;
  readonly values: string[];
}

export interface Statement {
  readonly effect: "allow";
  readonly actions: string[];
  readonly resources: string[];
  readonly conditions?: Condition[];
}

/**
 * Keeps a DynamoDB call to items whose partition key starts with `prefix`. `ForAllValues`
 * checks every key of a batch; the granted actions all carry a partition key (no Scan), so the
 * key is never absent.
 * https://docs.aws.amazon.com/amazondynamodb/latest/developerguide/specifying-conditions.html
 */
export function leadingKeys(prefix: string): Condition {
  return {
    test: "ForAllValues:StringLike",
    variable: "dynamodb:LeadingKeys",
    values: [`${prefix}*`],
  };
}

/**
 * The trust policy of a role that only `service` acting for `accountId` may assume (the
 * confused-deputy guard). The account is a string for Pulumi, or a CloudFormation intrinsic for
 * the spoke.
 * https://docs.aws.amazon.com/IAM/latest/UserGuide/confused-deputy.html
 */
export function serviceTrustPolicy<Account>(service: string, accountId: Account) {
  return {
    Version: "2012-10-17",
    Statement: [
      {
        Effect: "Allow",
        Principal: { Service: service },
        Action: "sts:AssumeRole",
        Condition: { StringEquals: { "aws:SourceAccount": accountId } },
      },
    ],
  };
}

/** `actions` on the items of the table whose partition key starts with `prefix`. */
export function tableItems(
  actions: readonly string[],
  tableArn: string,
  prefix: string,
): Statement {
  return {
    effect: "allow",
    actions: [...actions],
    resources: [tableArn],
    conditions: [leadingKeys(prefix)],
  };
}

/** Where the grants point. All values are full ARNs except the account/Region/partition. */
export interface PermissionScope {
  readonly partition: string;
  readonly region: string;
  readonly accountId: string;
  readonly tableArn: string;
  readonly topicArn: string;
  readonly topicKeyArn: string;
  readonly deadLetterQueueArn: string;
  /** The SecureString parameter holding the Slack webhook URL (read by the notifier alone). */
  readonly slackWebhookParameterArn: string;
  /** Each channel's secret parameter, by its `NOTIFIERS` entry's `secret.scopeKey`. */
  readonly [secretParameterArn: `${string}ParameterArn`]: string | undefined;
  /**
   * The covered Regions (single-account mode), where the EC2 grants apply; `region` alone when
   * absent or empty.
   */
  readonly regions?: readonly string[];
  /** The chain writer's FIFO queue: decision writers may send to it. */
  readonly chainQueueArn?: string;
  /**
   * Some rule of the shipped policy narrows (`remediation.narrow`, see `policyNarrows`): the
   * functions that narrow get `ec2:AuthorizeSecurityGroupIngress/Egress`. Default false.
   */
  readonly narrowing?: boolean;
}

/**
 * What a notifier needs to read its channel's secret (the Slack webhook URL, the bot token). No
 * `kms:Decrypt`: the parameter is encrypted with the AWS managed key `aws/ssm`, whose key policy
 * already lets principals of the account decrypt through SSM (`kms:ViaService`); a customer key
 * would need its own grant.
 */
export const NOTIFIER_SECRET_READ_ACTIONS = ["ssm:GetParameter"] as const;

/**
 * The reads of the secrets of the always-on channels a notifier posts for (`NOTIFIERS`). A
 * channel behind a deploy switch gets its read as a role policy of its own when it is on
 * (stacks/notifiers.ts), so that turning it on adds a grant without rewriting this one.
 *
 * @throws ConfigurationError when the scope lacks a channel's parameter ARN.
 */
export function notifierSecretStatements(
  fn: GuardrailFunction,
  scope: PermissionScope,
): Statement[] {
  return channelsOf(fn)
    .filter(([, spec]) => spec.switch === null)
    .map(([channel, spec]) => {
      const arn = scope[spec.secret.scopeKey];
      if (!arn) {
        throw new ConfigurationError(`no ${spec.secret.scopeKey} for the ${channel} channel`);
      }
      return { effect: "allow", actions: [...NOTIFIER_SECRET_READ_ACTIONS], resources: [arn] };
    });
}

/**
 * `arn:aws:ssm:eu-west-1:111122223333:parameter/network-guardrail/prod/slack-webhook-url`.
 * A name with slashes starts with one; a plain name gets one between `parameter` and the name.
 */
export function parameterArn(
  partition: string,
  region: string,
  accountId: string,
  name: string,
): string {
  return `arn:${partition}:ssm:${region}:${accountId}:parameter${name.startsWith("/") ? "" : "/"}${name}`;
}

/**
 * Lambda sends the event of an invocation that failed all its retries to the dead-letter queue
 * (an on-failure destination), using the function's own role.
 */
export const FAILURE_DESTINATION_ACTIONS = ["sqs:SendMessage"] as const;

/**
 * The resources one EC2 action may touch, scoped to the deploy's account and Region where EC2
 * supports resource-level permissions. `Describe*` calls do not support resource-level
 * permissions at all (IAM ignores any ARN but `*` for them), so they get `*`; the action list
 * stays explicit. Managed prefix lists may be owned by AWS (`aws`) or shared from another
 * account, hence `*` for the owner.
 *
 * @throws ConfigurationError for an action the infra does not know, so that adding an action to
 *   the registry without deciding its scope fails the deploy and the tests.
 */
export function ec2ResourcesFor(action: string, scope: PermissionScope): string[] {
  const ec2 = `arn:${scope.partition}:ec2:${scope.region}`;
  const own = `${ec2}:${scope.accountId}`;
  if (action.startsWith("ec2:Describe")) return ["*"];
  switch (action) {
    case "ec2:RevokeSecurityGroupIngress":
    case "ec2:RevokeSecurityGroupEgress":
    case "ec2:AuthorizeSecurityGroupIngress":
    case "ec2:AuthorizeSecurityGroupEgress":
      // Revoking by rule id also names the security-group-rule resource; Authorize, which
      // narrowing alone uses, is scoped like the revokes (the group, and the rules it creates).
      return [`${own}:security-group/*`, `${own}:security-group-rule/*`];
    case "ec2:DeleteNetworkAclEntry":
    case "ec2:CreateNetworkAclEntry":
      return [`${own}:network-acl/*`];
    case "ec2:GetManagedPrefixListEntries":
    case "ec2:GetManagedPrefixListAssociations":
      return [`${ec2}:*:prefix-list/*`];
    default:
      throw new ConfigurationError(
        `no IAM resource scope is defined for ${action}: add it to ec2ResourcesFor in packages/templates/src/permissions.ts`,
      );
  }
}

/** What organisation (hub) mode adds to the grants. */
export interface OrganizationGrants {
  /** `o-…`: the member roles (and the Organizations read role) must be inside it. */
  readonly orgId: string;
  readonly memberRoleName: string;
  /** The role to read AWS Organizations with, or null: the function's own role reads it. */
  readonly organizationsRoleArn: string | null;
  /** Whether the policy scopes by account tag, OU or OU tag (`organizationContextNeeded`). */
  readonly readsOrganization: boolean;
}

/** Read-only Organizations calls for account tags and the OU path. */
export const ORGANIZATIONS_READ_ACTIONS = [
  "organizations:ListTagsForResource",
  "organizations:ListParents",
] as const;

/**
 * The member role in every account (`*` for the account is inherent: the hub acts in accounts
 * it does not know at deploy time; the role name and the action stay exact), and only in
 * accounts of the organisation (`aws:ResourceOrgID` is the organisation of the role being
 * assumed, so a same-named role in an outside account is refused by the hub's own policy).
 * https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_condition-keys.html#condition-keys-resourceorgid
 * Only functions that act on EC2 get it. Organizations ARNs name the management account, which
 * the hub does not know either, hence `*` for the read actions when no read role is configured.
 */
export function organizationStatements(
  fn: GuardrailFunction,
  partition: string,
  org: OrganizationGrants,
): Statement[] {
  if (FUNCTION_EC2_ACTIONS[fn].length === 0) return [];
  const inOrganization: Condition = {
    test: "StringEquals",
    variable: "aws:ResourceOrgID",
    values: [org.orgId],
  };
  const statements: Statement[] = [
    {
      effect: "allow",
      actions: ["sts:AssumeRole"],
      resources: [`arn:${partition}:iam::*:role/${org.memberRoleName}`],
      conditions: [inOrganization],
    },
  ];
  // The sweep lists the organisation's accounts every run.
  const reads = [
    ...(org.readsOrganization ? ORGANIZATIONS_READ_ACTIONS : []),
    ...(fn === "sweep" ? SWEEP_ORGANIZATIONS_ACTIONS : []),
  ];
  if (reads.length > 0 && org.organizationsRoleArn !== null) {
    statements.push({
      effect: "allow",
      actions: ["sts:AssumeRole"],
      resources: [org.organizationsRoleArn],
      conditions: [inOrganization],
    });
  }
  if (reads.length > 0 && org.organizationsRoleArn === null) {
    statements.push({ effect: "allow", actions: [...reads], resources: ["*"] });
  }
  return statements;
}

/**
 * The audit table grants of one function, per kind of item (see `FUNCTION_DATA_ACCESS`):
 * decision records (conditional put and update, never delete), the sweep's state items (read by
 * the event functions; batched only by the sweep), and the by-resource index for the trail.
 * The index query has no `LeadingKeys` condition: the index is read-only and its partition key
 * (`RESOURCE#…`) is not the table's, so the table-key prefixes do not apply to it.
 */
export function auditStatements(fn: GuardrailFunction, tableArn: string): Statement[] {
  const access = FUNCTION_DATA_ACCESS[fn];
  const statements: Statement[] = [];
  if (access.audit) {
    statements.push(tableItems(AUDIT_DECISION_ACTIONS, tableArn, AUDIT_KEY_PREFIX.decision));
  }
  if (access.state === "write") {
    statements.push(
      tableItems(["dynamodb:GetItem", "dynamodb:PutItem"], tableArn, AUDIT_KEY_PREFIX.sightings),
    );
  }
  if (access.state === "write") {
    // What is exposed now: the last snapshot read, the new one written (see recordPosture).
    statements.push(tableItems(AUDIT_POSTURE_WRITE_ACTIONS, tableArn, AUDIT_KEY_PREFIX.posture));
  }
  if (access.state !== "none") {
    statements.push(
      tableItems(
        access.state === "write" ? AUDIT_STATE_WRITE_ACTIONS : AUDIT_STATE_READ_ACTIONS,
        tableArn,
        AUDIT_KEY_PREFIX.state,
      ),
    );
  }
  if (access.audit) {
    // Exemption-tag records (read to honour a tag, written when tagging is seen) and the flap
    // guard's counters, each under its own key prefix.
    statements.push(
      tableItems(AUDIT_TAG_ACTIONS, tableArn, AUDIT_KEY_PREFIX.tag),
      tableItems(AUDIT_FLAP_ACTIONS, tableArn, AUDIT_KEY_PREFIX.flap),
      // Exemption announcements: written once each (a condition on the key), never changed.
      tableItems(["dynamodb:PutItem"], tableArn, AUDIT_KEY_PREFIX.exemption),
      tableItems(["dynamodb:UpdateItem"], tableArn, AUDIT_KEY_PREFIX.attempts),
    );
    statements.push({
      effect: "allow",
      actions: [...AUDIT_TRAIL_ACTIONS],
      resources: [`${tableArn}/index/${AUDIT_TABLE.byResource.indexName}`],
    });
  }
  return statements;
}

/**
 * The sweep reads trail status (an organisation trail lives in the management account, hence any
 * account) and its own account's event rules; the Slack notifier counts messages per window in
 * the audit table (UpdateItem only).
 */
export function selfMonitoringStatements(
  fn: GuardrailFunction,
  scope: PermissionScope,
): Statement[] {
  if (fn === "sweep") {
    const [trail, rule] = SELF_MONITORING_ACTIONS.sweep;
    return [
      {
        effect: "allow",
        actions: [trail],
        resources: [`arn:${scope.partition}:cloudtrail:*:*:trail/*`],
      },
      {
        effect: "allow",
        actions: [rule],
        resources: [`arn:${scope.partition}:events:${scope.region}:${scope.accountId}:rule/*`],
      },
    ];
  }
  if (fn === "slack-notifier") {
    return [
      tableItems(SELF_MONITORING_ACTIONS["slack-notifier"], scope.tableArn, AUDIT_KEY_PREFIX.slack),
    ];
  }
  return [];
}

/**
 * The Security Hub export (`GUARDRAIL_SECURITY_HUB=on`), for the functions that decide (those
 * with audit records): BatchImportFindings on the deploy account's default product and
 * BatchUpdateFindings on its hub, in the deploy's Region, and the records of what was sent
 * (`SECURITYHUB#` items). In organisation mode the member role imports for member accounts
 * (the spoke template's `securityHub`); these grants cover the hub's own account and Region.
 */
export function securityHubStatements(fn: GuardrailFunction, scope: PermissionScope): Statement[] {
  if (!FUNCTION_DATA_ACCESS[fn].audit) return [];
  const [importFindings, updateFindings] = SECURITY_HUB_ACTIONS;
  const own = securityHubResources(scope.partition, scope.accountId);
  const inRegion = (arn: string) => arn.replace(":securityhub:*:", `:securityhub:${scope.region}:`);
  return [
    { effect: "allow", actions: [importFindings], resources: [inRegion(own.importFindings)] },
    { effect: "allow", actions: [updateFindings], resources: [inRegion(own.updateFindings)] },
    tableItems(
      AUDIT_SECURITY_HUB_ACTIONS[fn === "sweep" ? "sweep" : "event"],
      scope.tableArn,
      AUDIT_KEY_PREFIX.securityHub,
    ),
  ];
}

export function functionStatements(
  fn: GuardrailFunction,
  scope: PermissionScope,
  org: OrganizationGrants | null = null,
  securityHub = false,
): Statement[] {
  const statements: Statement[] = [];
  const byResources = new Map<string, Statement>();
  const regions = scope.regions && scope.regions.length > 0 ? scope.regions : [scope.region];
  // Describe* take no resource ARN: the Region condition keeps them to the covered Regions.
  // https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_condition-keys.html#condition-keys-requestedregion
  const inRegions: Condition = {
    test: "StringEquals",
    variable: "aws:RequestedRegion",
    values: [...regions],
  };
  for (const action of functionEc2Actions(fn, { narrowing: scope.narrowing ?? false })) {
    const resources = [
      ...new Set(regions.flatMap((region) => ec2ResourcesFor(action, { ...scope, region }))),
    ];
    const key = resources.join("\n");
    const existing = byResources.get(key);
    if (existing) {
      if (!existing.actions.includes(action)) existing.actions.push(action);
      continue;
    }
    const statement: Statement = {
      effect: "allow",
      actions: [action],
      resources,
      conditions: [inRegions],
    };
    byResources.set(key, statement);
    statements.push(statement);
  }
  statements.push(...auditStatements(fn, scope.tableArn));
  if (FUNCTION_DATA_ACCESS[fn].audit && scope.chainQueueArn !== undefined) {
    statements.push({
      effect: "allow",
      actions: [...CHAIN_ENQUEUE_ACTIONS],
      resources: [scope.chainQueueArn],
    });
  }
  if (FUNCTION_DATA_ACCESS[fn].notify) {
    statements.push({ effect: "allow", actions: [...NOTIFY_ACTIONS], resources: [scope.topicArn] });
    statements.push({
      effect: "allow",
      actions: [...TOPIC_KEY_ACTIONS],
      resources: [scope.topicKeyArn],
    });
  }
  statements.push(...notifierSecretStatements(fn, scope));
  statements.push({
    effect: "allow",
    actions: [...FAILURE_DESTINATION_ACTIONS],
    resources: [scope.deadLetterQueueArn],
  });
  statements.push(...selfMonitoringStatements(fn, scope));
  if (org !== null) statements.push(...organizationStatements(fn, scope.partition, org));
  if (securityHub) statements.push(...securityHubStatements(fn, scope));
  return statements;
}

/** Where the evidence functions' grants point. */
export interface EvidenceScope {
  readonly tableArn: string;
  readonly topicArn: string;
  readonly topicKeyArn: string;
  readonly chainQueueArn: string;
  readonly bucketArn: string;
}

/**
 * The evidence functions' grants. The chain writer alone may write `CHAIN#` items (read the head
 * and entries, put each once: no update, no delete) and put objects under `chain/` in the
 * evidence bucket (with their retention, never bypassing it); no decision writer can touch
 * either, so a record changed afterwards no longer matches the chain. The digest reads the
 * posture and publishes to the topic.
 */
export function evidenceStatements(fn: EvidenceFunction, scope: EvidenceScope): Statement[] {
  if (fn === "chain-writer") {
    return [
      tableItems(AUDIT_CHAIN_ACTIONS, scope.tableArn, AUDIT_KEY_PREFIX.chain),
      { effect: "allow", actions: [...CHAIN_CONSUME_ACTIONS], resources: [scope.chainQueueArn] },
      {
        effect: "allow",
        actions: [...EVIDENCE_WRITE_ACTIONS],
        resources: [`${scope.bucketArn}/chain/*`],
      },
    ];
  }
  return [
    tableItems(AUDIT_POSTURE_READ_ACTIONS, scope.tableArn, AUDIT_KEY_PREFIX.posture),
    { effect: "allow", actions: [...NOTIFY_ACTIONS], resources: [scope.topicArn] },
    { effect: "allow", actions: [...TOPIC_KEY_ACTIONS], resources: [scope.topicKeyArn] },
  ];
}

/** Where the Slack app's grants point (see `slackAppStatements`). */
export interface SlackAppScope extends PermissionScope {
  readonly slackTokenParameterArn: string;
  readonly slackSigningSecretParameterArn: string;
  /** The worker the endpoint invokes. */
  readonly workerFunctionArn: string;
  /** The exemption tag keys of the shipped policy: the only keys the worker may set. */
  readonly exemptionTagKeys: readonly string[];
}

/** The endpoint records replay keys and who pressed what; the worker adds the outcome. */
export const AUDIT_INTERACTION_ACTIONS = ["dynamodb:PutItem"] as const;

/**
 * The Slack app's IAM, per function. The endpoint reads its two secrets, writes under
 * `INTERACTION#` only (replay keys and refusals) and invokes the worker; nothing else, so a
 * request that passes no check can touch nothing. The worker is the sweep for one resource
 * (its EC2 actions and audit grants) plus `ec2:CreateTags` limited to the exemption tag keys
 * (`aws:TagKeys`, and with one key `aws:RequestTag/<key>` = `reason=*`), the bot token, and its
 * own `INTERACTION#` and `EXEMPTION#` records.
 * https://docs.aws.amazon.com/AWSEC2/latest/UserGuide/supported-iam-actions-tagging.html
 */
export function slackAppStatements(
  fn: "slack-interactions" | "slack-actions",
  scope: SlackAppScope,
): Statement[] {
  const interactions = tableItems(
    AUDIT_INTERACTION_ACTIONS,
    scope.tableArn,
    AUDIT_KEY_PREFIX.interaction,
  );
  if (fn === "slack-interactions") {
    return [
      {
        effect: "allow",
        actions: [...NOTIFIER_SECRET_READ_ACTIONS],
        resources: [scope.slackSigningSecretParameterArn, scope.slackTokenParameterArn],
      },
      interactions,
      { effect: "allow", actions: ["lambda:InvokeFunction"], resources: [scope.workerFunctionArn] },
    ];
  }
  const keys = [...scope.exemptionTagKeys];
  const tagConditions: Condition[] = [
    { test: "ForAllValues:StringEquals", variable: "aws:TagKeys", values: keys },
    // ForAllValues is true of a request without tags: require some.
    { test: "Null", variable: "aws:TagKeys", values: ["false"] },
    ...(keys.length === 1
      ? [{ test: "StringLike", variable: `aws:RequestTag/${keys[0]}`, values: ["reason=*"] }]
      : []),
  ];
  // The sweep's EC2 actions (it reads and revokes any rule); the event functions' audit, topic
  // and dead-letter grants (it decides as they do), without the sweep's state and trail extras.
  const ec2 = functionStatements("sweep", scope).filter((s) =>
    s.actions.every((a) => a.startsWith("ec2:")),
  );
  const deciding = functionStatements("security-group-change", scope).filter(
    (s) => !s.actions.some((a) => a.startsWith("ec2:")),
  );
  return [
    ...ec2,
    ...deciding,
    {
      effect: "allow",
      actions: ["ec2:CreateTags"],
      resources: [`arn:${scope.partition}:ec2:${scope.region}:${scope.accountId}:security-group/*`],
      conditions: tagConditions,
    },
    {
      effect: "allow",
      actions: [...NOTIFIER_SECRET_READ_ACTIONS],
      resources: [scope.slackTokenParameterArn],
    },
    { ...interactions, actions: [...AUDIT_INTERACTION_ACTIONS, "dynamodb:Query"] },
    tableItems(["dynamodb:PutItem"], scope.tableArn, AUDIT_KEY_PREFIX.exemption),
  ];
}
