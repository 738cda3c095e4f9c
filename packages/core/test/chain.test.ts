import fc from "fast-check";
import { describe, expect, it } from "vitest";
import {
  appendEntry,
  type ChainEntry,
  type ChainHead,
  canonicalJson,
  chainAthenaDdl,
  chainAthenaTable,
  chainEntryKey,
  chainEntryOf,
  chainObjectBody,
  chainObjectKey,
  GENESIS_HASH,
  headOf,
  recordHash,
  seqOfKey,
  verifyChain,
} from "../src/index";

const account = "111122223333";
const region = "eu-west-1";
const chain = `${account}#${region}`;
const DAY = 86_400_000;

function record(i: number, decidedAt = "2026-01-01T00:00:00.000Z"): Record<string, unknown> {
  return {
    pk: `DECISION#e-${i}`,
    sk: "DECISION",
    id: `e-${i}`,
    account,
    region,
    result: i % 2 === 0 ? "revoked" : "notify-only",
    findings: [{ rule: "admin-ports", change: { text: `ingress tcp ${i} from 0.0.0.0/0` } }],
    decidedAt,
    expiresAt: Math.floor(Date.parse(decidedAt) / 1000) + 400 * 86_400,
  };
}

/** A chain of `n` entries written one a day from `start`, with `retentionDays`. */
function build(n: number, start = Date.parse("2026-01-01T00:00:00Z"), retentionDays = 400) {
  const entries: ChainEntry[] = [];
  let head: ChainHead | null = null;
  for (let i = 1; i <= n; i++) {
    const now = new Date(start + (i - 1) * DAY);
    const e = appendEntry(head, {
      account,
      region,
      record: record(i, now.toISOString()),
      now,
      retentionDays,
    });
    entries.push(e);
    head = headOf(e);
  }
  return { entries, head: head! };
}

const stored = (entries: readonly ChainEntry[]) =>
  entries.map((entry) => ({ position: entry.seq, entry }));
const NOW = new Date("2026-03-01T00:00:00Z");

describe("hash chain", () => {
  it("links each entry to its predecessor's hash, starting from the genesis hash", () => {
    const { entries } = build(3);
    expect(entries[0]!.prevHash).toBe(GENESIS_HASH);
    expect(entries[0]!.prevExpiresAt).toBeNull();
    expect(entries[1]!.prevHash).toBe(entries[0]!.hash);
    expect(entries[2]!.prevHash).toBe(entries[1]!.hash);
    expect(entries.map((e) => e.seq)).toEqual([1, 2, 3]);
    expect(entries[2]!.prevExpiresAt).toBe(entries[1]!.expiresAt);
  });

  it("hashes the canonical record: key order and notification fields do not matter", () => {
    const a = { id: "e-1", b: 1, a: { y: 2, x: [1, { d: 1, c: 2 }] } };
    const b = { a: { x: [1, { c: 2, d: 1 }], y: 2 }, b: 1, id: "e-1", notification: "published" };
    expect(recordHash(a)).toBe(recordHash(b));
    expect(canonicalJson(a)).toBe('{"a":{"x":[1,{"c":2,"d":1}],"y":2},"b":1,"id":"e-1"}');
    expect(recordHash({ ...a, b: 2 })).not.toBe(recordHash(a));
  });

  it("never lets time or expiry go backwards along the chain (a writer clock that did)", () => {
    const first = appendEntry(null, {
      account,
      region,
      record: record(1),
      now: new Date("2026-01-02T00:00:00Z"),
      retentionDays: 400,
    });
    const second = appendEntry(headOf(first), {
      account,
      region,
      record: record(2),
      now: new Date("2026-01-01T00:00:00Z"),
      retentionDays: 400,
    });
    expect(second.recordedAt).toBe(first.recordedAt);
    expect(second.expiresAt).toBe(first.expiresAt);
  });

  it("keys entries by account, Region and a zero-padded position, and S3 objects by date", () => {
    const { entries } = build(1);
    expect(chainEntryKey(account, region, 42)).toEqual({
      pk: "CHAIN#111122223333#eu-west-1",
      sk: "SEQ#000000000042",
    });
    expect(chainObjectKey(entries[0]!)).toBe(
      "chain/account=111122223333/region=eu-west-1/date=2026-01-01/000000000001.json",
    );
    expect(seqOfKey(chainObjectKey(entries[0]!))).toBe(1);
    expect(seqOfKey("SEQ#000000000042")).toBe(42);
    expect(chainEntryOf(JSON.parse(chainObjectBody(entries[0]!)))).toEqual(entries[0]);
    expect(chainObjectBody(entries[0]!).split("\n")).toHaveLength(2);
  });
});

describe("verifyChain", () => {
  it("accepts an intact chain and its head", () => {
    const { entries, head } = build(5);
    const v = verifyChain({ chain, entries: stored(entries), head, now: NOW });
    expect(v).toMatchObject({ ok: true, checked: 5, first: 1, last: 5, expired: 0, problems: [] });
  });

  it("detects a deleted record in the middle", () => {
    const { entries, head } = build(5);
    const v = verifyChain({
      chain,
      entries: stored(entries.filter((e) => e.seq !== 3)),
      head,
      now: NOW,
    });
    expect(v.ok).toBe(false);
    expect(v.problems).toEqual([
      expect.objectContaining({ kind: "deleted", seq: 4, detail: expect.stringContaining("#3") }),
    ]);
  });

  it("detects deleted oldest records that had not expired", () => {
    const { entries, head } = build(5);
    const v = verifyChain({ chain, entries: stored(entries.slice(2)), head, now: NOW });
    expect(v.problems).toEqual([expect.objectContaining({ kind: "deleted", seq: 3 })]);
  });

  it("detects a deleted last record against the head", () => {
    const { entries, head } = build(5);
    const v = verifyChain({ chain, entries: stored(entries.slice(0, 4)), head, now: NOW });
    expect(v.problems).toEqual([expect.objectContaining({ kind: "deleted", seq: 5 })]);
  });

  it("detects an altered record, and an entry whose hash was recomputed after the alteration", () => {
    const { entries, head } = build(4);
    const altered = entries.map((e) =>
      e.seq === 2 ? { ...e, record: { ...e.record, result: "exempt" } } : e,
    );
    expect(verifyChain({ chain, entries: stored(altered), head, now: NOW }).problems).toEqual([
      expect.objectContaining({ kind: "altered", seq: 2 }),
    ]);
    // The forger recomputes recordHash and hash of #2: the link from #3 breaks.
    const r2 = { ...entries[1]!.record, result: "exempt" };
    const forged = appendEntry(headOf(entries[0]!), {
      account,
      region,
      record: r2,
      now: new Date(entries[1]!.recordedAt),
      retentionDays: 400,
    });
    const rehashed = entries.map((e) => (e.seq === 2 ? forged : e));
    expect(verifyChain({ chain, entries: stored(rehashed), head, now: NOW }).problems).toEqual([
      expect.objectContaining({ kind: "broken-link", seq: 3 }),
    ]);
  });

  it("detects reordered records: swapped positions, and positions read out of order", () => {
    const { entries, head } = build(4);
    const swapped = [
      { position: 1, entry: entries[0]! },
      { position: 2, entry: entries[2]! },
      { position: 3, entry: entries[1]! },
      { position: 4, entry: entries[3]! },
    ];
    const v = verifyChain({ chain, entries: swapped, head, now: NOW });
    expect(v.problems.map((p) => [p.kind, p.seq])).toEqual(
      expect.arrayContaining([
        ["reordered", 2],
        ["reordered", 3],
      ]),
    );
    const outOfOrder = [entries[0]!, entries[2]!, entries[1]!, entries[3]!].map((entry) => ({
      position: entry.seq,
      entry,
    }));
    expect(verifyChain({ chain, entries: outOfOrder, head, now: NOW }).problems).toEqual([
      expect.objectContaining({ kind: "reordered", seq: 2 }),
    ]);
  });

  it("accepts a chain whose oldest entries expired by TTL, and a TTL gap left in the middle", () => {
    // 10 entries a day apart, 30-day retention: 30.5 days after the 3rd, #1-#3 have expired.
    const { entries, head } = build(10, Date.parse("2026-01-01T00:00:00Z"), 30);
    const now = new Date(Date.parse(entries[2]!.recordedAt) + 30.5 * DAY);
    const v = verifyChain({ chain, entries: stored(entries.slice(3)), head, now });
    expect(v).toMatchObject({ ok: true, expired: 3, first: 4, last: 10 });
    // TTL deletes in no particular order: #2 gone while #1 lingers.
    const gap = entries.filter((e) => e.seq !== 2);
    expect(verifyChain({ chain, entries: stored(gap), head, now })).toMatchObject({
      ok: true,
      expired: 1,
    });
    // One more entry than had expired is missing: reported.
    const tooMany = verifyChain({ chain, entries: stored(entries.slice(4)), head, now });
    expect(tooMany.problems).toEqual([expect.objectContaining({ kind: "deleted", seq: 5 })]);
  });

  it("cross-checks the decision items: altered, deleted, and not chained", () => {
    const { entries, head } = build(3);
    const items: Record<string, unknown>[] = entries.map((e) => ({
      ...e.record,
      notification: "published",
    }));
    const ok = verifyChain({ chain, entries: stored(entries), head, now: NOW, decisions: items });
    expect(ok.problems).toEqual([]);
    const altered = items.map((i) => (i.id === "e-2" ? { ...i, result: "exempt" } : i));
    expect(
      verifyChain({ chain, entries: stored(entries), head, now: NOW, decisions: altered }).problems,
    ).toEqual([expect.objectContaining({ kind: "decision-altered", decisionId: "e-2" })]);
    const missing = items.filter((i) => i.id !== "e-1");
    expect(
      verifyChain({ chain, entries: stored(entries), head, now: NOW, decisions: missing }).problems,
    ).toEqual([expect.objectContaining({ kind: "decision-deleted", decisionId: "e-1" })]);
    const extra = [...items, { ...record(9, "2026-02-01T00:00:00.000Z") }];
    expect(
      verifyChain({ chain, entries: stored(entries), head, now: NOW, decisions: extra }).problems,
    ).toEqual([expect.objectContaining({ kind: "unchained", decisionId: "e-9" })]);
    // A decision written a moment ago may still be on its way to the chain writer.
    expect(
      verifyChain({
        chain,
        entries: stored(entries),
        head,
        now: new Date("2026-02-01T00:05:00.000Z"),
        decisions: extra,
      }).problems,
    ).toEqual([]);
  });

  it("uses the latest entry of a decision whose result was replaced", () => {
    const first = appendEntry(null, {
      account,
      region,
      record: record(1),
      now: NOW,
      retentionDays: 400,
    });
    const better = { ...record(1), result: "revoked", resultRank: 5 };
    const second = appendEntry(headOf(first), {
      account,
      region,
      record: better,
      now: NOW,
      retentionDays: 400,
    });
    const v = verifyChain({
      chain,
      entries: stored([first, second]),
      head: headOf(second),
      now: NOW,
      decisions: [better],
    });
    expect(v.problems).toEqual([]);
  });

  it("property: removing any one unexpired entry, or changing any record, is reported", () => {
    fc.assert(
      fc.property(fc.integer({ min: 2, max: 12 }), fc.nat(), fc.boolean(), (n, pick, remove) => {
        const { entries, head } = build(n);
        const target = (pick % n) + 1;
        const tampered = remove
          ? entries.filter((e) => e.seq !== target)
          : entries.map((e) =>
              e.seq === target ? { ...e, record: { ...e.record, tampered: true } } : e,
            );
        const v = verifyChain({ chain, entries: stored(tampered), head, now: NOW });
        return !v.ok && v.problems.length > 0;
      }),
    );
  });
});

describe("docs/audit.md", () => {
  it("shows the Athena table exactly as chainAthenaDdl defines it", async () => {
    const { readFileSync } = await import("node:fs");
    const { join } = await import("node:path");
    const doc = readFileSync(join(__dirname, "..", "..", "..", "docs", "audit.md"), "utf8");
    expect(doc).toContain(chainAthenaDdl(chainAthenaTable("EVIDENCE-BUCKET", 400)));
  });
});
