import { createHash } from "node:crypto";
import { buildInvalidDecision, type EventMeta, type NormaliseResult } from "@guardrail/core";
import type { RemediationDeps } from "../deps";
import { field } from "../field";
import type { FlowResult } from "./decide";
import { recordAndNotify } from "./record";

/**
 * The id of an unreadable event: its CloudTrail eventID if that much could be read, else the
 * EventBridge envelope id (the same on redelivery), else a digest of the payload.
 */
export function invalidEventId(raw: unknown, event: Partial<EventMeta>): string {
  if (event.eventId) return event.eventId;
  const envelope = field(raw, "id");
  if (typeof envelope === "string" && envelope !== "") return `envelope:${envelope}`;
  let text: string;
  try {
    text = typeof raw === "string" ? raw : (JSON.stringify(raw) ?? String(raw));
  } catch {
    text = String(raw);
  }
  return `sha256:${createHash("sha256").update(text).digest("hex")}`;
}

/** An unreadable event: logged, counted, recorded and sent as a `high` alert; never dropped. */
export async function reportInvalid(
  raw: unknown,
  result: Extract<NormaliseResult, { status: "invalid" }>,
  deps: RemediationDeps,
): Promise<FlowResult> {
  const id = invalidEventId(raw, result.event);
  deps.logger.error("unreadable event", {
    decisionId: id,
    error: { code: result.error.code, path: result.error.path, detail: result.error.detail },
  });
  const decision = buildInvalidDecision({
    id,
    event: result.event,
    error: { code: result.error.code, message: result.error.message, path: result.error.path },
    decidedAt: deps.clock(),
    guardrailVersion: deps.config.version,
    policyId: deps.config.policyId,
  });
  const settled = await recordAndNotify(decision, deps);
  return {
    status: "invalid",
    eventId: id,
    reason: result.error.message,
    result: "invalid",
    ...settled,
  };
}
