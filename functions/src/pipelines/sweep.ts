import { createHash, randomUUID } from "node:crypto";
import { MetricUnit } from "@aws-lambda-powertools/metrics";
import {
  AuditWriteError,
  awsErrorCode,
  type EventPathProbe,
  errorMessage,
  mapLimit,
  type ResourceState,
} from "@guardrail/aws";
import {
  type ActionOutcome,
  actionCovers,
  buildDecision,
  buildSweepSummary,
  type ChangeView,
  ConfigurationError,
  canonicalRules,
  type Decision,
  type Evaluation,
  evaluate,
  type Finding,
  fromNetworkAclEntry,
  fromSecurityGroupRule,
  GuardrailError,
  groupsNeedingTags,
  METRICS,
  needsGroupTags,
  networkAclsOf,
  type OrganizationConfig,
  type PolicyEvaluationContext,
  planActions,
  type ResourceRef,
  type RuleChange,
  resourceOf,
  ruleStateKey,
  SWEEP_TARGET_CONCURRENCY,
  sweepPublication,
  viewChange,
} from "@guardrail/core";
import type { Context } from "aws-lambda";
import { forTarget, type RemediationDeps } from "../deps";
import { SweepTargetsFailedError } from "../errors";
import { stringField } from "../field";
import { withObservability } from "../middleware";
import { recordAndNotify, recordsOf } from "./decide";
import { checkEventPath, type EventPathReport } from "./event-path";
import { checkEventPathMisses, type EventPathMiss } from "./event-path-misses";
import { type SkippedRevoke, verifyBeforeRevoke } from "./sweep-verify";
import { reportExpiredTags } from "./tag-exemption";
import { exemptionsFromTrail } from "./trail";

/** Where the sweep runs. The scheduled event carries both; a manual run may not. */
export interface SweepIdentity {
  readonly account: string;
  readonly region: string;
}

export interface SweepDeps extends RemediationDeps {
  /** Account and Region when the event does not say (STS GetCallerIdentity and AWS_REGION). */
  readonly identity: () => Promise<SweepIdentity>;
  /** The trails and event rules the event path depends on (checked each run when set). */
  readonly eventPath?: EventPathProbe;
}

export interface SweepResult {
  readonly runId: string;
  readonly account: string;
  readonly region: string;
  readonly scanned: { securityGroupRules: number; networkAclEntries: number; prefixLists: number };
  readonly unreadable: number;
  readonly counts: Record<string, number>;
  readonly stateWrites: number;
  readonly stateDeletes: number;
  readonly auditRecords: number;
  readonly published: boolean;
  /** Approved exemption tags found expired (and announced) by this run. */
  readonly expiredTags: number;
  /** Rules the sweep meant to revoke but found gone or changed when it read them again. */
  readonly skippedRevokes: readonly SkippedRevoke[];
  /** Violations the previous run saw that no event decision covered. */
  readonly eventPathMisses: readonly EventPathMiss[];
  /** What the event-path checks found (null when none is configured). */
  readonly eventPath: EventPathReport | null;
  readonly durationMs: number;
}

/** EC2 throttles per account: the sweep's revokes run a few at a time. */
const REVOKE_CONCURRENCY = 4;
const AUDIT_CONCURRENCY = 8;
const PREFIX_LIST_CONCURRENCY = 4;

interface ReadState {
  readonly changes: RuleChange[];
  readonly resources: Map<string, ResourceRef>;
  readonly securityGroupRules: number;
  readonly networkAclEntries: number;
  readonly unreadable: number;
  /** ACLs with an entry that could not be read: their entries are judged alone. */
  readonly incompleteAcls: Set<string>;
}

async function readState(deps: SweepDeps): Promise<ReadState> {
  const changes: RuleChange[] = [];
  const resources = new Map<string, ResourceRef>();
  let securityGroupRules = 0;
  let networkAclEntries = 0;
  let unreadable = 0;
  const incompleteAcls = new Set<string>();
  const sgRules = (async () => {
    for await (const page of deps.ec2.securityGroupRules()) {
      for (const rule of page) {
        securityGroupRules++;
        const read = fromSecurityGroupRule(rule);
        if (read.status === "ok") {
          changes.push(read.change);
          if (read.change.groupId) resources.set(read.change.groupId, resourceOf(read.change));
        } else if (read.status === "invalid") {
          unreadable++;
          deps.logger.error("unreadable security-group rule", {
            ruleId: rule.SecurityGroupRuleId,
            error: read.error.message,
          });
        }
      }
    }
  })();
  const acls = (async () => {
    for await (const page of deps.ec2.networkAcls()) {
      for (const acl of page) {
        if (!acl.NetworkAclId) continue;
        resources.set(acl.NetworkAclId, { type: "network-acl", id: acl.NetworkAclId });
        for (const entry of acl.Entries ?? []) {
          networkAclEntries++;
          const read = fromNetworkAclEntry(acl.NetworkAclId, entry);
          if (read.status === "ok") changes.push(read.change);
          else if (read.status === "invalid") {
            unreadable++;
            incompleteAcls.add(acl.NetworkAclId);
            deps.logger.error("unreadable network ACL entry", {
              networkAclId: acl.NetworkAclId,
              error: read.error.message,
            });
          }
        }
      }
    }
  })();
  await Promise.all([sgRules, acls]);
  return {
    changes,
    resources,
    securityGroupRules,
    networkAclEntries,
    unreadable,
    incompleteAcls,
  };
}

/** Each referenced prefix list once. A list that cannot be read stays unresolved: notify, never a guess. */
async function resolvePrefixLists(
  changes: readonly RuleChange[],
  deps: SweepDeps,
): Promise<Record<string, string[]>> {
  const ids = [
    ...new Set(
      changes.flatMap((c) =>
        c.kind === "security-group-rule" && c.peer.kind === "prefix-list"
          ? [c.peer.prefixListId]
          : [],
      ),
    ),
  ];
  const resolved: Record<string, string[]> = {};
  await mapLimit(ids, PREFIX_LIST_CONCURRENCY, async (id) => {
    try {
      resolved[id] = await deps.ec2.prefixListEntries(id);
    } catch (error) {
      deps.logger.warn("prefix list unresolved; its rules are reported, not revoked", {
        prefixListId: id,
        error,
      });
    }
  });
  return resolved;
}

function resourceIdOf(change: RuleChange): string | null {
  if (change.kind === "security-group-rule") return change.groupId;
  if (change.kind === "network-acl-entry") return change.networkAclId;
  return null;
}

function byResource(findings: readonly Finding[]): Map<string, Finding[]> {
  const map = new Map<string, Finding[]>();
  for (const f of findings) {
    const id = resourceIdOf(f.change);
    if (id === null) continue;
    const list = map.get(id);
    if (list) list.push(f);
    else map.set(id, [f]);
  }
  return map;
}

/** The state to keep for each resource: its rules as read, minus those the sweep just removed. */
function statesOf(
  read: ReadState,
  outcomes: readonly ActionOutcome[],
  seenAt: string,
): Map<string, Omit<ResourceState, "fingerprint"> & { text: string }> {
  const removed = outcomes.filter((o) => o.status !== "failed");
  const rules = new Map<string, Record<string, ChangeView>>();
  for (const id of read.resources.keys()) rules.set(id, {});
  for (const change of read.changes) {
    const id = resourceIdOf(change);
    const key = ruleStateKey(change);
    if (id === null || key === null) continue;
    if (removed.some((o) => actionCovers(o.action, change))) continue;
    const map = rules.get(id) ?? {};
    map[key] = viewChange(change);
    rules.set(id, map);
  }
  const states = new Map<string, Omit<ResourceState, "fingerprint"> & { text: string }>();
  for (const [id, r] of rules) {
    const resource = read.resources.get(id) ?? { type: "security-group" as const, id };
    states.set(id, { resource, rules: r, seenAt, text: canonicalRules(r) });
  }
  return states;
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

function runIdOf(event: unknown): string {
  return stringField(event, "id") ?? randomUUID();
}

/** One (account, Region) that could not be swept, and why. */
export interface SweepTargetFailure {
  readonly account: string;
  readonly region: string;
  readonly code: string;
  readonly message: string;
}

export interface OrganizationSweepResult {
  readonly runId: string;
  /** One result per target swept, in the order of the configuration (accounts, then Regions). */
  readonly targets: readonly SweepResult[];
  readonly failures: readonly SweepTargetFailure[];
  readonly durationMs: number;
}

/** Every (account, Region) of the configuration, accounts first. */
export function sweepTargets(org: OrganizationConfig): SweepIdentity[] {
  return org.accounts.flatMap((account) => org.regions.map((region) => ({ account, region })));
}

/**
 * Organisation mode: sweeps every configured account × Region, SWEEP_TARGET_CONCURRENCY at a
 * time, each through its member role (the hub's own account and Region with the function's
 * role). Each target records and publishes as a single-account sweep would, under the run id
 * `<run>:<account>:<region>`. A target that fails (member role refused, EC2 failing) does not
 * stop the others; the run then fails at the end, naming every failed target, so that the
 * function-error alarm fires while the rest of the estate was still swept.
 */
export async function sweepOrganization(
  event: unknown,
  deps: SweepDeps,
): Promise<OrganizationSweepResult> {
  const org = deps.config.organization;
  if (org === null) throw new ConfigurationError("sweepOrganization needs organisation mode");
  const t0 = performance.now();
  const runId = runIdOf(event);
  const targets = sweepTargets(org);
  const outcomes = await mapLimit(
    targets,
    SWEEP_TARGET_CONCURRENCY,
    async (target): Promise<SweepResult | SweepTargetFailure> => {
      try {
        const targetDeps = await forTarget(deps, target);
        return await sweepOne(target, `${runId}:${target.account}:${target.region}`, targetDeps);
      } catch (error) {
        deps.logger.error("sweep of a target failed; the others go on", { ...target, error });
        const code = error instanceof GuardrailError ? error.code : awsErrorCode(error);
        return { ...target, code, message: errorMessage(error) };
      }
    },
  );
  // In the configuration's order, whatever order the targets finished in.
  const swept = outcomes.filter((o): o is SweepResult => "runId" in o);
  const failures = outcomes.filter((o): o is SweepTargetFailure => "code" in o);
  const result: OrganizationSweepResult = {
    runId,
    targets: swept,
    failures,
    durationMs: Math.round(performance.now() - t0),
  };
  deps.logger.info("organisation sweep finished", {
    runId,
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

async function sweepOne(
  identity: SweepIdentity,
  runId: string,
  deps: SweepDeps,
): Promise<SweepResult> {
  const { logger, metrics, config } = deps;
  const started = deps.clock();
  const t0 = performance.now();

  // The audit table is not on the path to the revokes: when it fails, the sweep remediates and
  // reports anyway, then fails the run so that the error is seen.
  const storage: unknown[] = [];
  const keep = (what: string) => (error: unknown) => {
    storage.push(error);
    logger.error(`sweep: ${what} failed`, { error });
  };
  const [read, stored] = await Promise.all([
    readState(deps),
    deps.audit.stateFingerprints(identity.account, identity.region).catch((error: unknown) => {
      keep("reading the stored state")(error);
      return new Map<string, string>();
    }),
  ]);
  const [prefixLists, accountContext] = await Promise.all([
    resolvePrefixLists(read.changes, deps),
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
  };
  let judged = ctx;
  let evaluation: Evaluation = evaluate(read.changes, config.policy, ctx);
  if (evaluation.findings.length > 0 && needsGroupTags(config.policy)) {
    const ids = groupsNeedingTags(evaluation, config.policy);
    if (ids.length > 0) {
      const groupTags = await deps.ec2.groupsTags(ids);
      const tagRecords = await recordsOf(groupTags, ctx, deps);
      judged = { ...ctx, groupTags, ...(tagRecords ? { tagRecords } : {}) };
      evaluation = evaluate(read.changes, config.policy, judged);
    }
  }
  // Current state has no actor: a rule a principal exemption let in on the event path would be
  // revoked here. The audit trail says who made it (see exemptionsFromTrail).
  const trail = await exemptionsFromTrail(evaluation, judged, deps, { onUnreadable: "notify" });
  evaluation = trail.evaluation;
  for (const u of trail.unreadable) keep(`reading the audit trail of ${u.resourceId}`)(u.error);

  const verified = await verifyBeforeRevoke(planActions(evaluation), read.changes, deps);
  const outcomes = (
    await mapLimit(verified.actions, REVOKE_CONCURRENCY, (a) => deps.ec2.execute(a))
  ).flat();
  if (read.unreadable > 0)
    metrics.addMetric(METRICS.unreadableRules, MetricUnit.Count, read.unreadable);
  const eventPath = deps.eventPath ? await checkEventPath(deps.eventPath, deps) : null;

  const seenAt = deps.clock().toISOString();
  const states = statesOf(read, outcomes, seenAt);
  const puts: ResourceState[] = [];
  const changed = new Set<string>();
  for (const [id, s] of states) {
    const fingerprint = createHash("sha256").update(s.text).digest("hex");
    if (stored.get(id) !== fingerprint) {
      changed.add(id);
      puts.push({ resource: s.resource, rules: s.rules, seenAt: s.seenAt, fingerprint });
    }
  }
  const deletes = [...stored.keys()].filter((id) => !states.has(id));
  const misses = await checkEventPathMisses(identity, evaluation.findings, changed, deps, keep);

  const findings = byResource(evaluation.findings);
  const waived = byResource(evaluation.waived);
  const decisions: Decision[] = [];
  for (const id of new Set([...findings.keys(), ...waived.keys()])) {
    const f = findings.get(id) ?? [];
    const w = waived.get(id) ?? [];
    const mine = outcomes.filter((o) => [...f, ...w].some((x) => actionCovers(o.action, x.change)));
    const decision = buildDecision({
      source: "sweep",
      id: `sweep:${runId}:${id}`,
      account: identity.account,
      region: identity.region,
      evaluation: { outcome: f.length > 0 ? "violation" : "exempt", findings: f, waived: w },
      outcomes: mine,
      decidedAt: deps.clock(),
      guardrailVersion: config.version,
      policyId: config.policyId,
    });
    if (decision) decisions.push(decision);
  }

  // Every remediation is audited; a finding left in place only when its resource changed since
  // the last sweep, so that a standing notify-only rule is not re-recorded every run.
  const toRecord = decisions.filter(
    (d) => d.findings.some((f) => f.action !== undefined) || changed.has(d.resource.id),
  );
  await Promise.all([
    deps.audit
      .writeStates(identity.account, identity.region, puts, deletes)
      .catch(keep("writing the state")),
    mapLimit(toRecord, AUDIT_CONCURRENCY, (d) =>
      recordAndNotify(d, deps, { publish: false }).catch(keep(`recording ${d.id}`)),
    ),
  ]);

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
    stateChanges: puts.length + deletes.length,
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
      keep("reporting expired exemption tags")(error);
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
    unreadable: read.unreadable,
    counts: summary.counts,
    stateWrites: puts.length,
    stateDeletes: deletes.length,
    auditRecords: toRecord.length,
    published: anything,
    expiredTags,
    skippedRevokes: verified.skipped,
    eventPathMisses: misses,
    eventPath,
    durationMs: Math.round(performance.now() - t0),
  };
  (failed > 0 ? logger.error.bind(logger) : logger.info.bind(logger))("sweep finished", {
    ...result,
  });
  if (storage.length > 0) {
    throw new AuditWriteError(
      `the sweep remediated and reported, but ${storage.length} audit-table call(s) failed`,
      { cause: storage[0] },
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
