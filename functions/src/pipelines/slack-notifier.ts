import { createSlackPoster, type SlackPoster } from "@guardrail/aws/slack";
import { InvalidEventError, renderSlack, type SlackMessage } from "@guardrail/core";
import type { Context, SNSEvent } from "aws-lambda";
import { type Env, loadSlackConfig, type SlackConfig } from "../config";
import type { DepsOptions } from "../deps";
import { type Observability, withObservability } from "../middleware";
import { createObservability } from "../observability";
import { slackAppNotifier } from "./slack-app-notifier";
import { deliver, type SlackFolding } from "./slack-digest";
import { slackFoldingFromEnv } from "./slack-folding-env";

export interface SlackNotifierDeps extends Observability {
  readonly config: SlackConfig;
  readonly slack: SlackPoster;
  /** Folding above the rate limit (see `deliver`); absent: every message is posted. */
  readonly folding?: SlackFolding;
  /** How a message becomes Block Kit: `renderSlack`, or the app's with buttons (slack-app.ts). */
  readonly render?: (body: unknown, subject?: string) => SlackMessage;
}

function isSnsEvent(event: unknown): event is SNSEvent {
  const records = (event as { Records?: unknown } | null)?.Records;
  return Array.isArray(records) && records.every((r) => typeof r?.Sns?.Message === "string");
}

/**
 * slack-notifier: each SNS message of the guardrail's topic → Block Kit → the webhook. A Slack
 * failure throws, so SNS retries the delivery; remediation never waits for Slack (it is a
 * separate subscriber of the topic).
 */
export async function slackNotify(
  event: unknown,
  deps: SlackNotifierDeps,
): Promise<{ posted: number; folded: number }> {
  if (!isSnsEvent(event)) throw new InvalidEventError("Records", "expected an SNS event");
  let posted = 0;
  let folded = 0;
  for (const record of event.Records) {
    const text = record.Sns.Message;
    let body: unknown = text;
    try {
      body = JSON.parse(text);
    } catch {
      // Not every message on the topic is JSON (a test publish from the console): sent as text.
    }
    const message = (deps.render ?? renderSlack)(body, record.Sns.Subject ?? undefined);
    const delivery = await deliver(body, message, deps);
    if (delivery === "folded") {
      folded++;
      deps.logger.info("folded into the digest", { messageId: record.Sns.MessageId });
      continue;
    }
    posted++;
    deps.logger.info("posted to Slack", {
      messageId: record.Sns.MessageId,
      blocks: message.blocks.length,
    });
  }
  return { posted, folded };
}

/**
 * Production wiring: the webhook URL from its SSM SecureString parameter, read at cold start
 * (the read starts here, before the first event) and kept in Powertools Parameters' cache. Only
 * the parameter's name is logged. The SSM client loads in the background (its own chunk), so
 * the module's init does not load it; the first post waits for the read.
 */
export function defaultSlackNotifierDeps(
  env: Env = process.env,
  options: Pick<DepsOptions, "aws" | "observability"> = {},
): SlackNotifierDeps {
  const observability = options.observability ?? createObservability("slack-notifier", env);
  const app = slackAppNotifier(env, observability.logger);
  if (app !== null) return { ...observability, ...app, ...slackFoldingFromEnv(env) };
  const config = loadSlackConfig(env);
  observability.logger.info("configuration loaded", {
    webhookParameter: config.webhookParameter,
    stage: config.stage,
  });
  const source = import("@guardrail/aws/parameters").then(({ createWebhookSource }) =>
    createWebhookSource(config.webhookParameter, options.aws ? { aws: options.aws } : {}),
  );
  const webhook = async () => (await source)();
  // A failed first read is reported by the first post (which reads again), not here.
  webhook().catch(() => undefined);
  return {
    ...observability,
    config,
    slack: createSlackPoster(webhook),
    ...slackFoldingFromEnv(env),
  };
}

/** The slack-notifier Lambda handler, built from its dependencies. */
export function createSlackNotifierHandler(deps: SlackNotifierDeps) {
  return withObservability((event: unknown, _context: Context) => slackNotify(event, deps), deps);
}
