import { randomBytes } from "node:crypto";
import {
  EXEMPT_MODAL,
  SLACK_SIGNATURE_HEADER,
  SLACK_TIMESTAMP_HEADER,
  type SlackBlock,
  type SlackMessage,
  type SlackModalView,
  slackSignature,
} from "@guardrail/core";

/** The local Slack app's secrets and workspace: who is in which user group. */
export interface LocalSlackAppOptions {
  /** The bot token the Web API accepts (`Authorization: Bearer …`). */
  readonly token: string;
  /** The signing secret interactions are signed with. */
  readonly signingSecret: string;
  /** User group id → member ids (`usergroups.users.list`). */
  readonly userGroups?: Readonly<Record<string, readonly string[]>>;
  readonly now?: () => Date;
}

/** A message the bot posted, with every `chat.update` since. */
export interface PostedSlackMessage {
  readonly channel: string;
  readonly ts: string;
  /** The message as posted first, then each update, oldest first. */
  readonly versions: SlackMessage[];
}

/** A modal the app opened (`views.open`). */
export interface OpenedView {
  readonly id: string;
  readonly userId: string;
  readonly view: SlackModalView;
}

/** What the interaction endpoint answered a (signed or forged) request. */
export interface InteractionReply {
  readonly status: number;
  readonly body: string;
}

/** How long a press's trigger id may be exchanged for a modal (Slack: 3 seconds). */
const TRIGGER_TTL_MS = 3000;

/**
 * The Slack Web API methods the guardrail calls and the interactions a person makes, on one
 * machine: `chat.postMessage`, `chat.update`, `views.open` and `usergroups.users.list` with
 * Slack's answers (HTTP 200 with `ok: false` and Slack's error names), and presses and modal
 * submissions sent to the app's interactivity URL signed as Slack signs them.
 */
export class LocalSlackApp {
  private readonly posted: PostedSlackMessage[] = [];
  private readonly opened: OpenedView[] = [];
  private readonly triggers = new Map<string, { userId: string; at: number; used: boolean }>();
  private interactionUrl: string | null = null;
  private seq = 0;

  constructor(
    private readonly options: LocalSlackAppOptions,
    /** Called with each posted message (the receiver's message list). */
    private readonly onPost: (message: SlackMessage, path: string) => void,
  ) {}

  private now(): Date {
    return this.options.now?.() ?? new Date();
  }

  /** Where presses are sent: the app's interactivity request URL. */
  connectInteractions(url: string): void {
    this.interactionUrl = url;
  }

  messages(): readonly PostedSlackMessage[] {
    return [...this.posted];
  }

  /** The message as it reads now (after updates). */
  current(ts: string): SlackMessage | undefined {
    return this.posted.find((m) => m.ts === ts)?.versions.at(-1);
  }

  views(): readonly OpenedView[] {
    return [...this.opened];
  }

  /** One Web API call. Slack answers HTTP 200 with `ok: false` for most refusals. */
  handle(
    method: string,
    authorization: string | undefined,
    body: string,
  ): { status: number; json: unknown } {
    if (authorization !== `Bearer ${this.options.token}`) {
      return { status: 200, json: { ok: false, error: "invalid_auth" } };
    }
    let args: Record<string, unknown>;
    try {
      args = JSON.parse(body) as Record<string, unknown>;
    } catch {
      return { status: 200, json: { ok: false, error: "invalid_json" } };
    }
    switch (method) {
      case "chat.postMessage": {
        const channel = args.channel;
        if (typeof channel !== "string" || channel === "") {
          return { status: 200, json: { ok: false, error: "channel_not_found" } };
        }
        if (typeof args.text !== "string" && !Array.isArray(args.blocks)) {
          return { status: 200, json: { ok: false, error: "no_text" } };
        }
        this.seq++;
        const ts = `${Math.floor(this.now().getTime() / 1000)}.${String(this.seq).padStart(6, "0")}`;
        const message = {
          text: String(args.text ?? ""),
          blocks: (args.blocks ?? []) as SlackBlock[],
        };
        this.posted.push({ channel, ts, versions: [message] });
        this.onPost(message, `/api/${method}`);
        return { status: 200, json: { ok: true, channel, ts } };
      }
      case "chat.update": {
        const found = this.posted.find((m) => m.channel === args.channel && m.ts === args.ts);
        if (!found) return { status: 200, json: { ok: false, error: "message_not_found" } };
        found.versions.push({
          text: String(args.text ?? ""),
          blocks: (args.blocks ?? []) as SlackBlock[],
        });
        return { status: 200, json: { ok: true, channel: found.channel, ts: found.ts } };
      }
      case "views.open": {
        const trigger =
          typeof args.trigger_id === "string" ? this.triggers.get(args.trigger_id) : undefined;
        if (trigger === undefined)
          return { status: 200, json: { ok: false, error: "invalid_trigger_id" } };
        if (trigger.used)
          return { status: 200, json: { ok: false, error: "exchanged_trigger_id" } };
        if (this.now().getTime() - trigger.at > TRIGGER_TTL_MS) {
          return { status: 200, json: { ok: false, error: "expired_trigger_id" } };
        }
        trigger.used = true;
        const id = `V${randomBytes(5).toString("hex").toUpperCase()}`;
        this.opened.push({ id, userId: trigger.userId, view: args.view as SlackModalView });
        return { status: 200, json: { ok: true, view: { id, ...(args.view as object) } } };
      }
      case "usergroups.users.list": {
        const members = this.options.userGroups?.[String(args.usergroup)];
        if (members === undefined)
          return { status: 200, json: { ok: false, error: "no_such_subteam" } };
        return { status: 200, json: { ok: true, users: members } };
      }
      default:
        return { status: 200, json: { ok: false, error: "unknown_method" } };
    }
  }

  /**
   * Sends a body to the interactivity URL as Slack would: form-encoded, with the timestamp and
   * signature headers. `sign` changes what is signed (a forged or stale request).
   */
  async send(
    body: string,
    sign: {
      readonly secret?: string;
      readonly timestamp?: string;
      readonly signature?: string;
    } = {},
  ): Promise<InteractionReply> {
    if (this.interactionUrl === null) throw new Error("no interactivity URL connected");
    const timestamp = sign.timestamp ?? String(Math.floor(this.now().getTime() / 1000));
    const signature =
      sign.signature ?? slackSignature(sign.secret ?? this.options.signingSecret, timestamp, body);
    const response = await fetch(this.interactionUrl, {
      method: "POST",
      headers: {
        "content-type": "application/x-www-form-urlencoded",
        [SLACK_TIMESTAMP_HEADER]: timestamp,
        [SLACK_SIGNATURE_HEADER]: signature,
      },
      body,
    });
    return { status: response.status, body: await response.text() };
  }

  /** The form body of a press of the button `actionId` on the message `ts` by `userId`. */
  pressBody(ts: string, actionId: string, user: { id: string; name?: string }): string {
    const found = this.posted.find((m) => m.ts === ts);
    if (!found) throw new Error(`no message ${ts}`);
    const message = found.versions.at(-1) as SlackMessage;
    const button = message.blocks
      .flatMap((b) => (b.type === "actions" ? b.elements : []))
      .find((e) => e.action_id === actionId);
    if (button === undefined) throw new Error(`message ${ts} has no button ${actionId} (any more)`);
    this.seq++;
    const triggerId = `${this.seq}.${Date.now()}.${randomBytes(8).toString("hex")}`;
    this.triggers.set(triggerId, { userId: user.id, at: this.now().getTime(), used: false });
    const actionTs = `${Math.floor(this.now().getTime() / 1000)}.${String(this.seq).padStart(6, "0")}`;
    return form({
      type: "block_actions",
      user: { id: user.id, username: user.name ?? user.id, team_id: "T0SANDBOX" },
      team: { id: "T0SANDBOX" },
      trigger_id: triggerId,
      channel: { id: found.channel },
      container: { type: "message", message_ts: ts, channel_id: found.channel },
      message: { ts, text: message.text, blocks: message.blocks },
      actions: [
        {
          type: "button",
          action_id: actionId,
          block_id: "guardrail.actions",
          value: button.value,
          action_ts: actionTs,
        },
      ],
    });
  }

  /** A person presses a button of a posted message. */
  press(
    ts: string,
    actionId: string,
    user: { id: string; name?: string },
  ): Promise<InteractionReply> {
    return this.send(this.pressBody(ts, actionId, user));
  }

  /** A person fills in and submits the last modal opened for them. */
  submit(
    userId: string,
    values: { readonly reason: string; readonly days: string },
  ): Promise<InteractionReply> {
    const opened = this.opened.filter((v) => v.userId === userId).at(-1);
    if (opened === undefined) throw new Error(`no modal open for ${userId}`);
    return this.send(
      form({
        type: "view_submission",
        user: { id: userId, team_id: "T0SANDBOX" },
        team: { id: "T0SANDBOX" },
        view: {
          id: opened.id,
          callback_id: opened.view.callback_id,
          private_metadata: opened.view.private_metadata,
          state: {
            values: {
              [EXEMPT_MODAL.reason.blockId]: {
                [EXEMPT_MODAL.reason.actionId]: { type: "plain_text_input", value: values.reason },
              },
              [EXEMPT_MODAL.days.blockId]: {
                [EXEMPT_MODAL.days.actionId]: { type: "number_input", value: values.days },
              },
            },
          },
        },
      }),
    );
  }
}

const form = (payload: unknown) => `payload=${encodeURIComponent(JSON.stringify(payload))}`;

/** The people of the sandbox's workspace: one approver, one who is not. */
export const LOCAL_SLACK_PEOPLE = [
  { id: "U0SANDBOX1", name: "alice" },
  { id: "U0SANDBOX2", name: "mallory" },
] as const;

const escapeHtml = (text: string) =>
  text.replace(/&/g, "&amp;").replace(/</g, "&lt;").replace(/>/g, "&gt;").replace(/"/g, "&quot;");

/**
 * A page a person uses as the Slack client: the bot's messages as they read now, their buttons,
 * and the modal when one is open. Each press goes to the endpoint signed as Slack signs it.
 */
export function localSlackPage(
  app: LocalSlackApp,
  lines: (m: SlackMessage) => string[],
  notice: string,
): string {
  const people = LOCAL_SLACK_PEOPLE.map(
    (p) => `<option value="${p.id}">${escapeHtml(p.name)} (${p.id})</option>`,
  ).join("");
  const messages = [...app.messages()]
    .reverse()
    .map((m) => {
      const now = m.versions.at(-1) as SlackMessage;
      const buttons = now.blocks
        .flatMap((b) => (b.type === "actions" ? b.elements : []))
        .filter((e) => e.value !== undefined)
        .map(
          (e) =>
            `<form method="post" action="/ui/press"><input type="hidden" name="ts" value="${m.ts}"><input type="hidden" name="action" value="${e.action_id}"><select name="user">${people}</select> <button>${escapeHtml(e.text.text)}</button></form>`,
        )
        .join("");
      return `<div class="m"><pre>${escapeHtml(lines(now).join("\n"))}</pre>${buttons}</div>`;
    })
    .join("");
  const modal = app
    .views()
    .slice(-1)
    .map(
      (v) =>
        `<div class="m"><b>Modal for ${v.userId}</b><form method="post" action="/ui/submit"><input type="hidden" name="user" value="${v.userId}"><p>Reason <input name="reason"></p><p>Days <input name="days" value="7"></p><button>Exempt</button></form></div>`,
    )
    .join("");
  return `<!doctype html><meta charset="utf-8"><title>local Slack</title><style>body{font-family:sans-serif;max-width:60em}.m{border:1px solid #ccc;margin:1em 0;padding:.5em}form{display:inline-block;margin-right:1em}</style><h1>local Slack</h1><p>${escapeHtml(notice)}</p>${modal}${messages}`;
}
