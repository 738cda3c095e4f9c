import {
  AWS_PATTERNS,
  ConfigurationError,
  GUARDRAIL_FUNCTIONS,
  type Policy,
} from "@guardrail/core";
import { APP_NAME, memberRoleName, roleName } from "./naming";

/*
 * The organisation-level controls the guardrail relies on, as plain data for `guardrail scp`:
 * a service control policy that keeps the guardrail's roles and its exemption tag out of reach
 * of everyone but the deploy roles and the approvers, and a tag policy that fixes the exemption
 * tag key's spelling. Pure, so the tests compare it with the rendered stack.
 */

/**
 * The largest SCP document AWS Organizations accepts, in characters.
 * https://docs.aws.amazon.com/organizations/latest/userguide/orgs_reference_limits.html
 */
export const SCP_MAX_CHARACTERS = 5120;
/** The largest tag policy document (same page). */
export const TAG_POLICY_MAX_CHARACTERS = 10_000;

/** Every IAM action that creates, changes, deletes or passes a role. */
export const ROLE_CHANGE_ACTIONS = [
  "iam:AttachRolePolicy",
  "iam:CreateRole",
  "iam:DeleteRole",
  "iam:DeleteRolePermissionsBoundary",
  "iam:DeleteRolePolicy",
  "iam:DetachRolePolicy",
  "iam:PassRole",
  "iam:PutRolePermissionsBoundary",
  "iam:PutRolePolicy",
  "iam:TagRole",
  "iam:UntagRole",
  "iam:UpdateAssumeRolePolicy",
  "iam:UpdateRole",
  "iam:UpdateRoleDescription",
] as const;

/** The calls that add or remove a tag: EC2's own (also on create) and the tagging API's. */
export const TAG_CHANGE_ACTIONS = [
  "ec2:CreateTags",
  "ec2:DeleteTags",
  "tag:TagResources",
  "tag:UntagResources",
] as const;

/**
 * StackSets' service-managed execution role in member accounts, which creates the member role
 * from the spoke template: it must keep managing that role.
 */
export const STACKSETS_EXECUTION_ROLE_PATTERN = "stacksets-exec-*";

export interface ScpInput {
  /** The hub's stage (role names include it). */
  readonly stage: string;
  /** Every Region the stage is deployed in (role names include the Region). */
  readonly regions: readonly string[];
  /** The exemption tag keys of the shipped policy (`exemptionTagKeys`). */
  readonly tagKeys: readonly string[];
  /** Principal ARNs (wildcards allowed) that may add or remove the exemption tag. */
  readonly approvers: readonly string[];
  /** Principal ARNs (wildcards allowed) that deploy the guardrail and so manage its roles. */
  readonly deployers: readonly string[];
  /** Default `memberRoleName(stage)`; must equal the hub's GUARDRAIL_MEMBER_ROLE_NAME. */
  readonly memberRoleName?: string;
  /** Default `aws`. */
  readonly partition?: string;
}

/**
 * The exemption tag keys a policy reads (its own `exemptions.tagKey` and each rule's), each once,
 * sorted.
 */
export function exemptionTagKeys(policy: Policy): string[] {
  const keys = [policy.exemptions.tagKey, ...policy.rules.map((r) => r.exemptions.tagKey)];
  return [...new Set(keys.filter((k): k is string => k !== null))].sort();
}

/** The role names the stage deploys: each function's in each Region, and the member role. */
export function guardrailRoleNames(
  stage: string,
  regions: readonly string[],
  member: string = memberRoleName(stage),
): string[] {
  const names = regions.flatMap((region) =>
    GUARDRAIL_FUNCTIONS.map((fn) => roleName(APP_NAME, stage, region, fn)),
  );
  return [...new Set([...names, member])];
}

/**
 * A principal in an SCP's `aws:PrincipalArn` condition: an IAM or STS ARN whose account and name
 * may hold IAM's `*` wildcard, so wider than `AWS_PATTERNS.roleArn` (one concrete role).
 */
const PRINCIPAL_ARN = /^arn:aws[a-z-]*:(iam|sts)::(\d{12}|\*):[\w+=,.@/*:-]+$/;
const REGION = AWS_PATTERNS.region;

function checkPrincipals(values: readonly string[], what: string): string[] {
  const bad = values.find((v) => !PRINCIPAL_ARN.test(v));
  if (bad !== undefined) {
    throw new ConfigurationError(`${what}: "${bad}" is not an IAM principal ARN`);
  }
  return [...new Set(values)];
}

/**
 * The SCP: (1) nobody but the deployers (and StackSets' execution role, which creates the member
 * role) may create, change, delete or pass the guardrail's roles, so no one can widen what they
 * may do or run code as them; (2) nobody but the approvers may add or remove an exemption tag,
 * through EC2 or the tagging API, whatever its capitalisation, nor delete a security group's
 * tags all at once (DeleteTags without tags, which names no key). SCPs do not bind the management
 * account: run the guardrail's deploys and approvals from member accounts, or guard the
 * management account by other means.
 *
 * @throws ConfigurationError for a malformed input, no approver or deployer, no tag key, or a
 *   document longer than SCP_MAX_CHARACTERS.
 * @example
 * const scp = renderScp({ stage: "prod", regions: ["eu-west-1"], tagKeys: ["guardrail-exempt"],
 *   approvers: ["arn:aws:iam::*:role/security-approver"],
 *   deployers: ["arn:aws:iam::111122223333:role/guardrail-deploy"] });
 */
export function renderScp(input: ScpInput): Record<string, unknown> {
  const partition = input.partition ?? "aws";
  if (input.regions.length === 0 || input.regions.some((r) => !REGION.test(r))) {
    throw new ConfigurationError("regions: give the Regions the stage is deployed in");
  }
  if (input.tagKeys.length === 0) {
    throw new ConfigurationError("the policy defines no exemption tag key: nothing to protect");
  }
  const approvers = checkPrincipals(input.approvers, "approver");
  const deployers = checkPrincipals(input.deployers, "deployer");
  if (approvers.length === 0) throw new ConfigurationError("give at least one approver");
  if (deployers.length === 0) throw new ConfigurationError("give at least one deployer");
  const roles = guardrailRoleNames(input.stage, input.regions, input.memberRoleName).map(
    (name) => `arn:${partition}:iam::*:role/${name}`,
  );
  const scp = {
    Version: "2012-10-17",
    Statement: [
      {
        Sid: "GuardrailRolesOnlyByDeployers",
        Effect: "Deny",
        Action: [...ROLE_CHANGE_ACTIONS],
        Resource: roles,
        Condition: {
          ArnNotLike: {
            "aws:PrincipalArn": [
              ...deployers,
              `arn:${partition}:iam::*:role/${STACKSETS_EXECUTION_ROLE_PATTERN}`,
            ],
          },
        },
      },
      {
        Sid: "ExemptionTagOnlyByApprovers",
        Effect: "Deny",
        Action: [...TAG_CHANGE_ACTIONS],
        Resource: "*",
        Condition: {
          "ForAnyValue:StringEqualsIgnoreCase": { "aws:TagKeys": [...input.tagKeys] },
          ArnNotLike: { "aws:PrincipalArn": approvers },
        },
      },
      {
        // A DeleteTags without tags deletes every user-defined tag of the resource (API_DeleteTags,
        // Tag.N) and puts no aws:TagKeys in the request context; a ForAnyValue condition on a
        // missing key is false (IAM, reference_policies_condition-single-vs-multi-valued-context-keys),
        // so the statement above would not match it. Null "true" matches exactly that request.
        Sid: "ExemptionTagNotDeletedWithAllTags",
        Effect: "Deny",
        Action: ["ec2:DeleteTags"],
        Resource: `arn:${partition}:ec2:*:*:security-group/*`,
        Condition: {
          Null: { "aws:TagKeys": "true" },
          ArnNotLike: { "aws:PrincipalArn": approvers },
        },
      },
    ],
  };
  const size = JSON.stringify(scp).length;
  if (size > SCP_MAX_CHARACTERS) {
    throw new ConfigurationError(
      `the SCP is ${size} characters, over the ${SCP_MAX_CHARACTERS} AWS Organizations accepts: use wildcards in the approver and deployer ARNs, or fewer Regions`,
    );
  }
  return scp;
}

/**
 * The tag policy: the exemption tag keys with their exact capitalisation, enforced on EC2, so a
 * differently spelled key is refused instead of looking like an exemption to a person.
 */
export function renderTagPolicy(tagKeys: readonly string[]): Record<string, unknown> {
  if (tagKeys.length === 0) {
    throw new ConfigurationError("the policy defines no exemption tag key: nothing to enforce");
  }
  return {
    tags: Object.fromEntries(
      tagKeys.map((key) => [
        key.toLowerCase(),
        { tag_key: { "@@assign": key }, enforced_for: { "@@assign": ["ec2:*"] } },
      ]),
    ),
  };
}
