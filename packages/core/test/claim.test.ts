import { describe, expect, it } from "vitest";
import {
  type ClaimedItem,
  type ClaimStep,
  claimStateFor,
  isFreeTurn,
  isStaleClaim,
  mayWrite,
  NOTIFICATION,
  nextStep,
  type PutDecisionResult,
} from "../src/claim";
import type { Decision } from "../src/report/decision";
import { RESULT_RANK } from "../src/report/decision";

const STALE_BEFORE = "2026-01-01T00:10:00.000Z";
const OLD_CLAIM = "2026-01-01T00:00:00.000Z";
const FRESH_CLAIM = "2026-01-01T00:11:00.000Z";

function item(
  result: keyof typeof RESULT_RANK,
  notification: string | null,
  claimedAt: string | null = null,
): ClaimedItem {
  return { resultRank: RESULT_RANK[result], notification, claimedAt };
}

function replaced(
  result: keyof typeof RESULT_RANK,
  notification: string | null,
  staleClaim = false,
): PutDecisionResult {
  return { status: "replaced", previous: { result, notification, staleClaim } };
}

const stored = { id: "evt-1", result: "revoked" } as unknown as Decision;

describe("nextStep", () => {
  const table: [string, PutDecisionResult, "announce" | "record", ClaimStep][] = [
    ["a first record is announced", { status: "created" }, "announce", publishOwn()],
    [
      "a first record nobody announces stays silent",
      { status: "created" },
      "record",
      { step: "none", why: "silent" },
    ],
    [
      "a duplicate does nothing",
      { status: "duplicate" },
      "announce",
      { step: "none", why: "duplicate" },
    ],
    [
      "a duplicate of a silent record does nothing",
      { status: "duplicate" },
      "record",
      { step: "none", why: "duplicate" },
    ],
    [
      "a taken-over record announces the stored decision",
      { status: "taken-over", stored },
      "announce",
      { step: "publish", decision: "stored" },
    ],
    [
      "a record whose publish failed is announced by the writer that replaced it",
      replaced("revoked", NOTIFICATION.failed),
      "announce",
      publishOwn(),
    ],
    [
      "a record claimed by a writer that can no longer run is announced again",
      replaced("already-gone", NOTIFICATION.claimed, true),
      "announce",
      publishOwn(),
    ],
    [
      "a failed attempt's record is announced by the attempt that settles it",
      replaced("failed", NOTIFICATION.deferred),
      "announce",
      publishOwn(),
    ],
    [
      "a failed result is announced when a better one replaces it, whatever its notification",
      replaced("failed", NOTIFICATION.published),
      "announce",
      publishOwn(),
    ],
    [
      "a corrected record already announced is marked published again, no second message",
      replaced("already-gone", NOTIFICATION.published),
      "announce",
      { step: "mark-published" },
    ],
    [
      "a corrected record still claimed by a live writer is left to it",
      replaced("already-gone", NOTIFICATION.claimed),
      "announce",
      { step: "none", why: "announced" },
    ],
    [
      "a silent writer does not announce a failed notification",
      replaced("already-gone", NOTIFICATION.failed),
      "record",
      { step: "none", why: "silent" },
    ],
    [
      "a silent writer correcting an announced record marks it published",
      replaced("already-gone", NOTIFICATION.published),
      "record",
      { step: "mark-published" },
    ],
    [
      "a silent writer over a silent record does nothing",
      replaced("notify-only", NOTIFICATION.none),
      "record",
      { step: "none", why: "silent" },
    ],
  ];
  it.each(table)("%s", (_name, put, intent, step) => {
    expect(nextStep(put, intent)).toEqual(step);
  });
});

function publishOwn(): ClaimStep {
  return { step: "publish", decision: "own" };
}

describe("the claim's conditions", () => {
  it.each([
    ["a failed publish", item("revoked", NOTIFICATION.failed), undefined, true],
    ["a deferred attempt", item("failed", NOTIFICATION.deferred), undefined, true],
    ["a stale claim", item("revoked", NOTIFICATION.claimed, OLD_CLAIM), STALE_BEFORE, true],
    ["a fresh claim", item("revoked", NOTIFICATION.claimed, FRESH_CLAIM), STALE_BEFORE, false],
    [
      "a claim when staleness is not asked",
      item("revoked", NOTIFICATION.claimed, OLD_CLAIM),
      undefined,
      false,
    ],
    ["a published record", item("revoked", NOTIFICATION.published), STALE_BEFORE, false],
    ["a silent record", item("notify-only", NOTIFICATION.none), STALE_BEFORE, false],
  ])("freeTurn of %s is %s", (_name, stored, staleBefore, free) => {
    expect(isFreeTurn(stored, staleBefore)).toBe(free);
  });

  it("a claim without claimedAt is never stale", () => {
    expect(isStaleClaim(item("revoked", NOTIFICATION.claimed, null), STALE_BEFORE)).toBe(false);
  });

  it.each([
    ["nothing stored", null, "already-gone", true],
    ["a worse result", item("already-gone", NOTIFICATION.published), "revoked", true],
    [
      "an equal result, turn held",
      item("revoked", NOTIFICATION.claimed, FRESH_CLAIM),
      "revoked",
      false,
    ],
    ["an equal result, turn free", item("revoked", NOTIFICATION.failed), "revoked", true],
    [
      "a better result, turn free (a take-over, not a write)",
      item("revoked", NOTIFICATION.failed),
      "already-gone",
      false,
    ],
    ["a better result, turn held", item("revoked", NOTIFICATION.published), "already-gone", false],
    [
      "a failed attempt's record, by its retry",
      item("failed", NOTIFICATION.deferred),
      "failed",
      true,
    ],
  ] as const)("firstOrBetter over %s: %s", (_name, stored, result, allowed) => {
    expect(mayWrite(stored, RESULT_RANK[result], STALE_BEFORE)).toBe(allowed);
  });

  it("a writer's intent sets the state its put leaves", () => {
    expect(claimStateFor("announce")).toBe(NOTIFICATION.claimed);
    expect(claimStateFor("record")).toBe(NOTIFICATION.none);
    expect(claimStateFor("defer")).toBe(NOTIFICATION.deferred);
  });
});
