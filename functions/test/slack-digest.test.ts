import "./setup";
import { ConfigurationError } from "@guardrail/core";
import { describe, expect, it } from "vitest";
import { slackFoldingSettings, windowOf } from "../src/pipelines/slack-digest";

describe("Slack folding settings", () => {
  it("defaults to 20 per minute and refuses what is not a whole number", () => {
    expect(slackFoldingSettings(undefined)).toEqual({ maxPerWindow: 20, windowSeconds: 60 });
    expect(slackFoldingSettings("5")).toEqual({ maxPerWindow: 5, windowSeconds: 60 });
    expect(() => slackFoldingSettings("0")).toThrow(ConfigurationError);
    expect(() => slackFoldingSettings("lots")).toThrow(/GUARDRAIL_SLACK_MAX_PER_MINUTE/);
  });

  it("puts a time in the minute it falls in", () => {
    expect(windowOf(Date.UTC(2025, 0, 1, 0, 0, 59, 999), 60)).toBe(Date.UTC(2025, 0, 1) / 1000);
  });
});
