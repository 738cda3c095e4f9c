import type { SlackMessage } from "@guardrail/core";
import { errorMessage, SlackDeliveryError } from "../errors";

/** Posts messages to a Slack incoming webhook. */
export interface SlackPoster {
  /** @throws SlackDeliveryError when Slack refuses or does not answer, so that SNS retries. */
  post(message: SlackMessage): Promise<void>;
}

export type Fetch = (url: string, init: RequestInit) => Promise<Response>;

/**
 * The Slack adapter. The URL is a secret: errors name the status, never the URL. `webhook` is
 * the URL or where to read it (`createWebhookSource`), asked on every post so its cache decides
 * when SSM is read again.
 */
export function createSlackPoster(
  webhook: string | (() => Promise<string>),
  fetchImpl: Fetch = fetch,
  timeoutMs = 5000,
): SlackPoster {
  const url = typeof webhook === "string" ? async () => webhook : webhook;
  return {
    async post(message) {
      const webhookUrl = await url();
      let response: Response;
      try {
        response = await fetchImpl(webhookUrl, {
          method: "POST",
          headers: { "content-type": "application/json" },
          body: JSON.stringify(message),
          signal: AbortSignal.timeout(timeoutMs),
        });
      } catch (error) {
        throw new SlackDeliveryError(
          null,
          `Slack webhook unreachable: ${errorMessage(error, 200)}`,
          {
            cause: error,
          },
        );
      }
      const body = await response.text().catch(() => "");
      if (!response.ok) {
        throw new SlackDeliveryError(
          response.status,
          `Slack webhook answered ${response.status}: ${body.slice(0, 200)}`,
        );
      }
    },
  };
}
