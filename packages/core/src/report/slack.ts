import type { DecisionResult, FindingView } from "./decision";
import { EXEMPTION_MESSAGE_SCHEMA, type ExemptionMessage, exemptionHeadline } from "./exemption";
import type { FlapView } from "./flap";
import {
  DECISION_MESSAGE_SCHEMA,
  type DecisionMessage,
  SWEEP_MESSAGE_SCHEMA,
  type SweepMessage,
} from "./message";
import { POSTURE_DIGEST_SCHEMA } from "./posture";
import type { ChangeView, ResourceRef } from "./view";

/** The Block Kit elements the guardrail emits (a subset of Slack's). */
export type SlackText =
  | { readonly type: "mrkdwn"; readonly text: string }
  | { readonly type: "plain_text"; readonly text: string; readonly emoji?: boolean };

export type SlackBlock =
  | { readonly type: "header"; readonly text: SlackText & { type: "plain_text" } }
  | { readonly type: "section"; readonly text?: SlackText; readonly fields?: readonly SlackText[] }
  | { readonly type: "context"; readonly elements: readonly SlackText[] }
  | { readonly type: "divider" }
  | {
      readonly type: "actions";
      readonly block_id?: string;
      readonly elements: readonly SlackButton[];
    };

/** A Block Kit button: a link (`url`) or an interaction sent to the app (`value`). */
export interface SlackButton {
  readonly type: "button";
  readonly text: SlackText & { type: "plain_text" };
  readonly action_id: string;
  readonly url?: string;
  /** Sent back with the interaction (at most 2000 characters). */
  readonly value?: string;
  readonly style?: "primary" | "danger";
}

/** The webhook payload: `text` is the notification fallback, `blocks` the message. */
export interface SlackMessage {
  readonly text: string;
  readonly blocks: readonly SlackBlock[];
}

/** Slack's limits: header 150 chars, section text 3000, field 2000, 50 blocks, 75-char button text. */
const LIMITS = { header: 150, section: 3000, field: 2000, blocks: 50, button: 75 } as const;
const MAX_FINDING_SECTIONS = 8;

const ICON: Record<DecisionResult, string> = {
  revoked: ":white_check_mark:",
  "already-gone": ":heavy_check_mark:",
  failed: ":rotating_light:",
  "notify-only": ":warning:",
  exempt: ":information_source:",
  invalid: ":x:",
};

const HEADLINE: Record<DecisionResult, string> = {
  revoked: "Guardrail revoked a rule",
  "already-gone": "Offending rule was already gone",
  failed: "Guardrail could NOT revoke a rule: exposure persists",
  "notify-only": "Policy violation (notify only)",
  exempt: "Exempt change recorded",
  invalid: "Guardrail could not read an event",
};

const RESOURCE_NAME: Record<ResourceRef["type"], string> = {
  "security-group": "security group",
  "network-acl": "network ACL",
  "prefix-list": "prefix list",
  unknown: "resource",
};

/** Escapes the three characters Slack's mrkdwn treats as control characters. */
export function escapeMrkdwn(text: string): string {
  return text.replace(/&/g, "&amp;").replace(/</g, "&lt;").replace(/>/g, "&gt;");
}

function clip(text: string, max: number): string {
  return text.length <= max ? text : `${text.slice(0, max - 1)}…`;
}

function code(text: string): string {
  return `\`${escapeMrkdwn(text.replace(/`/g, "'"))}\``;
}

function mrkdwn(text: string, max: number = LIMITS.section): SlackText {
  return { type: "mrkdwn", text: clip(text, max) };
}

function plain(text: string, max: number): SlackText & { type: "plain_text" } {
  return { type: "plain_text", text: clip(text, max), emoji: true };
}

function header(text: string): SlackBlock {
  return { type: "header", text: plain(text, LIMITS.header) };
}

function formatSeconds(s: number): string {
  if (s < 120) return `${s.toFixed(s < 10 ? 2 : 1).replace(/\.?0+$/, "")} s`;
  const m = Math.floor(s / 60);
  return `${m} min ${Math.round(s - m * 60)} s`;
}

/** What a remediation that changed the rule's verdict only in part did, with the plan's check. */
function partialText(action: NonNullable<FindingView["action"]>): string | null {
  const check = action.check ? `\n*Check:* ${escapeMrkdwn(action.check)}` : "";
  if (action.type === "insert-network-acl-entries") {
    const n = action.inserted?.length ?? 0;
    return `${n} entr${n === 1 ? "y" : "ies"} inserted before entry #${action.ruleNumber ?? "?"}, which stays: ${(action.inserted ?? []).map(code).join(", ")}${check}`;
  }
  if (action.type === "narrow-security-group-rule") {
    return `narrowed: authorized ${(action.remainder ?? []).map(code).join(", ") || "nothing"}, then revoked ${code(action.ruleIds?.[0] ?? "")}${check}`;
  }
  return null;
}

function actionText(f: FindingView): string {
  switch (f.result) {
    case "revoked":
      return (
        (f.action ? partialText(f.action) : null) ??
        `revoked (${escapeMrkdwn(f.action?.text ?? "")})`
      );
    case "already-gone":
      return `nothing to revoke: the rule was already gone (${escapeMrkdwn(f.action?.text ?? "")})`;
    case "failed":
      return `*revoke FAILED*: ${code(`${f.error?.code ?? "Error"}: ${f.error?.message ?? ""}`)}. The rule is still in place.`;
    case "notify-only":
      // AWS refused the planned narrowing (the group's rule quota): nothing was revoked.
      if (f.action && f.error) {
        return `nothing: ${escapeMrkdwn(f.action.text)} was not taken (${code(`${f.error.code}: ${f.error.message}`)}). The rule is unchanged.`;
      }
      return "notified only (the rule is in notify mode, or the change named no rule to revoke)";
    case "exempt":
      return `nothing: exempt (${escapeMrkdwn(f.exemption?.reason ?? "exemption")}${
        f.exemption?.expires ? `, until ${escapeMrkdwn(f.exemption.expires)}` : ""
      }${f.exemption?.approvedBy ? `, approved by ${escapeMrkdwn(f.exemption.approvedBy)}` : ""})`;
  }
}

function previousText(previous: ChangeView | "unknown"): string {
  return previous === "unknown"
    ? "unknown (the sweep had not recorded this rule)"
    : code(previous.text);
}

/** Findings about the same rule change with the same result, shown as one section. */
function groupFindings(findings: readonly FindingView[]): FindingView[][] {
  const groups = new Map<string, FindingView[]>();
  for (const f of findings) {
    const key = `${f.change.resourceId} ${f.change.ruleId ?? ""} ${f.change.text} ${f.result}`;
    const list = groups.get(key);
    if (list) list.push(f);
    else groups.set(key, [f]);
  }
  return [...groups.values()];
}

function findingSection(group: readonly FindingView[], resource: ResourceRef): SlackBlock {
  const f = group[0] as FindingView;
  const rules = group.map(
    (g) => `${code(g.rule)} (${g.mode}, ${g.severity}): ${escapeMrkdwn(g.reason)}`,
  );
  const lines = [
    `*What was opened:* ${code(f.change.text)} on ${code(f.change.resourceId)} (${RESOURCE_NAME[resource.type]})`,
    ...(f.previous !== undefined ? [`*Before the change:* ${previousText(f.previous)}`] : []),
    rules.length === 1
      ? `*Policy rule:* ${rules[0]}`
      : `*Policy rules:*\n${rules.map((r) => `• ${r}`).join("\n")}`,
    `*What the guardrail did:* ${actionText(f)}`,
  ];
  return { type: "section", text: mrkdwn(lines.join("\n")) };
}

function actorText(m: DecisionMessage): string {
  const a = m.event?.actor;
  if (!a) return "unknown";
  const who = a.arn ?? a.sessionIssuerArn ?? a.invokedBy ?? "unknown principal";
  const details = [
    a.type,
    a.console ? "console" : null,
    a.invokedBy ? `via ${a.invokedBy}` : null,
    a.sourceIp ? `from ${a.sourceIp}` : null,
  ].filter((x): x is string => x !== null);
  return `${code(who)}${details.length > 0 ? ` (${escapeMrkdwn(details.join(", "))})` : ""}`;
}

function buttons(links: { label: string; url: string | undefined }[]): SlackBlock[] {
  const elements = links
    .filter((l): l is { label: string; url: string } => l.url !== undefined)
    .map((l, i) => ({
      type: "button" as const,
      text: plain(l.label, LIMITS.button),
      url: l.url,
      action_id: `open-${i}`,
    }));
  return elements.length > 0 ? [{ type: "actions", elements }] : [];
}

/** The flap guard's escalation: what keeps re-opening the rule, through what, where to fix it. */
function loopSection(f: FlapView): SlackBlock {
  const a = f.attribution;
  const through = `${escapeMrkdwn(a.label)}${a.evidence.length > 0 ? ` (from ${escapeMrkdwn(a.evidence.join(", "))})` : ""}`;
  const lines = [
    `*What keeps re-opening it:* ${a.principal ? code(a.principal) : "unknown principal"}${a.sessionName ? ` (session ${code(a.sessionName)})` : ""}`,
    `*Through:* ${through}`,
    ...(a.stack
      ? [
          `*Stack:* ${code(a.stack.name)}${a.stack.logicalId ? ` (resource ${code(a.stack.logicalId)})` : ""}`,
        ]
      : []),
    ...(a.workspace ? [`*Workspace:* ${code(a.workspace)}`] : []),
    ...(a.repository ? [`*Repository:* ${code(a.repository)}`] : []),
    `*Where to fix it:* ${escapeMrkdwn(a.fixAt)}`,
    `*How often:* opened ${f.count} times since ${escapeMrkdwn(f.windowStart)} (more than ${f.threshold} in ${f.windowHours} h); the guardrail revoked it every time and keeps doing so. Further re-openings in this window are revoked and recorded in the audit trail without a message.`,
  ];
  return { type: "section", text: mrkdwn(lines.join("\n")) };
}

function renderDecision(m: DecisionMessage): SlackMessage {
  const escalated = m.flap?.state === "escalated" ? m.flap : undefined;
  const blocks: SlackBlock[] = [
    header(
      escalated
        ? `:repeat: Revoke loop: ${escalated.attribution.label} keeps re-opening a rule`
        : `${ICON[m.result]} ${HEADLINE[m.result]}`,
    ),
  ];
  if (escalated) blocks.push(loopSection(escalated));
  if (m.result === "invalid") {
    blocks.push({
      type: "section",
      text: mrkdwn(
        [
          `*Event:* ${code(m.event?.name ?? "unknown")} ${code(m.event?.id ?? m.id)}`,
          `*Problem:* ${code(`${m.error?.code ?? "INVALID_EVENT"}: ${m.error?.message ?? ""}`)}`,
          "*What the guardrail did:* nothing; the event was recorded and needs a human look.",
        ].join("\n"),
      ),
    });
  } else {
    const groups = groupFindings(m.findings);
    const shown = groups.slice(0, MAX_FINDING_SECTIONS);
    for (const g of shown) blocks.push(findingSection(g, m.resource));
    if (groups.length > shown.length) {
      const hidden = groups.slice(shown.length).reduce((n, g) => n + g.length, 0);
      blocks.push({
        type: "context",
        elements: [mrkdwn(`…and ${hidden} more finding(s) in the audit record.`)],
      });
    }
  }
  const fields: SlackText[] = [
    mrkdwn(`*By:*\n${actorText(m)}`, LIMITS.field),
    mrkdwn(`*Account / region:*\n${escapeMrkdwn(`${m.account} / ${m.region}`)}`, LIMITS.field),
    mrkdwn(
      `*Exposure:*\n${
        m.exposureSeconds !== null
          ? formatSeconds(m.exposureSeconds)
          : m.result === "failed" || m.result === "notify-only"
            ? "ongoing"
            : "n/a"
      }`,
      LIMITS.field,
    ),
    mrkdwn(
      `*Event:*\n${code(m.event?.name ?? "sweep")} at ${escapeMrkdwn(m.event?.time ?? m.decidedAt)}`,
      LIMITS.field,
    ),
  ];
  blocks.push({ type: "section", fields });
  blocks.push(
    ...buttons([
      { label: `Open ${RESOURCE_NAME[m.resource.type]} ${m.resource.id}`, url: m.links.resource },
      { label: "CloudTrail event", url: m.links.event },
    ]),
  );
  blocks.push({
    type: "context",
    elements: [
      mrkdwn(
        `event id ${code(m.event?.id ?? m.id)} · severity ${m.severity} · guardrail ${escapeMrkdwn(m.guardrailVersion)} · policy ${code(m.policyId)}`,
      ),
    ],
  });
  return { text: clip(m.summary, 3000), blocks };
}

const EXEMPTION_ICON: Record<ExemptionMessage["status"], string> = {
  granted: ":unlock:",
  adopted: ":unlock:",
  removed: ":lock:",
  expired: ":hourglass:",
  "not-approved": ":rotating_light:",
  invalid: ":rotating_light:",
};

function renderExemption(m: ExemptionMessage): SlackMessage {
  const r = m.record;
  const fields: SlackText[] = [
    mrkdwn(`*By:*\n${code(r.by ?? "unknown")}`, LIMITS.field),
    mrkdwn(`*Approver pattern:*\n${r.approver ? code(r.approver) : "none matched"}`, LIMITS.field),
    mrkdwn(
      `*Waives:*\n${r.rules.length > 0 ? r.rules.map(code).join(", ") : "nothing"}`,
      LIMITS.field,
    ),
    mrkdwn(`*Until:*\n${escapeMrkdwn(r.expires ?? "n/a")}`, LIMITS.field),
    mrkdwn(`*Account / region:*\n${escapeMrkdwn(`${m.account} / ${m.region}`)}`, LIMITS.field),
    mrkdwn(`*Value hash:*\n${code(r.valueHash ?? "removed")}`, LIMITS.field),
  ];
  const blocks: SlackBlock[] = [
    header(`${EXEMPTION_ICON[m.status]} ${exemptionHeadline(m.status)}: ${m.key} on ${m.groupId}`),
    { type: "section", text: mrkdwn(escapeMrkdwn(m.summary)) },
    ...(r.problem
      ? [{ type: "section" as const, text: mrkdwn(`*Problem:* ${escapeMrkdwn(r.problem)}`) }]
      : []),
    { type: "section", fields },
    ...buttons([
      { label: `Open security group ${m.groupId}`, url: m.links.resource },
      { label: "CloudTrail event", url: m.links.event },
    ]),
    {
      type: "context",
      elements: [
        mrkdwn(
          `${m.event ? `event ${code(m.event.name)} ${code(m.event.id)} · ` : ""}severity ${m.severity} · guardrail ${escapeMrkdwn(m.guardrailVersion)}`,
        ),
      ],
    },
  ];
  return { text: clip(m.summary, 3000), blocks };
}

function renderSweep(m: SweepMessage): SlackMessage {
  const c = m.counts;
  const worst =
    c.failed > 0
      ? "failed"
      : c.revoked > 0
        ? "revoked"
        : c["notify-only"] > 0
          ? "notify-only"
          : "exempt";
  const blocks: SlackBlock[] = [
    header(`${ICON[worst]} Sweep of ${m.account} / ${m.region}`),
    {
      type: "section",
      fields: [
        mrkdwn(
          `*Scanned:*\n${m.scanned.securityGroupRules} SG rules, ${m.scanned.networkAclEntries} NACL entries, ${m.scanned.prefixLists} prefix lists`,
          LIMITS.field,
        ),
        mrkdwn(
          `*Revoked:* ${c.revoked}   *Failed:* ${c.failed}\n*Notify-only:* ${c["notify-only"]}   *Exempt:* ${c.exempt}   *Already gone:* ${c["already-gone"]}`,
          LIMITS.field,
        ),
      ],
    },
  ];
  const lines = m.findings
    .slice(0, 20)
    .map(
      (f) =>
        `• ${ICON[f.result]} ${code(f.change.text)} on ${
          f.links.resource
            ? `<${f.links.resource}|${escapeMrkdwn(f.resource.id)}>`
            : code(f.resource.id)
        }: ${code(f.rule)} (${f.result})`,
    );
  if (lines.length > 0) blocks.push({ type: "section", text: mrkdwn(lines.join("\n")) });
  const hidden = m.findings.length - Math.min(20, m.findings.length) + m.truncated;
  blocks.push({
    type: "context",
    elements: [
      mrkdwn(
        `run ${code(m.runId)} · ${escapeMrkdwn(m.startedAt)} → ${escapeMrkdwn(m.finishedAt)}${
          hidden > 0 ? ` · ${hidden} more finding(s) not shown` : ""
        } · guardrail ${escapeMrkdwn(m.guardrailVersion)} · policy ${code(m.policyId)}`,
      ),
    ],
  });
  return { text: clip(m.summary, 3000), blocks };
}

interface CloudWatchAlarm {
  AlarmName: string;
  NewStateValue: string;
  NewStateReason?: string;
  AWSAccountId?: string;
  Region?: string;
}

function isAlarm(
  value: Record<string, unknown>,
): value is Record<string, unknown> & CloudWatchAlarm {
  return typeof value.AlarmName === "string" && typeof value.NewStateValue === "string";
}

function renderAlarm(a: CloudWatchAlarm): SlackMessage {
  const icon = a.NewStateValue === "ALARM" ? ":rotating_light:" : ":white_check_mark:";
  return {
    text: `Alarm ${a.AlarmName} is ${a.NewStateValue}`,
    blocks: [
      header(`${icon} Alarm ${a.AlarmName} is ${a.NewStateValue}`),
      {
        type: "section",
        text: mrkdwn(
          `${escapeMrkdwn(a.NewStateReason ?? "")}\n*Account / region:* ${escapeMrkdwn(`${a.AWSAccountId ?? "?"} / ${a.Region ?? "?"}`)}`,
        ),
      },
    ],
  };
}

/** The weekly posture digest: its text, one line per fact, as the CLI prints it. */
function renderPostureDigest(summary: string, subject?: string): SlackMessage {
  const [title = "Network guardrail posture", ...rest] = summary.split("\n");
  return {
    text: clip(subject ?? title, 3000),
    blocks: [
      header(title),
      {
        type: "section",
        text: mrkdwn(
          `\`\`\`${escapeMrkdwn(clip(rest.join("\n").trim(), LIMITS.section - 40))}\`\`\``,
        ),
      },
    ],
  };
}

/**
 * Renders one SNS message of the guardrail's topic as Slack Block Kit: decisions, sweep
 * summaries, CloudWatch alarms (their action is the same topic), and anything else as text.
 *
 * @example
 * renderSlack(JSON.parse(publication.message)).blocks[0].type // "header"
 */
export function renderSlack(message: unknown, subject?: string): SlackMessage {
  if (message !== null && typeof message === "object" && !Array.isArray(message)) {
    const m = message as Record<string, unknown>;
    if (m.schema === DECISION_MESSAGE_SCHEMA)
      return renderDecision(m as unknown as DecisionMessage);
    if (m.schema === SWEEP_MESSAGE_SCHEMA) return renderSweep(m as unknown as SweepMessage);
    if (m.schema === EXEMPTION_MESSAGE_SCHEMA) {
      return renderExemption(m as unknown as ExemptionMessage);
    }
    if (isAlarm(m)) return renderAlarm(m);
    if (m.schema === POSTURE_DIGEST_SCHEMA && typeof m.summary === "string") {
      return renderPostureDigest(m.summary, subject);
    }
  }
  const text = typeof message === "string" ? message : JSON.stringify(message, null, 2);
  return {
    text: clip(subject ?? text, 3000),
    blocks: [
      ...(subject ? [header(subject)] : []),
      {
        type: "section",
        text: mrkdwn(`\`\`\`${escapeMrkdwn(clip(text, LIMITS.section - 40))}\`\`\``),
      },
    ],
  };
}
