import { LookupFailedError } from "@guardrail/aws/errors";
import { mapLimit } from "@guardrail/aws/limit";
import {
  type Decision,
  type Evaluation,
  type PolicyEvaluationContext,
  trailCandidates,
  trailResources,
  withTrailExemptions,
} from "@guardrail/core";
import type { RemediationDeps } from "../deps";

/** How many of a resource's latest event decisions are searched for the one about a rule. */
export const TRAIL_DEPTH = 25;
const TRAIL_CONCURRENCY = 4;

/** What `exemptionsFromTrail` came to. */
export interface TrailResult {
  readonly evaluation: Evaluation;
  /** Resources whose decisions could not be read; their enforce findings now only notify. */
  readonly unreadable: readonly { readonly resourceId: string; readonly error: unknown }[];
}

/**
 * Principal exemptions for changes judged without their author: the sweep (current state has
 * no actor) and the prefix-list function (the actor edited the list, not the rules). Before an
 * enforce finding is acted on, the audit trail says who made the rule: when the newest event
 * decision about it waived it for its principal, and the policy still exempts that principal,
 * the finding is waived again instead of revoked (the rules are `withTrailExemptions` in core).
 *
 * Bounded: nothing is read unless the policy has principal exemptions for the finding's rule,
 * and then one by-resource look-up per resource with enforce findings. A trail that cannot be
 * read makes those findings notify-only (never a revoke on a guess), or throws when `onUnreadable`
 * is `throw` (an event function, whose retry reads it again).
 *
 * @throws LookupFailedError when a trail cannot be read and `onUnreadable` is `throw`.
 */
export async function exemptionsFromTrail(
  evaluation: Evaluation,
  ctx: PolicyEvaluationContext,
  deps: RemediationDeps,
  { onUnreadable }: { readonly onUnreadable: "notify" | "throw" },
): Promise<TrailResult> {
  const policy = deps.config.policy;
  const candidates = trailCandidates(evaluation, policy);
  if (candidates.length === 0) return { evaluation, unreadable: [] };
  const trails = new Map<string, readonly Decision[]>();
  const unreadable: { resourceId: string; error: unknown }[] = [];
  await mapLimit(trailResources(candidates), TRAIL_CONCURRENCY, async (id) => {
    try {
      trails.set(id, await deps.audit.recentEventDecisions(id, TRAIL_DEPTH));
    } catch (error) {
      unreadable.push({ resourceId: id, error });
    }
  });
  if (unreadable.length > 0 && onUnreadable === "throw") {
    const first = unreadable[0];
    throw new LookupFailedError(
      `the audit trail of ${unreadable.map((u) => u.resourceId).join(", ")} could not be read to check principal exemptions`,
      { cause: first?.error },
    );
  }
  const blind = new Set(unreadable.map((u) => u.resourceId));
  for (const u of unreadable) {
    deps.logger.error("audit trail unreadable: its enforce findings only notify", {
      resourceId: u.resourceId,
      error: u.error,
    });
  }
  return {
    evaluation: withTrailExemptions(evaluation, candidates, trails, blind, policy, ctx),
    unreadable,
  };
}
