import { SLACK_DIGEST, type SlackMessage } from "@guardrail/core";
import { errorMessage, SlackDeliveryError } from "./errors";

/** Posts messages to a Slack incoming webhook. */
export interface SlackPoster {
  /** @throws SlackDeliveryError when Slack refuses or does not answer, so that SNS retries. */
  post(message: SlackMessage): Promise<void>;
}

export type Fetch = (url: string, init: RequestInit) => Promise<Response>;

/** How the poster retries inside one invocation (Slack's 429 `Retry-After`). */
export interface SlackRetryOptions {
  /** Attempts of one message (default SLACK_DIGEST.postAttempts). */
  readonly attempts?: number;
  /** The longest total wait for `Retry-After` before giving up (SNS then retries). */
  readonly maxWaitMs?: number;
  readonly sleep?: (ms: number) => Promise<void>;
}

const sleeping = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

/**
 * Seconds of an HTTP `Retry-After` header (delta-seconds or an HTTP date), in ms; 1 s when absent
 * or unreadable (Slack's limit is about one message per second).
 */
export function retryAfterMs(header: string | null, now = Date.now()): number {
  if (header === null || header.trim() === "") return 1000;
  const seconds = Number(header);
  if (Number.isFinite(seconds) && seconds >= 0) return Math.ceil(seconds * 1000);
  const date = Date.parse(header);
  return Number.isNaN(date) ? 1000 : Math.max(0, date - now);
}

/**
 * The Slack adapter. The URL is a secret: errors name the status, never the URL. `webhook` is
 * the URL or where to read it (`createWebhookSource`), asked on every post so its cache decides
 * when SSM is read again.
 *
 *
 * A 429 waits as long as Slack's `Retry-After` says and tries again, up to `attempts` and
 * `maxWaitMs` in all; beyond that, and for any other refusal (a 5xx: Slack is down), the error is
 * thrown so that SNS's asynchronous invocation retries the message a minute later, rather than
 * the invocation spending its timeout asleep.
 */
export function createSlackPoster(
  webhook: string | (() => Promise<string>),
  fetchImpl: Fetch = fetch,
  timeoutMs = 5000,
  retry: SlackRetryOptions = {},
): SlackPoster {
  const attempts = retry.attempts ?? SLACK_DIGEST.postAttempts;
  const maxWaitMs = retry.maxWaitMs ?? SLACK_DIGEST.maxRetryAfterWaitMs;
  const sleep = retry.sleep ?? sleeping;

  const url = typeof webhook === "string" ? async () => webhook : webhook;

  async function once(message: SlackMessage): Promise<{ wait: number } | null> {
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
      throw new SlackDeliveryError(null, `Slack webhook unreachable: ${errorMessage(error, 200)}`, {
        cause: error,
      });
    }
    const body = await response.text().catch(() => "");
    if (response.ok) return null;
    const error = new SlackDeliveryError(
      response.status,
      `Slack webhook answered ${response.status}: ${body.slice(0, 200)}`,
    );
    if (response.status === 429) {
      return Object.assign(error, { wait: retryAfterMs(response.headers.get("retry-after")) });
    }
    throw error;
  }

  return {
    async post(message) {
      let waited = 0;
      for (let attempt = 1; ; attempt++) {
        const refused = await once(message);
        if (refused === null) return;
        if (attempt >= attempts || waited + refused.wait > maxWaitMs) throw refused;
        waited += refused.wait;
        await sleep(refused.wait);
      }
    },
  };
}
