import { documentClient } from "@guardrail/aws/dynamo-client";
import { createSlackWindowCounter } from "@guardrail/aws/slack-counter";
import { FUNCTION_ENV, RELIABILITY_ENV } from "@guardrail/core";
import type { Env } from "../config";
import { type SlackFolding, slackFoldingSettings } from "./slack-digest";

const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

/**
 * Production folding: the counters live in the audit table (GUARDRAIL_TABLE_NAME); without a
 * table the notifier posts every message. @throws ConfigurationError for a bad rate setting
 */
export function slackFoldingFromEnv(env: Env): { folding?: SlackFolding } {
  const table = env[FUNCTION_ENV.tableName]?.trim();
  const settings = slackFoldingSettings(env[RELIABILITY_ENV.slackMaxPerMinute]);
  if (!table) return {};
  return {
    folding: {
      counter: createSlackWindowCounter(table, documentClient()),
      ...settings,
      now: Date.now,
      sleep,
    },
  };
}
