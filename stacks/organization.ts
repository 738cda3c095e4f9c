import { FUNCTION_EC2_ACTIONS, type GuardrailFunction, ORG_FUNCTION_ENV } from "@guardrail/core";
import type { OrganizationSettings } from "./settings";

/*
 * Organisation (hub) mode decisions of the stack as plain data, so that tests import them
 * without SST.
 */

/**
 * The sweep's timeout when it visits several targets (organisation mode: every account ×
 * Region; single-account mode: several covered Regions): Lambda's maximum instead of
 * FUNCTION_SIZING's one-Region value.
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
    ...(org.accounts.length > 0 ? { [ORG_FUNCTION_ENV.accounts]: org.accounts.join(",") } : {}),
    ...(org.denyAccounts.length > 0
      ? { [ORG_FUNCTION_ENV.denyAccounts]: org.denyAccounts.join(",") }
      : {}),
    ...(org.organizationsRoleArn === null
      ? {}
      : { [ORG_FUNCTION_ENV.organizationsRoleArn]: org.organizationsRoleArn }),
  };
}
