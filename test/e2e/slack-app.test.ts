import { DynamoDBClient, ScanCommand } from "@aws-sdk/client-dynamodb";
import {
  AuthorizeSecurityGroupEgressCommand,
  AuthorizeSecurityGroupIngressCommand,
  CreateSecurityGroupCommand,
  DescribeSecurityGroupRulesCommand,
  DescribeTagsCommand,
  type EC2Client,
} from "@aws-sdk/client-ec2";
import { unmarshall } from "@aws-sdk/util-dynamodb";
import { ACTIONS_BLOCK_ID, SLACK_ACTION_IDS, type SlackMessage } from "@guardrail/core";
import {
  LOCAL_STAGE,
  type LocalSlackApp,
  type LocalStack,
  sandboxPolicyYaml,
  slackLines,
  startLocalStack,
} from "@guardrail/sandbox/local";
import { afterAll, beforeAll, describe, expect, it } from "vitest";

/*
 * The Slack app end to end in the sandbox: the notifier posts with the bot token, a person
 * presses a button in the local Slack, the press is signed as Slack signs it and reaches the
 * endpoint, the worker acts on the sandbox's EC2 and updates the message.
 */

const ALICE = { id: "U0ALICE00", name: "alice" };
const BOB = { id: "U0BOB0000", name: "bob" };
const MALLORY = { id: "U0MALLORY", name: "mallory" };

let stack: LocalStack;
let slack: LocalSlackApp;
let ec2: EC2Client;

beforeAll(async () => {
  const text = `${sandboxPolicyYaml("123456789012")}
slack:
  approvers:
    - { id: ${ALICE.id}, name: alice }
    - { id: S0SECURITY, name: security on-call }
`;
  stack = await startLocalStack({
    policy: { text, source: "slack-app.policy.yaml" },
    slackApp: { userGroups: { S0SECURITY: [BOB.id] } },
    logLevel: "ERROR",
  });
  if (!stack.slackApp) throw new Error("no Slack app");
  slack = stack.slackApp.slack;
  ec2 = stack.developerEc2();
}, 60_000);

afterAll(async () => {
  await stack?.close();
});

async function group(name: string): Promise<string> {
  const out = await ec2.send(
    new CreateSecurityGroupCommand({ GroupName: name, Description: name }),
  );
  return out.GroupId as string;
}

/** A posted message as it reads now, and its buttons. */
function current(ts: string): { now: SlackMessage; buttons: string[] } {
  const now = slack.current(ts) as SlackMessage;
  const buttons = now.blocks.flatMap((b) =>
    b.type === "actions" && b.block_id === ACTIONS_BLOCK_ID
      ? b.elements.map((e) => e.text.text)
      : [],
  );
  return { now, buttons };
}

/** The bot's latest message with buttons about a group, as it reads now. */
function messageAbout(groupId: string): { ts: string; now: SlackMessage; buttons: string[] } {
  const found = [...slack.messages()]
    .reverse()
    .find(
      (m) =>
        JSON.stringify(m.versions[0]).includes(groupId) &&
        m.versions[0]?.blocks.some((b) => b.type === "actions" && b.block_id === ACTIONS_BLOCK_ID),
    );
  if (!found) throw new Error(`no message with buttons about ${groupId}`);
  const now = found.versions.at(-1) as SlackMessage;
  const buttons = now.blocks.flatMap((b) =>
    b.type === "actions" && b.block_id === ACTIONS_BLOCK_ID
      ? b.elements.map((e) => e.text.text)
      : [],
  );
  return { ts: found.ts, now, buttons };
}

async function rules(groupId: string) {
  const out = await ec2.send(
    new DescribeSecurityGroupRulesCommand({ Filters: [{ Name: "group-id", Values: [groupId] }] }),
  );
  return out.SecurityGroupRules ?? [];
}

async function auditItems(type: string): Promise<Record<string, unknown>[]> {
  const ddb = new DynamoDBClient({
    endpoint: stack.endpoints.dynamo,
    region: stack.region,
    credentials: { accessKeyId: "AKIATEST", secretAccessKey: "x" },
  });
  const out = await ddb.send(new ScanCommand({ TableName: stack.tableName }));
  ddb.destroy();
  return (out.Items ?? []).map((i) => unmarshall(i)).filter((i) => i.type === type);
}

describe("the Slack app in the sandbox", { timeout: 60_000 }, () => {
  it("posts with the bot token, buttons included, to the configured channel", async () => {
    const id = await group("slack-posting");
    await ec2.send(
      new AuthorizeSecurityGroupIngressCommand({
        GroupId: id,
        IpPermissions: [
          { IpProtocol: "tcp", FromPort: 8081, ToPort: 8081, IpRanges: [{ CidrIp: "0.0.0.0/0" }] },
        ],
      }),
    );
    await stack.idle();
    const message = messageAbout(id);
    expect(message.buttons).toEqual(["Exempt…", "Acknowledge"]);
    expect(slack.messages().at(-1)?.channel).toBe("C0SANDBOX01");
    expect(stack.ssm.requests().flatMap((r) => r.names)).toContain(
      `/network-guardrail/${LOCAL_STAGE}/slack-bot-token`,
    );
  });

  it("remediates a notify-only finding from the Remediate now button, and nothing else", async () => {
    const id = await group("slack-remediate");
    // A broad egress range covers SMTP: smtp-egress only notifies (whenBroad: notify).
    await ec2.send(
      new AuthorizeSecurityGroupEgressCommand({
        GroupId: id,
        IpPermissions: [
          { IpProtocol: "tcp", FromPort: 0, ToPort: 65535, IpRanges: [{ CidrIp: "0.0.0.0/0" }] },
        ],
      }),
    );
    await stack.idle();
    const before = await rules(id);
    const broad = before.find((r) => r.IsEgress && r.IpProtocol === "tcp" && r.FromPort === 0);
    expect(broad).toBeDefined();
    const message = messageAbout(id);
    expect(message.buttons).toEqual(["Remediate now", "Exempt…", "Acknowledge"]);

    const reply = await slack.press(message.ts, SLACK_ACTION_IDS.remediate, ALICE);
    expect(reply.status).toBe(200);
    await stack.idle();

    const after = await rules(id);
    expect(after.map((r) => r.SecurityGroupRuleId)).not.toContain(broad?.SecurityGroupRuleId);
    // The group's default egress rule (all traffic) also covers SMTP, and was not touched.
    expect(after).toEqual(
      before.filter((r) => r.SecurityGroupRuleId !== broad?.SecurityGroupRuleId),
    );
    const updated = current(message.ts);
    expect(updated.buttons).toEqual([]);
    expect(slackLines(updated.now).join("\n")).toContain(
      `Remediated by <@${ALICE.id}>: revoked: smtp-egress on ${id}`,
    );
    const records = await auditItems("slack-interaction");
    expect(records.filter((r) => r.action === "remediate").map((r) => r.step)).toEqual(
      expect.arrayContaining(["accepted", "done"]),
    );
  });

  it("exempts a revoked rule from the modal; the rule re-authorized is then kept", async () => {
    const id = await group("slack-exempt");
    const open = () =>
      ec2.send(
        new AuthorizeSecurityGroupIngressCommand({
          GroupId: id,
          IpPermissions: [
            {
              IpProtocol: "tcp",
              FromPort: 8080,
              ToPort: 8080,
              IpRanges: [{ CidrIp: "0.0.0.0/0" }],
            },
          ],
        }),
      );
    await open();
    await stack.idle();
    expect(await rules(id)).not.toContainEqual(expect.objectContaining({ FromPort: 8080 }));
    const message = messageAbout(id);
    expect(message.buttons).toEqual(["Exempt…", "Acknowledge"]);

    // Bob is an approver through the security on-call user group.
    expect((await slack.press(message.ts, SLACK_ACTION_IDS.exempt, BOB)).status).toBe(200);
    const modal = slack.views().at(-1);
    expect(modal?.userId).toBe(BOB.id);
    expect(JSON.stringify(modal?.view.blocks)).toContain('"max_value":"30"');
    const tooLong = await slack.submit(BOB.id, { reason: "python demo", days: "31" });
    expect(JSON.parse(tooLong.body)).toMatchObject({ response_action: "errors" });
    expect((await slack.submit(BOB.id, { reason: "python demo", days: "7" })).status).toBe(200);
    await stack.idle();

    const tags = await ec2.send(
      new DescribeTagsCommand({ Filters: [{ Name: "resource-id", Values: [id] }] }),
    );
    const expires = new Date(Date.now() + 7 * 86_400_000).toISOString().slice(0, 10);
    expect(tags.Tags).toContainEqual(
      expect.objectContaining({
        Key: "guardrail-exempt",
        Value: `reason=python demo;expires=${expires};rules=internet-exposure`,
      }),
    );
    const updated = current(message.ts);
    expect(updated.buttons).toEqual([]);
    expect(slackLines(updated.now).join("\n")).toMatch(
      new RegExp(`Exempted by <@${BOB.id}> until \\d{1,2} \\w{3} \\d{4}: python demo`),
    );
    // Announced as an exemption, naming who granted it.
    expect(
      stack
        .notifications()
        .some(
          (n) =>
            n.schema === "guardrail.exemption/v1" &&
            JSON.stringify(n.message).includes("security on-call (Slack U0BOB0000)"),
        ),
    ).toBe(true);

    await open();
    await stack.idle();
    expect(await rules(id)).toContainEqual(
      expect.objectContaining({ FromPort: 8080, CidrIpv4: "0.0.0.0/0" }),
    );
    const last = stack.notifications().at(-1)?.message as {
      result?: string;
      resource?: { id: string };
    };
    expect(last).toMatchObject({ result: "exempt", resource: { id } });
  });

  it("refuses a non-approver's press with 403, records it, and changes nothing", async () => {
    const id = await group("slack-refused");
    await ec2.send(
      new AuthorizeSecurityGroupEgressCommand({
        GroupId: id,
        IpPermissions: [
          { IpProtocol: "tcp", FromPort: 0, ToPort: 65535, IpRanges: [{ CidrIp: "0.0.0.0/0" }] },
        ],
      }),
    );
    await stack.idle();
    const before = await rules(id);
    const message = messageAbout(id);
    const reply = await slack.press(message.ts, SLACK_ACTION_IDS.remediate, MALLORY);
    expect(reply.status).toBe(403);
    await stack.idle();
    expect(await rules(id)).toEqual(before);
    expect(messageAbout(id).buttons).toEqual(["Remediate now", "Exempt…", "Acknowledge"]);
    const refused = (await auditItems("slack-interaction")).filter((r) => r.step === "refused");
    expect(refused).toContainEqual(
      expect.objectContaining({
        refusal: "not-approver",
        user: { id: MALLORY.id, name: MALLORY.name },
        action: "remediate",
      }),
    );
  });

  it("refuses forged, stale and replayed requests with 401 and records each", async () => {
    const id = await group("slack-forged");
    await ec2.send(
      new AuthorizeSecurityGroupEgressCommand({
        GroupId: id,
        IpPermissions: [
          { IpProtocol: "tcp", FromPort: 0, ToPort: 65535, IpRanges: [{ CidrIp: "0.0.0.0/0" }] },
        ],
      }),
    );
    await stack.idle();
    const before = await rules(id);
    const { ts } = messageAbout(id);
    const body = slack.pressBody(ts, SLACK_ACTION_IDS.remediate, ALICE);
    expect((await slack.send(body, { secret: "not-the-signing-secret" })).status).toBe(401);
    const stale = String(Math.floor(Date.now() / 1000) - 600);
    expect((await slack.send(body, { timestamp: stale })).status).toBe(401);
    const acknowledge = slack.pressBody(ts, SLACK_ACTION_IDS.acknowledge, ALICE);
    const timestamp = String(Math.floor(Date.now() / 1000));
    expect((await slack.send(acknowledge, { timestamp })).status).toBe(200);
    expect((await slack.send(acknowledge, { timestamp })).status).toBe(401);
    await stack.idle();
    expect(await rules(id)).toEqual(before);
    const refusals = (await auditItems("slack-interaction"))
      .filter((r) => r.step === "refused")
      .map((r) => r.refusal);
    expect(refusals).toEqual(expect.arrayContaining(["mismatch", "stale", "replayed"]));
    expect(slackLines(current(ts).now).join("\n")).toContain(`Acknowledged by <@${ALICE.id}>`);
  });
});
