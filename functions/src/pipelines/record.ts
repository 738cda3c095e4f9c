import { randomUUID } from "node:crypto";
import {
  auditItem,
  type Decision,
  decisionPublication,
  nextStep,
  type PutDecisionResult,
} from "@guardrail/core";
import type { RemediationDeps } from "../deps";
import { chainDecision } from "./chain-writer";
import { countDecision } from "./metrics";

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** How recording a decision went. */
export interface Recorded {
  readonly recorded: PutDecisionResult["status"];
  readonly published: boolean;
}

/**
 * Records the decision (once per id) and publishes it when this delivery won the write; the
 * protocol is the notification claim (`nextStep` in core, the conditional writes in the
 * audit store).
 *
 * Why the write comes after the revoke: revoking twice is harmless (the second call answers
 * NotFound, "already gone"), so no idempotency round trip is needed before the revoke. The
 * conditional put then decides which delivery records and publishes: exactly one of any number
 * of concurrent deliveries. A `revoked` result may replace an `already-gone` one written by a
 * racing delivery (the audit then tells the truth) without a second message; a delivery that
 * found the rule already gone first waits `settleMs` so that the one that revoked usually
 * writes first and the single message says "revoked".
 *
 * The record says where its notification stands: `claimed` (with `claimedAt`) while a writer
 * publishes, `published` once SNS took the message, `failed` when it did not. A claim older
 * than the function's timeout belongs to an invocation that died between the write and the
 * publish (killed at its timeout, out of memory): the next delivery takes it over and publishes
 * the recorded decision, so a crash there cannot lose the alert.
 */
export async function recordAndNotify(
  decision: Decision,
  deps: RemediationDeps,
  options: { publish?: boolean; defer?: boolean } = {},
): Promise<Recorded> {
  const settled = await recordOnceAndNotify(decision, deps, options);
  // After the revoke, the record and the message: the hash chain waits for none of them.
  await chainDecision(decision, settled.recorded, deps);
  return settled;
}

async function recordOnceAndNotify(
  decision: Decision,
  deps: RemediationDeps,
  { publish = true, defer = false }: { publish?: boolean; defer?: boolean } = {},
): Promise<Recorded> {
  const { logger } = deps;
  if (defer) {
    // A failed attempt Lambda will retry: recorded, announced by the retry that settles it.
    const put = await deps.audit.putDecision(auditItem(decision), randomUUID(), { defer: true });
    if (put.status === "created") countDecision(decision, put, deps);
    return { recorded: put.status, published: false };
  }
  if (publish && decision.result === "already-gone" && deps.settleMs > 0)
    await sleep(deps.settleMs);
  const claim = randomUUID();
  const publication = decisionPublication(decision);
  const markPublished = async (id: string) => {
    try {
      await deps.audit.markPublished(id);
    } catch (error) {
      // The message went out; at worst a much later redelivery announces it once more.
      logger.warn("could not mark the notification published", { decisionId: id, error });
    }
  };
  /** Publishes; when that fails, gives the turn back so that a retry can publish. */
  const publishOrRelease = async (p: typeof publication, id: string) => {
    try {
      await deps.notifier.publish(p);
    } catch (error) {
      await deps.audit.markNotifyFailed(id, claim).catch((markError: unknown) =>
        logger.error("could not release the notification claim", {
          decisionId: id,
          error: markError,
        }),
      );
      throw error;
    }
    await markPublished(id);
  };
  const now = deps.clock();
  let put: PutDecisionResult;
  try {
    put = await deps.audit.putDecision(
      auditItem(decision),
      claim,
      publish
        ? {
            takeOver: true,
            claimedAt: now.toISOString(),
            staleBefore: new Date(now.getTime() - deps.config.functionTimeoutMs).toISOString(),
          }
        : { notify: false },
    );
  } catch (error) {
    // Without the idempotency record the message matters more than its uniqueness: send it,
    // then fail so that the retry writes the record (and may send it again).
    logger.error("audit write failed; notifying anyway", { decisionId: decision.id, error });
    if (publish) await deps.notifier.publish(publication);
    throw error;
  }
  const step = nextStep(put, publish ? "announce" : "record");
  if (put.status !== "duplicate" && put.status !== "taken-over") countDecision(decision, put, deps);
  switch (step.step) {
    case "publish":
      if (step.decision === "stored" && put.status === "taken-over") {
        // An earlier delivery recorded a better decision (it revoked), then could not publish
        // it (it failed, or died before it could): that decision is the truth, so it is the one
        // announced, not this delivery's "already gone".
        logger.info("publishing the recorded decision an earlier delivery could not publish", {
          decisionId: decision.id,
          recorded: put.stored.result,
          result: decision.result,
        });
        await publishOrRelease(decisionPublication(put.stored), put.stored.id);
      } else {
        await publishOrRelease(publication, decision.id);
      }
      return { recorded: put.status, published: true };
    case "mark-published":
    case "none":
      if (step.step === "none" && step.why === "duplicate") {
        logger.info("decision already recorded by another delivery", { decisionId: decision.id });
        return { recorded: put.status, published: false };
      }
      logger.info("decision record corrected; already notified", {
        decisionId: decision.id,
        previous: put.status === "replaced" ? put.previous.result : undefined,
        result: decision.result,
      });
      // The put claimed the record; it was announced already, so say so again.
      if (step.step === "mark-published") await markPublished(decision.id);
      return { recorded: put.status, published: false };
  }
}
