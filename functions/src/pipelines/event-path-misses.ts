import { MetricUnit } from "@aws-lambda-powertools/metrics";
import type { Sighting } from "@guardrail/aws";
import { type Finding, METRICS, viewChange } from "@guardrail/core";
import type { RemediationDeps } from "../deps";

/** A violation the event path never decided on. */
export interface EventPathMiss extends Sighting {}

/** How many event decisions about a resource are read to look for one covering a sighting. */
const TRAIL_DEPTH = 25;

/**
 * EventPathMisses: a violation the sweep saw on a rule that changed since its previous run is a
 * sighting; at the next run (a full sweep interval later, so that an event still in flight has
 * long been handled) the audit trail must hold an event decision about that rule. When none
 * does, CloudTrail → EventBridge → Lambda missed the change: the miss is logged with the rule,
 * counted (`EventPathMisses`, alarmed), and the run's new sightings replace the old.
 *
 * The audit table failing here never stops the sweep: `onError` keeps the error for the run.
 */
export async function checkEventPathMisses(
  target: { readonly account: string; readonly region: string },
  findings: readonly Finding[],
  changed: ReadonlySet<string>,
  deps: Pick<RemediationDeps, "audit" | "logger" | "metrics" | "clock">,
  onError: (what: string) => (error: unknown) => void,
): Promise<EventPathMiss[]> {
  const previous = await deps.audit
    .sightings(target.account, target.region)
    .catch((error: unknown) => {
      onError("reading the sweep's sightings")(error);
      return [] as Sighting[];
    });
  const misses: EventPathMiss[] = [];
  const byResource = new Map<string, Sighting[]>();
  for (const s of previous)
    byResource.set(s.resourceId, [...(byResource.get(s.resourceId) ?? []), s]);
  for (const [resourceId, sightings] of byResource) {
    let decided: Set<string>;
    try {
      const decisions = await deps.audit.recentEventDecisions(resourceId, TRAIL_DEPTH);
      decided = new Set(decisions.flatMap((d) => d.findings.map((f) => f.change.text)));
    } catch (error) {
      onError(`reading the audit trail of ${resourceId}`)(error);
      continue;
    }
    for (const s of sightings) if (!decided.has(s.text)) misses.push(s);
  }
  if (misses.length > 0) {
    deps.logger.error(
      "event path missed violations the sweep found: no event decision covers them",
      {
        misses,
      },
    );
    deps.metrics.addMetric(METRICS.eventPathMisses, MetricUnit.Count, misses.length);
  }
  const seenAt = deps.clock().toISOString();
  const next: Sighting[] = [];
  const keys = new Set<string>();
  for (const f of findings) {
    const view = viewChange(f.change);
    if (!changed.has(view.resourceId)) continue;
    const key = `${view.resourceId} ${view.text}`;
    if (keys.has(key)) continue;
    keys.add(key);
    next.push({ resourceId: view.resourceId, text: view.text, rule: f.rule, seenAt });
  }
  await deps.audit
    .writeSightings(target.account, target.region, next)
    .catch(onError("writing the sweep's sightings"));
  return misses;
}
