import { randomUUID } from "node:crypto";
import { MetricUnit } from "@aws-lambda-powertools/metrics";
import {
  type CurrentState,
  readCurrentState,
  referencedPrefixLists,
  resolvePrefixLists,
} from "@guardrail/aws/current-state";
import { AuditWriteError, awsErrorCode, errorMessage } from "@guardrail/aws/errors";
import type { EventPathProbe } from "@guardrail/aws/event-path-probe";
import { mapLimit } from "@guardrail/aws/limit";
import {
  type AccountRegion,
  type Action,
  buildSweepSummary,
  ConfigurationError,
  countGroupRules,
  type Decision,
  diffStates,
  type FailedTarget,
  GuardrailError,
  judge,
  METRICS,
  networkAclsOf,
  type OrganizationConfig,
  type PolicyEvaluationContext,
  planRemediation,
  type StateDiff,
  SWEEP_TARGET_CONCURRENCY,
  stateDecisions,
  statesOf,
  sweepPublication,
} from "@guardrail/core";
import type { Context } from "aws-lambda";
import type { RemediationDeps } from "../deps";
import { SweepTargetsFailedError } from "../errors";
import { stringField } from "../field";
import { forTarget } from "../for-target";
import { withObservability } from "../middleware";
import { isNotDeployed, organizationSweepPlan, type SkippedAccount } from "./coverage";
import { checkEventPath, type EventPathReport } from "./event-path";
import { checkEventPathMisses, type EventPathMiss } from "./event-path-misses";
import { stateLookups } from "./lookups";
import { recordPosture } from "./posture";
import { recordAndNotify } from "./record";
import { reportToSecurityHub } from "./security-hub";
import { type SkippedRevoke, verifyBeforeRevoke } from "./sweep-verify";
import { reportExpiredTags } from "./tag-exemption";
import { exemptionsFromTrail } from "./trail";

/** Where the sweep runs. The scheduled event carries both; a manual run may not. */
export type SweepIdentity = AccountRegion;

export interface SweepDeps extends RemediationDeps {
  /** Account and Region when the event does not say (STS GetCallerIdentity and AWS_REGION). */
  readonly identity: () => Promise<SweepIdentity>;
  /** The trails and event rules the event path depends on (checked each run when set). */
  readonly eventPath?: EventPathProbe;
  /** The Regions enabled in the account now (DescribeRegions), to report those not covered. */
  readonly enabledRegions?: () => Promise<readonly string[]>;
}

export interface SweepResult extends AccountRegion {
  readonly runId: string;
  readonly scanned: { securityGroupRules: number; networkAclEntries: number; prefixLists: number };
  readonly unreadable: number;
  /** Findings by result (revoked, failed, notify-only, …). */
  readonly counts: Record<string, number>;
  /** Approved exemption tags found expired (and announced) by this run. */
  readonly expiredTags: number;
  /** Rules the sweep meant to revoke but found gone or changed when it read them again. */
  readonly skippedRevokes: readonly SkippedRevoke[];
  /** Violations the previous run saw that no event decision covered. */
  readonly eventPathMisses: readonly EventPathMiss[];
  /** What the event-path checks found (null when none is configured). */
  readonly eventPath: EventPathReport | null;
  // What the run wrote.
  readonly stateWrites: number;
  readonly stateDeletes: number;
  readonly auditRecords: number;
  readonly published: boolean;
  readonly durationMs: number;
}

/** EC2 throttles per account: the sweep's revokes run a few at a time. */
const REVOKE_CONCURRENCY = 4;
const AUDIT_CONCURRENCY = 8;

/** Current state as read, with the number of rules and entries that could not be read. */
interface ReadState extends CurrentState {
  readonly unreadableCount: number;
}

/** Reads current state; what cannot be read is logged, counted and judged as missing. */
async function readState(deps: SweepDeps): Promise<ReadState> {
  const state = await readCurrentState(deps.ec2);
  for (const u of state.unreadable) {
    if (u.kind === "security-group-rule") {
      deps.logger.error("unreadable security-group rule", { ruleId: u.ruleId, error: u.message });
    } else {
      deps.logger.error("unreadable network ACL entry", {
        networkAclId: u.networkAclId,
        error: u.message,
      });
    }
  }
  return { ...state, unreadableCount: state.unreadable.length };
}

/**
 * sweep: reads every security-group rule and network-ACL entry (paginated), resolves the prefix
 * lists they reference (each once), evaluates them as current state, revokes enforce findings,
 * records decisions, keeps the last state of each resource (only what changed) and publishes
 * ONE summary of what is new: remediations, failures, and findings on resources whose rules
 * changed since the last run (nothing new: no summary; the SweepRuns metric counts every run).
 * A failed revoke is reported (critical summary, metric, audit record); the next run tries
 * again, so the sweep itself does not fail.
 */
export async function sweep(event: unknown, deps: SweepDeps): Promise<SweepResult> {
  const account = stringField(event, "account");
  const region = stringField(event, "region");
  const identity = account && region ? { account, region } : await deps.identity();
  return sweepOne(identity, runIdOf(event), deps);
}

export function runIdOf(event: unknown): string {
  return stringField(event, "id") ?? randomUUID();
}

/** A sweep over several targets: what each target swept came to, and those that failed. */
export interface MultiTargetSweepResult {
  readonly runId: string;
  readonly targets: readonly SweepResult[];
  readonly failures: readonly FailedTarget[];
  readonly durationMs: number;
}

/** `targets`: one per target swept, in the order AWS Organizations listed the accounts, then Regions. */
export interface OrganizationSweepResult extends MultiTargetSweepResult {
  /** Accounts listed but not swept (suspended, closed, denied, not allowed), with why. */
  readonly skippedAccounts: readonly SkippedAccount[];
  /** Accounts whose member role could not be assumed (AccessDenied): not deployed there. */
  readonly notDeployed: readonly string[];
}

/** Every (account, Region) to sweep: the accounts given (or the configured list), then Regions. */
export function sweepTargets(
  org: OrganizationConfig,
  accounts: readonly string[] = org.accounts,
): SweepIdentity[] {
  return accounts.flatMap((account) => org.regions.map((region) => ({ account, region })));
}

/**
 * Organisation mode: sweeps every active account AWS Organizations lists this run (narrowed by
 * the allow and deny lists) × covered Region, SWEEP_TARGET_CONCURRENCY at a time, each through
 * its member role (the hub's own account and Region with the function's role). Each target
 * records and publishes as a single-account sweep would, under the run id
 * `<run>:<account>:<region>`. An account whose member role is refused (AccessDenied: the spoke
 * is not deployed there) is reported as not deployed, not as a failure. A target that fails
 * otherwise (STS or EC2 failing) does not stop the others; the run then fails at the end,
 * naming every failed target, so that the function-error alarm fires while the rest of the
 * estate was still swept.
 */
export async function sweepOrganization(
  event: unknown,
  deps: SweepDeps,
): Promise<OrganizationSweepResult> {
  const org = deps.config.organization;
  if (org === null) throw new ConfigurationError("sweepOrganization needs organisation mode");
  const t0 = performance.now();
  const runId = runIdOf(event);
  const plan = await organizationSweepPlan(org, deps);
  const targets = sweepTargets(org, plan.accounts);
  const notDeployed = new Set<string>();
  const outcomes = await mapLimit(
    targets,
    SWEEP_TARGET_CONCURRENCY,
    async (target): Promise<SweepResult | FailedTarget | null> => {
      try {
        const targetDeps = await forTarget(deps, target);
        return await sweepOne(target, `${runId}:${target.account}:${target.region}`, targetDeps);
      } catch (error) {
        if (isNotDeployed(error)) {
          notDeployed.add(target.account);
          return null;
        }
        deps.logger.error("sweep of a target failed; the others go on", { ...target, error });
        const code = error instanceof GuardrailError ? error.code : awsErrorCode(error);
        return { ...target, code, message: errorMessage(error) };
      }
    },
  );
  // In the configuration's order, whatever order the targets finished in.
  const swept = outcomes.filter((o): o is SweepResult => o !== null && "runId" in o);
  const failures = outcomes.filter((o): o is FailedTarget => o !== null && "code" in o);
  if (notDeployed.size > 0) {
    deps.logger.warn(
      "member role not deployed (or refusing the hub) in these accounts: not swept",
      {
        accounts: [...notDeployed],
      },
    );
    deps.metrics.addMetric(METRICS.accountsNotDeployed, MetricUnit.Count, notDeployed.size);
  }
  const result: OrganizationSweepResult = {
    runId,
    targets: swept,
    failures,
    skippedAccounts: plan.skipped,
    notDeployed: [...notDeployed],
    durationMs: Math.round(performance.now() - t0),
  };
  deps.logger.info("organisation sweep finished", {
    runId,
    accountsFrom: plan.source,
    accounts: plan.accounts.length,
    skippedAccounts: plan.skipped.length,
    notDeployed: notDeployed.size,
    targets: targets.length,
    swept: swept.length,
    failed: failures.length,
  });
  if (failures.length > 0) {
    throw new SweepTargetsFailedError(
      failures,
      `${failures.length} of ${targets.length} sweep target(s) failed: ${failures
        .map((f) => `${f.account}/${f.region} (${f.code})`)
        .join(", ")}`,
    );
  }
  return result;
}

/**
 * The audit table is not on the path to the revokes: when it fails, the sweep remediates and
 * reports anyway, then fails the run so that the error is seen. `keep` collects those errors.
 */
interface AuditErrors {
  readonly errors: unknown[];
  readonly keep: (what: string) => (error: unknown) => void;
}

function auditErrors(deps: SweepDeps): AuditErrors {
  const errors: unknown[] = [];
  const keep = (what: string) => (error: unknown) => {
    errors.push(error);
    deps.logger.error(`sweep: ${what} failed`, { error });
  };
  return { errors, keep };
}

/** read: current state, and the fingerprints of the state the last run kept. */
async function readRun(identity: SweepIdentity, deps: SweepDeps, { keep }: AuditErrors) {
  const [read, stored] = await Promise.all([
    readState(deps),
    deps.audit.stateFingerprints(identity.account, identity.region).catch((error: unknown) => {
      keep("reading the stored state")(error);
      return new Map<string, string>();
    }),
  ]);
  return { read, stored };
}

/**
 * judge: current state with the prefix lists its rules reference, the account's context, group
 * tags where a tag could waive a finding, then the audit trail (current state has no actor: a
 * rule a principal exemption let in on the event path would be revoked here otherwise).
 */
async function judgeRun(
  identity: SweepIdentity,
  read: ReadState,
  started: Date,
  deps: SweepDeps,
  { keep }: AuditErrors,
) {
  const [prefixLists, accountContext] = await Promise.all([
    resolvePrefixLists(referencedPrefixLists(read.changes), deps.ec2, (id, error) =>
      deps.logger.warn("prefix list unresolved; its rules are reported, not revoked", {
        prefixListId: id,
        error,
      }),
    ),
    deps.directory ? deps.directory.context(identity.account) : {},
  ]);
  const ctx: PolicyEvaluationContext = {
    now: started,
    account: identity.account,
    region: identity.region,
    ...accountContext,
    prefixLists,
    // Whole ACLs were read: each entry is judged by the traffic it decides in its ACL.
    networkAcls: networkAclsOf(read.changes, read.incompleteAcls),
    naclPlanned: true,
  };
  const judged = await judge(read.changes, deps.config.policy, ctx, stateLookups(deps));
  const trail = await exemptionsFromTrail(judged.evaluation, judged.ctx, deps, {
    onUnreadable: "notify",
  });
  for (const u of trail.unreadable) keep(`reading the audit trail of ${u.resourceId}`)(u.error);
  // The one planner the event path uses too: the sweep never does what the event refused.
  // Every rule was read: the narrowing planner counts each group's rules against its quota.
  const planned = planRemediation(trail.evaluation, deps.config.policy, {
    ...judged.ctx,
    groupRuleCounts: countGroupRules(read.changes),
  });
  return { evaluation: planned.evaluation, actions: planned.actions, prefixLists };
}

/** act: each planned revoke, once the rule was read again and found as judged. */
async function actRun(actions: readonly Action[], read: ReadState, deps: SweepDeps) {
  const verified = await verifyBeforeRevoke(actions, read.changes, deps);
  const outcomes = (
    await mapLimit(verified.actions, REVOKE_CONCURRENCY, (a) => deps.ec2.execute(a))
  ).flat();
  return { outcomes, skipped: verified.skipped };
}

/**
 * record: the changed states, and the decisions worth recording: every remediation, and a
 * finding left in place only when its resource changed since the last sweep, so that a
 * standing notify-only rule is not re-recorded every run.
 */
async function recordRun(
  identity: SweepIdentity,
  runId: string,
  decisions: readonly Decision[],
  diff: StateDiff,
  deps: SweepDeps,
  { keep }: AuditErrors,
): Promise<Decision[]> {
  const toRecord = decisions.filter(
    (d) => d.findings.some((f) => f.action !== undefined) || diff.changed.has(d.resource.id),
  );
  await Promise.all([
    deps.audit
      .writeStates(identity.account, identity.region, diff.puts, diff.deletes)
      .catch(keep("writing the state")),
    mapLimit(toRecord, AUDIT_CONCURRENCY, (d) =>
      recordAndNotify(d, deps, { publish: false }).catch(keep(`recording ${d.id}`)),
    ),
    recordPosture({ ...identity, runId }, decisions, deps).catch(keep("recording the posture")),
  ]);
  return toRecord;
}

export async function sweepOne(
  identity: SweepIdentity,
  runId: string,
  deps: SweepDeps,
): Promise<SweepResult> {
  const { logger, metrics, config } = deps;
  const started = deps.clock();
  const t0 = performance.now();
  const audit = auditErrors(deps);

  const { read, stored } = await readRun(identity, deps, audit);
  const { evaluation, actions, prefixLists } = await judgeRun(identity, read, started, deps, audit);
  const { outcomes, skipped } = await actRun(actions, read, deps);
  if (read.unreadableCount > 0)
    metrics.addMetric(METRICS.unreadableRules, MetricUnit.Count, read.unreadableCount);
  const eventPath = deps.eventPath ? await checkEventPath(deps.eventPath, deps) : null;

  const seenAt = deps.clock().toISOString();
  const diff = diffStates(statesOf(read.changes, read.resources, outcomes, seenAt), stored);
  const misses = await checkEventPathMisses(
    identity,
    evaluation.findings,
    diff.changed,
    deps,
    audit.keep,
  );
  const decisions = stateDecisions({
    runId,
    account: identity.account,
    region: identity.region,
    evaluation,
    outcomes,
    clock: deps.clock,
    guardrailVersion: config.version,
    policyId: config.policyId,
  });
  const toRecord = await recordRun(identity, runId, decisions, diff, deps, audit);
  // Every finding, not only what is new: Security Hub is told what the sweep no longer sees
  // (archived), unless some state could not be read.
  await reportToSecurityHub(
    decisions,
    identity,
    read.unreadableCount > 0 ? "event" : "sweep",
    deps,
  );

  // The summary says what is new, as the audit trail does: a standing finding (the default
  // NACL's allow-all entry, notify-only) is not announced again every 15 minutes.
  const summary = buildSweepSummary({
    runId,
    account: identity.account,
    region: identity.region,
    startedAt: started,
    finishedAt: deps.clock(),
    scanned: {
      securityGroupRules: read.securityGroupRules,
      networkAclEntries: read.networkAclEntries,
      prefixLists: Object.keys(prefixLists).length,
    },
    stateChanges: diff.puts.length + diff.deletes.length,
    decisions: toRecord,
    guardrailVersion: config.version,
    policyId: config.policyId,
  });
  const anything = summary.findings.length > 0;
  if (anything) await deps.notifier.publish(sweepPublication(summary));
  else logger.info("sweep: nothing new since the last run; no summary published", { runId });

  // Each approved exemption tag that ran out is announced once, whatever it waived.
  const expiredTags = await reportExpiredTags(identity.account, identity.region, deps).catch(
    (error: unknown) => {
      audit.keep("reporting expired exemption tags")(error);
      return 0;
    },
  );

  metrics.addMetric(METRICS.sweepRuns, MetricUnit.Count, 1);
  const failed = outcomes.filter((o) => o.status === "failed").length;
  if (failed > 0) metrics.addMetric(METRICS.remediationFailures, MetricUnit.Count, failed);
  const result: SweepResult = {
    runId,
    account: identity.account,
    region: identity.region,
    scanned: summary.scanned,
    unreadable: read.unreadableCount,
    counts: summary.counts,
    stateWrites: diff.puts.length,
    stateDeletes: diff.deletes.length,
    auditRecords: toRecord.length,
    published: anything,
    expiredTags,
    skippedRevokes: skipped,
    eventPathMisses: misses,
    eventPath,
    durationMs: Math.round(performance.now() - t0),
  };
  (failed > 0 ? logger.error.bind(logger) : logger.info.bind(logger))("sweep finished", {
    ...result,
  });
  if (audit.errors.length > 0) {
    throw new AuditWriteError(
      `the sweep remediated and reported, but ${audit.errors.length} audit-table call(s) failed`,
      { cause: audit.errors[0] },
    );
  }
  return result;
}

/**
 * The single-account sweep Lambda handler, built from its dependencies.
 *
 * @throws ConfigurationError in organisation mode, where it would sweep the hub alone.
 */
export function createSweepHandler(deps: SweepDeps) {
  if (deps.config.organization !== null) {
    throw new ConfigurationError(
      "organisation mode is on: build the sweep with createOrganizationSweepHandler",
    );
  }
  return withObservability((event: unknown, _context: Context) => sweep(event, deps), deps);
}

/** The organisation sweep Lambda handler: every configured account and Region. */
export function createOrganizationSweepHandler(deps: SweepDeps) {
  if (deps.config.organization === null || deps.members === undefined) {
    throw new ConfigurationError(
      "the organisation sweep needs organisation mode (GUARDRAIL_ORG_ID) and member access",
    );
  }
  return withObservability(
    (event: unknown, _context: Context) => sweepOrganization(event, deps),
    deps,
  );
}
