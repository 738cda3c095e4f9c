import "./setup";
import { readFileSync, writeFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import {
  DescribeSecurityGroupsCommand,
  EC2Client,
  RevokeSecurityGroupIngressCommand,
} from "@aws-sdk/client-ec2";
import { PublishCommand, SNSClient } from "@aws-sdk/client-sns";
import { DynamoDBDocumentClient, PutCommand } from "@aws-sdk/lib-dynamodb";
import { AUDIT_KEY_PREFIX, renderSlack } from "@guardrail/core";
import { mockClient } from "aws-sdk-client-mock";
import { afterAll, describe, expect, it } from "vitest";
import { loadFixture } from "../../test/fixtures/load";
import { securityGroupChange } from "../src/pipelines/security-group-change";
import { testDeps } from "./helpers";

/**
 * docs/remediation-flow.md quotes a real SNS message, audit item and Slack message. They come
 * from here: a real captured CloudTrail event run through the real pipeline (AWS clients mocked,
 * clock fixed). `UPDATE_DOCS=1 npx vitest run functions/test/remediation-flow-doc.test.ts`
 * rewrites the quoted blocks; otherwise the test fails when the doc and the output differ.
 */
const ROOT = join(dirname(fileURLToPath(import.meta.url)), "..", "..");
const DOC = join(ROOT, "docs", "remediation-flow.md");
/** The README quotes the Slack message too, under the same markers. */
const README = join(ROOT, "README.md");

const ec2 = mockClient(EC2Client);
const sns = mockClient(SNSClient);
const ddb = mockClient(DynamoDBDocumentClient);
afterAll(() => {
  ec2.restore();
  sns.restore();
  ddb.restore();
});

function block(name: string, json: unknown): { start: string; end: string; body: string } {
  return {
    start: `<!-- generated:${name}:start -->`,
    end: `<!-- generated:${name}:end -->`,
    body: `\`\`\`json\n${JSON.stringify(json, null, 2)}\n\`\`\``,
  };
}

function between(text: string, start: string, end: string): string | undefined {
  const i = text.indexOf(start);
  const j = text.indexOf(end);
  return i < 0 || j < i ? undefined : text.slice(i + start.length, j).trim();
}

describe("docs/remediation-flow.md", () => {
  it("quotes the real SNS message, audit item and Slack message of a revoke", async () => {
    ec2
      .on(DescribeSecurityGroupsCommand)
      .resolves({ SecurityGroups: [{ GroupId: "sg-0632fa4ee8a8468a4", Tags: [] }] });
    ec2.on(RevokeSecurityGroupIngressCommand).resolves({ Return: true });
    sns.on(PublishCommand).resolves({ MessageId: "m-1" });
    ddb.on(PutCommand).resolves({});
    // A real console capture (2025): tcp 22 opened to 0.0.0.0/0; revoke confirmed 2.4 s later.
    const event = loadFixture(
      "AuthorizeSecurityGroupIngress",
      "detail_assumedrole-console_cidrIp_2025",
    );
    const deps = testDeps({ now: new Date("2025-06-15T10:51:14.400Z") });
    const result = await securityGroupChange(event, deps);
    expect(result).toMatchObject({ status: "decided", result: "revoked" });

    const publish = sns.commandCalls(PublishCommand)[0]?.args[0].input;
    const message = JSON.parse(publish?.Message ?? "{}");
    const attributes = Object.fromEntries(
      Object.entries(publish?.MessageAttributes ?? {}).map(([k, v]) => [k, v.StringValue]),
    );
    // The decision's record (the flap guard's counter is written first, under FLAP#).
    const { claim: _claim, ...item } =
      ddb
        .commandCalls(PutCommand)
        .map((c) => c.args[0].input.Item)
        .find((i) => String(i?.pk).startsWith(AUDIT_KEY_PREFIX.decision)) ?? {};
    const slack = renderSlack(message, publish?.Subject);
    expect(slack.blocks.length).toBeGreaterThan(3);

    const blocks = [
      block("sns-message", {
        Subject: publish?.Subject,
        MessageAttributes: attributes,
        Message: message,
      }),
      block("audit-item", item),
      block("slack-message", slack),
    ];
    const slackBlock = blocks.filter((b) => b.start.includes("slack-message"));
    for (const [file, quoted] of [
      [DOC, blocks],
      [README, slackBlock],
    ] as const) {
      let doc = readFileSync(file, "utf8");
      if (process.env.UPDATE_DOCS === "1") {
        for (const b of quoted) {
          const old = between(doc, b.start, b.end);
          if (old === undefined) throw new Error(`${b.start} missing in ${file}`);
          const current = old === "" ? `${b.start}\n${b.end}` : `${b.start}\n${old}\n${b.end}`;
          doc = doc.replace(current, `${b.start}\n${b.body}\n${b.end}`);
        }
        writeFileSync(file, doc);
      }
      for (const b of quoted) expect(between(doc, b.start, b.end), file).toBe(b.body);
    }
  });
});
