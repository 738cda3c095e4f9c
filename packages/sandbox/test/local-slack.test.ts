import { renderSlack } from "@guardrail/core";
import { afterEach, describe, expect, it } from "vitest";
import {
  plainSlackText,
  type SlackReceiver,
  slackLines,
  startSlackReceiver,
} from "../src/local/index";

let slack: SlackReceiver | undefined;

afterEach(async () => {
  await slack?.close();
  slack = undefined;
});

const post = (url: string, body: string) =>
  fetch(url, { method: "POST", headers: { "content-type": "application/json" }, body });

describe("the local Slack webhook", () => {
  it("answers 200 ok to a message and records it with its readable lines", async () => {
    slack = await startSlackReceiver();
    const message = renderSlack("a plain text message", "[guardrail] test");
    const res = await post(slack.url, JSON.stringify(message));
    expect([res.status, await res.text()]).toEqual([200, "ok"]);
    const [received] = slack.messages();
    expect(received?.message).toEqual(message);
    expect(received?.lines[0]).toBe("[guardrail] test");
    expect(received?.path).toMatch(/^\/services\/T\w+\/B\w+\//);
  });

  it("answers 400 to a body Slack would reject, and records nothing", async () => {
    slack = await startSlackReceiver();
    expect((await post(slack.url, "not json")).status).toBe(400);
    expect(await (await post(slack.url, '{"blocks":[]}')).text()).toBe("no_text");
    expect(slack.messages()).toEqual([]);
  });

  it("fails the next posts on request, as a Slack outage would", async () => {
    slack = await startSlackReceiver();
    slack.failNext(1, 503);
    const body = JSON.stringify({ text: "hi", blocks: [] });
    expect((await post(slack.url, body)).status).toBe(503);
    expect((await post(slack.url, body)).status).toBe(200);
    expect(slack.messages()).toHaveLength(1);
  });
});

describe("slackLines", () => {
  it("reads header, sections, fields and context as plain text", () => {
    expect(
      slackLines({
        text: "fallback",
        blocks: [
          { type: "header", text: { type: "plain_text", text: ":white_check_mark: Revoked" } },
          { type: "section", text: { type: "mrkdwn", text: "*What:* `tcp 22` &lt;x&gt;\n\n" } },
          { type: "section", fields: [{ type: "mrkdwn", text: "*By:*\nalice" }] },
          { type: "divider" },
          { type: "context", elements: [{ type: "mrkdwn", text: "id 1 &amp; 2" }] },
        ],
      }),
    ).toEqual(["✅ Revoked", "What: tcp 22 <x>", "By: alice", "id 1 & 2"]);
  });

  it("falls back to the text when there are no blocks", () => {
    expect(slackLines({ text: "just *text*", blocks: [] })).toEqual(["just text"]);
  });

  it("leaves unknown emoji codes as they are", () => {
    expect(plainSlackText(":tada: done")).toBe(":tada: done");
  });
});
