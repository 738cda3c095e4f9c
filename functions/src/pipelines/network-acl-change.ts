import { readCurrentState } from "@guardrail/aws/current-state";
import {
  type ActionOutcome,
  actionCovers,
  type Evaluation,
  type EventMeta,
  evaluate,
  type Finding,
  familyOf,
  type NetworkAclChange,
  type NetworkAclEntryChange,
  type PolicyEvaluationContext,
  planRemediation,
} from "@guardrail/core";
import type { RemediationDeps } from "../deps";
import { loadLater } from "../load-later";
import { flowHandler } from "../middleware";
import { act, changeFlow, decide } from "./decide";

/** How often the ACL is read at most: the first read, then once per write the ACL outran. */
export const MAX_ACL_READS = 3;

/** The rule id of the one `notify` finding given when an entry of the ACL cannot be read. */
export const UNREADABLE_ACL_RULE = "unreadable-network-acl";

/**
 * Write errors that mean the ACL changed between the read and the write: the entry the plan
 * named is gone, or its number was taken meanwhile. The ACL is read again and the plan redone.
 */
const CHANGED_MEANWHILE = new Set([
  "InvalidNetworkAclEntry.NotFound",
  "NetworkAclEntryAlreadyExists",
]);

type AclEvent = NetworkAclEntryChange | NetworkAclChange;

/** The ACL as read now, and what of it the event asks to judge. */
interface Read {
  /** Every numbered entry of the ACL (the `*` entries are implied). */
  readonly entries: readonly NetworkAclEntryChange[];
  /** The entries to judge: the event's entry as it is now, or the ACL's allows. */
  readonly changes: readonly NetworkAclEntryChange[];
  /** Why there is nothing to judge, when there is not. */
  readonly reason?: string;
  /** Why the ACL is not known whole (an entry could not be read): then nothing is judged. */
  readonly unreadable?: string;
}

const keyOf = (e: { egress: boolean; ruleNumber: number }) => `${e.egress} ${e.ruleNumber}`;

const sameList = (a: NetworkAclEntryChange, b: NetworkAclEntryChange) =>
  a.egress === b.egress && familyOf(a.cidr) === familyOf(b.cidr);

/**
 * What the event asks to judge in the ACL as it is now:
 *
 * - Create/ReplaceNetworkAclEntry: the entry now at the event's number and direction (it may
 *   have been replaced or re-created since the event); nothing when it is gone.
 * - DeleteNetworkAclEntry: every allow of the direction the delete was in: with a deny gone,
 *   any of them may now decide more traffic.
 * - ReplaceNetworkAclAssociation: every allow of the ACL the subnet now uses.
 */
function toJudge(change: AclEvent, entries: readonly NetworkAclEntryChange[]): Read {
  if (change.kind === "network-acl-entry") {
    const now = entries.find(
      (e) => e.egress === change.egress && e.ruleNumber === change.ruleNumber,
    );
    if (!now) {
      return {
        entries,
        changes: [],
        reason: `entry ${change.ruleNumber} is no longer in ${change.networkAclId}`,
      };
    }
    // Keep the event's operation: an entry a Replace wrote is never deleted (see `plan`).
    return { entries, changes: [{ ...now, operation: change.operation }] };
  }
  const allows = entries.filter(
    (e) =>
      e.ruleAction === "allow" && (change.operation === "associate" || e.egress === change.egress),
  );
  return { entries, changes: allows };
}

async function read(change: AclEvent, deps: RemediationDeps): Promise<Read> {
  const id = change.networkAclId;
  const state = await readCurrentState(deps.ec2, { type: "network-acl", id });
  if (!state.resources.has(id)) {
    return { entries: [], changes: [], reason: `${id} no longer exists` };
  }
  if (state.unreadable.length > 0) {
    const unreadable = state.unreadable.map((u) => {
      const number = u.kind === "network-acl-entry" ? (u.ruleNumber ?? "?") : "?";
      deps.logger.error("unreadable network ACL entry", { networkAclId: id, error: u.message });
      return `entry ${number}: ${u.message}`;
    });
    return { entries: [], changes: [], unreadable: unreadable.join("; ") };
  }
  const entries = state.changes.filter(
    (c): c is NetworkAclEntryChange => c.kind === "network-acl-entry",
  );
  return toJudge(change, entries);
}

function outranByTheAcl(o: ActionOutcome): boolean {
  if (o.action.type === "insert-network-acl-entries") {
    return o.status === "failed" && CHANGED_MEANWHILE.has(o.error?.code ?? "");
  }
  if (o.action.type !== "delete-network-acl-entry") return false;
  return (
    o.status === "already-gone" ||
    (o.status === "failed" && CHANGED_MEANWHILE.has(o.error?.code ?? ""))
  );
}

interface Judging {
  readonly event: EventMeta;
  readonly networkAclId: string;
  readonly account: Partial<PolicyEvaluationContext>;
  readonly deps: RemediationDeps;
}

/**
 * The context a round of judging uses: with the event's actor, or without it (entries the
 * event's actor did not write: principal exemptions then come from the audit trail). The one
 * NACL planner remediates the findings (`naclPlanned`).
 */
function contextFor(
  j: Judging,
  acl: readonly NetworkAclEntryChange[],
  withoutActor: boolean,
): PolicyEvaluationContext {
  const who = withoutActor
    ? { account: j.event.account, region: j.event.region }
    : { event: j.event };
  return {
    now: j.deps.clock(),
    ...who,
    ...j.account,
    networkAcls: { [j.networkAclId]: acl },
    naclPlanned: true,
  };
}

async function judgeRound(
  j: Judging,
  changes: readonly NetworkAclEntryChange[],
  acl: readonly NetworkAclEntryChange[],
  withoutActor: boolean,
): Promise<Evaluation> {
  const ctx = contextFor(j, acl, withoutActor);
  const evaluation = evaluate(changes, j.deps.config.policy, ctx);
  if (!withoutActor) return evaluation;
  // Someone else made these entries: principal exemptions come from the audit trail (its reader
  // loads with what follows the write, `later.ts`, since the trail's read waits on DynamoDB).
  const { exemptionsFromTrail } = await loadLater();
  return (await exemptionsFromTrail(evaluation, ctx, j.deps, { onUnreadable: "throw" })).evaluation;
}

/** The one notify finding when the ACL cannot be read whole: nothing is judged on a guess. */
function unreadableFinding(change: AclEvent, why: string, deps: RemediationDeps): Finding {
  const rank = { low: 0, medium: 1, high: 2, critical: 3 } as const;
  const severities = deps.config.policy.rules
    .filter((r) => r.kind.startsWith("network-acl-"))
    .map((r) => r.severity);
  const severity = severities.reduce<Finding["severity"]>(
    (a, b) => (rank[b] > rank[a] ? b : a),
    "high",
  );
  return {
    rule: UNREADABLE_ACL_RULE,
    mode: "notify",
    severity,
    reason:
      `${change.networkAclId} could not be read whole (${why}): judged in rule order without ` +
      "that entry, an allow it shadows would look open, so nothing is judged or deleted; notify only",
    change,
  };
}

/**
 * network-acl-change: Create/Replace/DeleteNetworkAclEntry and ReplaceNetworkAclAssociation.
 *
 * The ACL is read (one DescribeNetworkAcls) before anything is planned, and judged as it is now:
 * a late or out-of-order event cannot make the guardrail touch an entry that was made compliant
 * since. The one NACL planner (`planRemediation`, the same the sweep and `scan --fix` use) then
 * denies exactly the forbidden packets: it deletes an entry only when every packet it decides
 * is forbidden, and otherwise inserts entries before it; what it cannot do exactly it leaves
 * to notify, saying why. The race left is the window between that read and the write; a write
 * that finds the ACL changed (the entry gone, a rule number taken) reads it again and plans
 * again, at most {@link MAX_ACL_READS} reads; writes that went through stay done and are all in
 * the decision. An ACL with an entry that cannot be read is not judged (notify). For a Replace,
 * the sweep's last state of the entry is read afterwards for the alert.
 */
export const networkAclChange = changeFlow(
  (c): c is AclEvent => c.kind === "network-acl-entry" || c.kind === "network-acl",
  async ({ event, deps, change }) => {
    if (!change) return { status: "ignored", eventId: event.eventId, reason: "no-change" };
    const account = deps.directory ? await deps.directory.context(event.account) : {};
    const j: Judging = { event, networkAclId: change.networkAclId, account, deps };
    const prefetched = { account: Promise.resolve(account), tags: new Map() };
    const policy = deps.config.policy;
    // Writes that went through before a re-read: never undone, always in the decision.
    const done: { findings: readonly Finding[]; outcome: ActionOutcome }[] = [];
    const doneEntries: NetworkAclEntryChange[] = [];
    let current: Read = await read(change, deps);
    let judged: NetworkAclEntryChange[] = [];
    let outcomes: ActionOutcome[] = [];
    let withoutActor = change.kind === "network-acl";
    for (let reads = 1; ; reads++) {
      if (current.unreadable !== undefined) break;
      // After a write went through, the allows of its list may decide more: judge them too.
      const grown = current.entries.filter(
        (e) =>
          e.ruleAction === "allow" &&
          doneEntries.some((d) => sameList(d, e)) &&
          !current.changes.some((c) => keyOf(c) === keyOf(e)),
      );
      judged = [...current.changes, ...grown];
      if (judged.length === 0) break;
      withoutActor ||= done.length > 0;
      const evaluation = await judgeRound(j, judged, current.entries, withoutActor);
      const planned = planRemediation(evaluation, policy, {
        networkAcls: { [change.networkAclId]: current.entries },
      });
      outcomes = await act(planned.actions, deps);
      const outran = outcomes.filter(outranByTheAcl);
      if (outran.length === 0 || reads >= MAX_ACL_READS) break;
      deps.logger.info("the network ACL changed between the read and the write; reading it again", {
        eventId: event.eventId,
        networkAclId: change.networkAclId,
        outcomes: outran.map((o) => ({ status: o.status, code: o.error?.code })),
      });
      for (const o of outcomes) {
        if (o.status !== "revoked") continue;
        const covered = planned.evaluation.findings.filter(
          (f) => f.mode === "enforce" && actionCovers(o.action, f.change),
        );
        done.push({ findings: covered, outcome: o });
        doneEntries.push(...covered.map((f) => f.change as NetworkAclEntryChange));
      }
      current = await read(change, deps);
    }
    const doneFindings = done.flatMap((d) => d.findings);
    if (current.unreadable !== undefined) {
      return decide(
        {
          event,
          changes: [],
          withoutActor: true,
          prefetched,
          extraFindings: [...doneFindings, unreadableFinding(change, current.unreadable, deps)],
          outcomes: done.map((d) => d.outcome),
        },
        deps,
      );
    }
    if (judged.length === 0 && doneFindings.length === 0) {
      deps.logger.info("nothing to judge in the network ACL", {
        eventId: event.eventId,
        reason: current.reason,
      });
      return { status: "compliant", eventId: event.eventId, reason: current.reason };
    }
    return decide(
      {
        event,
        changes: judged,
        ctx: { networkAcls: { [change.networkAclId]: current.entries }, naclPlanned: true },
        withoutActor,
        prefetched,
        extraFindings: doneFindings,
        outcomes: done.map((d) => d.outcome),
        known: outcomes,
        ...(change.kind === "network-acl-entry" && change.operation === "replace"
          ? { previous: "from-state" as const }
          : {}),
      },
      deps,
    );
  },
);

/** The network-acl-change Lambda handler, built from its dependencies. */
export function createNetworkAclChangeHandler(deps: RemediationDeps) {
  return flowHandler(networkAclChange, deps);
}
