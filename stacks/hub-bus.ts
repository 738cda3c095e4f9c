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
 * The pattern of one function's rule on the hub bus: the same as on the default bus, but the
 * loop guard excludes the member role's sessions in every account (the hub revokes in member
 * accounts through that role, so its CloudTrail events come back through the spokes). The
 * functions check the same again (`isOwnPrincipal`), so the pattern only saves invocations.
 *
 * @example
 * hubEventPatternFor("security-group-change", "network-guardrail-prod-member")
 *   .detail.userIdentity.sessionContext.sessionIssuer.arn
 * // [{ "anything-but": { wildcard: "arn:aws:iam::*:role/network-guardrail-prod-member" } }, { exists: false }]
 */
export function hubEventPatternFor(
  fn: GuardrailFunction,
  memberRoleName: string,
  partition = "aws",
) {
  const base = eventPatternFor(fn, [`arn:${partition}:iam::000000000000:role/${memberRoleName}`]);
  return {
    ...base,
    detail: {
      ...base.detail,
      userIdentity: {
        sessionContext: {
          sessionIssuer: {
            arn: [
              { "anything-but": { wildcard: `arn:${partition}:iam::*:role/${memberRoleName}` } },
              { exists: false },
            ],
          },
        },
      },
    },
  };
}
