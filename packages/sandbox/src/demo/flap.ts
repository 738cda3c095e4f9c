import { CreateSecurityGroupCommand } from "@aws-sdk/client-ec2";
import type { DecisionMessage } from "@guardrail/core";
import type { FlowResult } from "@guardrail/functions";
import type { RoutedEvent } from "../local/router";
import type { LocalNotification, LocalStack } from "../local/stack";
import { clip, type Style } from "./render";
import { cliCommand, fromAnywhere, sendCall } from "./scenarios";

/**
 * The user agent the demo's "Terraform" sends after the SDK's own: what the Terraform AWS
 * provider adds to every call (`APN/1.0 HashiCorp/1.0 Terraform/<version> ...`), so that the
 * sandbox records it in CloudTrail's `userAgent` as AWS does.
 */
export const TERRAFORM_LIKE_AGENT =
  "APN/1.0 HashiCorp/1.0 Terraform/1.9.5 (+https://www.terraform.io) terraform-provider-aws/5.70.0 (+https://registry.terraform.io/providers/hashicorp/aws)";

/** How many applies the demo makes. */
export const FLAP_APPLIES = 5;

/** What the flap scenario came to. */
export interface FlapReport {
  readonly id: "flap";
  readonly title: string;
  readonly applies: number;
  /** The flap guard's verdict on each apply: `alert`, `escalate`, `fold`, or what went wrong. */
  readonly verdicts: readonly string[];
  readonly revoked: number;
  /** Slack messages about the group: the alerts and the escalation. */
  readonly messages: number;
  /** The escalation's attribution label (`Terraform 1.9.5`) and where it says to fix the rule. */
  readonly through: string | null;
  readonly fixAt: string | null;
  /** Alerts up to the policy's threshold, then one escalation, then folded: and all revoked. */
  readonly ok: boolean;
  readonly error?: string;
}

export interface FlapContext {
  readonly stack: LocalStack;
  readonly routed: (requestId: string) => Promise<RoutedEvent>;
  readonly notification: (eventId: string) => Promise<LocalNotification>;
  readonly row: (label: string, text: string) => void;
  readonly more: (text: string) => void;
  readonly s: Style;
  readonly width: number;
}

/**
 * A rule Terraform keeps re-applying: the same forbidden rule opened `FLAP_APPLIES` times with a
 * Terraform user agent. The guardrail revokes every time, alerts as usual up to the policy's
 * threshold, then sends one escalation naming Terraform and where to fix it, and records the
 * rest without a message.
 */
export async function playFlap(ctx: FlapContext): Promise<FlapReport> {
  const { stack, row, more, s, width } = ctx;
  const title = "A rule Terraform keeps re-applying";
  const verdicts: string[] = [];
  let revoked = 0;
  let messages = 0;
  const tally = () => ({
    id: "flap" as const,
    title,
    applies: FLAP_APPLIES,
    verdicts,
    revoked,
    messages,
  });
  let escalation: DecisionMessage | undefined;
  try {
    const developer = stack.developerEc2();
    const terraform = stack.developerEc2({ userAgent: TERRAFORM_LIKE_AGENT });
    const created = await developer.send(
      new CreateSecurityGroupCommand({
        GroupName: "tf-bastion-sg",
        Description: "Bastion, managed by Terraform",
      }),
    );
    const refs = { bastion: created.GroupId ?? "" };
    const change = fromAnywhere("bastion", 22);
    row("setup", s.dim(`a group ${refs.bastion} whose Terraform code declares SSH from anywhere`));
    row("change", `${cliCommand(change, refs)} ${s.dim(`× ${FLAP_APPLIES}, as terraform apply`)}`);
    row("", s.dim(`user agent ${clip(TERRAFORM_LIKE_AGENT, width - 30)}`));
    for (let i = 1; i <= FLAP_APPLIES; i++) {
      const { requestId } = await sendCall(terraform, change, refs);
      const routed = await ctx.routed(requestId);
      const flow = routed.invocations.at(-1)?.result as FlowResult | undefined;
      const eventId = flow?.eventId ?? "";
      if (flow?.result === "revoked") revoked++;
      const verdict =
        flow?.status === "decided" ? (flow.flap ?? "alert") : (flow?.status ?? "error");
      verdicts.push(verdict);
      let said = s.dim("(no message: folded into the escalation)");
      if (flow?.published) {
        const n = await ctx.notification(eventId);
        messages++;
        said = n.slack[0]?.lines[0] ?? "";
        if ((n.message as DecisionMessage).flap?.state === "escalated") {
          escalation = n.message as DecisionMessage;
        }
      }
      row(`apply ${i}`, `${flow?.result ?? verdict} · ${verdict} · ${said}`);
    }
    const flap = escalation?.flap;
    if (flap) {
      more(s.dim(`through   ${flap.attribution.label} (${flap.attribution.evidence.join(", ")})`));
      more(s.dim(clip(`fix at    ${flap.attribution.fixAt}`, width - 12)));
    }
    const threshold = flap?.threshold ?? FLAP_APPLIES;
    const expected = Array.from({ length: FLAP_APPLIES }, (_, i) =>
      i < threshold ? "alert" : i === threshold ? "escalate" : "fold",
    );
    const ok =
      revoked === FLAP_APPLIES &&
      verdicts.every((v, i) => v === expected[i]) &&
      flap?.attribution.tool === "terraform";
    row(
      "result",
      ok
        ? s.green(`✔ ${revoked} revoked, ${messages} messages, one escalation naming Terraform`)
        : s.red(`✘ got ${verdicts.join(", ")} (${revoked} revoked)`),
    );
    return {
      ...tally(),
      through: flap?.attribution.label ?? null,
      fixAt: flap?.attribution.fixAt ?? null,
      ok,
    };
  } catch (error) {
    const message = error instanceof Error ? error.message : String(error);
    row("result", s.red(`✘ ${message}`));
    return { ...tally(), through: null, fixAt: null, ok: false, error: message };
  }
}
