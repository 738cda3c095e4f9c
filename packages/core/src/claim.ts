import type { Decision, DecisionResult } from "./report/decision";

/**
 * The notification claim: how any number of deliveries of one event record its decision once
 * and announce it exactly once. The audit item of a decision carries `resultRank` (see
 * `RESULT_RANK`), `notification` (one of these states), `claim` (the writer holding the turn)
 * and `claimedAt`. The ledger adapter turns the named conditions below into conditional
 * writes; this module holds the states, the conditions as plain predicates (used when the
 * store answers with the item it kept) and {@link nextStep}, what a writer does after its
 * write.
 */
export const NOTIFICATION = {
  /** A writer is publishing (`claim`, `claimedAt` say who and since when). */
  claimed: "claimed",
  /** The SNS message went out. */
  published: "published",
  /** The publish failed: the next delivery publishes. */
  failed: "failed",
  /** Not announced one by one (sweep records: the run's summary carries them). */
  none: "none",
  /** A failed attempt Lambda retries: the retry (or the last attempt) announces it. */
  deferred: "deferred",
} as const;

export type NotificationState = (typeof NOTIFICATION)[keyof typeof NOTIFICATION];

/** What a writer means to do with the decision it records. */
export type ClaimIntent =
  /** Record and announce (an event decision). */
  | "announce"
  /** Record only: the sweep's records (its summary carries them), a folded flap. */
  | "record"
  /** A failed attempt Lambda will retry: recorded, announced by the retry that settles it. */
  | "defer";

/** The notification state a writer's put leaves on the item. */
export function claimStateFor(intent: ClaimIntent): NotificationState {
  if (intent === "record") return NOTIFICATION.none;
  if (intent === "defer") return NOTIFICATION.deferred;
  return NOTIFICATION.claimed;
}

/** The part of a stored audit item the claim's conditions read. */
export interface ClaimedItem {
  readonly resultRank: number;
  readonly notification: string | null;
  readonly claimedAt: string | null;
}

/**
 * The turn is free: the writer's publish failed, the attempt was deferred to a retry, or (with
 * `staleBefore`) the writer claimed it so long ago that it can no longer be running.
 * Condition `freeTurn` of the ledger.
 */
export function isFreeTurn(stored: ClaimedItem, staleBefore?: string): boolean {
  if (stored.notification === NOTIFICATION.failed) return true;
  if (stored.notification === NOTIFICATION.deferred) return true;
  return isStaleClaim(stored, staleBefore);
}

/** Claimed by a writer that would have timed out before `staleBefore` (an ISO time). */
export function isStaleClaim(stored: ClaimedItem, staleBefore?: string): boolean {
  return (
    staleBefore !== undefined &&
    stored.notification === NOTIFICATION.claimed &&
    stored.claimedAt !== null &&
    stored.claimedAt < staleBefore
  );
}

/**
 * A new record may be written over `stored` (or there is none): first writer wins; a better
 * result replaces a worse one; a free turn is taken by an equal or better result, never given
 * to a worse one (that is a take-over). Condition `firstOrBetter` of the ledger.
 */
export function mayWrite(
  stored: ClaimedItem | null,
  resultRank: number,
  staleBefore?: string,
): boolean {
  if (stored === null) return true;
  if (stored.resultRank < resultRank) return true;
  return isFreeTurn(stored, staleBefore) && stored.resultRank <= resultRank;
}

/** How the conditional write of a decision went. */
export type PutDecisionResult =
  /** First record of this decision: the writer publishes. */
  | { readonly status: "created" }
  /**
   * A better-informed result replaced a worse one (`RESULT_RANK`), or this writer took the turn
   * of a failed or abandoned notification (`previous.notification`, `previous.staleClaim`).
   */
  | {
      readonly status: "replaced";
      readonly previous: {
        readonly result: DecisionResult;
        readonly notification: string | null;
        /** The previous record was claimed by an invocation that can no longer be running. */
        readonly staleClaim: boolean;
      };
    }
  /**
   * An earlier delivery recorded a better result (it revoked) but could not publish it, and this
   * delivery took over that notification: publish `stored`, the recorded decision, not its own
   * (which would say "already gone" about a rule the guardrail itself removed).
   */
  | { readonly status: "taken-over"; readonly stored: Decision }
  /** Another delivery already recorded this decision as well or better: do nothing more. */
  | { readonly status: "duplicate" };

/** What a writer does after its put (see {@link nextStep}). */
export type ClaimStep =
  /** Publish this writer's decision; mark it published, or release the turn if SNS fails. */
  | { readonly step: "publish"; readonly decision: "own" }
  /** Publish the recorded decision this writer took over (not its own, worse one). */
  | { readonly step: "publish"; readonly decision: "stored" }
  /**
   * The record was corrected (a better result) after it had been announced: the put claimed it
   * again, so mark it published again; no second message.
   */
  | { readonly step: "mark-published" }
  /** Nothing more: `duplicate` (another delivery holds it), `announced` (already notified), `silent` (not announced one by one). */
  | { readonly step: "none"; readonly why: "duplicate" | "announced" | "silent" };

/**
 * The claim's one decision: given how the put went and whether the writer announces, what it
 * does next. A replaced record is announced again only when its previous notification never
 * reached anyone (failed, stale, or a failed attempt's).
 *
 * @example
 * nextStep({ status: "created" }, "announce"); // { step: "publish", decision: "own" }
 */
export function nextStep(put: PutDecisionResult, intent: Exclude<ClaimIntent, "defer">): ClaimStep {
  if (put.status === "duplicate") return { step: "none", why: "duplicate" };
  if (put.status === "taken-over") return { step: "publish", decision: "stored" };
  const announce = intent === "announce";
  if (put.status === "created") {
    return announce ? { step: "publish", decision: "own" } : { step: "none", why: "silent" };
  }
  const { previous } = put;
  const unannounced =
    previous.notification === NOTIFICATION.failed ||
    previous.staleClaim ||
    previous.result === "failed";
  if (announce && unannounced) return { step: "publish", decision: "own" };
  if (previous.notification === NOTIFICATION.published) return { step: "mark-published" };
  return { step: "none", why: announce ? "announced" : "silent" };
}
