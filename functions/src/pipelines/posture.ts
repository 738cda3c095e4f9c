import type { Notifier, PostureStore } from "@guardrail/aws";
import {
  buildPostureReport,
  type Decision,
  type PostureReport,
  postureDigestPublication,
  postureSnapshot,
  weekAgoDate,
} from "@guardrail/core";
import type { Context } from "aws-lambda";
import { type Observability, withObservability } from "../middleware";

/**
 * Keeps what one sweep run left open (see `postureSnapshot`), carrying each finding's first
 * sighting from the previous snapshot. Called by the sweep with every decision it built, recorded
 * or not (a standing notify-only rule is recorded once, but stays in the posture every run).
 */
export async function recordPosture(
  target: { readonly account: string; readonly region: string; readonly runId: string },
  decisions: readonly Decision[],
  deps: { readonly posture?: PostureStore; readonly clock: () => Date },
): Promise<void> {
  if (!deps.posture) return;
  const previous = await deps.posture.current(target.account, target.region);
  await deps.posture.write(
    postureSnapshot({ ...target, sweptAt: deps.clock(), decisions, previous }),
  );
}

/** The report of every account and Region, with the totals of a week ago. */
export async function readPosture(store: PostureStore, now: Date): Promise<PostureReport> {
  const [snapshots, weekAgo] = await Promise.all([store.all(), store.days(weekAgoDate(now))]);
  return buildPostureReport(snapshots, weekAgo, now);
}

export interface PostureDigestDeps extends Observability {
  readonly posture: PostureStore;
  readonly notifier: Notifier;
  readonly clock: () => Date;
}

/** The weekly digest: the same report as `guardrail posture`, published to the topic. */
export async function sendPostureDigest(deps: PostureDigestDeps): Promise<PostureReport> {
  const report = await readPosture(deps.posture, deps.clock());
  const messageId = await deps.notifier.publish(postureDigestPublication(report));
  deps.logger.info("posture digest published", { messageId, totals: report.totals });
  return report;
}

/** The posture-digest Lambda handler (a weekly schedule), built from its dependencies. */
export function createPostureDigestHandler(deps: PostureDigestDeps) {
  return withObservability(async (_event: unknown, _context: Context) => {
    const report = await sendPostureDigest(deps);
    return { totals: report.totals, weekAgo: report.weekAgo };
  }, deps);
}
