import type { NetworkAcl } from "@guardrail/aws";
import {
  type Action,
  type ActionOutcome,
  addressRangeOf,
  describeSlices,
  type Evaluation,
  type EventMeta,
  effectiveEntries,
  evaluate,
  type Finding,
  familyOf,
  fromNetworkAclEntry,
  intersection,
  type NetworkAclChange,
  type NetworkAclEntryChange,
  type PolicyEvaluationContext,
  planActions,
  type RuleChange,
  type Slice,
  sliceSize,
  subtractAll,
} from "@guardrail/core";
import type { Context } from "aws-lambda";
import type { RemediationDeps } from "../deps";
import { withObservability } from "../middleware";
import { act, begin, decide, type FlowResult, previousFromState } from "./decide";
import { exemptionsFromTrail } from "./trail";

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

function entriesOf(
  acl: NetworkAcl,
  deps: RemediationDeps,
): { entries: NetworkAclEntryChange[]; unreadable: string[] } {
  const id = acl.NetworkAclId as string;
  const entries: NetworkAclEntryChange[] = [];
  const unreadable: string[] = [];
  for (const entry of acl.Entries ?? []) {
    const read = fromNetworkAclEntry(id, entry);
    if (read.status === "ok") entries.push(read.change);
    else if (read.status === "invalid") {
      unreadable.push(`entry ${entry.RuleNumber ?? "?"}: ${read.error.message}`);
      deps.logger.error("unreadable network ACL entry", {
        networkAclId: id,
        error: read.error.message,
      });
    }
  }
  return { entries, unreadable };
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
  const acl = await deps.ec2.networkAcl(change.networkAclId);
  if (!acl) {
    return {
      entries: [],
      changes: [],
      reason: `${change.networkAclId} no longer exists`,
    };
  }
  const { entries, unreadable } = entriesOf(acl, deps);
  if (unreadable.length > 0) {
    return { entries: [], changes: [], unreadable: unreadable.join("; ") };
  }
  return toJudge(change, entries);
}

function sameAction(a: Action, b: Action): boolean {
  return JSON.stringify(a) === JSON.stringify(b);
}

function outranByTheAcl(o: ActionOutcome): boolean {
  if (o.action.type !== "delete-network-acl-entry") return false;
  return (
    o.status === "already-gone" ||
    (o.status === "failed" && CHANGED_MEANWHILE.has(o.error?.code ?? ""))
  );
}

/** An entry the plan deletes: the enforce findings that call for it, and what it decided. */
interface PlannedDelete {
  readonly entry: NetworkAclEntryChange;
  readonly findings: readonly Finding[];
  readonly slices: readonly Slice[];
}

/** What the fixpoint came to. */
interface Plan {
  /** The entries to delete, with their findings (the reason says what stays open, if any). */
  readonly deletes: readonly PlannedDelete[];
  /** Findings of entries whose delete would change nothing: notify only. */
  readonly kept: readonly Finding[];
  /** The ACL as it will be after the deletes. */
  readonly after: readonly NetworkAclEntryChange[];
  /** The other entries judged on the way, to be judged for the decision on `after`. */
  readonly judged: readonly NetworkAclEntryChange[];
  /** True when `judged` holds entries the event's actor did not write. */
  readonly withoutActor: boolean;
}

interface Judging {
  readonly event: EventMeta;
  readonly networkAclId: string;
  readonly account: Partial<PolicyEvaluationContext>;
  readonly deps: RemediationDeps;
}

/** The context a round of judging uses: with the event's actor, or without it (see `plan`). */
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
    ...(withoutActor ? { naclWholeDeletesOnly: true } : {}),
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
  // Someone else made these entries: principal exemptions come from the audit trail.
  return (await exemptionsFromTrail(evaluation, ctx, j.deps, { onUnreadable: "throw" })).evaluation;
}

const total = (slices: readonly Slice[]) => slices.reduce((n, s) => n + sliceSize(s), 0n);

function words(entry: NetworkAclEntryChange, slices: readonly Slice[]): string {
  return describeSlices(slices, addressRangeOf(entry.cidr), familyOf(entry.cidr));
}

/** The allows of `acl` that decide part of `slices` (of `entry`'s list), with that part. */
function stillAllowing(
  acl: readonly NetworkAclEntryChange[],
  entry: NetworkAclEntryChange,
  slices: readonly Slice[],
): { entry: NetworkAclEntryChange; slices: Slice[] }[] {
  return effectiveEntries(acl)
    .filter((e) => e.entry.ruleAction === "allow" && sameList(e.entry, entry))
    .map((e) => ({
      entry: e.entry,
      slices: e.slices.flatMap((s) => slices.flatMap((x) => intersection(s, x) ?? [])),
    }))
    .filter((e) => e.slices.length > 0);
}

/**
 * Plans the deletes to a fixpoint: judge, delete what the plan deletes, judge again the entries
 * that now decide more (a deleted allow falls through to the entries after it), until no delete
 * is left. The first round judges what the event asks (with the event's actor for its own
 * entry); later rounds judge entries nobody touched, without the actor (principal exemptions
 * from the audit trail) and deleting only an entry whose every packet is forbidden.
 *
 * Then each delete is checked against the ACL the plan leaves: a delete whose forbidden traffic
 * later allows still let through entirely changes nothing and is dropped (its finding notifies
 * and names the entry that still allows it); a delete that closes only part says what stays
 * open, and by which entry.
 */
async function plan(
  j: Judging,
  first: readonly NetworkAclEntryChange[],
  entries: readonly NetworkAclEntryChange[],
  startWithoutActor: boolean,
): Promise<Plan> {
  let acl = [...entries];
  let judged = [...first];
  let withoutActor = startWithoutActor;
  const ever = new Map<string, NetworkAclEntryChange>();
  const deletes: PlannedDelete[] = [];
  while (judged.length > 0) {
    for (const c of judged) ever.set(keyOf(c), c);
    const evaluation = await judgeRound(j, judged, acl, withoutActor);
    const gone = new Set(
      planActions(evaluation).flatMap((a) =>
        a.type === "delete-network-acl-entry" ? [keyOf(a)] : [],
      ),
    );
    if (gone.size === 0) break;
    const before = effectiveEntries(acl);
    for (const key of gone) {
      const entry = ever.get(key) as NetworkAclEntryChange;
      deletes.push({
        entry,
        findings: evaluation.findings.filter((f) => f.mode === "enforce" && f.change === entry),
        slices: before.find((e) => keyOf(e.entry) === key)?.slices ?? [],
      });
      ever.delete(key);
    }
    acl = acl.filter((e) => !gone.has(keyOf(e)));
    const grew = new Map(before.map((e) => [e.entry, total(e.slices)]));
    judged = effectiveEntries(acl)
      .filter((e) => e.entry.ruleAction === "allow" && total(e.slices) > (grew.get(e.entry) ?? 0n))
      .map((e) => e.entry);
    withoutActor = true;
  }
  // Deletes that change no verdict: put back, one at a time, every entry whose traffic in the
  // ACL with it back is all allowed without it (so each put-back changes no packet's verdict).
  let after = [...acl];
  const idle: PlannedDelete[] = [];
  const kept: Finding[] = [];
  for (const d of deletes) {
    const original = entries.find((e) => keyOf(e) === keyOf(d.entry));
    if (!original) continue;
    const withIt = [...after, original];
    const its = effectiveEntries(withIt).find((e) => e.entry === original)?.slices ?? [];
    const still = stillAllowing(after, original, its);
    if (
      subtractAll(
        its,
        still.flatMap((s) => s.slices),
      ).length > 0
    )
      continue;
    idle.push(d);
    after = withIt;
    const by =
      still.length === 0
        ? ["the entries before it decide all of its traffic"]
        : still.map(
            (s) => `entry ${s.entry.ruleNumber} would still allow ${words(d.entry, s.slices)}`,
          );
    for (const f of d.findings) {
      kept.push({
        ...f,
        mode: "notify",
        reason: `${f.reason}; deleting it would change nothing: ${by.join(", ")}, so notify`,
      });
    }
  }
  // Only entries the policy flags keep an exposure open: the rest let through what it allows.
  const made = deletes.length > idle.length;
  const allows = made ? after.filter((e) => e.ruleAction === "allow") : [];
  const flagged = await judgeRound(j, allows, after, true);
  const flags = (e: NetworkAclEntryChange) => flagged.findings.some((f) => f.change === e);
  const real = deletes
    .filter((d) => !idle.includes(d))
    .map((d) => {
      const still = stillAllowing(after, d.entry, d.slices).filter((s) => flags(s.entry));
      if (still.length === 0) return d;
      const open = still.map(
        (s) => `entry ${s.entry.ruleNumber} still allows ${words(d.entry, s.slices)}`,
      );
      const note = `; the exposure is not closed: ${open.join(", ")}`;
      return { ...d, findings: d.findings.map((f) => ({ ...f, reason: f.reason + note })) };
    });
  const outsiders = idle.length > 0 || real.length > 0;
  return {
    deletes: real,
    kept,
    after,
    judged: [...ever.values()].filter((e) => after.some((a) => keyOf(a) === keyOf(e))),
    withoutActor: startWithoutActor || outsiders,
  };
}

function deleteOf(networkAclId: string, entry: NetworkAclEntryChange): Action {
  return {
    type: "delete-network-acl-entry",
    networkAclId,
    ruleNumber: entry.ruleNumber,
    egress: entry.egress,
  };
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
 * a late or out-of-order event cannot make the guardrail delete an entry that was made compliant
 * since. The plan is judged again on the ACL it leaves, until a fixpoint (see `plan`). The race
 * left is the window between that read and the write; a write that finds the ACL changed (the
 * entry gone, its number taken) reads it again and plans again, at most {@link MAX_ACL_READS}
 * reads; deletes that went through stay done and are all in the decision. An ACL with an entry
 * that cannot be read is not judged (notify). For a Replace, the sweep's last state of the
 * entry is read afterwards for the alert.
 */
export async function networkAclChange(
  raw: unknown,
  hubDeps: RemediationDeps,
): Promise<FlowResult> {
  const begun = await begin(raw, hubDeps);
  if (begun.exit) return begun.exit;
  const { event, deps } = begun;
  const change = begun.changes.find(
    (c): c is AclEvent => c.kind === "network-acl-entry" || c.kind === "network-acl",
  );
  if (!change) return { status: "ignored", eventId: event.eventId, reason: "no-change" };
  const account = deps.directory ? await deps.directory.context(event.account) : {};
  const j: Judging = { event, networkAclId: change.networkAclId, account, deps };
  const prefetched = { account: Promise.resolve(account), tags: new Map() };
  // Deletes that went through before a re-read: never put back, always in the decision.
  const done: { findings: readonly Finding[]; outcome: ActionOutcome }[] = [];
  const doneEntries: NetworkAclEntryChange[] = [];
  let current: Read = await read(change, deps);
  let planned: Plan | null = null;
  let outcomes: ActionOutcome[] = [];
  for (let reads = 1; ; reads++) {
    if (current.unreadable !== undefined) break;
    // After a delete went through, the allows of its list may decide more: judge them too.
    const grown = current.entries.filter(
      (e) =>
        e.ruleAction === "allow" &&
        doneEntries.some((d) => sameList(d, e)) &&
        !current.changes.some((c) => keyOf(c) === keyOf(e)),
    );
    const first = [...current.changes, ...grown];
    planned = await plan(
      j,
      first,
      current.entries,
      change.kind === "network-acl" || done.length > 0,
    );
    outcomes = await act(
      planned.deletes.map((d) => deleteOf(change.networkAclId, d.entry)),
      deps,
    );
    const outran = outcomes.filter(outranByTheAcl);
    if (outran.length === 0 || reads >= MAX_ACL_READS) break;
    deps.logger.info("the network ACL changed between the read and the write; reading it again", {
      eventId: event.eventId,
      networkAclId: change.networkAclId,
      outcomes: outran.map((o) => ({ status: o.status, code: o.error?.code })),
    });
    for (const d of planned.deletes) {
      const o = outcomes.find((x) => sameAction(x.action, deleteOf(change.networkAclId, d.entry)));
      if (o?.status !== "revoked") continue;
      done.push({ findings: d.findings, outcome: o });
      doneEntries.push(d.entry);
    }
    planned = null;
    current = await read(change, deps);
  }
  const known = [...outcomes, ...done.map((d) => d.outcome)];
  const doneFindings = done.flatMap((d) => d.findings);
  if (current.unreadable !== undefined) {
    return decide(
      {
        event,
        changes: [],
        withoutActor: true,
        prefetched,
        extraFindings: [...doneFindings, unreadableFinding(change, current.unreadable, deps)],
        settled: (a) => known.find((o) => sameAction(o.action, a)),
      },
      deps,
    );
  }
  const p = planned as Plan;
  const extra = [...doneFindings, ...p.deletes.flatMap((d) => d.findings), ...p.kept];
  const changes: RuleChange[] =
    p.deletes.length === 0 && p.kept.length === 0 ? [...current.changes] : [...p.judged];
  if (changes.length === 0 && extra.length === 0) {
    deps.logger.info("nothing to judge in the network ACL", {
      eventId: event.eventId,
      reason: current.reason,
    });
    return { status: "compliant", eventId: event.eventId, reason: current.reason };
  }
  return decide(
    {
      event,
      changes,
      ctx: {
        networkAcls: { [change.networkAclId]: p.after },
        ...(p.withoutActor ? { naclWholeDeletesOnly: true } : {}),
      },
      withoutActor: p.withoutActor,
      prefetched,
      extraFindings: extra,
      settled: (a) => known.find((o) => sameAction(o.action, a)),
      ...(change.kind === "network-acl-entry" && change.operation === "replace"
        ? {
            previousFor: async () => {
              const previous = await previousFromState(deps, event, change.networkAclId);
              return (c: RuleChange) =>
                c.kind === "network-acl-entry" && c.operation === "replace"
                  ? previous(c)
                  : undefined;
            },
          }
        : {}),
    },
    deps,
  );
}

/** The network-acl-change Lambda handler, built from its dependencies. */
export function createNetworkAclChangeHandler(deps: RemediationDeps) {
  return withObservability(
    (event: unknown, _context: Context) => networkAclChange(event, deps),
    deps,
  );
}
