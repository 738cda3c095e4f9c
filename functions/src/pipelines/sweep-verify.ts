import {
  type Action,
  fromSecurityGroupRule,
  type RuleChange,
  VERIFY_BATCH,
  viewChange,
} from "@guardrail/core";
import type { RemediationDeps } from "../deps";

/** A rule the sweep was about to revoke and did not: it is gone, or it changed since the read. */
export interface SkippedRevoke {
  readonly ruleId: string;
  readonly reason: "gone" | "changed";
}

/**
 * The sweep reads every rule minutes before it acts on the last of them. Before revoking by rule
 * id it reads those rules again (DescribeSecurityGroupRules by id, VERIFY_BATCH at a time) and
 * keeps only the ids whose rule is unchanged: a rule changed since the read is judged again by
 * its own event and by the next sweep, never revoked on what it used to say. A failed re-read
 * throws (LookupFailedError): nothing is revoked blind.
 */
export async function verifyBeforeRevoke(
  actions: readonly Action[],
  read: readonly RuleChange[],
  deps: Pick<RemediationDeps, "ec2" | "logger">,
): Promise<{ actions: Action[]; skipped: SkippedRevoke[] }> {
  const ids = actions.flatMap((a) =>
    a.type === "revoke-security-group-rules"
      ? a.ruleIds
      : a.type === "narrow-security-group-rule"
        ? [a.ruleId]
        : [],
  );
  if (ids.length === 0) return { actions: [...actions], skipped: [] };
  const asRead = new Map<string, string>();
  for (const c of read) {
    if (c.kind === "security-group-rule" && c.ruleId) asRead.set(c.ruleId, viewChange(c).text);
  }
  const skipped: SkippedRevoke[] = [];
  const keep = new Set<string>();
  for (let i = 0; i < ids.length; i += VERIFY_BATCH) {
    const batch = ids.slice(i, i + VERIFY_BATCH);
    const now = await deps.ec2.ruleDirections(batch);
    for (const id of batch) {
      const rule = now.rules[id];
      if (!rule) {
        skipped.push({ ruleId: id, reason: "gone" });
        continue;
      }
      const current = fromSecurityGroupRule(rule);
      if (current.status === "ok" && viewChange(current.change).text === asRead.get(id)) {
        keep.add(id);
      } else {
        skipped.push({ ruleId: id, reason: "changed" });
      }
    }
  }
  if (skipped.length > 0) {
    deps.logger.warn("sweep: rules changed or gone since they were read; not revoked", {
      skipped,
    });
  }
  const verified = actions.flatMap((a): Action[] => {
    if (a.type === "narrow-security-group-rule") return keep.has(a.ruleId) ? [a] : [];
    if (a.type !== "revoke-security-group-rules") return [a];
    const ruleIds = a.ruleIds.filter((id) => keep.has(id));
    return ruleIds.length === 0 ? [] : [{ ...a, ruleIds }];
  });
  return { actions: verified, skipped };
}
