import type { SlackPoster } from "@guardrail/aws";
import { SlackApiError, type SlackWebApi } from "@guardrail/aws";
import type { SlackMessage } from "@guardrail/core";
import { describe, expect, it } from "vitest";
import { createSlackBotPoster } from "../src/pipelines/slack-app-notifier";

const MESSAGE: SlackMessage = { text: "t", blocks: [] };

function api(fail: Error | null): SlackWebApi & { posted: string[] } {
  const posted: string[] = [];
  return {
    posted,
    async postMessage(channel) {
      if (fail) throw fail;
      posted.push(channel);
      return { channel, ts: "1.1" };
    },
    update: async () => undefined,
    openView: async () => undefined,
    userGroupMembers: async () => [],
  };
}
function webhook(): SlackPoster & { count: number } {
  const w = {
    count: 0,
    async post() {
      w.count++;
    },
  };
  return w;
}

describe("the bot poster", () => {
  it("posts with chat.postMessage to the channel", async () => {
    const a = api(null);
    const w = webhook();
    await createSlackBotPoster(a, "C0ALERTS", w).post(MESSAGE);
    expect(a.posted).toEqual(["C0ALERTS"]);
    expect(w.count).toBe(0);
  });

  it("falls back to the webhook when Slack says the bot cannot post", async () => {
    for (const error of ["invalid_auth", "token_revoked", "not_in_channel", "channel_not_found"]) {
      const w = webhook();
      await createSlackBotPoster(
        api(new SlackApiError("chat.postMessage", 200, error)),
        "C1",
        w,
      ).post(MESSAGE);
      expect(w.count, error).toBe(1);
    }
  });

  it("throws, for SNS to retry, what a retry may fix, and whatever there is no webhook for", async () => {
    const w = webhook();
    const limited = new SlackApiError("chat.postMessage", 429, "ratelimited");
    await expect(createSlackBotPoster(api(limited), "C1", w).post(MESSAGE)).rejects.toBe(limited);
    expect(w.count).toBe(0);
    const revoked = new SlackApiError("chat.postMessage", 200, "token_revoked");
    await expect(createSlackBotPoster(api(revoked), "C1", null).post(MESSAGE)).rejects.toBe(
      revoked,
    );
  });
});
