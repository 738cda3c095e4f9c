import type { Policy } from "../policy/types";
import { DECISION_MESSAGE_SCHEMA, type DecisionMessage } from "../report/message";
import { renderSlack, type SlackBlock, type SlackButton, type SlackMessage } from "../report/slack";
import type { ChangeView } from "../report/view";
import {
  EXEMPT_MODAL,
  encodeFindingRef,
  encodeModalMetadata,
  type FindingRef,
  type ModalMetadata,
  SLACK_ACTION_IDS,
  type SlackActionKind,
} from "./interaction";

/** The block id of the buttons, so that an update can replace them with the outcome. */
export const ACTIONS_BLOCK_ID = "guardrail.actions";

const BUTTON_TEXT: Record<SlackActionKind, string> = {
  remediate: "Remediate now",
  exempt: "Exempt…",
  acknowledge: "Acknowledge",
};

/**
 * Which buttons a decision message carries: "Remediate now" on a notify-only decision about a
 * security group or network ACL (what the planner can revoke or delete); "Exempt…" on a revoked
 * or notify-only decision about a security group (tag exemptions exist for groups only);
 * "Acknowledge" on every decision.
 *
 * @example
 * slackActionsFor(notifyOnlyGroupDecision) // ["remediate", "exempt", "acknowledge"]
 */
export function slackActionsFor(m: DecisionMessage): SlackActionKind[] {
  const out: SlackActionKind[] = [];
  const rules = findingRules(m);
  if (rules.length === 0) return ["acknowledge"];
  const remediable = m.resource.type === "security-group" || m.resource.type === "network-acl";
  // Only when every notified finding names its exact rule: nothing else may be touched.
  const exact = m.findings
    .filter((f) => f.result === "notify-only")
    .every((f) => targetOf(f.change) !== null);
  if (m.result === "notify-only" && remediable && exact) out.push("remediate");
  if (
    (m.result === "notify-only" || m.result === "revoked") &&
    m.resource.type === "security-group"
  ) {
    out.push("exempt");
  }
  out.push("acknowledge");
  return out;
}

/** The rules of the decision's counted findings (revoked or notified), once each. */
function findingRules(m: DecisionMessage): string[] {
  const rules = m.findings
    .filter(
      (f) => f.result === "revoked" || f.result === "notify-only" || f.result === "already-gone",
    )
    .map((f) => f.rule);
  return [...new Set(rules)];
}

/** The exact rule a finding is about: its `sgr-…` id, or a NACL entry's direction and number. */
export function targetOf(change: ChangeView): string | null {
  if (change.kind === "security-group-rule") return change.ruleId ?? null;
  if (change.kind === "network-acl-entry" && change.ruleNumber !== undefined) {
    return `${change.direction === "egress" ? "egress" : "ingress"}:${change.ruleNumber}`;
  }
  return null;
}

/** The finding reference the buttons of a decision carry. */
export function findingRefOf(m: DecisionMessage): FindingRef {
  const counted = m.findings.filter((f) => f.result === "notify-only" || f.result === "revoked");
  const targets = counted.map((f) => targetOf(f.change)).filter((t): t is string => t !== null);
  return {
    decision: m.id,
    account: m.account,
    region: m.region,
    resource: m.resource,
    rules: findingRules(m),
    targets: [...new Set(targets)],
  };
}

/**
 * A message of the guardrail's topic as the Slack app posts it: `renderSlack`'s blocks, and for a
 * decision the buttons `slackActionsFor` allows. Anything else is rendered as the webhook does.
 */
export function renderInteractiveSlack(body: unknown, subject?: string): SlackMessage {
  const message = renderSlack(body, subject);
  const m = body as Partial<DecisionMessage> | null;
  if (m === null || typeof m !== "object" || m.schema !== DECISION_MESSAGE_SCHEMA) return message;
  const decision = m as DecisionMessage;
  if (decision.result === "invalid") return message;
  const value = encodeFindingRef(findingRefOf(decision));
  const elements: SlackButton[] = slackActionsFor(decision).map((kind) => ({
    type: "button",
    action_id: SLACK_ACTION_IDS[kind],
    text: { type: "plain_text", text: BUTTON_TEXT[kind] },
    value,
    ...(kind === "remediate" ? { style: "danger" as const } : {}),
  }));
  // Slack allows 50 blocks: the buttons replace the last one when the message is full.
  const blocks = message.blocks.length >= 50 ? message.blocks.slice(0, 49) : message.blocks;
  return {
    ...message,
    blocks: [...blocks, { type: "actions", block_id: ACTIONS_BLOCK_ID, elements }],
  };
}

/** A Block Kit modal (`views.open`). */
export interface SlackModalView {
  readonly type: "modal";
  readonly callback_id: string;
  readonly title: { readonly type: "plain_text"; readonly text: string };
  readonly submit?: { readonly type: "plain_text"; readonly text: string };
  readonly close: { readonly type: "plain_text"; readonly text: string };
  readonly private_metadata: string;
  readonly blocks: readonly Record<string, unknown>[];
}

/** The longest reason the modal takes (the tag value holds 256 characters in all). */
export const EXEMPT_REASON_MAX = 150;

/**
 * The "Exempt…" modal: a reason and a number of days, at most the policy's
 * `tagExemptions.maxDays`. When none of the finding's rules may be waived by a tag, the modal
 * says so and has no submit button.
 */
export function exemptionModal(meta: ModalMetadata, policy: Policy): SlackModalView {
  const maxDays = policy.tagExemptions.maxDays;
  const exemptable = meta.ref.rules.filter(
    (id) => policy.rules.find((r) => r.id === id)?.tagExemptable === true,
  );
  const base = {
    type: "modal" as const,
    callback_id: EXEMPT_MODAL.callbackId,
    title: { type: "plain_text" as const, text: "Exempt" },
    close: { type: "plain_text" as const, text: "Cancel" },
    private_metadata: encodeModalMetadata({
      ...meta,
      ref: { ...meta.ref, rules: exemptable.length > 0 ? exemptable : meta.ref.rules },
    }),
  };
  if (exemptable.length === 0) {
    return {
      ...base,
      blocks: [
        {
          type: "section",
          text: {
            type: "mrkdwn",
            text: `${meta.ref.rules.join(", ")} cannot be waived by a tag (tagExemptable is false): it needs an exemption in the policy file.`,
          },
        },
      ],
    };
  }
  return {
    ...base,
    submit: { type: "plain_text", text: "Exempt" },
    blocks: [
      {
        type: "section",
        text: {
          type: "mrkdwn",
          text: `Exempt *${meta.ref.resource.id}* (${meta.ref.account} ${meta.ref.region}) from ${exemptable.join(", ")}. The exemption is announced and recorded with your name.`,
        },
      },
      {
        type: "input",
        block_id: EXEMPT_MODAL.reason.blockId,
        label: { type: "plain_text", text: "Reason" },
        element: {
          type: "plain_text_input",
          action_id: EXEMPT_MODAL.reason.actionId,
          multiline: true,
          min_length: 3,
          max_length: EXEMPT_REASON_MAX,
        },
      },
      {
        type: "input",
        block_id: EXEMPT_MODAL.days.blockId,
        label: { type: "plain_text", text: `Days (at most ${maxDays})` },
        element: {
          type: "number_input",
          action_id: EXEMPT_MODAL.days.actionId,
          is_decimal_allowed: false,
          min_value: "1",
          max_value: String(maxDays),
          initial_value: String(Math.min(7, maxDays)),
        },
      },
    ],
  };
}

/**
 * Checks a submitted modal: a reason, and whole days from 1 to `tagExemptions.maxDays`. The
 * errors are keyed by block id, as a `response_action: "errors"` answer wants them.
 *
 * @example
 * checkExemptionRequest({ reason: "demo", days: "45" }, policy)
 * // { ok: false, errors: { days: "at most 30 days (tagExemptions.maxDays)" } }
 */
export function checkExemptionRequest(
  input: { readonly reason: string; readonly days: string },
  policy: Policy,
):
  | { readonly ok: true; readonly reason: string; readonly days: number }
  | { readonly ok: false; readonly errors: Readonly<Record<string, string>> } {
  const errors: Record<string, string> = {};
  const maxDays = policy.tagExemptions.maxDays;
  const days = Number(input.days);
  if (!/^\d+$/.test(input.days) || days < 1)
    errors[EXEMPT_MODAL.days.blockId] = "a whole number of days, at least 1";
  else if (days > maxDays) {
    errors[EXEMPT_MODAL.days.blockId] = `at most ${maxDays} days (tagExemptions.maxDays)`;
  }
  if (input.reason.trim().length < 3)
    errors[EXEMPT_MODAL.reason.blockId] = "say why (at least 3 characters)";
  else if (input.reason.length > EXEMPT_REASON_MAX) {
    errors[EXEMPT_MODAL.reason.blockId] = `at most ${EXEMPT_REASON_MAX} characters`;
  }
  return Object.keys(errors).length > 0
    ? { ok: false, errors }
    : { ok: true, reason: input.reason.trim(), days };
}

const MONTHS = ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"];

/** `2026-12-13` → `13 Dec 2026`. */
export function shortDate(isoDay: string): string {
  const [y, m, d] = isoDay.split("-");
  return `${Number(d)} ${MONTHS[Number(m) - 1] ?? m} ${y}`;
}

/** The line that replaces the buttons once someone acted. */
export type InteractionOutcome =
  | {
      readonly kind: "exempted";
      readonly userId: string;
      readonly expires: string;
      readonly reason: string;
    }
  | { readonly kind: "remediated"; readonly userId: string; readonly detail: string }
  | { readonly kind: "remediation-failed"; readonly userId: string; readonly detail: string }
  | { readonly kind: "acknowledged"; readonly userId: string }
  | { readonly kind: "refused"; readonly userId: string; readonly detail: string };

/**
 * The outcome line of an interaction, in mrkdwn (`<@U…>` renders as the member's name).
 *
 * @example
 * outcomeText({ kind: "exempted", userId: "U0ALICE0", expires: "2026-12-13", reason: "demo" })
 * // "Exempted by <@U0ALICE0> until 13 Dec 2026: demo"
 */
export function outcomeText(o: InteractionOutcome): string {
  const who = `<@${o.userId}>`;
  switch (o.kind) {
    case "exempted":
      return `:shield: Exempted by ${who} until ${shortDate(o.expires)}: ${o.reason}`;
    case "remediated":
      return `:white_check_mark: Remediated by ${who}: ${o.detail}`;
    case "remediation-failed":
      return `:rotating_light: Remediation requested by ${who} failed: ${o.detail}`;
    case "acknowledged":
      return `:eyes: Acknowledged by ${who}`;
    case "refused":
      return `:no_entry: ${who}: ${o.detail}`;
  }
}

/**
 * The original message with its buttons replaced by the outcome (`chat.update`): once acted on,
 * a finding offers no second press.
 */
export function resolvedMessage(
  original: { readonly text: string; readonly blocks: readonly SlackBlock[] },
  outcome: InteractionOutcome,
): SlackMessage {
  const kept = original.blocks.filter(
    (b) => !(b.type === "actions" && (b as { block_id?: string }).block_id === ACTIONS_BLOCK_ID),
  );
  return {
    text: original.text,
    blocks: [...kept, { type: "section", text: { type: "mrkdwn", text: outcomeText(outcome) } }],
  };
}
