import { Logger } from "@aws-lambda-powertools/logger";
import { Metrics } from "@aws-lambda-powertools/metrics";
import type { InteractionStore, SlackWebApi } from "@guardrail/aws";
import {
  DEFAULT_POLICY_YAML,
  EXEMPT_MODAL,
  encodeFindingRef,
  type FindingRef,
  type InteractionRecord,
  loadPolicy,
  SLACK_ACTION_IDS,
  type SlackModalView,
  slackSignature,
} from "@guardrail/core";
import { describe, expect, it } from "vitest";
import {
  type HttpRequest,
  handleSlackInteraction,
  type SlackEndpointDeps,
  type SlackJob,
} from "../src/pipelines/slack-interactions";

const SECRET = "local-signing-secret";
const NOW = new Date("2026-12-06T10:00:00Z");
const TS = String(Math.floor(NOW.getTime() / 1000));
const policy = loadPolicy(`${DEFAULT_POLICY_YAML}
slack:
  approvers:
    - { id: U0ALICE00, name: alice }
    - { id: S0SECURITY, name: security on-call }
`);
const REF: FindingRef = {
  decision: "e1",
  account: "123456789012",
  region: "eu-west-1",
  resource: { type: "security-group", id: "sg-0123456789abcdef0" },
  rules: ["internet-exposure"],
  targets: ["sgr-0123456789abcdef0"],
};

function harness(groupMembers: Record<string, string[]> = {}) {
  const records: InteractionRecord[] = [];
  const keys = new Set<string>();
  const jobs: SlackJob[] = [];
  const views: SlackModalView[] = [];
  const store: InteractionStore = {
    async claimReplayKey(key) {
      if (keys.has(key)) return false;
      keys.add(key);
      return true;
    },
    async record(r) {
      records.push(r);
    },
    async records(id) {
      return records.filter((r) => r.id === id);
    },
  };
  const slack: SlackWebApi = {
    postMessage: async () => ({ channel: "C1", ts: "1" }),
    update: async () => undefined,
    openView: async (_trigger, view) => {
      views.push(view);
    },
    userGroupMembers: async (group) => groupMembers[group] ?? [],
  };
  const deps: SlackEndpointDeps = {
    logger: new Logger({ logLevel: "SILENT" }),
    metrics: new Metrics({ namespace: "test" }),
    policy,
    signingSecret: async () => SECRET,
    slack,
    store,
    dispatch: async (job) => {
      jobs.push(job);
    },
    clock: () => NOW,
    version: "test",
  };
  return { deps, records, jobs, views };
}

const form = (payload: unknown) => `payload=${encodeURIComponent(JSON.stringify(payload))}`;
const press = (actionId: string, user = "U0ALICE00", actionTs = "1765015200.000100") =>
  form({
    type: "block_actions",
    user: { id: user, username: user === "U0ALICE00" ? "alice" : "mallory" },
    trigger_id: "1.2.abc",
    channel: { id: "C0ALERTS" },
    container: { type: "message", message_ts: "1765015100.000100" },
    actions: [{ action_id: actionId, value: encodeFindingRef(REF), action_ts: actionTs }],
  });
const signed = (body: string, ts = TS, secret = SECRET): HttpRequest => ({
  headers: {
    "X-Slack-Request-Timestamp": ts,
    "X-Slack-Signature": slackSignature(secret, ts, body),
    "content-type": "application/x-www-form-urlencoded",
  },
  body,
  requestContext: { http: { sourceIp: "203.0.113.7" } },
});

describe("the Slack interaction endpoint", () => {
  it("hands an approver's signed press to the worker and records who pressed what", async () => {
    const h = harness();
    const response = await handleSlackInteraction(
      signed(press(SLACK_ACTION_IDS.remediate)),
      h.deps,
    );
    expect(response.statusCode).toBe(200);
    expect(h.jobs).toHaveLength(1);
    expect(h.jobs[0]).toMatchObject({
      interaction: { type: "block_actions", action: "remediate", ref: REF },
      approver: { id: "U0ALICE00", name: "alice" },
      interactionId: "U0ALICE00:1765015200.000100",
    });
    expect(h.records).toEqual([
      expect.objectContaining({
        step: "accepted",
        user: { id: "U0ALICE00", name: "alice" },
        approver: { id: "U0ALICE00", name: "alice" },
        action: "remediate",
        ref: REF,
        sourceIp: "203.0.113.7",
      }),
    ]);
  });

  it("reads a base64 body as function URLs deliver form posts", async () => {
    const h = harness();
    const body = press(SLACK_ACTION_IDS.acknowledge);
    const request = {
      ...signed(body),
      body: Buffer.from(body).toString("base64"),
      isBase64Encoded: true,
    };
    expect((await handleSlackInteraction(request, h.deps)).statusCode).toBe(200);
    expect(h.jobs).toHaveLength(1);
  });

  it("refuses a tampered body with 401, records it, and does nothing else", async () => {
    const h = harness();
    const request = signed(press(SLACK_ACTION_IDS.remediate));
    const tampered = {
      ...request,
      body: press(SLACK_ACTION_IDS.remediate).replace("U0ALICE00", "U0MALLORY"),
    };
    const response = await handleSlackInteraction(tampered, h.deps);
    expect(response.statusCode).toBe(401);
    expect(h.jobs).toEqual([]);
    expect(h.views).toEqual([]);
    expect(h.records).toEqual([expect.objectContaining({ step: "refused", refusal: "mismatch" })]);
    // Nothing of the body is kept: a forged request's claims are not the audit trail's.
    expect(h.records[0]?.user).toBeUndefined();
  });

  it("refuses a request signed with another secret, or unsigned", async () => {
    const h = harness();
    const body = press(SLACK_ACTION_IDS.remediate);
    expect(
      (await handleSlackInteraction(signed(body, TS, "not-the-secret"), h.deps)).statusCode,
    ).toBe(401);
    expect((await handleSlackInteraction({ body }, h.deps)).statusCode).toBe(401);
    expect(h.records.map((r) => r.refusal)).toEqual(["mismatch", "missing"]);
    expect(h.jobs).toEqual([]);
  });

  it("refuses a stale request (timestamp over five minutes old), however well signed", async () => {
    const h = harness();
    const old = String(Number(TS) - 301);
    const response = await handleSlackInteraction(
      signed(press(SLACK_ACTION_IDS.remediate), old),
      h.deps,
    );
    expect(response.statusCode).toBe(401);
    expect(h.records).toEqual([expect.objectContaining({ step: "refused", refusal: "stale" })]);
    expect(h.jobs).toEqual([]);
  });

  it("acts on a signed request once: a replay gets 401 and is recorded", async () => {
    const h = harness();
    const request = signed(press(SLACK_ACTION_IDS.remediate));
    expect((await handleSlackInteraction(request, h.deps)).statusCode).toBe(200);
    expect((await handleSlackInteraction(request, h.deps)).statusCode).toBe(401);
    expect(h.jobs).toHaveLength(1);
    expect(h.records.map((r) => r.step === "refused" && r.refusal)).toEqual([false, "replayed"]);
  });

  it("refuses a press by someone who is not an approver with 403, recording who", async () => {
    const h = harness();
    const response = await handleSlackInteraction(
      signed(press(SLACK_ACTION_IDS.remediate, "U0MALLORY")),
      h.deps,
    );
    expect(response.statusCode).toBe(403);
    expect(h.jobs).toEqual([]);
    expect(h.records).toEqual([
      expect.objectContaining({
        step: "refused",
        refusal: "not-approver",
        user: { id: "U0MALLORY", name: "mallory" },
        action: "remediate",
      }),
    ]);
  });

  it("counts a member of a listed user group as that group's approver", async () => {
    const h = harness({ S0SECURITY: ["U0BOB0000"] });
    const response = await handleSlackInteraction(
      signed(press(SLACK_ACTION_IDS.acknowledge, "U0BOB0000")),
      h.deps,
    );
    expect(response.statusCode).toBe(200);
    expect(h.jobs[0]?.approver).toEqual({ id: "S0SECURITY", name: "security on-call" });
  });

  it("opens the exemption modal right away on Exempt…, capped at maxDays", async () => {
    const h = harness();
    const response = await handleSlackInteraction(signed(press(SLACK_ACTION_IDS.exempt)), h.deps);
    expect(response.statusCode).toBe(200);
    expect(h.jobs).toEqual([]);
    expect(h.views).toHaveLength(1);
    expect(JSON.stringify(h.views[0]?.blocks)).toContain('"max_value":"30"');
  });

  it("answers a submission over maxDays with the modal's errors and hands nothing over", async () => {
    const h = harness();
    const submit = (days: string) =>
      form({
        type: "view_submission",
        user: { id: "U0ALICE00" },
        view: {
          id: `V${days}`,
          callback_id: EXEMPT_MODAL.callbackId,
          private_metadata: JSON.stringify({ ref: encodeFindingRef(REF), message: null }),
          state: {
            values: {
              reason: { reason: { type: "plain_text_input", value: "python demo" } },
              days: { days: { type: "number_input", value: days } },
            },
          },
        },
      });
    const tooLong = await handleSlackInteraction(signed(submit("45")), h.deps);
    expect(JSON.parse(tooLong.body)).toEqual({
      response_action: "errors",
      errors: { days: "at most 30 days (tagExemptions.maxDays)" },
    });
    expect(h.jobs).toEqual([]);
    expect((await handleSlackInteraction(signed(submit("7")), h.deps)).statusCode).toBe(200);
    expect(h.jobs[0]?.interaction).toMatchObject({
      type: "view_submission",
      days: "7",
      reason: "python demo",
    });
  });

  it("answers 400 to a signed payload it cannot read, naming the field in the record", async () => {
    const h = harness();
    const response = await handleSlackInteraction(signed("payload=%7Bnot-json"), h.deps);
    expect(response.statusCode).toBe(400);
    expect(h.records[0]).toMatchObject({ step: "refused", refusal: "unreadable" });
    expect(h.jobs).toEqual([]);
  });
});
