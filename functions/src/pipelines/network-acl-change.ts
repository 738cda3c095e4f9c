import { type NetworkAclEntryChange, normalise, type RuleChange } from "@guardrail/core";
import type { Context } from "aws-lambda";
import { forTarget, type RemediationDeps } from "../deps";
import { withObservability } from "../middleware";
import { decide, earlyExit, type FlowResult, previousFromState } from "./decide";

/**
 * network-acl-change: CreateNetworkAclEntry and ReplaceNetworkAclEntry. No look-up before the
 * delete; for a Replace, the sweep's last state of the entry is read afterwards for the alert.
 */
export async function networkAclChange(
  raw: unknown,
  hubDeps: RemediationDeps,
): Promise<FlowResult> {
  const result = normalise(raw);
  const exit = earlyExit(raw, result, hubDeps);
  if (exit) return exit;
  if (result.status !== "handled") throw new Error("unreachable");
  const { event } = result;
  // Look-ups and revokes happen where the change was made (the member role in organisation mode).
  const deps = await forTarget(hubDeps, event);
  const changes = result.changes.filter(
    (c): c is NetworkAclEntryChange => c.kind === "network-acl-entry",
  );
  const replaced = changes.some((c) => c.operation === "replace");
  return decide(
    {
      event,
      changes,
      ...(replaced
        ? {
            previousFor: async (cs: readonly RuleChange[]) => {
              const acls = [
                ...new Set(
                  cs.flatMap((c) => (c.kind === "network-acl-entry" ? [c.networkAclId] : [])),
                ),
              ];
              const byAcl = await Promise.all(acls.map((a) => previousFromState(deps, event, a)));
              return (c: RuleChange) =>
                c.kind === "network-acl-entry" && c.operation === "replace"
                  ? byAcl[acls.indexOf(c.networkAclId)]?.(c)
                  : undefined;
            },
          }
        : {}),
    },
    deps,
  );
}

/** The network-acl-change Lambda handler, built from its dependencies. */
export function createNetworkAclChangeHandler(deps: RemediationDeps) {
  return withObservability(
    (event: unknown, _context: Context) => networkAclChange(event, deps),
    deps,
  );
}
