import { eventPatternFor, type GuardrailFunction } from "@guardrail/core";

/**
 * The hub's central event bus in organisation mode, as plain data: its resource policy and the
 * patterns of the rules on it. Pure (no SST, no Pulumi), so that the stack, the tests and the
 * local end-to-end flow read the same values. Names and ARNs: `hubBusName`, `hubBusArn` in
 * `spoke-template.ts`.
 */

export interface HubBusPolicyInput {
  readonly busArn: string;
  /** `o-…`: only principals of this organisation may put events. */
  readonly orgId: string;
}

/**
 * The bus's resource policy: `events:PutEvents` on this bus only, by any principal of the
 * organisation (the spokes' forwarder roles), and by nobody else. `Principal: "*"` is what
 * makes the organisation condition the fence: listing accounts would need a deploy per new
 * account.
 *
 * @example
 * hubBusPolicy({ busArn, orgId: "o-a1b2c3d4e5" }).Statement[0].Condition
 * // { StringEquals: { "aws:PrincipalOrgID": "o-a1b2c3d4e5" } }
 */
export function hubBusPolicy({ busArn, orgId }: HubBusPolicyInput) {
  return {
    Version: "2012-10-17",
    Statement: [
      {
        Sid: "OrganisationSpokesPutEvents",
        Effect: "Allow",
        Principal: "*",
        Action: "events:PutEvents",
        Resource: busArn,
        Condition: { StringEquals: { "aws:PrincipalOrgID": orgId } },
      },
    ],
  };
}

/**
 * The pattern of one function's rule on the hub bus: the same as on the default bus, without
 * its own-role exclusion. The hub revokes in member accounts through the member role, whose
 * ARN differs per account; EventBridge has no exact ARN to list for it, and its `wildcard`
 * `*` also matches `:` and `/` (an IAM user with the path `/x:role/` would pass for the role).
 * So the member role's events reach the functions, whose own check (`isOwnPrincipal`, the
 * member role matched as IAM's ArnLike does) stays the loop guard.
 *
 * @example
 * hubEventPatternFor("security-group-change").detail.userIdentity
 * // undefined
 */
export function hubEventPatternFor(fn: GuardrailFunction) {
  const { userIdentity: _ownRoles, ...detail } = eventPatternFor(fn, []).detail;
  return { ...eventPatternFor(fn, []), detail };
}
