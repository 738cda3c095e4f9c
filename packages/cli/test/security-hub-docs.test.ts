import { writeFile } from "node:fs/promises";
import { join } from "node:path";
import { SECURITY_HUB_ACTIONS, SECURITY_HUB_FUNCTION_ENV } from "@guardrail/core";
import { SecurityHubSandbox } from "@guardrail/sandbox";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { awsCli } from "../../../test/e2e/aws-cli";
import { REPO_ROOT } from "./bin";
import { jsonLines } from "./support/io";
import { SSH_WORLD_FIXTURE } from "./support/replay";
import { runCli } from "./support/run";
import { tempDir } from "./support/temp-dir";

const DOC = await import("node:fs").then((fs) =>
  fs.readFileSync(join(REPO_ROOT, "docs", "security-hub.md"), "utf8"),
);

/** The table rows of the section under `## heading`. */
function section(heading: string): string {
  const start = DOC.indexOf(`\n## ${heading}`);
  expect(start, heading).toBeGreaterThanOrEqual(0);
  const end = DOC.indexOf("\n## ", start + 4);
  return DOC.slice(start, end < 0 ? undefined : end);
}

/** What `guardrail replay --format <format>` writes for a captured SSH-from-anywhere event. */
async function replayFindings(format: "asff" | "ocsf"): Promise<Record<string, unknown>[]> {
  const { code, out } = await runCli(["replay", "--format", format, SSH_WORLD_FIXTURE]);
  expect(code).toBe(0);
  return jsonLines(out);
}

describe("docs/security-hub.md", () => {
  it("maps every ASFF attribute the guardrail sets", async () => {
    const table = section("ASFF mapping");
    const [finding] = await replayFindings("asff");
    for (const key of Object.keys(finding ?? {})) expect(table, key).toContain(`\`${key}`);
  });

  it("maps every OCSF attribute the guardrail sets", async () => {
    const table = section("OCSF mapping (Compliance Finding, class 2003, OCSF 1.8.0)");
    const [f] = await replayFindings("ocsf");
    for (const key of Object.keys(f ?? {})) expect(table, key).toContain(`\`${key}`);
  });

  it("names exactly the IAM actions the infra grants, and the setting's default", () => {
    const iam = section("IAM");
    const named = new Set(iam.match(/securityhub:\w+/g));
    expect([...named].sort()).toEqual([...SECURITY_HUB_ACTIONS].sort());
    expect(DOC).toContain(`| \`${SECURITY_HUB_FUNCTION_ENV.enabled}\` | \`off\``);
  });
});

describe("replay --format asff into Security Hub with the aws CLI", () => {
  const hub = new SecurityHubSandbox({ accessKeys: { AKIADOCSTEST: "776520358045" } });
  let endpoint = "";
  beforeAll(async () => {
    endpoint = await hub.listen(0);
  });
  afterAll(async () => {
    await hub.close();
  });

  it("imports the lines as they are, wrapped in {Findings: [...]}", async () => {
    const findings = await replayFindings("asff");
    const dir = await tempDir("asff-");
    const file = join(dir, "batch.json");
    await writeFile(file, JSON.stringify({ Findings: findings }));
    const out = (await awsCli(
      { endpoint, accessKeyId: "AKIADOCSTEST", secretAccessKey: "x", region: "us-east-1" },
      ["securityhub", "batch-import-findings", "--cli-input-json", `file://${file}`],
    )) as { SuccessCount: number; FailedCount: number };
    expect(out).toMatchObject({ SuccessCount: findings.length, FailedCount: 0 });
    expect(hub.findings()).toHaveLength(findings.length);
  });
});
