import { type Attribution, DEFAULT_ATTRIBUTION_TAGS } from "../attribution";
import type { Decision, FindingView } from "./decision";
import type { ChangeView } from "./view";

/**
 * The flap guard: infrastructure as code (Terraform, CloudFormation, ...) re-applies a forbidden
 * rule on every run and the guardrail revokes it every time. The same rule re-opened more than
 * `threshold` times in a window gets one escalation naming what re-opens it and where to fix
 * it; the alerts before it are sent as usual, the revokes after it are recorded without a
 * message. Revoking never stops.
 */

/** The policy's `flapGuard` settings. */
export interface FlapGuardSettings {
  readonly enabled: boolean;
  /** Re-openings announced one by one; the next one is escalated. */
  readonly threshold: number;
  /** The window starts at the first re-opening and lasts this long. */
  readonly windowHours: number;
  /** Tags naming the Terraform/OpenTofu/Pulumi workspace; the first present wins. */
  readonly workspaceTags: readonly string[];
  /** Tags naming the repository of the code. */
  readonly repositoryTags: readonly string[];
}

/**
 * Defaults: three alerts, then the escalation, in a window of a day (a Terraform pipeline that
 * applies on every merge or on a schedule loops within hours).
 */
export const DEFAULT_FLAP_GUARD: FlapGuardSettings = {
  enabled: true,
  threshold: 3,
  windowHours: 24,
  ...DEFAULT_ATTRIBUTION_TAGS,
};

/** What the guard made of one decision. */
export type FlapVerdict =
  /** Alert as usual: no rule of the decision is past the threshold (or nothing was counted). */
  | "alert"
  /** The one escalation of the window: sent instead of the alert. */
  | "escalate"
  /** Past the escalation: recorded, counted, not announced. */
  | "fold";

/** A decision's flap-guard state, in its message and audit record. */
export interface FlapView {
  readonly state: "escalated" | "folded";
  /** The rules that keep coming back (`ingress tcp 22 from 0.0.0.0/0 on sg-…`). */
  readonly rules: readonly string[];
  /** How many times the rule was opened in this window, this time included. */
  readonly count: number;
  readonly threshold: number;
  readonly windowHours: number;
  /** ISO time of the first opening counted in this window. */
  readonly windowStart: string;
  readonly attribution: Attribution;
  /** Folded decisions: the decision (event id) that carried the window's escalation. */
  readonly escalationId?: string;
}

/** One rule's counter in its window, as the store answered. */
export interface FlapCount {
  readonly key: string;
  readonly count: number;
  readonly windowStart: string;
  /** Whether this event escalates the rule (it won the window's escalation). */
  readonly escalates: boolean;
  /** The event that escalated the rule in this window, once one has. */
  readonly escalatedBy: string | null;
}

/**
 * The identity of a rule for the guard: resource (group or ACL), direction, protocol, ports and
 * peer, in its account and Region. Not the rule id (`sgr-…`) or a NACL rule number: every
 * re-apply makes a new one. Null for what has no such identity (a prefix-list change).
 *
 * @example
 * flapRuleKey("123456789012", "eu-west-1", viewChange(change))
 * // "123456789012#eu-west-1#sg-0abc#ingress#tcp#22#0.0.0.0/0"
 */
export function flapRuleKey(account: string, region: string, change: ChangeView): string | null {
  if (change.kind === "prefix-list") return null;
  const parts = [
    account,
    region,
    change.resourceId,
    change.direction ?? "unknown",
    change.protocol ?? "all",
    change.ports ?? "all",
    change.peer ?? "unknown",
  ];
  return parts.join("#");
}

/** A finding counts as a re-opening when the rule was there to be revoked (or already gone). */
function reopened(f: FindingView): boolean {
  return f.result === "revoked" || f.result === "already-gone";
}

/** The rules a decision re-opened, by key, with the text of one change each. */
export function reopenedRules(d: Decision): Map<string, ChangeView> {
  const out = new Map<string, ChangeView>();
  if (d.source !== "event" || d.event === null) return out;
  for (const f of d.findings) {
    if (!reopened(f)) continue;
    const key = flapRuleKey(d.account, d.region, f.change);
    if (key !== null && !out.has(key)) out.set(key, f.change);
  }
  return out;
}

/**
 * The verdict on a decision from its rules' counts. Escalate when some rule escalates. Fold only
 * when every finding that is not exempt is about a rule past its escalation: a finding about
 * another rule, or a failed revoke, keeps the alert.
 */
export function flapVerdict(d: Decision, counts: readonly FlapCount[]): FlapVerdict {
  if (counts.length === 0) return "alert";
  if (counts.some((c) => c.escalates)) return "escalate";
  const byKey = new Map(counts.map((c) => [c.key, c]));
  const counted = d.findings.filter((f) => f.result !== "exempt");
  const folded = counted.every((f) => {
    // A failed revoke is never folded; a notify-only finding about the same rule is.
    if (f.result === "failed") return false;
    const key = flapRuleKey(d.account, d.region, f.change);
    const c = key === null ? undefined : byKey.get(key);
    return c !== undefined && c.escalatedBy !== null;
  });
  return folded && counted.length > 0 ? "fold" : "alert";
}

/** One line per rule: what, on which resource. */
export function flapRuleText(change: ChangeView): string {
  return `${change.text} on ${change.resourceId}`;
}
