import { createHash } from "node:crypto";
import type {
  EvidenceFunction,
  GuardrailFunction,
  SlackAppFunction,
  SweepFanOutFunction,
} from "@guardrail/core";

/** The application's name: the prefix of every resource it deploys. */
export const APP_NAME = "network-guardrail";
/** The Region a deploy and the CLI's templates use when none is given. */
export const DEFAULT_REGION = "us-east-1";

/** IAM role names are at most 64 characters. */
const ROLE_NAME_MAX = 64;

/**
 * The IAM role name of one function. Deterministic, so that every function's environment and
 * every event pattern can name all the guardrail's roles before any role exists (the role ARN
 * is what CloudTrail reports as `sessionIssuer.arn`). Includes the Region because IAM is global
 * and the same stage may be deployed in several Regions of one account.
 *
 * @example
 * roleName("network-guardrail", "prod", "us-east-1", "sweep"); // "network-guardrail-prod-us-east-1-sweep"
 */
export function roleName(
  app: string,
  stage: string,
  region: string,
  fn: GuardrailFunction,
): string {
  const full = `${app}-${stage}-${region}-${fn}`;
  if (full.length <= ROLE_NAME_MAX) return full;
  const hash = createHash("sha256").update(full).digest("hex").slice(0, 8);
  const keep = ROLE_NAME_MAX - hash.length - fn.length - 2;
  return `${full.slice(0, keep)}-${hash}-${fn}`;
}

/** `arn:aws:iam::123456789012:role/<name>` (roles are created at path `/`). */
export function roleArn(partition: string, accountId: string, name: string): string {
  return `arn:${partition}:iam::${accountId}:role/${name}`;
}

/** PascalCase SST component name of a function: `security-group-change` → `SecurityGroupChange`. */
export function componentName(
  fn: GuardrailFunction | EvidenceFunction | SweepFanOutFunction | SlackAppFunction,
): string {
  return fn
    .split("-")
    .map((part) => part.charAt(0).toUpperCase() + part.slice(1))
    .join("");
}

/** CloudWatch alarm name, prefixed with the app and stage so that stages don't collide. */
export function alarmName(app: string, stage: string, what: string): string {
  return `${app}-${stage}-${what}`;
}

/**
 * The member role's name, the same in every account so that the hub can build its ARN from the
 * account id alone. Includes the stage so that two hub stages can have spokes in one
 * organisation.
 *
 * @example
 * memberRoleName("prod"); // "network-guardrail-prod-member"
 */
export function memberRoleName(stage: string, app = APP_NAME): string {
  return `${app}-${stage}-member`;
}

/** The hub's central event bus name (organisation mode). */
export function hubBusName(stage: string, app = APP_NAME): string {
  return `${app}-${stage}-hub`;
}

/**
 * PascalCase component-name part of a Region, for the resources made in each covered Region.
 *
 * @example
 * regionId("eu-west-1"); // "EuWest1"
 */
export function regionId(region: string): string {
  return region
    .split("-")
    .map((part) => part.charAt(0).toUpperCase() + part.slice(1))
    .join("");
}
