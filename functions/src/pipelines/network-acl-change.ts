import type { NetworkAcl } from "@aws-sdk/client-ec2";
import {
  type Action,
  type ActionOutcome,
  evaluate,
  fromNetworkAclEntry,
  type NetworkAclChange,
  type NetworkAclEntryChange,
  type PolicyEvaluationContext,
  planActions,
  type RuleChange,
} from "@guardrail/core";
import type { Context } from "aws-lambda";
import type { RemediationDeps } from "../deps";
import { withObservability } from "../middleware";
import { act, begin, decide, type FlowResult, previousFromState } from "./decide";

/** How often the ACL is read at most: the first read, then once per write the ACL outran. */
export const MAX_ACL_READS = 3;

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
  /** An entry could not be read: the ACL is not known whole, so entries are judged alone. */
  readonly incomplete?: boolean;
}

function entriesOf(
  acl: NetworkAcl,
  deps: RemediationDeps,
): { entries: NetworkAclEntryChange[]; incomplete: boolean } {
  const id = acl.NetworkAclId as string;
  const entries: NetworkAclEntryChange[] = [];
  let incomplete = false;
  for (const entry of acl.Entries ?? []) {
    const read = fromNetworkAclEntry(id, entry);
    if (read.status === "ok") entries.push(read.change);
    else if (read.status === "invalid") {
      incomplete = true;
      deps.logger.error("unreadable network ACL entry", {
        networkAclId: id,
        error: read.error.message,
      });
    }
  }
  return { entries, incomplete };
}

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
  const { entries, incomplete } = entriesOf(acl, deps);
  return { ...toJudge(change, entries), incomplete };
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

/**
 * network-acl-change: Create/Replace/DeleteNetworkAclEntry and ReplaceNetworkAclAssociation.
 *
 * The ACL is read (one DescribeNetworkAcls) before anything is planned, and judged as it is now:
 * a late or out-of-order event cannot make the guardrail delete an entry that was made compliant
 * since. The race left is the window between that read and the write; a write that finds the
 * ACL changed (the entry gone, its number taken) reads it again and plans again, at most
 * {@link MAX_ACL_READS} reads. For a Replace, the sweep's last state of the entry is read
 * afterwards for the alert.
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
  const policy = deps.config.policy;
  const account = deps.directory ? await deps.directory.context(event.account) : {};
  const done: { change: NetworkAclEntryChange; outcome: ActionOutcome }[] = [];
  let current: Read = await read(change, deps);
  let outcomes: ActionOutcome[] = [];
  for (let reads = 1; ; reads++) {
    const ctx: PolicyEvaluationContext = {
      now: deps.clock(),
      event,
      ...account,
      ...(current.incomplete ? {} : { networkAcls: { [change.networkAclId]: current.entries } }),
    };
    const actions = planActions(evaluate(current.changes, policy, ctx));
    outcomes = await act(actions, deps);
    const outran = outcomes.filter(outranByTheAcl);
    if (outran.length === 0 || reads >= MAX_ACL_READS) break;
    deps.logger.info("the network ACL changed between the read and the write; reading it again", {
      eventId: event.eventId,
      networkAclId: change.networkAclId,
      outcomes: outran.map((o) => ({ status: o.status, code: o.error?.code })),
    });
    // Writes that went through stay done; their entries are gone from the next read.
    for (const o of outcomes) {
      if (o.status !== "revoked" || o.action.type !== "delete-network-acl-entry") continue;
      const { ruleNumber, egress } = o.action;
      const entry = current.changes.find((c) => c.ruleNumber === ruleNumber && c.egress === egress);
      if (entry) done.push({ change: entry, outcome: o });
    }
    current = await read(change, deps);
  }
  const changes: RuleChange[] = [...current.changes, ...done.map((d) => d.change)];
  if (changes.length === 0) {
    deps.logger.info("nothing to judge in the network ACL", {
      eventId: event.eventId,
      reason: current.reason,
    });
    return { status: "compliant", eventId: event.eventId, reason: current.reason };
  }
  const known = [...outcomes, ...done.map((d) => d.outcome)];
  const entries = [...current.entries, ...done.map((d) => d.change)];
  return decide(
    {
      event,
      changes,
      ctx: current.incomplete ? {} : { networkAcls: { [change.networkAclId]: entries } },
      prefetched: { account: Promise.resolve(account), tags: new Map() },
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
