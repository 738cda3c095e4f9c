import { createServer } from "node:http";
import type { SlackBlock, SlackMessage } from "@guardrail/core";
import { readBody } from "../http";
import { listen } from "./listen";
import { LocalSlackApp, type LocalSlackAppOptions, localSlackPage } from "./slack-app";

/** One message the local webhook received, as Slack would have shown it. */
export interface ReceivedSlackMessage {
  /** 1-based arrival order. */
  readonly seq: number;
  readonly receivedAt: Date;
  /** Webhook path (`/services/T…/B…/…`). */
  readonly path: string;
  readonly message: SlackMessage;
  /** Header and sections as plain lines (emoji codes and mrkdwn marks removed). */
  readonly lines: readonly string[];
}

export interface SlackReceiver {
  /** The incoming-webhook URL to give the slack-notifier. */
  readonly url: string;
  readonly port: number;
  /** Every message received so far, oldest first. */
  messages(): readonly ReceivedSlackMessage[];
  onMessage(listener: (m: ReceivedSlackMessage) => void): () => void;
  /** Makes the next `n` posts fail with `status` (Slack outages, for retry tests). */
  failNext(n: number, status?: number): void;
  /** The Web API and interactions (`app` option): base URL `apiUrl`. */
  readonly app?: LocalSlackApp;
  readonly apiUrl?: string;
  close(): Promise<void>;
}

/** Slack accepts at most a few KB per message; anything far larger is a bug upstream. */
const MAX_BODY_BYTES = 512 * 1024;

const EMOJI: Readonly<Record<string, string>> = {
  ":white_check_mark:": "✅",
  ":heavy_check_mark:": "✔",
  ":rotating_light:": "🚨",
  ":warning:": "⚠",
  ":information_source:": "ℹ",
  ":x:": "❌",
  ":repeat:": "🔁",
};

/** Mrkdwn → plain text: emoji codes, `*bold*`, backticks and the three escapes. */
export function plainSlackText(text: string): string {
  return text
    .replace(/:[a-z_]+:/g, (code) => EMOJI[code] ?? code)
    .replace(/\*([^*\n]+)\*/g, "$1")
    .replace(/`([^`\n]*)`/g, "$1")
    .replace(/&lt;/g, "<")
    .replace(/&gt;/g, ">")
    .replace(/&amp;/g, "&");
}

/** The text a reader sees in a message: the header, then each section's text and fields. */
export function slackLines(message: SlackMessage): string[] {
  const lines: string[] = [];
  const add = (text: string) => {
    for (const line of plainSlackText(text).split("\n")) if (line.trim() !== "") lines.push(line);
  };
  for (const block of message.blocks as readonly SlackBlock[]) {
    if (block.type === "header") add(block.text.text);
    else if (block.type === "section") {
      if (block.text) add(block.text.text);
      for (const field of block.fields ?? []) add(field.text.replace(/\n/, " "));
    } else if (block.type === "context") {
      for (const element of block.elements) add(element.text);
    }
  }
  if (lines.length === 0) add(message.text);
  return lines;
}

function isSlackMessage(value: unknown): value is SlackMessage {
  const v = value as { text?: unknown; blocks?: unknown } | null;
  return typeof v?.text === "string" && (v.blocks === undefined || Array.isArray(v.blocks));
}

/**
 * A local Slack incoming webhook: accepts `POST` JSON payloads as Slack does (`200 ok`, or
 * `400 invalid_payload` for a body Slack would reject) and records them.
 */
export async function startSlackReceiver(
  options: { port?: number; host?: string; app?: LocalSlackAppOptions } = {},
): Promise<SlackReceiver> {
  const received: ReceivedSlackMessage[] = [];
  const accept = (path: string, m: SlackMessage) => {
    const message: ReceivedSlackMessage = {
      seq: received.length + 1,
      receivedAt: new Date(),
      path,
      message: m,
      lines: slackLines(m),
    };
    received.push(message);
    for (const listener of listeners) listener(message);
  };
  const app =
    options.app === undefined
      ? undefined
      : new LocalSlackApp(options.app, (m, path) => accept(path, m));
  const listeners = new Set<(m: ReceivedSlackMessage) => void>();
  let failures = 0;
  let lastNotice = "Press a button as one of the workspace's people.";
  let failStatus = 500;
  const server = createServer((req, res) => {
    void (async () => {
      const reply = (status: number, text: string) => {
        res.writeHead(status, { "content-type": "text/plain" });
        res.end(text);
      };
      if (app !== undefined && req.method === "GET" && req.url === "/") {
        res.writeHead(200, { "content-type": "text/html; charset=utf-8" });
        res.end(localSlackPage(app, slackLines, lastNotice));
        return;
      }
      if (req.method !== "POST") return reply(405, "invalid_method");
      if (app !== undefined && (req.url === "/ui/press" || req.url === "/ui/submit")) {
        const form = new URLSearchParams(await readBody(req, MAX_BODY_BYTES));
        const user = form.get("user") ?? "";
        try {
          const answer =
            req.url === "/ui/press"
              ? await app.press(form.get("ts") ?? "", form.get("action") ?? "", { id: user })
              : await app.submit(user, {
                  reason: form.get("reason") ?? "",
                  days: form.get("days") ?? "",
                });
          lastNotice = `${user}: the endpoint answered ${answer.status} ${answer.body}`;
        } catch (error) {
          lastNotice = `${user}: ${error instanceof Error ? error.message : String(error)}`;
        }
        res.writeHead(303, { location: "/" });
        res.end();
        return;
      }
      let body: string;
      try {
        body = await readBody(req, MAX_BODY_BYTES);
      } catch {
        return reply(413, "payload_too_large");
      }
      if (failures > 0) {
        failures--;
        return reply(failStatus, "service_unavailable");
      }
      if (app !== undefined && req.url?.startsWith("/api/")) {
        const answer = app.handle(req.url.slice("/api/".length), req.headers.authorization, body);
        res.writeHead(answer.status, { "content-type": "application/json; charset=utf-8" });
        res.end(JSON.stringify(answer.json));
        return;
      }
      let parsed: unknown;
      try {
        parsed = JSON.parse(body);
      } catch {
        return reply(400, "invalid_payload");
      }
      if (!isSlackMessage(parsed)) return reply(400, "no_text");
      reply(200, "ok");
      accept(req.url ?? "/", { text: parsed.text, blocks: parsed.blocks ?? [] });
    })();
  });
  const host = options.host ?? "127.0.0.1";
  const port = await listen(server, options.port ?? 0, host);
  return {
    url: `http://${host}:${port}/services/T00000000/B00000000/local-sandbox-webhook`,
    port,
    ...(app === undefined ? {} : { app, apiUrl: `http://${host}:${port}/api` }),
    messages: () => [...received],
    onMessage(listener) {
      listeners.add(listener);
      return () => listeners.delete(listener);
    },
    failNext(n, status = 500) {
      failures = n;
      failStatus = status;
    },
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}
