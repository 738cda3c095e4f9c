import { MetricUnit } from "@aws-lambda-powertools/metrics";
import {
  type AccountTarget,
  type Decision,
  METRICS,
  planSecurityHub,
  type SecurityHubRecord,
  securityHubEntries,
} from "@guardrail/core";
import type { RemediationDeps } from "../deps";

/** What one export came to (tests and logs read it). */
export interface SecurityHubOutcome {
  readonly imported: number;
  readonly updated: number;
  readonly archived: number;
  readonly failed: number;
}

const NONE: SecurityHubOutcome = { imported: 0, updated: 0, archived: 0, failed: 0 };

/**
 * Sends the findings of decisions to Security Hub in `target` (the member role's account in
 * organisation mode), after they were recorded. `scope` says what the decisions cover: an
 * event's own resources, or (the sweep) everything in the account and Region, so that what
 * the sweep no longer finds is archived.
 *
 * Never throws: the export follows the remediation and its audit record and must not fail
 * them. A finding Security Hub does not take is logged and counted (`SecurityHubFailures`),
 * and its record is not written, so the next sweep sends it again.
 */
export async function reportToSecurityHub(
  decisions: readonly Decision[],
  target: AccountTarget,
  scope: "event" | "sweep",
  deps: RemediationDeps,
): Promise<SecurityHubOutcome> {
  const exporter = deps.securityHub;
  if (exporter === undefined) return NONE;
  const { logger, metrics } = deps;
  try {
    const entries = decisions
      .filter((d) => d.account === target.account && d.region === target.region)
      .flatMap(securityHubEntries);
    if (scope === "event" && entries.length === 0) return NONE;
    const previous =
      scope === "sweep"
        ? await exporter.ledger.list(target)
        : await exporter.ledger.get(
            target,
            entries.map((e) => e.id),
          );
    const plan = planSecurityHub({ entries, previous, scope, now: deps.clock() });
    if (plan.imports.length === 0 && plan.updates.length === 0) return NONE;
    const sent = await exporter.gateway.send(target, plan.imports, plan.updates);
    // A finding whose workflow change did not go through is sent again by the next sweep.
    const notUpdated = new Set(sent.notUpdated.map((f) => f.id));
    const ok = new Set(sent.imported.filter((id) => !notUpdated.has(id)));
    const put: SecurityHubRecord[] = plan.put.filter((r) => ok.has(r.id));
    const remove = plan.remove.filter((id) => ok.has(id));
    await exporter.ledger.write(target, put, remove);
    const failed = sent.failed.length + sent.notUpdated.length;
    if (failed > 0) {
      metrics.addMetric(METRICS.securityHubFailures, MetricUnit.Count, failed);
      logger.error("Security Hub did not take some findings; the sweep sends them again", {
        ...target,
        failed: sent.failed,
        notUpdated: sent.notUpdated,
      });
    }
    const outcome = {
      imported: put.length,
      updated: plan.updates.reduce((n, u) => n + u.FindingIdentifiers.length, 0),
      archived: remove.length,
      failed,
    };
    logger.info("findings sent to Security Hub", { ...target, ...outcome });
    return outcome;
  } catch (error) {
    metrics.addMetric(METRICS.securityHubFailures, MetricUnit.Count, 1);
    logger.error("Security Hub export failed; the sweep sends the findings again", {
      ...target,
      error,
    });
    return { ...NONE, failed: 1 };
  }
}
