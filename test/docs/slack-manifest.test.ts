import { readFileSync } from "node:fs";
import { join } from "node:path";
import {
  SLACK_APP_OUTPUT,
  SLACK_INTERACTIONS_PATH,
  SLACK_WEB_API_SCOPES,
  slackBotScopes,
} from "@guardrail/core";
import { describe, expect, it } from "vitest";
import { parse } from "yaml";

const ROOT = join(import.meta.dirname, "..", "..");
const doc = readFileSync(join(ROOT, "docs", "slack.md"), "utf8");

/** The YAML block under `## The app manifest`. */
// biome-ignore lint/suspicious/noExplicitAny: a parsed manifest is arbitrary YAML.
function manifest(): Record<string, any> {
  const section = doc.slice(doc.indexOf("## The app manifest"));
  const block = /```yaml\n([\s\S]*?)```/.exec(section);
  if (!block?.[1]) throw new Error("docs/slack.md has no manifest");
  return parse(block[1]);
}

describe("the Slack app manifest in docs/slack.md", () => {
  it("asks for exactly the bot scopes of the Web API methods the guardrail calls", () => {
    expect([...manifest().oauth_config.scopes.bot].sort()).toEqual(slackBotScopes());
    // The methods the adapter calls are the ones the scopes are derived from.
    const adapter = readFileSync(join(ROOT, "packages", "aws", "src", "slack-web.ts"), "utf8");
    const called = [...adapter.matchAll(/call\("([\w.]+)"/g)].map((m) => m[1]).sort();
    expect(called).toEqual(Object.keys(SLACK_WEB_API_SCOPES).sort());
  });

  it("sends interactions to the endpoint's path, and subscribes to no events", () => {
    const m = manifest();
    expect(m.settings.interactivity.is_enabled).toBe(true);
    expect(new URL(m.settings.interactivity.request_url).pathname).toBe(SLACK_INTERACTIONS_PATH);
    // Interactions only: the endpoint refuses anything else, so no event would be handled.
    expect(m.settings.event_subscriptions).toBeUndefined();
    expect(m.settings.socket_mode_enabled).toBe(false);
    expect(m.features.bot_user.display_name).toBeTruthy();
    expect(doc).toContain(SLACK_APP_OUTPUT);
  });

  it("documents every deploy setting of the app", async () => {
    const { SLACK_APP_DEPLOY_ENV } = await import("../../stacks/slack-app-settings");
    for (const name of Object.values(SLACK_APP_DEPLOY_ENV)) expect(doc).toContain(`\`${name}\``);
  });
});
