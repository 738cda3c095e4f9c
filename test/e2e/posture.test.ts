import { Logger } from "@aws-lambda-powertools/logger";
import { Metrics } from "@aws-lambda-powertools/metrics";
import { DynamoDBClient } from "@aws-sdk/client-dynamodb";
import { SNSClient } from "@aws-sdk/client-sns";
import { DynamoDBDocumentClient } from "@aws-sdk/lib-dynamodb";
import { createNotifier, createPostureStore } from "@guardrail/aws";
import { METRICS, type PostureReport, type PostureSnapshot } from "@guardrail/core";
import { sendPostureDigest } from "@guardrail/functions";
import { runDemo } from "@guardrail/sandbox/demo";
import { DEVELOPER, LOCAL_TABLE_NAME, type LocalStack } from "@guardrail/sandbox/local";
import { beforeAll, describe, expect, it } from "vitest";
import { main } from "../../packages/cli/src/main";
import { memoryIo } from "../../packages/cli/test/support/io";

interface ScanFinding {
  rule: string;
  resource: string;
  change: { text: string; resourceId: string };
  exemption?: { kind: string };
}
interface ScanJson {
  findings: ScanFinding[];
  exempt: ScanFinding[];
}

const key = (resource: string, rule: string, text: string) => `${resource} ${rule} ${text}`;

describe("posture and the weekly digest against the sandbox after the demo scenarios", () => {
  let posture: PostureReport;
  let postureTable: string;
  let postureHtml: string;
  let scan: ScanJson;
  let digest: PostureReport;
  let snapshots: PostureSnapshot[];
  let slackText: string;

  beforeAll(async () => {
    await runDemo({
      out: { write: () => true },
      afterScenarios: async (stack: LocalStack) => {
        // The state as the schedule would leave it: one sweep after everything the demo did.
        await stack.runSweep();
        await stack.idle();
        const env = {
          AWS_ACCESS_KEY_ID: DEVELOPER.accessKeyId,
          AWS_SECRET_ACCESS_KEY: DEVELOPER.secretAccessKey,
          AWS_REGION: stack.region,
        };
        const cli = async (args: string[]) => {
          const io = memoryIo({ env });
          const code = await main(args, io);
          expect(code, io.stderr.text()).toBe(0);
          return io.stdout.text();
        };
        const table = ["--table", LOCAL_TABLE_NAME, "--endpoint-url", stack.endpoints.dynamo];
        posture = JSON.parse(await cli(["posture", ...table, "--format", "json"]));
        postureTable = await cli(["posture", ...table]);
        postureHtml = await cli(["posture", ...table, "--format", "html"]);
        scan = JSON.parse(
          await cli(["scan", "--endpoint-url", stack.endpoints.ec2, "--format", "json"]),
        );

        // The weekly digest, published to the sandbox's topic, posted by the Slack notifier.
        const credentials = { accessKeyId: "digest", secretAccessKey: "local" };
        const ddb = new DynamoDBClient({
          endpoint: stack.endpoints.dynamo,
          region: stack.region,
          credentials,
        });
        const sns = new SNSClient({
          endpoint: stack.endpoints.sns,
          region: stack.region,
          credentials,
        });
        const store = createPostureStore(LOCAL_TABLE_NAME, async () =>
          DynamoDBDocumentClient.from(ddb),
        );
        snapshots = await store.all();
        const before = stack.slack.messages().length;
        digest = await sendPostureDigest({
          logger: new Logger({ serviceName: "digest", logLevel: "SILENT" }),
          metrics: new Metrics({ namespace: METRICS.namespace, serviceName: "digest" }),
          posture: store,
          notifier: createNotifier(stack.topicArn, async () => sns),
          clock: () => new Date(),
        });
        await stack.idle();
        slackText = JSON.stringify(stack.slack.messages().slice(before));
        ddb.destroy();
        sns.destroy();
      },
    });
  }, 120_000);

  it("lists as open exactly what scan finds, but the tag exemptions only the audit trail proves", () => {
    expect(posture.totals.open).toBeGreaterThan(0);
    const open = new Set(posture.findings.map((f) => key(f.resourceId, f.rule, f.text)));
    const seen = new Set(scan.findings.map((f) => key(f.change.resourceId, f.rule, f.change.text)));
    expect([...open].filter((k) => !seen.has(k))).toEqual([]);
    // scan reads no audit trail, so it cannot tell an approved exemption tag from one anyone
    // set: such a rule is a finding to scan and an exemption (of kind tag) to the sweep.
    const tagExempt = new Set(
      snapshots
        .flatMap((s) => s.exemptions)
        .filter((x) => x.kind === "tag")
        .map((x) => key(x.resourceId, x.rule, x.text)),
    );
    const scanOnly = [...seen].filter((k) => !open.has(k));
    expect(scanOnly.length).toBeGreaterThan(0);
    for (const k of scanOnly) expect(tagExempt.has(k), k).toBe(true);
    expect(posture.totals.open).toBe(seen.size - scanOnly.length);
    expect(posture.totals.notifyOnly + posture.totals.failed).toBe(posture.totals.open);
    expect(posture.totals.exemptions).toBe(scan.exempt.length + scanOnly.length);
  });

  it("counts each account, Region and rule, with ages, in table and html", () => {
    const byRule = new Map<string, number>();
    for (const f of posture.findings) byRule.set(f.rule, (byRule.get(f.rule) ?? 0) + 1);
    expect(posture.rows.map((r) => [r.rule, r.open])).toEqual(
      [...byRule].sort(([a], [b]) => a.localeCompare(b)),
    );
    for (const f of posture.findings) expect(f.ageDays).toBe(0);
    expect(postureTable).toContain(`Open findings: ${posture.totals.open}`);
    for (const r of posture.rows) expect(postureTable).toContain(r.rule);
    expect(postureHtml).toMatch(/^<!doctype html>/);
    expect(postureHtml).toContain(posture.findings[0]!.resourceId);
  });

  it("sends the digest with the same numbers to SNS and on to Slack", () => {
    expect(digest.totals).toEqual(posture.totals);
    expect(slackText).toContain(`Open findings: ${posture.totals.open}`);
    expect(slackText).toContain("waiting for a person (notify-only)");
  });
});
