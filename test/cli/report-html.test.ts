import { mkdtemp, readFile, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { pathToFileURL } from "node:url";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { main } from "../../packages/cli/src/main";
import { mainRule } from "../../packages/cli/src/replay/aggregate";
import type { ReplayLine } from "../../packages/cli/src/replay/record";
import { type ArchiveManifest, writeArchive } from "../../packages/cli/src/testing/archive";
import { openBrowser } from "../../packages/cli/src/testing/browser";
import { memoryIo } from "../../packages/cli/src/testing/io";

let dir: string;
let archive: ArchiveManifest;
let html: string;
let lines: ReplayLine[];

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), "guardrail-report-"));
  archive = await writeArchive({
    dir,
    accounts: ["111122223333", "444455556666"],
    regions: ["eu-west-1"],
    startDay: "2025-03-01",
    days: 5,
    filesPerDay: 2,
    recordsPerFile: 80,
    ec2Share: 0.2,
    corruptFiles: 1,
    seed: 11,
  });
  html = join(dir, "report.html");
  const io = memoryIo();
  expect(await main(["replay", "--format", "html", "-o", html, archive.root], io)).toBe(3);
  const json = memoryIo();
  await main(["replay", "--format", "json", archive.root], json);
  lines = json.stdout
    .text()
    .trim()
    .split("\n")
    .map((l) => JSON.parse(l) as ReplayLine);
});

afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

describe("HTML report in headless Chromium", () => {
  it("is one self-contained file: no script, stylesheet or image fetched from anywhere", async () => {
    const text = await readFile(html, "utf8");
    expect(text).not.toMatch(/<script|<link|<img|@import|url\(/i);
    expect(text).not.toMatch(/https?:\/\//);
  });

  it("renders the chart, the tables and every violation, fetching nothing", async () => {
    const browser = await openBrowser();
    try {
      const page = await browser.context.newPage();
      const errors: string[] = [];
      page.on("pageerror", (e) => errors.push(e.message));
      page.on("console", (m) => {
        if (m.type() === "error") errors.push(m.text());
      });
      await page.goto(pathToFileURL(html).href);
      expect(await page.title()).toMatch(/^Network guardrail report · 2025-03-01 to 2025-03-05$/);

      // The chart: one bar segment per day and main rule, adding up to the violations.
      const violations = lines.filter((l) => l.outcome === "violation");
      const bars = await page.$$eval("#chart svg rect.bar", (rects) =>
        rects.map((r) => ({
          day: r.getAttribute("data-day"),
          rule: r.getAttribute("data-rule"),
          count: Number(r.getAttribute("data-count")),
          height: r.getBoundingClientRect().height,
          width: r.getBoundingClientRect().width,
        })),
      );
      expect(bars.length).toBeGreaterThan(5);
      expect(bars.reduce((s, b) => s + b.count, 0)).toBe(violations.length);
      for (const b of bars) {
        expect(b.height).toBeGreaterThan(0);
        expect(b.width).toBeGreaterThan(10);
        const want = violations.filter(
          (l) => l.eventTime?.startsWith(b.day ?? "?") && mainRule(l) === b.rule,
        ).length;
        expect(b.count, `${b.day} ${b.rule}`).toBe(want);
      }
      const legend = await page.$$eval("#chart .legend .key", (k) => k.map((e) => e.textContent));
      expect(new Set(legend)).toEqual(new Set(bars.map((b) => b.rule)));
      const days = await page.$$eval("#chart svg text.tick", (t) => t.map((e) => e.textContent));
      expect(days).toEqual(expect.arrayContaining(["1 Mar", "5 Mar"]));

      // Tables by account, rule and actor.
      const accounts = await page.$$eval("#accounts tbody tr", (rows) =>
        rows.map((r) => [...r.querySelectorAll("td")].map((td) => td.textContent?.trim())),
      );
      expect(accounts.map((r) => r[0]).sort()).toEqual(["111122223333", "444455556666"]);
      for (const row of accounts) {
        const n = violations.filter((l) => l.account === row[0]).length;
        expect(row[1]).toBe(n.toLocaleString("en-US"));
      }
      expect(await page.$$eval("#rules tbody tr", (r) => r.length)).toBeGreaterThan(3);
      const actors = await page.$$eval("#actors tbody tr", (r) => r.length);
      expect(actors).toBe(new Set(violations.map((l) => l.actor)).size);

      // Every violation (and exemption) has its row, with what the guardrail would do.
      const detail = await page.$$eval("#violations tbody tr", (rows) =>
        rows.map((r) => r.textContent ?? ""),
      );
      expect(detail).toHaveLength(violations.length);
      expect(detail.filter((t) => t.includes("would revoke")).length).toBe(
        violations.filter((l) => l.actions.length > 0).length,
      );
      expect(detail.filter((t) => t.includes("notify only")).length).toBe(
        violations.filter((l) => l.actions.length === 0).length,
      );

      // The corrupt file is named, and the headline says the numbers leave it out.
      const corrupt = archive.files.find((f) => f.corrupt)!.path;
      expect(await page.textContent("#problems")).toContain(corrupt);
      expect(await page.textContent(".banner")).toMatch(/could not be read/);
      const kpi = await page.$$eval(".kpi", (k) =>
        k.map((e) => [e.querySelector(".v")?.textContent, e.querySelector(".l")?.textContent]),
      );
      expect(kpi[0]).toEqual([violations.length.toLocaleString("en-US"), "violations"]);

      expect(errors).toEqual([]);
      expect(browser.blocked).toEqual([]);
    } finally {
      await browser.close();
    }
  });
});
