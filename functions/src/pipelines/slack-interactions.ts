import type { InteractionStore, SecretSource, SlackWebApi } from "@guardrail/aws";
import {
  checkExemptionRequest,
  exemptionModal,
  type Interaction,
  InteractionPayloadError,
  type InteractionRecord,
  type InteractionRefusal,
  interactionId,
  type Policy,
  parseInteraction,
  replayKey,
  replayKeyExpiry,
  SLACK_SIGNATURE_HEADER,
  SLACK_TIMESTAMP_HEADER,
  type SlackApprover,
  slackApproverFor,
  slackApproverGroups,
  UnsupportedInteractionError,
  verifySlackSignature,
} from "@guardrail/core";
import type { Observability } from "../middleware";

/** What the endpoint hands the worker: an approver's press or modal submission, already checked. */
export interface SlackJob {
  readonly interaction: Interaction;
  readonly interactionId: string;
  readonly approver: SlackApprover;
  readonly receivedAt: string;
}

export interface SlackEndpointDeps extends Observability {
  readonly policy: Policy;
  readonly signingSecret: SecretSource;
  readonly slack: SlackWebApi;
  readonly store: InteractionStore;
  /** Hands a job to the worker without waiting for it (an asynchronous Lambda invoke). */
  readonly dispatch: (job: SlackJob) => Promise<void>;
  readonly clock: () => Date;
  readonly version: string;
}

/** The request as a function URL or an API Gateway HTTP API (payload 2.0) delivers it. */
export interface HttpRequest {
  readonly headers?: Readonly<Record<string, string | undefined>> | null;
  readonly body?: string | null;
  readonly isBase64Encoded?: boolean;
  readonly requestContext?: { readonly http?: { readonly sourceIp?: string } };
}

export interface HttpResponse {
  readonly statusCode: number;
  readonly headers?: Record<string, string>;
  readonly body: string;
}

const text = (statusCode: number, body: string): HttpResponse => ({
  statusCode,
  headers: { "content-type": "text/plain; charset=utf-8" },
  body,
});
const json = (body: unknown): HttpResponse => ({
  statusCode: 200,
  headers: { "content-type": "application/json; charset=utf-8" },
  body: JSON.stringify(body),
});

function header(request: HttpRequest, name: string): string | undefined {
  const headers = request.headers ?? {};
  for (const [key, value] of Object.entries(headers)) {
    if (key.toLowerCase() === name) return value;
  }
  return undefined;
}

/**
 * The Slack interaction endpoint. In this order, and nothing before its step: the signature and
 * timestamp are verified against the raw body (401, recorded, when forged, stale or malformed);
 * the request's replay key is claimed (401, recorded, for a replay); only then is the body read
 * (400 when unreadable); the member must be in `slack.approvers`, directly or through a user
 * group (403, recorded); then a press of "Exempt…" opens the modal right away (its trigger id
 * lives 3 seconds), a submission is checked against `tagExemptions.maxDays` (errors shown in the
 * modal), and everything else is handed to the worker asynchronously, so Slack's 3-second
 * acknowledgment is always met.
 */
export async function handleSlackInteraction(
  request: HttpRequest,
  deps: SlackEndpointDeps,
): Promise<HttpResponse> {
  const now = deps.clock();
  const body =
    request.isBase64Encoded && request.body
      ? Buffer.from(request.body, "base64").toString("utf8")
      : (request.body ?? "");
  const signature = header(request, SLACK_SIGNATURE_HEADER);
  const sourceIp = request.requestContext?.http?.sourceIp ?? null;
  const base = { at: now.toISOString(), sourceIp, guardrailVersion: deps.version };
  const refuse = async (
    status: 401 | 403 | 400,
    id: string,
    refusal: InteractionRefusal,
    detail: string,
    extra: Partial<InteractionRecord> = {},
  ) => {
    deps.logger.warn("Slack request refused", { refusal, detail, sourceIp });
    await deps.store.record({ ...base, id, step: "refused", refusal, detail, ...extra });
    return text(status, refusal);
  };

  const verdict = verifySlackSignature(
    { timestamp: header(request, SLACK_TIMESTAMP_HEADER), signature, body },
    await deps.signingSecret(),
    now,
  );
  // A refused request is recorded under a key of its own: a hash of what it claimed.
  const key = replayKey(signature ?? `${header(request, SLACK_TIMESTAMP_HEADER)}:${body.length}`);
  if (!verdict.ok) return refuse(401, `refused:${key}`, verdict.reason, verdict.detail);
  if (!(await deps.store.claimReplayKey(key, replayKeyExpiry(verdict.timestamp)))) {
    return refuse(401, `replayed:${key}`, "replayed", "this signed request was received before");
  }

  let interaction: Interaction;
  try {
    interaction = parseInteraction(body);
  } catch (error) {
    if (error instanceof UnsupportedInteractionError) {
      deps.logger.info("interaction not handled", { detail: error.message });
      return text(200, "");
    }
    if (error instanceof InteractionPayloadError) {
      return refuse(400, `unreadable:${key}`, "unreadable", error.message);
    }
    throw error;
  }
  const id = interactionId(interaction);
  const action: NonNullable<InteractionRecord["action"]> =
    interaction.type === "block_actions" ? interaction.action : "exempt-submit";
  const who = {
    user: { id: interaction.user.id, name: interaction.user.name },
    action,
    ref: interaction.ref,
  };
  const approver = await approverOf(interaction.user.id, deps);
  if (approver === undefined) {
    return refuse(403, id, "not-approver", `${interaction.user.id} is not in slack.approvers`, who);
  }
  const accepted = async (detail: string) =>
    deps.store.record({ ...base, id, step: "accepted", approver, detail, ...who });

  if (interaction.type === "block_actions" && interaction.action === "exempt") {
    await deps.slack.openView(
      interaction.triggerId,
      exemptionModal({ ref: interaction.ref, message: interaction.message }, deps.policy),
    );
    await accepted("exemption modal opened");
    return text(200, "");
  }
  if (interaction.type === "view_submission") {
    const checked = checkExemptionRequest(interaction, deps.policy);
    if (!checked.ok) return json({ response_action: "errors", errors: checked.errors });
  }
  await deps.dispatch({ interaction, interactionId: id, approver, receivedAt: base.at });
  await accepted(`handed to the worker (${action})`);
  return text(200, "");
}

/**
 * The approver a member counts as: listed by member id, else through the first listed user
 * group they are in (one `usergroups.users.list` per group entry, only when needed).
 */
async function approverOf(
  userId: string,
  deps: SlackEndpointDeps,
): Promise<SlackApprover | undefined> {
  const direct = slackApproverFor(deps.policy, userId, []);
  if (direct !== undefined) return direct;
  for (const group of slackApproverGroups(deps.policy)) {
    const members = await deps.slack.userGroupMembers(group);
    if (members.includes(userId)) return slackApproverFor(deps.policy, userId, [group]);
  }
  return undefined;
}
