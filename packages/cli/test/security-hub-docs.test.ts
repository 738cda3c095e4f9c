import { mkdtemp, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import {
  buildDecision,
  ocsfComplianceFindings,
  parseCidr,
  SECURITY_HUB_ACTIONS,
  SECURITY_HUB_FUNCTION_ENV,
  securityHubEntries,
} from "@guardrail/core";
import { SecurityHubSandbox } from "@guardrail/sandbox";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { awsCli } from "../../../test/e2e/aws-cli";
import { main } from "../src/main";
import { REPO_ROOT } from "./bin";
import { memoryIo } from "./support/io";

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

const decision = buildDecision({
  source: "event",
  event: {
    eventId: "e-docs",
    eventName: "AuthorizeSecurityGroupIngress",
    eventTime: "2025-06-15T10:51:12Z",
    account: "776520358045",
    region: "us-east-1",
    actor: {
      arn: "arn:aws:sts::776520358045:assumed-role/dev/alice",
      type: "AssumedRole",
      accountId: "776520358045",
      sessionIssuerArn: null,
      invokedBy: null,
      sourceIp: null,
      userAgent: null,
      console: false,
    },
  },
  evaluation: {
    outcome: "violation",
    findings: [
      {
        rule: "admin-ports",
        mode: "notify",
        severity: "critical",
        reason: "tcp 22 open to 0.0.0.0/0",
        change: {
          kind: "security-group-rule",
          groupId: "sg-0632fa4ee8a8468a4",
          direction: "ingress",
          protocol: "tcp",
          ports: { from: 22, to: 22 },
          icmp: null,
          peer: { kind: "cidr", cidr: parseCidr("0.0.0.0/0") },
          ruleId: "sgr-1",
        },
      },
    ],
    waived: [],
  },
  outcomes: [],
  decidedAt: new Date("2025-06-15T10:51:14Z"),
  guardrailVersion: "0.1.0",
  policyId: "p",
});
if (!decision) throw new Error("decision");

describe("docs/security-hub.md", () => {
  it("maps every ASFF attribute the guardrail sets", () => {
    const table = section("ASFF mapping");
    const [entry] = securityHubEntries(decision);
    for (const key of Object.keys(entry?.finding ?? {})) {
      expect(table, key).toContain(`\`${key}`);
    }
  });

  it("maps every OCSF attribute the guardrail sets", () => {
    const table = section("OCSF mapping (Compliance Finding, class 2003, OCSF 1.8.0)");
    const [f] = ocsfComplianceFindings(decision);
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
    const io = memoryIo();
    const fixture = join(
      REPO_ROOT,
      "test/fixtures/cloudtrail/AuthorizeSecurityGroupIngress/detail_assumedrole-console_cidrIp_2025.json",
    );
    expect(await main(["replay", "--format", "asff", fixture], io)).toBe(0);
    const findings = io.stdout
      .text()
      .split("\n")
      .filter((l) => l !== "")
      .map((l) => JSON.parse(l) as unknown);
    const dir = await mkdtemp(join(tmpdir(), "asff-"));
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
