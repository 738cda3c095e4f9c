/**
 * Renders the `guardrail replay --format html` report of a synthetic two-week CloudTrail export
 * in headless Chromium and saves the top of it as docs/img/report.png (for the README and
 * docs/cli.md).
 *
 *   npx tsx bench/report-screenshot.ts
 */
import { mkdir, writeFile } from "node:fs/promises";
import { dirname, join } from "node:path";
import { fileURLToPath, pathToFileURL } from "node:url";
import { DEFAULT_POLICY_YAML } from "@guardrail/core";
import { main } from "../packages/cli/src/main";
import { writeArchive } from "../packages/cli/test/support/archive";
import { openBrowser } from "../packages/cli/test/support/browser";
import { memoryIo } from "../packages/cli/test/support/io";

const ROOT = join(dirname(fileURLToPath(import.meta.url)), "..");
const OUT = join(ROOT, "bench", "out", "report");
const PNG = join(ROOT, "docs", "img", "report.png");

/** The default policy, plus an exemption so that the report shows what exempt looks like. */
export const REPORT_POLICY = DEFAULT_POLICY_YAML.replace(
  "exemptions:\n  tagKey: guardrail-exempt",
  `exemptions:
  tagKey: guardrail-exempt
  principals:
    - pattern: "arn:aws:sts::*:assumed-role/terraform-ci/*"
      reason: platform pipeline, reviewed in CHG-2291
      expires: 2026-06-30`,
);

async function run() {
  await mkdir(OUT, { recursive: true });
  const archive = await writeArchive({
    dir: join(OUT, "archive"),
    accounts: ["111122223333", "444455556666", "777788889999"],
    regions: ["eu-west-1", "us-east-1"],
    startDay: "2025-03-01",
    days: 14,
    filesPerDay: 2,
    recordsPerFile: 120,
    ec2Share: 0.06,
    corruptFiles: 1,
    digests: true,
    seed: 2025,
  });
  const policy = join(OUT, "policy.yaml");
  await writeFile(policy, REPORT_POLICY);
  const html = join(OUT, "report.html");
  const io = memoryIo();
  const code = await main(
    ["replay", "--policy", policy, "--format", "html", "--output", html, archive.root],
    io,
  );
  if (code !== 0 && code !== 3) throw new Error(`replay exited ${code}: ${io.stderr.text()}`);

  const browser = await openBrowser();
  try {
    const page = await browser.context.newPage();
    await page.setViewportSize({ width: 1280, height: 1500 });
    await page.goto(pathToFileURL(html).href);
    await mkdir(dirname(PNG), { recursive: true });
    await page.screenshot({ path: PNG, fullPage: false });
    if (browser.blocked.length > 0) throw new Error(`report fetched ${browser.blocked.join(", ")}`);
  } finally {
    await browser.close();
  }
  process.stdout.write(`wrote ${PNG} (report: ${html})\n`);
}

await run();
