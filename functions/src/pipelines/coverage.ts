import { MetricUnit } from "@aws-lambda-powertools/metrics";
import { MemberRoleError } from "@guardrail/aws/errors";
import {
  type AccountTargets,
  accountTargets,
  type EventMeta,
  METRICS,
  type OrganizationAccount,
  type OrganizationConfig,
  regionVerdict,
} from "@guardrail/core";
import type { RemediationDeps } from "../deps";

/** What an event-driven function answers for an event from a Region it does not cover. */
export interface NotCovered {
  readonly status: "not-covered";
  readonly eventId: string;
  readonly reason: string;
}

/**
 * Null when the event's Region is covered (or the covered Regions are unknown); otherwise the
 * event is reported as not covered: logged with its Region, counted (`EventsNotCovered`, which
 * alarms), and never acted on, so it cannot become a failed revoke that pages on-call.
 */
export function notCovered(event: EventMeta, deps: RemediationDeps): NotCovered | null {
  const covered = deps.config.regions;
  if (covered.length === 0) return null;
  const verdict = regionVerdict(event.region, covered);
  if (verdict.covered) return null;
  deps.logger.warn("event from a Region the guardrail does not cover: not acted on", {
    eventId: event.eventId,
    eventName: event.eventName,
    account: event.account,
    region: event.region,
    covered,
  });
  deps.metrics.addMetric(METRICS.eventsNotCovered, MetricUnit.Count, 1);
  return { status: "not-covered", eventId: event.eventId, reason: verdict.reason };
}

/** One account the organisation sweep does not visit this run, and why. */
export type SkippedAccount = AccountTargets["skipped"][number];

/** The organisation sweep's accounts for this run. */
export interface OrganizationSweepPlan extends Pick<AccountTargets, "accounts" | "skipped"> {
  /** Where the accounts came from: AWS Organizations, or the configured list alone. */
  readonly source: "organizations" | "configured";
}

/**
 * The accounts to sweep, read from AWS Organizations every run (active accounts only; the
 * configured allow and deny lists on top). Without an Organizations reader (tests, local runs
 * that wire none) the configured allow list is the list.
 *
 * @throws the Organizations error: without the list the sweep would look healthy while
 *   visiting nothing.
 */
export async function organizationSweepPlan(
  org: OrganizationConfig,
  deps: RemediationDeps,
): Promise<OrganizationSweepPlan> {
  const reader = deps.organizationAccounts;
  const listed: OrganizationAccount[] =
    reader === undefined
      ? org.accounts.map((id) => ({ id, state: "ACTIVE" }))
      : await reader.list();
  const plan = accountTargets(listed, { allow: org.accounts, deny: org.denyAccounts });
  if (reader !== undefined && plan.unknownAllowed.length > 0) {
    deps.logger.warn("allowed accounts that AWS Organizations does not list: not swept", {
      accounts: plan.unknownAllowed,
    });
  }
  for (const s of plan.skipped.filter((x) => x.reason === "not-active")) {
    deps.logger.info("account not active in AWS Organizations: skipped", { ...s });
  }
  return {
    accounts: plan.accounts,
    skipped: plan.skipped,
    source: reader === undefined ? "configured" : "organizations",
  };
}

/**
 * Whether a sweep target failed because the member role is not there to assume: STS answers
 * `AccessDenied` both for a role that does not exist and for one whose trust refuses the hub
 * (the two cannot be told apart from the hub). Either way the account is not (correctly)
 * deployed: reported as such, counted (`AccountsNotDeployed`, which alarms), not a failure of
 * the sweep.
 */
export function isNotDeployed(error: unknown): error is MemberRoleError {
  return error instanceof MemberRoleError && error.awsCode === "AccessDenied";
}
