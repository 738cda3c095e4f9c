import { describe, expect, it } from "vitest";
import type { TagRecord } from "../src/model";
import { planActions } from "../src/plan";
import {
  DEFAULT_POLICY_YAML,
  isSlackApproval,
  judgeSlackApproval,
  loadPolicy,
  slackApproverFor,
  slackExemptionValue,
} from "../src/policy";
import { evaluate } from "../src/policy/evaluate";
import type { DecisionMessage } from "../src/report/message";
import { decisionPublication } from "../src/report/message";
import {
  ACTIONS_BLOCK_ID,
  checkExemptionRequest,
  decodeFindingRef,
  EXEMPT_MODAL,
  encodeFindingRef,
  exemptionModal,
  type FindingRef,
  InteractionPayloadError,
  interactionId,
  outcomeText,
  parseInteraction,
  renderInteractiveSlack,
  resolvedMessage,
  SLACK_ACTION_IDS,
  slackActionsFor,
  UnsupportedInteractionError,
} from "../src/slack";
import { eventMeta, GROUP, NOW, naclEntry, sgRule } from "./policy-builders";
import { decisionOf } from "./report-builders";

const policy = loadPolicy(
  `${DEFAULT_POLICY_YAML}
slack:
  approvers:
    - { id: U0ALICE00, name: alice }
    - { id: S0SECURITY, name: security on-call }
`,
);

const REF: FindingRef = {
  decision: "4a2c7a6e-0000-4000-8000-000000000001",
  account: "123456789012",
  region: "eu-west-1",
  resource: { type: "security-group", id: GROUP },
  rules: ["internet-exposure"],
  targets: ["sgr-0123456789abcdef0"],
};

function decision(
  result: "notify-only" | "revoked",
  nacl = false,
  ruleId: string | null = "sgr-0aaaaaaaaaaaaaaa1",
): DecisionMessage {
  const change = nacl ? naclEntry({ ports: [22] }) : sgRule({ ports: [8080], ruleId });
  const evaluated = evaluate([change], policy, { now: NOW });
  const findings = evaluated.findings
    .filter((f) => f.rule === (nacl ? evaluated.findings[0]?.rule : "internet-exposure"))
    .map((f) => ({
      ...f,
      mode: result === "revoked" ? ("enforce" as const) : ("notify" as const),
    }));
  const evaluation = { ...evaluated, findings };
  const outcomes =
    result === "revoked"
      ? planActions(evaluation).map((action) => ({
          action,
          status: "revoked" as const,
          confirmedAt: NOW.toISOString(),
        }))
      : [];
  const d = decisionOf({
    event: eventMeta({ eventId: REF.decision, account: REF.account, region: REF.region }),
    evaluation,
    outcomes,
    decidedAt: NOW,
  });
  return JSON.parse(decisionPublication(d).message) as DecisionMessage;
}

const form = (payload: unknown) => `payload=${encodeURIComponent(JSON.stringify(payload))}`;
const press = (actionId: string, value = encodeFindingRef(REF)) =>
  form({
    type: "block_actions",
    user: { id: "U0ALICE00", username: "alice", team_id: "T0TEAM" },
    trigger_id: "1.2.abc",
    channel: { id: "C0ALERTS" },
    container: { type: "message", message_ts: "1765000000.000100" },
    actions: [{ action_id: actionId, value, action_ts: "1765000001.000200" }],
  });

describe("slack.approvers in the policy", () => {
  it("maps member and user group ids to approver names", () => {
    expect(slackApproverFor(policy, "U0ALICE00", [])).toEqual({ id: "U0ALICE00", name: "alice" });
    expect(slackApproverFor(policy, "U0BOB0000", ["S0SECURITY"])?.name).toBe("security on-call");
    expect(slackApproverFor(policy, "U0BOB0000", ["S0OTHER00"])).toBeUndefined();
    // A member id in the groups list is not a group: only S… entries are matched by membership.
    expect(slackApproverFor(policy, "U0BOB0000", ["U0ALICE00"])).toBeUndefined();
  });

  it("defaults to no approvers and rejects malformed or repeated ids", () => {
    expect(loadPolicy(DEFAULT_POLICY_YAML).slack).toEqual({ approvers: [] });
    expect(() =>
      loadPolicy(`${DEFAULT_POLICY_YAML}\nslack:\n  approvers: [{ id: alice, name: alice }]\n`),
    ).toThrow(/slack\.approvers\[0\]\.id: expected a Slack user id/);
    expect(() =>
      loadPolicy(
        `${DEFAULT_POLICY_YAML}\nslack:\n  approvers: [{ id: U0ALICE00, name: a }, { id: U0ALICE00, name: b }]\n`,
      ),
    ).toThrow(/a Slack id is listed twice/);
  });
});

describe("exemptions granted from Slack", () => {
  const approval = (approver = slackApproverFor(policy, "U0ALICE00", [])) => ({
    interactionId: "U0ALICE00:1",
    at: "2026-06-14T09:00:00.000Z",
    userId: "U0ALICE00",
    approver,
  });

  it("caps the duration at tagExemptions.maxDays and keeps the tag value readable", () => {
    const at = new Date("2026-12-06T10:00:00Z");
    expect(
      slackExemptionValue(policy, { reason: "demo", days: 7, rules: ["internet-exposure"] }, at),
    ).toEqual({
      value: "reason=demo;expires=2026-12-13;rules=internet-exposure",
      expires: "2026-12-13",
      days: 7,
    });
    expect(
      slackExemptionValue(policy, { reason: "a;b", days: 400, rules: ["internet-exposure"] }, at),
    ).toMatchObject({ value: "reason=a,b;expires=2027-01-05;rules=internet-exposure", days: 30 });
    const long = slackExemptionValue(
      policy,
      { reason: "x".repeat(400), days: 1, rules: ["internet-exposure"] },
      at,
    );
    expect(long.value.length).toBe(256);
  });

  it("records an approver's grant that the evaluation honours, naming the approver", () => {
    const value = "reason=python demo;expires=2026-06-21;rules=internet-exposure";
    const judged = judgeSlackApproval(
      { groupId: GROUP, key: "guardrail-exempt", value },
      approval(),
      policy,
    );
    expect(judged.status).toBe("granted");
    expect(judged.record).toMatchObject({
      via: "slack",
      approver: "slack:U0ALICE00",
      by: "alice (Slack U0ALICE00)",
    });
    const result = evaluate([sgRule({ ports: [8080] })], policy, {
      now: NOW,
      groupTags: { [GROUP]: { "guardrail-exempt": value } },
      tagRecords: { [GROUP]: { "guardrail-exempt": judged.record } },
    });
    expect(result.outcome).toBe("exempt");
    expect(result.waived[0]?.exemption).toMatchObject({
      kind: "tag",
      approvedBy: "alice (Slack U0ALICE00)",
    });
  });

  it("ends the exemption when the approver leaves slack.approvers", () => {
    const value = "reason=python demo;expires=2026-06-21;rules=internet-exposure";
    const { record } = judgeSlackApproval(
      { groupId: GROUP, key: "guardrail-exempt", value },
      approval(),
      policy,
    );
    const without = loadPolicy(DEFAULT_POLICY_YAML);
    expect(isSlackApproval(record, without)).toBe(false);
    const result = evaluate([sgRule({ ports: [8080] })], without, {
      now: NOW,
      groupTags: { [GROUP]: { "guardrail-exempt": value } },
      tagRecords: { [GROUP]: { "guardrail-exempt": record as TagRecord } },
    });
    expect(result.outcome).toBe("violation");
    expect(result.findings[0]?.reason).toContain("no longer an approver (slack.approvers)");
  });

  it("grants nothing to a non-approver or for a rule no tag may waive", () => {
    const value = "reason=x;expires=2026-06-21;rules=internet-exposure";
    expect(
      judgeSlackApproval(
        { groupId: GROUP, key: "guardrail-exempt", value },
        { ...approval(), approver: undefined },
        policy,
      ).status,
    ).toBe("not-approved");
    const admin = "reason=x;expires=2026-06-21;rules=admin-ports";
    expect(
      judgeSlackApproval(
        { groupId: GROUP, key: "guardrail-exempt", value: admin },
        approval(),
        policy,
      ).status,
    ).toBe("invalid");
  });
});

describe("buttons on the guardrail's messages", () => {
  const buttons = (m: DecisionMessage) => {
    const actions = renderInteractiveSlack(m).blocks.at(-1);
    return actions?.type === "actions" ? actions.elements.map((e) => e.text.text) : [];
  };

  it("offers Remediate now and Exempt on a notify-only finding, Exempt on a revoked one", () => {
    expect(buttons(decision("notify-only"))).toEqual(["Remediate now", "Exempt…", "Acknowledge"]);
    expect(buttons(decision("revoked"))).toEqual(["Exempt…", "Acknowledge"]);
    // Without the finding's exact rule id, nothing could be revoked without a guess.
    expect(buttons(decision("notify-only", false, null))).toEqual(["Exempt…", "Acknowledge"]);
    // Tag exemptions exist for security groups only.
    expect(slackActionsFor(decision("notify-only", true))).toEqual(["remediate", "acknowledge"]);
  });

  it("carries a finding reference that reads back to the same finding", () => {
    const rendered = renderInteractiveSlack(decision("notify-only")).blocks.at(-1);
    const value = rendered?.type === "actions" ? rendered.elements[0]?.value : undefined;
    // The exact rule of the finding: "Remediate now" touches it and nothing else of the group.
    expect(decodeFindingRef(value ?? "", "value")).toEqual({
      ...REF,
      targets: ["sgr-0aaaaaaaaaaaaaaa1"],
    });
    expect(value?.length).toBeLessThanOrEqual(2000);
  });

  it("replaces the buttons with who acted, once", () => {
    const original = renderInteractiveSlack(decision("revoked"));
    const updated = resolvedMessage(original, {
      kind: "exempted",
      userId: "U0ALICE00",
      expires: "2026-12-13",
      reason: "python demo",
    });
    expect(
      updated.blocks.some((b) => b.type === "actions" && b.block_id === ACTIONS_BLOCK_ID),
    ).toBe(false);
    expect(JSON.stringify(updated.blocks.at(-1))).toContain(
      "Exempted by <@U0ALICE00> until 13 Dec 2026: python demo",
    );
    expect(outcomeText({ kind: "acknowledged", userId: "U1" })).toContain("Acknowledged by <@U1>");
  });
});

describe("the exemption modal", () => {
  it("asks for a reason and days up to the policy's maxDays", () => {
    const view = exemptionModal({ ref: REF, message: null }, policy);
    expect(view.submit?.text).toBe("Exempt");
    expect(JSON.stringify(view.blocks)).toContain('"max_value":"30"');
    expect(checkExemptionRequest({ reason: "python demo", days: "7" }, policy)).toEqual({
      ok: true,
      reason: "python demo",
      days: 7,
    });
    expect(checkExemptionRequest({ reason: "python demo", days: "31" }, policy)).toEqual({
      ok: false,
      errors: { days: "at most 30 days (tagExemptions.maxDays)" },
    });
    expect(checkExemptionRequest({ reason: "", days: "1.5" }, policy)).toMatchObject({ ok: false });
  });

  it("has no submit button when no rule of the finding may be waived by a tag", () => {
    const view = exemptionModal({ ref: { ...REF, rules: ["admin-ports"] }, message: null }, policy);
    expect(view.submit).toBeUndefined();
    expect(JSON.stringify(view.blocks)).toContain("needs an exemption in the policy file");
  });
});

describe("parseInteraction", () => {
  it("reads a button press", () => {
    const i = parseInteraction(press(SLACK_ACTION_IDS.exempt));
    expect(i).toMatchObject({
      type: "block_actions",
      action: "exempt",
      user: { id: "U0ALICE00", name: "alice", teamId: "T0TEAM" },
      triggerId: "1.2.abc",
      ref: REF,
      message: { channel: "C0ALERTS", ts: "1765000000.000100" },
    });
    expect(interactionId(i)).toBe("U0ALICE00:1765000001.000200");
  });

  it("reads a modal submission with its metadata", () => {
    const view = exemptionModal({ ref: REF, message: { channel: "C0ALERTS", ts: "1.2" } }, policy);
    const i = parseInteraction(
      form({
        type: "view_submission",
        user: { id: "U0ALICE00" },
        view: {
          id: "V0MODAL",
          callback_id: view.callback_id,
          private_metadata: view.private_metadata,
          state: {
            values: {
              [EXEMPT_MODAL.reason.blockId]: {
                [EXEMPT_MODAL.reason.actionId]: { type: "plain_text_input", value: " demo " },
              },
              [EXEMPT_MODAL.days.blockId]: {
                [EXEMPT_MODAL.days.actionId]: { type: "number_input", value: "7" },
              },
            },
          },
        },
      }),
    );
    expect(i).toMatchObject({
      type: "view_submission",
      reason: "demo",
      days: "7",
      ref: REF,
      message: { channel: "C0ALERTS", ts: "1.2" },
    });
  });

  it("names the field it could not read", () => {
    const cases: [string, string][] = [
      ["nothing=1", "payload"],
      ["payload=%7Bnot-json", "payload"],
      [press(SLACK_ACTION_IDS.remediate, "{}"), "actions[0].value.a"],
      [
        press(SLACK_ACTION_IDS.remediate, encodeFindingRef({ ...REF, account: "12" })),
        "actions[0].value.a",
      ],
      [
        press(
          SLACK_ACTION_IDS.remediate,
          encodeFindingRef({ ...REF, resource: { type: "security-group", id: "sg-x; rm" } }),
        ),
        "actions[0].value.i",
      ],
      [
        press(SLACK_ACTION_IDS.remediate, encodeFindingRef({ ...REF, rules: [] })),
        "actions[0].value.rules",
      ],
      [form({ type: "block_actions", actions: [] }), "actions"],
      [
        form({
          type: "block_actions",
          user: {},
          trigger_id: "t",
          actions: [
            {
              action_id: SLACK_ACTION_IDS.acknowledge,
              action_ts: "1",
              value: encodeFindingRef(REF),
            },
          ],
        }),
        "user.id",
      ],
    ];
    for (const [body, path] of cases) {
      let error: unknown;
      try {
        parseInteraction(body);
      } catch (e) {
        error = e;
      }
      expect(error, body).toBeInstanceOf(InteractionPayloadError);
      expect((error as InteractionPayloadError).path).toBe(path);
    }
  });

  it("refuses interactions that are not the guardrail's with their own error", () => {
    expect(() => parseInteraction(press("someone.else"))).toThrow(UnsupportedInteractionError);
    expect(() => parseInteraction(form({ type: "shortcut" }))).toThrow(UnsupportedInteractionError);
  });
});
