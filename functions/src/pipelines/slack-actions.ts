import { readCurrentState } from "@guardrail/aws/current-state";
import { errorMessage } from "@guardrail/aws/errors";
import type { ExemptionTagger } from "@guardrail/aws/exemption-tagger";
import type { InteractionStore } from "@guardrail/aws/interactions";
import type { SlackWebApi } from "@guardrail/aws/slack-web";
import {
  type Actor,
  checkExemptionRequest,
  decisionPublication,
  type EventMeta,
  type ExemptionNotice,
  exemptionAuditItem,
  exemptionPublication,
  type FindingRef,
  type InteractionOutcome,
  type InteractionRecord,
  judgeSlackApproval,
  type MessageSeverity,
  networkAclsOf,
  outcomeText,
  type Policy,
  parseExemptionTag,
  type RuleChange,
  renderInteractiveSlack,
  resolvedMessage,
  type SlackMessage,
  type SlackMessageRef,
  slackExemptionValue,
  viewActor,
} from "@guardrail/core";
import type { RemediationDeps } from "../deps";
import { RemediationFailedError } from "../errors";
import { forTarget } from "../for-target";
import { decide, type FlowResult } from "./decide";
import type { SlackJob } from "./slack-interactions";

export interface SlackWorkerDeps extends RemediationDeps {
  readonly slack: SlackWebApi;
  readonly interactions: InteractionStore;
  readonly tagger: ExemptionTagger;
}

/** What one job came to. */
export interface SlackJobResult {
  readonly outcome: InteractionOutcome;
  readonly flow?: FlowResult;
}

/**
 * The worker: acts on one approver's press (handed over by the endpoint, already verified and
 * authorised), updates the original message with who did what, and records it. A failure is
 * recorded and shown in the message too; the worker never retries a press on its own.
 */
export async function runSlackJob(job: SlackJob, deps: SlackWorkerDeps): Promise<SlackJobResult> {
  const { interaction } = job;
  const user = interaction.user.id;
  let outcome: InteractionOutcome;
  let flow: FlowResult | undefined;
  try {
    if (interaction.type === "view_submission") {
      outcome = await exempt(job, deps);
    } else if (interaction.action === "remediate") {
      const done = await remediateNow(job, deps);
      outcome = done.outcome;
      flow = done.flow;
    } else if (interaction.action === "acknowledge") {
      outcome = { kind: "acknowledged", userId: user };
    } else {
      // "Exempt…" opens the modal in the endpoint; a press handed here is a wiring mistake.
      outcome = { kind: "refused", userId: user, detail: "the modal opens from the endpoint" };
    }
  } catch (error) {
    deps.logger.error("Slack action failed", { interactionId: job.interactionId, error });
    outcome =
      interaction.type === "view_submission"
        ? {
            kind: "refused",
            userId: user,
            detail: `exemption not granted: ${errorMessage(error, 300)}`,
          }
        : { kind: "remediation-failed", userId: user, detail: errorMessage(error, 300) };
  }
  const failed = outcome.kind === "refused" || outcome.kind === "remediation-failed";
  const record: InteractionRecord = {
    id: job.interactionId,
    at: deps.clock().toISOString(),
    step: failed ? "failed" : "done",
    user: { id: user, name: interaction.user.name },
    approver: job.approver,
    action: interaction.type === "view_submission" ? "exempt-submit" : interaction.action,
    ref: interaction.ref,
    detail: outcomeText(outcome),
    guardrailVersion: deps.config.version,
  };
  await deps.interactions.record(record);
  if (interaction.message !== null)
    await updateMessage(interaction.message, interaction.ref, outcome, deps);
  deps.logger.info("Slack action", { interactionId: job.interactionId, outcome: outcome.kind });
  return { outcome, ...(flow ? { flow } : {}) };
}

/**
 * The original message re-rendered from the audit trail's decision, its buttons replaced by the
 * outcome. When the decision is not found (the trail was cleared), the outcome alone.
 */
async function updateMessage(
  at: SlackMessageRef,
  ref: FindingRef,
  outcome: InteractionOutcome,
  deps: SlackWorkerDeps,
): Promise<void> {
  let original: SlackMessage | null = null;
  try {
    const decisions = await deps.audit.recentEventDecisions(ref.resource.id, 50);
    const d = decisions.find((x) => x.id === ref.decision);
    if (d) original = renderInteractiveSlack(JSON.parse(decisionPublication(d).message));
  } catch (error) {
    deps.logger.warn("could not read the decision back; updating with the outcome alone", {
      error,
    });
  }
  const message = resolvedMessage(original ?? { text: outcomeText(outcome), blocks: [] }, outcome);
  try {
    await deps.slack.update({ channel: at.channel, ts: at.ts }, message);
  } catch (error) {
    // The action is done and recorded; a message that could not be updated is only logged.
    deps.logger.warn("could not update the Slack message", { error });
  }
}

/** The approver as the decision's actor: not an AWS principal, so never an own principal. */
function slackActor(job: SlackJob): Actor {
  return {
    arn: null,
    type: "SlackApprover",
    accountId: null,
    sessionIssuerArn: null,
    invokedBy: `slack:${job.interaction.user.id} (${job.approver.name})`,
    sourceIp: null,
    userAgent: null,
    console: false,
  };
}

/**
 * The policy with the finding's rules in enforce mode (their `whenBroad`/`whenTargeted`
 * cleared): "Remediate now" is an approver asking for the revoke the rule only notified. The
 * safety downgrades (an unresolved prefix list, a replaced NACL entry) still apply.
 */
export function enforcing(policy: Policy, rules: readonly string[]): Policy {
  return {
    ...policy,
    rules: policy.rules.map((r) =>
      rules.includes(r.id) ? { ...r, mode: "enforce", whenBroad: null, whenTargeted: null } : r,
    ),
  };
}

/** The target name of a current-state change (see `FindingRef.targets`). */
function stateTarget(c: RuleChange): string {
  if (c.kind === "security-group-rule") return c.ruleId ?? "";
  if (c.kind === "network-acl-entry") return `${c.egress ? "egress" : "ingress"}:${c.ruleNumber}`;
  return "";
}

/**
 * "Remediate now": the resource's current state judged with the finding's rules enforced, and
 * then the functions' own path (plan → act → record → notify). Only the offending rules are
 * revoked, exactly as the sweep would with the rule in enforce mode.
 */
async function remediateNow(
  job: SlackJob,
  deps: SlackWorkerDeps,
): Promise<{ outcome: InteractionOutcome; flow?: FlowResult }> {
  const ref = job.interaction.ref;
  const user = job.interaction.user.id;
  const target = await forTarget(deps, { account: ref.account, region: ref.region });
  // The resource's rules or entries as they are now: current state, as the sweep reads it.
  const all = (await readCurrentState(target.ec2, ref.resource)).changes;
  // The exact rules the finding named, as they are now; nothing else of the resource.
  const changes = all.filter((c) => ref.targets.includes(stateTarget(c)));
  const event: EventMeta = {
    eventId: `slack:${job.interactionId}`,
    eventName: "SlackRemediateNow",
    eventTime: deps.clock().toISOString(),
    account: ref.account,
    region: ref.region,
    actor: slackActor(job),
  };
  const acting = {
    ...target,
    config: { ...target.config, policy: enforcing(target.config.policy, ref.rules) },
  };
  let flow: FlowResult;
  try {
    flow = await decide(
      {
        event,
        changes,
        resource: ref.resource,
        withoutActor: true,
        // Each entry is judged by the traffic it decides in its whole ACL.
        ...(ref.resource.type === "network-acl"
          ? { ctx: { networkAcls: networkAclsOf(all) } }
          : {}),
      },
      acting,
    );
  } catch (error) {
    if (error instanceof RemediationFailedError) {
      return { outcome: { kind: "remediation-failed", userId: user, detail: error.message } };
    }
    throw error;
  }
  if (flow.status !== "decided") {
    return {
      outcome: {
        kind: "remediated",
        userId: user,
        detail: `nothing to remediate on ${ref.resource.id}: no rule breaks ${ref.rules.join(", ")} any more`,
      },
      flow,
    };
  }
  if (flow.result === "revoked" || flow.result === "already-gone") {
    return {
      outcome: {
        kind: "remediated",
        userId: user,
        detail: `${flow.result === "revoked" ? "revoked" : "already gone"}: ${ref.rules.join(", ")} on ${ref.resource.id}`,
      },
      flow,
    };
  }
  return {
    outcome: {
      kind: "remediation-failed",
      userId: user,
      detail: `not remediated (${flow.result}): the guardrail cannot revoke it safely; see the new alert`,
    },
    flow,
  };
}

/** The tag key an exemption of these rules goes in: the global `tagKey`, else the rules' own. */
function exemptionKey(policy: Policy, rules: readonly string[]): string {
  if (policy.exemptions.tagKey !== null) return policy.exemptions.tagKey;
  const keys = new Set(
    rules.map((id) => policy.rules.find((r) => r.id === id)?.exemptions.tagKey ?? null),
  );
  const [only] = [...keys];
  if (keys.size !== 1 || only === null || only === undefined) {
    throw new Error(`no one exemption tag key covers ${rules.join(", ")} (exemptions.tagKey)`);
  }
  return only;
}

/**
 * An exemption from the modal: judged as a tagging by the approver would be (rules
 * `tagExemptable`, the expiry within `maxDays`), recorded as the approval (so the tag is
 * honoured), then set by the guardrail's approver role, then announced at the severity of what
 * it waives. An exemption tag already on the group for other rules is not overwritten.
 */
async function exempt(job: SlackJob, deps: SlackWorkerDeps): Promise<InteractionOutcome> {
  const interaction = job.interaction;
  if (interaction.type !== "view_submission") throw new Error("not a modal submission");
  const policy = deps.config.policy;
  const ref = interaction.ref;
  const user = interaction.user.id;
  if (ref.resource.type !== "security-group") {
    throw new Error("exemption tags apply to security groups only");
  }
  const checked = checkExemptionRequest(interaction, policy);
  if (!checked.ok) throw new Error(Object.values(checked.errors).join("; "));
  const target = await forTarget(deps, { account: ref.account, region: ref.region });
  const groupId = ref.resource.id;
  const key = exemptionKey(policy, ref.rules);
  const current = (await target.ec2.tagsOf(groupId))[key];
  if (current !== undefined) {
    const parsed = parseExemptionTag(current);
    const others = parsed.valid ? parsed.rules.filter((r) => !ref.rules.includes(r)) : [];
    if (others.length > 0) {
      throw new Error(
        `${groupId} already carries ${key} for ${others.join(", ")}: edit that tag, or remove it first`,
      );
    }
  }
  const now = deps.clock();
  const { value } = slackExemptionValue(
    policy,
    { reason: checked.reason, days: checked.days, rules: ref.rules },
    now,
  );
  const judged = judgeSlackApproval(
    { groupId, key, value },
    {
      interactionId: job.interactionId,
      at: now.toISOString(),
      userId: user,
      approver: job.approver,
    },
    policy,
  );
  if (judged.status !== "granted") throw new Error(judged.summary);
  await target.audit.putTagRecord(ref.account, ref.region, judged.record);
  await deps.tagger.setTag({ account: ref.account, region: ref.region }, groupId, key, value);
  const notice: ExemptionNotice = {
    id: `slack:${job.interactionId}:${groupId}:${key}`,
    status: "granted",
    account: ref.account,
    region: ref.region,
    groupId,
    key,
    severity: (judged.severity ?? "info") as MessageSeverity,
    summary: judged.summary,
    record: judged.record,
    event: {
      id: `slack:${job.interactionId}`,
      name: "SlackExemption",
      time: now.toISOString(),
      actor: viewActor(slackActor(job)),
    },
    decidedAt: now.toISOString(),
    guardrailVersion: deps.config.version,
  };
  await deps.notifier.publish(exemptionPublication(notice));
  await deps.audit.putExemptionNotice(exemptionAuditItem(notice));
  return {
    kind: "exempted",
    userId: user,
    expires: judged.record.expires ?? "",
    reason: judged.record.reason ?? checked.reason,
  };
}
