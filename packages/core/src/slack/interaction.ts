import { GuardrailError, PathError } from "../errors";
import type { AccountRegion } from "../model";
import type { ResourceRef } from "../report/view";
import { AWS_PATTERNS } from "../settings";

/** The buttons the guardrail's messages carry, by `action_id`. */
export const SLACK_ACTION_IDS = {
  remediate: "guardrail.remediate",
  exempt: "guardrail.exempt",
  acknowledge: "guardrail.acknowledge",
} as const;
export type SlackActionKind = keyof typeof SLACK_ACTION_IDS;

/** The exemption modal's `callback_id` and its inputs' block and action ids. */
export const EXEMPT_MODAL = {
  callbackId: "guardrail.exempt-modal",
  reason: { blockId: "reason", actionId: "reason" },
  days: { blockId: "days", actionId: "days" },
} as const;

/** Which finding a button is about: enough to find it again, and nothing secret. */
export interface FindingRef extends AccountRegion {
  /** The decision id (CloudTrail eventID or `sweep:…`). */
  readonly decision: string;
  readonly resource: ResourceRef;
  /** The policy rule ids of the decision's findings the button acts on. */
  readonly rules: readonly string[];
  /**
   * The exact offending rules or entries: `sgr-…` ids, or `ingress:100`/`egress:100` for NACL
   * entries. "Remediate now" touches these and nothing else of the resource.
   */
  readonly targets: readonly string[];
}

/** The Slack message a button was pressed on (to update it afterwards). */
export interface SlackMessageRef {
  readonly channel: string;
  readonly ts: string;
}

export interface SlackUser {
  readonly id: string;
  /** `username` as Slack sends it; display only, never used to authorise. */
  readonly name: string | null;
  readonly teamId: string | null;
}

/** One interaction the guardrail handles, read from Slack's payload. */
export type Interaction =
  | {
      readonly type: "block_actions";
      readonly action: SlackActionKind;
      readonly user: SlackUser;
      readonly triggerId: string;
      /** Slack's `action_ts`: unique per press. */
      readonly actionTs: string;
      readonly ref: FindingRef;
      readonly message: SlackMessageRef | null;
    }
  | {
      readonly type: "view_submission";
      readonly user: SlackUser;
      readonly viewId: string;
      readonly ref: FindingRef;
      readonly message: SlackMessageRef | null;
      readonly reason: string;
      /** As typed; `checkExemptionDays` judges it against the policy. */
      readonly days: string;
    };

/** A Slack interaction payload the guardrail cannot read. `path` names the field. */
export class InteractionPayloadError extends PathError {
  constructor(path: string, message: string, options?: { cause?: unknown }) {
    super("SLACK_INTERACTION_INVALID", path, `${path}: ${message}`, options);
  }
}

/** An interaction of a kind the guardrail does not handle (a shortcut, another app's button). */
export class UnsupportedInteractionError extends GuardrailError {
  constructor(message: string) {
    super("SLACK_INTERACTION_UNSUPPORTED", message);
  }
}

type Json = Record<string, unknown>;

function obj(value: unknown, path: string): Json {
  if (value === null || typeof value !== "object" || Array.isArray(value)) {
    throw new InteractionPayloadError(path, "expected an object");
  }
  return value as Json;
}

/** `text` read as a JSON object; at `path`, the error names the field the text came from. */
function jsonObject(text: string, path: string): Json {
  let raw: unknown;
  try {
    raw = JSON.parse(text);
  } catch (cause) {
    throw new InteractionPayloadError(path, "not JSON", { cause });
  }
  return obj(raw, path);
}

function str(o: Json, key: string, path: string): string {
  const v = o[key];
  if (typeof v !== "string" || v === "") {
    throw new InteractionPayloadError(`${path}.${key}`, "expected a non-empty string");
  }
  return v;
}

const optStr = (o: Json, key: string): string | null =>
  typeof o[key] === "string" && o[key] !== "" ? (o[key] as string) : null;

/** Encodes a finding reference for a button's `value` (≤ 2000 characters). */
export function encodeFindingRef(ref: FindingRef): string {
  return JSON.stringify({
    d: ref.decision,
    a: ref.account,
    r: ref.region,
    t: ref.resource.type,
    i: ref.resource.id,
    rules: ref.rules,
    x: ref.targets,
  });
}

const RESOURCE_TYPES: readonly ResourceRef["type"][] = [
  "security-group",
  "network-acl",
  "prefix-list",
  "unknown",
];

/**
 * Reads a finding reference from a button's value (or a modal's metadata). It came back
 * from Slack, so it is checked like any input: ids shaped as AWS shapes them.
 *
 * @throws InteractionPayloadError naming the field
 */
export function decodeFindingRef(text: string, path: string): FindingRef {
  let raw: unknown;
  try {
    raw = JSON.parse(text);
  } catch (cause) {
    throw new InteractionPayloadError(path, "not JSON", { cause });
  }
  const o = obj(raw, path);
  const account = str(o, "a", path);
  if (!AWS_PATTERNS.accountId.test(account))
    throw new InteractionPayloadError(`${path}.a`, "not an account id");
  const region = str(o, "r", path);
  if (!AWS_PATTERNS.region.test(region)) {
    throw new InteractionPayloadError(`${path}.r`, "not a Region");
  }
  const type = str(o, "t", path) as ResourceRef["type"];
  if (!RESOURCE_TYPES.includes(type)) {
    throw new InteractionPayloadError(`${path}.t`, "not a resource type");
  }
  const id = str(o, "i", path);
  if (!/^(sg|acl|pl)-[0-9a-f]{8,17}$/.test(id)) {
    throw new InteractionPayloadError(
      `${path}.i`,
      "not a security group, network ACL or prefix list id",
    );
  }
  const rules = o.rules;
  if (
    !Array.isArray(rules) ||
    rules.length === 0 ||
    !rules.every((r) => typeof r === "string" && /^[a-z0-9][a-z0-9-]{0,63}$/.test(r))
  ) {
    throw new InteractionPayloadError(`${path}.rules`, "expected a list of rule ids");
  }
  const targets = o.x ?? [];
  if (
    !Array.isArray(targets) ||
    !targets.every(
      (t) => typeof t === "string" && /^(sgr-[0-9a-f]{8,17}|(ingress|egress):\d{1,5})$/.test(t),
    )
  ) {
    throw new InteractionPayloadError(`${path}.x`, "expected a list of rule ids or NACL entries");
  }
  return { decision: str(o, "d", path), account, region, resource: { type, id }, rules, targets };
}

function userOf(p: Json): SlackUser {
  const u = obj(p.user, "user");
  return {
    id: str(u, "id", "user"),
    name: optStr(u, "username") ?? optStr(u, "name"),
    teamId: optStr(u, "team_id") ?? (p.team ? optStr(obj(p.team, "team"), "id") : null),
  };
}

function messageOf(p: Json): SlackMessageRef | null {
  const channel = p.channel ? optStr(obj(p.channel, "channel"), "id") : null;
  const container = p.container ? obj(p.container, "container") : {};
  const ts =
    optStr(container, "message_ts") ?? (p.message ? optStr(obj(p.message, "message"), "ts") : null);
  return channel !== null && ts !== null ? { channel, ts } : null;
}

/** What the exemption modal carries between opening and submission. */
export interface ModalMetadata {
  readonly ref: FindingRef;
  readonly message: SlackMessageRef | null;
}

export function encodeModalMetadata(m: ModalMetadata): string {
  return JSON.stringify({ ref: encodeFindingRef(m.ref), message: m.message });
}

function decodeModalMetadata(text: string): ModalMetadata {
  const o = jsonObject(text, "view.private_metadata");
  const ref = decodeFindingRef(str(o, "ref", "view.private_metadata"), "view.private_metadata.ref");
  let message: SlackMessageRef | null = null;
  if (o.message !== null && o.message !== undefined) {
    const m = obj(o.message, "view.private_metadata.message");
    message = {
      channel: str(m, "channel", "view.private_metadata.message"),
      ts: str(m, "ts", "view.private_metadata.message"),
    };
  }
  return { ref, message };
}

function inputValue(values: Json, block: string, action: string): string {
  const b = values[block];
  if (b === undefined) return "";
  const a = obj(
    obj(b, `view.state.values.${block}`)[action],
    `view.state.values.${block}.${action}`,
  );
  return typeof a.value === "string" ? a.value : "";
}

/**
 * Reads the body of an interaction request (form-encoded, one `payload` field of JSON) into an
 * `Interaction`. Call it only after the signature is verified.
 *
 * @throws InteractionPayloadError when the payload cannot be read (the field is named);
 *   UnsupportedInteractionError for an interaction the guardrail does not handle.
 * @example
 * parseInteraction("payload=%7B%22type%22%3A%22block_actions%22…")
 * // { type: "block_actions", action: "exempt", user: { id: "U0ALICE0", … }, ref: { … }, … }
 */
export function parseInteraction(body: string): Interaction {
  const payload = new URLSearchParams(body).get("payload");
  if (payload === null)
    throw new InteractionPayloadError("payload", "the form has no payload field");
  const p = jsonObject(payload, "payload");
  const type = optStr(p, "type");
  if (type === "block_actions") {
    const actions = p.actions;
    if (!Array.isArray(actions) || actions.length !== 1) {
      throw new InteractionPayloadError("actions", "expected exactly one action");
    }
    const a = obj(actions[0], "actions[0]");
    const actionId = str(a, "action_id", "actions[0]");
    const kind = (Object.keys(SLACK_ACTION_IDS) as SlackActionKind[]).find(
      (k) => SLACK_ACTION_IDS[k] === actionId,
    );
    if (kind === undefined)
      throw new UnsupportedInteractionError(`action ${actionId} is not the guardrail's`);
    return {
      type,
      action: kind,
      user: userOf(p),
      triggerId: str(p, "trigger_id", "payload"),
      actionTs: str(a, "action_ts", "actions[0]"),
      ref: decodeFindingRef(str(a, "value", "actions[0]"), "actions[0].value"),
      message: messageOf(p),
    };
  }
  if (type === "view_submission") {
    const view = obj(p.view, "view");
    const callback = optStr(view, "callback_id");
    if (callback !== EXEMPT_MODAL.callbackId) {
      throw new UnsupportedInteractionError(
        `view ${callback ?? "(no callback_id)"} is not the guardrail's`,
      );
    }
    const meta = decodeModalMetadata(str(view, "private_metadata", "view"));
    const values = obj(obj(view.state, "view.state").values, "view.state.values");
    return {
      type,
      user: userOf(p),
      viewId: str(view, "id", "view"),
      ref: meta.ref,
      message: meta.message,
      reason: inputValue(values, EXEMPT_MODAL.reason.blockId, EXEMPT_MODAL.reason.actionId).trim(),
      days: inputValue(values, EXEMPT_MODAL.days.blockId, EXEMPT_MODAL.days.actionId).trim(),
    };
  }
  throw new UnsupportedInteractionError(`interaction type ${type ?? "(none)"} is not handled`);
}

/** A stable id of one interaction: a press (`action_ts`) or a modal submission (view id). */
export function interactionId(i: Interaction): string {
  return i.type === "block_actions" ? `${i.user.id}:${i.actionTs}` : `${i.user.id}:${i.viewId}`;
}
