import type { Evaluation, Finding, RuleChange } from "../model";
import type { Policy } from "./types";

/** Whether a tag may waive findings of `ruleId` under `policy` (tagExemptable, with a key). */
function tagMayWaive(ruleId: string, policy: Policy): boolean {
  const rule = policy.rules.find((r) => r.id === ruleId);
  return (
    rule?.tagExemptable === true &&
    (policy.exemptions.tagKey !== null || rule.exemptions.tagKey !== null)
  );
}

/**
 * The security groups whose tags could change what is revoked: those with a rule whose enforce
 * findings could all be waived by a tag. A rule with an enforce finding no tag may waive (tcp 22
 * from the world is `admin-ports` as well as `internet-exposure`) is revoked whatever its
 * group's tags say, so its tags (and their records) are read only after the revoke, to report
 * each finding's exemption (`groupsNeedingTags`). Notify-only rules revoke nothing either way.
 *
 * @example
 * const first = evaluate(changes, policy, ctx); // tcp 22 and tcp 8080 from 0.0.0.0/0
 * groupsDecidingRevoke(first, policy) // the 8080 rule's group only
 */
export function groupsDecidingRevoke(evaluation: Evaluation, policy: Policy): string[] {
  const byChange = new Map<RuleChange, Finding[]>();
  for (const f of evaluation.findings) {
    if (f.mode !== "enforce") continue;
    byChange.set(f.change, [...(byChange.get(f.change) ?? []), f]);
  }
  const ids = new Set<string>();
  for (const [change, findings] of byChange) {
    if (change.kind !== "security-group-rule" || change.groupId === null) continue;
    if (findings.every((f) => tagMayWaive(f.rule, policy))) ids.add(change.groupId);
  }
  return [...ids];
}
