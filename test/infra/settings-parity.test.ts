import {
  ConfigurationError,
  DEFAULT_POLICY_YAML,
  FUNCTION_ENV,
  loadPolicy,
  NOTIFIERS,
  notifierEnabled,
  SECURITY_HUB_FUNCTION_ENV,
  SLACK_APP_ENV,
} from "@guardrail/core";
import { loadConfig, loadSlackConfig, securityHubSetting } from "@guardrail/functions/config";
import { loadSlackAppConfig } from "@guardrail/functions/slack-app-config";
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { DEPLOY_ENV, readDeploySettings } from "../../stacks/settings";
import { readSlackAppSettings, SLACK_APP_DEPLOY_ENV } from "../../stacks/slack-app-settings";

/**
 * A variable the deploy writes is read again by a function at cold start: for the same value,
 * the deploy (`stacks/`) and the function (`functions/src/`) must give the same verdict, so that
 * nothing the deploy accepted stops a cold start and nothing a function refuses is deployed.
 */

type Verdict = { ok: unknown } | { refused: true };

function verdict(read: () => unknown): Verdict {
  try {
    return { ok: read() };
  } catch (error) {
    if (!(error instanceof ConfigurationError)) throw error;
    return { refused: true };
  }
}

/** The functions' required settings, and the default policy read as source text. */
const FUNCTION_BASE = {
  [FUNCTION_ENV.tableName]: "guardrail-audit",
  [FUNCTION_ENV.topicArn]: "arn:aws:sns:us-east-1:123456789012:guardrail",
};
const POLICY = loadPolicy(DEFAULT_POLICY_YAML);
const FILES = { exists: () => false, read: () => "", handlerDirs: [], parseSource: () => POLICY };

const TOKEN = "/network-guardrail/dev/slack-bot-token";
const CHANNEL = "C0123ABCD";

/** The deploy's Slack-app settings, switched on in CHANNEL, with `env` on top. */
const slackAppDeploy = (env: Record<string, string>) =>
  readSlackAppSettings("dev", {
    [SLACK_APP_DEPLOY_ENV.enabled]: "on",
    [SLACK_APP_DEPLOY_ENV.channel]: CHANNEL,
    ...env,
  });

/** Each setting: how the deploy reads a value, and how a function reads the same value. */
const SETTINGS: Record<
  string,
  { deploy: (value: string) => unknown; fn: (value: string) => unknown; samples: string[] }
> = {
  "sweep rate": {
    deploy: (v) =>
      readDeploySettings("dev", { [DEPLOY_ENV.sweepRateMinutes]: v }, "1").sweepRateMinutes,
    fn: (v) =>
      loadConfig("sweep", { ...FUNCTION_BASE, [FUNCTION_ENV.sweepRateMinutes]: v }, FILES)
        .sweepRateMinutes,
    samples: ["0", "1", "4", "5", "15", "1440", "1441", "15.5", "ten", " 30 ", "-5", "1e1"],
  },
  "Security Hub switch": {
    deploy: (v) =>
      readDeploySettings("dev", { [SECURITY_HUB_FUNCTION_ENV.enabled]: v }, "1").securityHub,
    fn: (v) => securityHubSetting({ [SECURITY_HUB_FUNCTION_ENV.enabled]: v }),
    samples: ["on", "OFF", "true", "0", "1", "yes", "enabled", " on "],
  },
  "Slack webhook parameter": {
    deploy: (v) =>
      readDeploySettings("dev", { [DEPLOY_ENV.slackWebhookParameter]: v }, "1")
        .slackWebhookParameter,
    fn: (v) => loadSlackConfig({ [NOTIFIERS.slack.secret.env]: v }).webhookParameter,
    samples: [
      "/team/slack",
      "slack",
      "/aws/reserved",
      "ssm-x",
      "team/slack",
      `/${"a".repeat(1010)}`,
      `/${"a".repeat(1011)}`,
      "https://hooks.slack.com/services/T/B/x",
    ],
  },
  "Slack channel": {
    deploy: (v) => slackAppDeploy({ [SLACK_APP_DEPLOY_ENV.channel]: v })?.channel,
    fn: (v) =>
      loadSlackAppConfig({ [SLACK_APP_ENV.tokenParameter]: TOKEN, [SLACK_APP_ENV.channel]: v })
        ?.channel,
    samples: ["C0123ABCD", "G0123ABCD", "D0123ABCD", "U0123ABCD", "#alerts", "c0123", "C"],
  },
  "Slack bot token parameter": {
    deploy: (v) => slackAppDeploy({ [SLACK_APP_DEPLOY_ENV.tokenParameter]: v })?.tokenParameter,
    fn: (v) => loadSlackAppConfig({ [SLACK_APP_ENV.tokenParameter]: v })?.tokenParameter,
    samples: ["/team/token", "/aws/token", "xoxb-1-2-3", "team/token", "/a b"],
  },
  "Slack signing secret parameter": {
    deploy: (v) =>
      slackAppDeploy({ [SLACK_APP_DEPLOY_ENV.signingSecretParameter]: v })?.signingSecretParameter,
    fn: (v) =>
      loadSlackAppConfig({
        [SLACK_APP_ENV.tokenParameter]: TOKEN,
        [SLACK_APP_ENV.signingSecretParameter]: v,
      })?.signingSecretParameter,
    samples: ["/team/signing", "/SSM/signing", "8f742231b10e8888abcd99yyyzzz85a5", "a/b"],
  },
};

/** Values near every rule's edges, and arbitrary text; blank values are each side's default. */
const VALUE = fc
  .oneof(
    fc.constantFrom(...Object.values(SETTINGS).flatMap((s) => s.samples)),
    fc.integer({ min: -10, max: 2000 }).map(String),
    fc.stringMatching(/^\/?[A-Za-z0-9_.\-/ :#@]{1,40}$/),
    fc.string({ minLength: 1, maxLength: 20 }),
  )
  .filter((v) => v.trim() !== "");

describe("one rule per setting, for the deploy and the functions", () => {
  it("gives the same variable name on both sides", () => {
    expect(DEPLOY_ENV.sweepRateMinutes).toBe(FUNCTION_ENV.sweepRateMinutes);
    expect(DEPLOY_ENV.slackWebhookParameter).toBe(NOTIFIERS.slack.secret.env);
    expect(SLACK_APP_DEPLOY_ENV.channel).toBe(SLACK_APP_ENV.channel);
    expect(SLACK_APP_DEPLOY_ENV.tokenParameter).toBe(SLACK_APP_ENV.tokenParameter);
    expect(SLACK_APP_DEPLOY_ENV.signingSecretParameter).toBe(SLACK_APP_ENV.signingSecretParameter);
  });

  describe.each(Object.entries(SETTINGS))("%s", (_, { deploy, fn, samples }) => {
    it.each(samples)("gives one verdict for %j", (value) => {
      expect(verdict(() => fn(value))).toEqual(verdict(() => deploy(value)));
    });

    it("gives one verdict for any value", () => {
      fc.assert(
        fc.property(VALUE, (value) => {
          expect(verdict(() => fn(value))).toEqual(verdict(() => deploy(value)));
        }),
        { numRuns: 200 },
      );
    });
  });

  it("accepts and refuses on both sides (the samples are not all one verdict)", () => {
    for (const [name, { deploy, samples }] of Object.entries(SETTINGS)) {
      const verdicts = samples.map((v) => "ok" in verdict(() => deploy(v)));
      expect({ name, accepts: verdicts.includes(true) }).toEqual({ name, accepts: true });
      expect({ name, refuses: verdicts.includes(false) }).toEqual({ name, refuses: true });
    }
  });

  it.each(["on", "ON", "true", "1", "off", "False", "0", "", "yes"])(
    "turns a notifier on exactly when its deploy setting reads %j as on",
    (value) => {
      const hub = { [SECURITY_HUB_FUNCTION_ENV.enabled]: value };
      expect(verdict(() => notifierEnabled(NOTIFIERS["security-hub"], hub))).toEqual(
        verdict(() => readDeploySettings("dev", hub, "1").securityHub),
      );
      const app = {
        [SLACK_APP_DEPLOY_ENV.enabled]: value,
        [SLACK_APP_DEPLOY_ENV.channel]: CHANNEL,
      };
      expect(verdict(() => notifierEnabled(NOTIFIERS["slack-app"], app))).toEqual(
        verdict(() => readSlackAppSettings("dev", app) !== null),
      );
    },
  );
});
