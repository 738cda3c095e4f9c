import { recordsOf } from "@guardrail/aws";
import {
  type Evaluation,
  evaluate,
  groupsNeedingTags,
  type PolicyEvaluationContext,
  type RuleChange,
} from "@guardrail/core";
import type { RemediationDeps } from "../deps";

/**
 * After the revoke: the tags (and their records) of the groups whose findings a tag could waive
 * but that could not change what was revoked (`groupsDecidingRevoke` left them out), so that
 * each finding reports its exemption exactly as if they had been read first. The actions are
 * already taken and cannot differ: every such rule has an enforce finding no tag may waive.
 * Null when nothing is left to read. A failed read is logged, and the decision is reported as
 * judged before the revoke (the waivable findings then show as counted, which they were for
 * the revoke), rather than failing an invocation whose revoke is done.
 */
export async function judgeTagsAfterRevoke(
  changes: readonly RuleChange[],
  ctx: PolicyEvaluationContext,
  deps: RemediationDeps,
): Promise<Evaluation | null> {
  const policy = deps.config.policy;
  const read = new Set(Object.keys(ctx.groupTags ?? {}));
  const ids = groupsNeedingTags(evaluate(changes, policy, ctx), policy).filter(
    (id) => !read.has(id),
  );
  if (ids.length === 0) return null;
  try {
    const tags = Object.fromEntries(
      await Promise.all(ids.map(async (id) => [id, await deps.ec2.tagsOf(id)] as const)),
    );
    const records = await recordsOf(tags, ctx, deps);
    return evaluate(changes, policy, {
      ...ctx,
      groupTags: { ...ctx.groupTags, ...tags },
      ...(records || ctx.tagRecords ? { tagRecords: { ...ctx.tagRecords, ...records } } : {}),
    });
  } catch (error) {
    deps.logger.warn("tags read after the revoke failed; findings reported as judged before it", {
      groups: ids,
      error,
    });
    return null;
  }
}
