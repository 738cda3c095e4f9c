import type { AccountTarget } from "@guardrail/core";
import type { RemediationDeps } from "./deps";

/**
 * The dependencies of one run in `target`: `ec2` acts in that account and Region (through the
 * member role in organisation mode). Unchanged in single-account mode.
 *
 * @throws MemberRoleError when the member role cannot be assumed.
 */
export async function forTarget<D extends RemediationDeps>(
  deps: D,
  target: AccountTarget,
): Promise<D> {
  if (deps.members !== undefined) return { ...deps, ec2: await deps.members.gateway(target) };
  if (deps.regions !== undefined) return { ...deps, ec2: deps.regions.gateway(target.region) };
  return deps;
}
