import { FUNCTION_EC2_ACTIONS, type GuardrailFunction, ORG_FUNCTION_ENV } from "@guardrail/core";
import type { OrganizationSettings } from "./settings";

/*
 * Organisation (hub) mode decisions of the stack as plain data, so that tests import them
 * without SST.
 */

/**
 * The sweep's timeout in organisation mode: it visits every account × Region, so it gets
 * Lambda's maximum instead of FUNCTION_SIZING's single-account value.
 */
export const ORGANIZATION_SWEEP_TIMEOUT_SECONDS = 900;

/**
 * The organisation settings as the functions read them (ORG_FUNCTION_ENV), for the functions
 * that act on EC2. The external id is included only when given inline at deploy; otherwise the
 * functions read the linked secret.
 */
export function organizationEnvironment(
  fn: GuardrailFunction,
  org: OrganizationSettings | null,
): Record<string, string> {
  if (org === null || FUNCTION_EC2_ACTIONS[fn].length === 0) return {};
  return {
    [ORG_FUNCTION_ENV.orgId]: org.orgId,
    [ORG_FUNCTION_ENV.memberRoleName]: org.memberRoleName,
    ...(org.externalId === null ? {} : { [ORG_FUNCTION_ENV.externalId]: org.externalId }),
    [ORG_FUNCTION_ENV.accounts]: org.accounts.join(","),
    ...(org.regions.length > 0 ? { [ORG_FUNCTION_ENV.regions]: org.regions.join(",") } : {}),
    ...(org.organizationsRoleArn === null
      ? {}
      : { [ORG_FUNCTION_ENV.organizationsRoleArn]: org.organizationsRoleArn }),
  };
}
