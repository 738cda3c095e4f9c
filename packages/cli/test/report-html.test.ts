import { mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { pathToFileURL } from "node:url";
import { defaultPolicy } from "@guardrail/core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { main } from "../src/main";
import { addLine, emptyAggregate, mainRule } from "../src/replay/aggregate";
import { GROUPS_PER_PAGE, renderHtml, ruleColour, shortActor } from "../src/replay/formats/html";
import type { ReplayLine } from "../src/replay/record";
import { type ArchiveManifest, writeArchive } from "./support/archive";
import { openBrowser } from "./support/browser";
import { jsonLines, memoryIo } from "./support/io";

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
  lines = jsonLines(json.stdout.text());
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
      // Full dates on the time axis, year included.
      expect(days).toEqual(expect.arrayContaining(["1 Mar 2025", "5 Mar 2025"]));

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
      const detail = await page.$$eval("#violations tr.event", (rows) =>
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

      // Grouped by resource: a heading per resource, its events in time order, and the
      // resources in the order of their first event.
      const groups = await page.$$eval("#violations tbody.group", (bodies) =>
        bodies.map((b) => ({
          head: b.querySelector("tr.group-head")?.textContent ?? "",
          times: [...b.querySelectorAll("tr.event td:first-child")].map((td) =>
            (td.textContent ?? "").replace(" ", "T"),
          ),
        })),
      );
      expect(groups.length).toBeGreaterThan(1);
      expect(groups.flatMap((g) => g.times)).toHaveLength(detail.length);
      for (const g of groups) expect([...g.times].sort()).toEqual(g.times);
      const firsts = groups.map((g) => g.times[0]!);
      expect([...firsts].sort()).toEqual(firsts);

      expect(errors).toEqual([]);
      expect(browser.blocked).toEqual([]);
    } finally {
      await browser.close();
    }
  });

  it("gives each rule the same colour in every report: its place in the policy", async () => {
    const swatches = async (file: string) => {
      const text = await readFile(file, "utf8");
      return Object.fromEntries(
        [
          ...text.matchAll(
            /<span class="swatch" style="background:(#[0-9A-F]{6})"><\/span> ([\w-]+)/g,
          ),
        ].map((m) => [m[2], m[1]]),
      );
    };
    const all = await swatches(html);
    // Another report of only the NACL violations: the rules it shows keep their colours.
    const nacl = join(dir, "nacl.html");
    const io = memoryIo();
    await main(
      ["replay", "--format", "html", "--rule", "nacl-admin-ports", "-o", nacl, archive.root],
      io,
    );
    const only = await swatches(nacl);
    expect(only["nacl-admin-ports"]).toBeDefined();
    expect(only["nacl-admin-ports"]).toBe(all["nacl-admin-ports"]);
    const policy = defaultPolicy().rules.map((r) => r.id);
    for (const [rule, colour] of Object.entries(all)) {
      expect(colour).toBe(ruleColour(rule!, [...policy, "unresolved-prefix-list"]));
    }
    expect(new Set(policy.map((r) => ruleColour(r, policy))).size).toBe(policy.length);
  });

  it("folds past a few hundred rows: a line per resource, pages, and still one short file", async () => {
    // 600 violations over 150 resources, made from the real ones.
    const violations = lines.filter((l) => l.outcome === "violation");
    const many: ReplayLine[] = Array.from({ length: 600 }, (_, n) => {
      const l = violations[n % violations.length]!;
      const resource = `sg-${String(n % 150).padStart(17, "0")}`;
      const day = String(1 + (n % 28)).padStart(2, "0");
      return {
        ...l,
        account: "111122223333",
        eventTime: `2025-02-${day}T${String(n % 24).padStart(2, "0")}:00:00Z`,
        source: `many#${n}`,
        findings: l.findings.map((f) => ({ ...f, resource })),
      };
    });
    const agg = emptyAggregate();
    for (const l of many) addLine(agg, l);
    const file = join(dir, "many.html");
    await writeFile(
      file,
      renderHtml(agg, many, {
        generatedAt: new Date("2025-03-01T00:00:00Z"),
        inputs: ["many"],
        policySource: "(default policy)",
        policyId: "0123456789ab",
        filters: [],
        omittedDetails: 0,
        rules: defaultPolicy().rules.map((r) => r.id),
      }),
    );
    expect(await readFile(file, "utf8")).not.toMatch(
      /<script|<link|<img|@import|url\(|https?:\/\//i,
    );
    const browser = await openBrowser();
    try {
      const page = await browser.context.newPage();
      await page.goto(pathToFileURL(file).href);
      const height = Number(await page.evaluate("document.documentElement.scrollHeight"));
      expect(height).toBeLessThan(6_000);
      const visible = () =>
        page.$$eval("#violations details.group", (d) =>
          d
            .filter((e) => e.getClientRects().length > 0)
            .map((e) => e.querySelector("summary")?.textContent ?? ""),
        );
      const first = await visible();
      expect(first).toHaveLength(GROUPS_PER_PAGE);
      expect(await page.$$eval("#violations details.group", (d) => d.length)).toBe(150);
      expect(first[0]).toMatch(/^sg-0+\d+ \d{12} · 4 events · 2025-02-/);
      // Page 3 of 3 shows the last 50 resources; a click on one opens its events.
      await page.click(".pager label[for=pg-3]");
      const third = await visible();
      expect(third).toHaveLength(50);
      expect(third[0]).not.toBe(first[0]);
      const group = page.locator("#page-3 details.group").first();
      await group.locator("summary").click();
      expect(await group.locator("tr.event").count()).toBe(4);
      expect(await group.locator("tr.event").first().isVisible()).toBe(true);
      expect(browser.blocked).toEqual([]);
    } finally {
      await browser.close();
    }
  });
});

describe("who acted, shortened for the report", () => {
  it.each([
    ["arn:aws:sts::123456789012:assumed-role/deployer/ci", "deployer/ci"],
    ["arn:aws-us-gov:sts::123456789012:assumed-role/deployer/ci", "deployer/ci"],
    ["arn:aws-cn:iam::123456789012:user/alice", "user alice"],
    ["arn:aws:iam::123456789012:root", "root"],
    ["ec2.amazonaws.com", "ec2.amazonaws.com"],
    [null, "unknown"],
  ])("%s → %s", (arn, short) => {
    expect(shortActor(arn)).toBe(short);
  });
});
