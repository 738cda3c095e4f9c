import { LookupFailedError, NotifyError, SlackDeliveryError } from "@guardrail/aws";
import "../../functions/test/setup";
import { RemediationFailedError } from "@guardrail/functions";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { startWorld, type World } from "./harness";

let world: World;

beforeAll(async () => {
  world = await startWorld();
});

afterEach(() => {
  world.sandbox.faults.clear();
  world.sns.failNext(0);
  world.slack.answer(200);
});

afterAll(async () => {
  await world.close();
});

const severityOf = (p: { attributes: Record<string, { value: string }> }) =>
  p.attributes.severity?.value;
const resultOf = (p: { attributes: Record<string, { value: string }> }) =>
  p.attributes.result?.value;

describe("EC2 throttling and server errors", () => {
  it("retries RequestLimitExceeded (503) on the revoke, then revokes", async () => {
    const { groupId, ruleId, event, eventId } = await world.openSsh("throttled");
    world.sandbox.resetCallCounts();
    world.sandbox.faults.set("RevokeSecurityGroupIngress", { throttleNext: 2 });
    const result = await world.handlers()["security-group-change"]?.(event);
    expect(result).toMatchObject({ status: "decided", result: "revoked" });
    expect(world.sandbox.calls("RevokeSecurityGroupIngress")).toBe(3);
    expect(world.isOpen(groupId, ruleId)).toBe(false);
    expect(world.messagesAbout(eventId).map(resultOf)).toEqual(["revoked"]);
  });

  it("retries 503 Unavailable on the tag look-up and on the revoke, then revokes", async () => {
    const { groupId, ruleId, event } = await world.openSsh("unavailable");
    world.sandbox.resetCallCounts();
    world.sandbox.faults.set("DescribeSecurityGroups", { errorNext: 1, error: "Unavailable" });
    world.sandbox.faults.set("RevokeSecurityGroupIngress", { errorNext: 2, error: "Unavailable" });
    const result = await world.handlers()["security-group-change"]?.(event);
    expect(result).toMatchObject({ result: "revoked" });
    expect(world.sandbox.callCounts()).toEqual({
      DescribeSecurityGroups: 2,
      RevokeSecurityGroupIngress: 3,
    });
    expect(world.isOpen(groupId, ruleId)).toBe(false);
  });
});

describe("permanent EC2 failure", () => {
  it("alerts critical, records the failure and throws on every attempt, so the event reaches the DLQ", async () => {
    const { groupId, ruleId, event, eventId } = await world.openSsh("broken");
    world.sandbox.faults.set("RevokeSecurityGroupIngress", { errorRate: 1 });
    const routed = await world.router().dispatch(event);

    expect(routed.targets).toEqual(["security-group-change"]);
    // EventBridge's attempts all failed: after its retries the event goes to the DLQ.
    expect(routed.invocations).toHaveLength(3);
    for (const i of routed.invocations) expect(i.error).toBeInstanceOf(RemediationFailedError);
    expect(world.isOpen(groupId, ruleId)).toBe(true);
    // One critical alert, not one per attempt.
    const messages = world.messagesAbout(eventId);
    expect(messages.map((m) => [severityOf(m), resultOf(m)])).toEqual([["critical", "failed"]]);
    const items = await world.auditItems(eventId);
    expect(items.map((i) => i.result)).toEqual(["failed"]);

    // Redriven from the DLQ once EC2 answers again: revoked, and the resolution is announced.
    world.sandbox.faults.clear();
    await world.handlers()["security-group-change"]?.(event);
    expect(world.isOpen(groupId, ruleId)).toBe(false);
    expect(world.messagesAbout(eventId).map(resultOf)).toEqual(["failed", "revoked"]);
    expect((await world.auditItems(eventId)).map((i) => i.result)).toEqual(["revoked"]);
  });

  it("never revokes blind when the tag look-up fails: the invocation fails and is retried", async () => {
    // tcp 8080 from the world: its only finding (internet-exposure) may be waived by a tag, so
    // the tags decide the revoke. (SSH is revoked first whatever the tags say: admin-ports is
    // not tag-exemptable, and the tags are read after it only for the report.)
    const { groupId, ruleId, event, eventId } = await world.openSsh("no-tags", 8080);
    world.sandbox.faults.set("DescribeSecurityGroups", { errorRate: 1 });
    const routed = await world.router().dispatch(event);
    expect(routed.invocations).toHaveLength(3);
    for (const i of routed.invocations) expect(i.error).toBeInstanceOf(LookupFailedError);
    expect(world.isOpen(groupId, ruleId)).toBe(true);
    expect(world.messagesAbout(eventId)).toEqual([]);
  });
});

describe("SNS down", () => {
  it("still revokes and records, surfaces the error, and announces on the retry", async () => {
    const { groupId, ruleId, event, eventId } = await world.openSsh("sns-down");
    world.sns.failNext(1_000);
    const handlers = world.handlers();
    await expect(handlers["security-group-change"]?.(event)).rejects.toBeInstanceOf(NotifyError);
    expect(world.isOpen(groupId, ruleId)).toBe(false);
    const items = await world.auditItems(eventId);
    expect(items.map((i) => [i.result, i.notification])).toEqual([["revoked", "failed"]]);
    expect(world.messagesAbout(eventId)).toEqual([]);

    // EventBridge's retry, once SNS is back: nothing to revoke, the message goes out once.
    world.sns.failNext(0);
    await handlers["security-group-change"]?.(event);
    expect(world.messagesAbout(eventId).map(resultOf)).toEqual(["revoked"]);
    expect((await world.auditItems(eventId)).map((i) => i.result)).toEqual(["revoked"]);
    expect(world.revokeEvents(groupId)).toHaveLength(1);
  });
});

describe("Slack down", () => {
  it("loses nothing: the notifier fails, SNS delivers again, the message arrives once Slack is back", async () => {
    const { groupId, ruleId, event, eventId } = await world.openSsh("slack-down");
    await world.handlers()["security-group-change"]?.(event);
    expect(world.isOpen(groupId, ruleId)).toBe(false);
    const [publish] = world.messagesAbout(eventId);
    expect(publish).toBeDefined();

    world.slack.answer(503);
    world.slack.posts.length = 0;
    const notify = world.slackHandler();
    const snsEvent = world.snsEventOf(publish as NonNullable<typeof publish>);
    // SNS invokes the notifier asynchronously: Lambda retries a failed invocation twice.
    const attempts: unknown[] = [];
    for (let attempt = 1; attempt <= 3; attempt++) {
      try {
        await notify(snsEvent);
        attempts.push("ok");
        break;
      } catch (error) {
        attempts.push(error);
        world.slack.answer(200); // Slack comes back before the retry
      }
    }
    expect(attempts[0]).toBeInstanceOf(SlackDeliveryError);
    expect(attempts[1]).toBe("ok");
    // The failed post and the delivered one carry the same message.
    expect(world.slack.posts).toHaveLength(2);
    expect(world.slack.posts[1]?.body).toEqual(world.slack.posts[0]?.body);
    expect(JSON.stringify(world.slack.posts[1]?.body)).toContain(groupId);
    // Remediation never waited for Slack.
    expect((await world.auditItems(eventId)).map((i) => i.result)).toEqual(["revoked"]);
  });
});
