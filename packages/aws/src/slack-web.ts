import {
  SLACK_API_URL,
  SLACK_DIGEST,
  type SlackMessage,
  type SlackMessageRef,
  type SlackModalView,
  type SlackWebApiMethod,
} from "@guardrail/core";
import { errorMessage, SlackDeliveryError } from "./errors";
import { type Fetch, retryAfterMs, type SlackRetryOptions } from "./slack";

/** The Slack Web API methods the guardrail calls with its bot token, and nothing else. */
export interface SlackWebApi {
  /** @returns where the message is, so that it can be updated later. */
  postMessage(channel: string, message: SlackMessage): Promise<SlackMessageRef>;
  update(at: SlackMessageRef, message: SlackMessage): Promise<void>;
  /** Opens a modal; the trigger id of a press is valid for 3 seconds and for one view. */
  openView(triggerId: string, view: SlackModalView): Promise<void>;
  /** Member ids of a user group (to match `slack.approvers` group entries). */
  userGroupMembers(groupId: string): Promise<string[]>;
}

/** Slack answered `ok: false`; `error` is Slack's error name (`invalid_auth`, `channel_not_found`). */
export class SlackApiError extends SlackDeliveryError {
  readonly error: string;
  readonly method: SlackWebApiMethod;
  constructor(method: SlackWebApiMethod, status: number, error: string) {
    super(status, `Slack ${method} answered ${error}`);
    this.error = error;
    this.method = method;
  }
}

const sleeping = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

/**
 * The Slack Web API adapter: JSON bodies, the token as a Bearer header (never logged, never in
 * an error). `token` is asked on every call so that its source's cache decides when SSM is read
 * again. A 429 waits `Retry-After` (within `maxWaitMs`) and tries again; `ok: false` is thrown as
 * SlackApiError; a 5xx or no answer as SlackDeliveryError.
 */
export function createSlackWebApi(options: {
  readonly token: () => Promise<string>;
  readonly apiUrl?: string;
  readonly fetch?: Fetch;
  readonly timeoutMs?: number;
  readonly retry?: SlackRetryOptions;
}): SlackWebApi {
  const base = (options.apiUrl ?? SLACK_API_URL).replace(/\/+$/, "");
  const fetchImpl = options.fetch ?? fetch;
  const timeoutMs = options.timeoutMs ?? 5000;
  const attempts = options.retry?.attempts ?? SLACK_DIGEST.postAttempts;
  const maxWaitMs = options.retry?.maxWaitMs ?? SLACK_DIGEST.maxRetryAfterWaitMs;
  const sleep = options.retry?.sleep ?? sleeping;

  async function call(
    method: SlackWebApiMethod,
    body: Record<string, unknown>,
  ): Promise<Record<string, unknown>> {
    let waited = 0;
    for (let attempt = 1; ; attempt++) {
      const token = await options.token();
      let response: Response;
      try {
        response = await fetchImpl(`${base}/${method}`, {
          method: "POST",
          headers: {
            "content-type": "application/json; charset=utf-8",
            authorization: `Bearer ${token}`,
          },
          body: JSON.stringify(body),
          signal: AbortSignal.timeout(timeoutMs),
        });
      } catch (error) {
        throw new SlackDeliveryError(
          null,
          `Slack ${method} unreachable: ${errorMessage(error, 200)}`,
          {
            cause: error,
          },
        );
      }
      const text = await response.text().catch(() => "");
      if (response.status === 429) {
        const wait = retryAfterMs(response.headers.get("retry-after"));
        if (attempt >= attempts || waited + wait > maxWaitMs) {
          throw new SlackApiError(method, 429, "ratelimited");
        }
        waited += wait;
        await sleep(wait);
        continue;
      }
      if (!response.ok) {
        throw new SlackDeliveryError(
          response.status,
          `Slack ${method} answered ${response.status}: ${text.slice(0, 200)}`,
        );
      }
      let parsed: Record<string, unknown>;
      try {
        parsed = JSON.parse(text) as Record<string, unknown>;
      } catch {
        throw new SlackDeliveryError(response.status, `Slack ${method} answered no JSON`);
      }
      if (parsed.ok !== true) {
        throw new SlackApiError(method, response.status, String(parsed.error ?? "unknown_error"));
      }
      return parsed;
    }
  }

  return {
    async postMessage(channel, message) {
      const r = await call("chat.postMessage", {
        channel,
        text: message.text,
        blocks: message.blocks,
      });
      return { channel: String(r.channel ?? channel), ts: String(r.ts) };
    },
    async update(at, message) {
      await call("chat.update", {
        channel: at.channel,
        ts: at.ts,
        text: message.text,
        blocks: message.blocks,
      });
    },
    async openView(triggerId, view) {
      await call("views.open", { trigger_id: triggerId, view });
    },
    async userGroupMembers(groupId) {
      const r = await call("usergroups.users.list", { usergroup: groupId });
      return Array.isArray(r.users)
        ? r.users.filter((u): u is string => typeof u === "string")
        : [];
    },
  };
}
