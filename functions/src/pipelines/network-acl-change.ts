import type { NetworkAclEntryChange, RuleChange } from "@guardrail/core";
import type { Context } from "aws-lambda";
import type { RemediationDeps } from "../deps";
import { withObservability } from "../middleware";
import { begin, decide, type FlowResult, previousFromState } from "./decide";

/**
 * network-acl-change: CreateNetworkAclEntry and ReplaceNetworkAclEntry. No look-up before the
 * delete; for a Replace, the sweep's last state of the entry is read afterwards for the alert.
 */
export async function networkAclChange(
  raw: unknown,
  hubDeps: RemediationDeps,
): Promise<FlowResult> {
  const begun = await begin(raw, hubDeps);
  if (begun.exit) return begun.exit;
  const { event, deps } = begun;
  const changes = begun.changes.filter(
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
