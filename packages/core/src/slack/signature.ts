import { createHash, createHmac, timingSafeEqual } from "node:crypto";

/**
 * Slack signs every request it sends an app (interactions, events, slash commands): the
 * `X-Slack-Signature` header is `v0=` + hex HMAC-SHA256 of `v0:<X-Slack-Request-Timestamp>:<raw
 * body>` with the app's signing secret. A request older than five minutes is to be refused, so a
 * captured request cannot be played back later.
 * (Slack, "Verifying requests from Slack", api.slack.com/authentication/verifying-requests-from-slack)
 */
export const SLACK_SIGNATURE_VERSION = "v0";
/** How far the request timestamp may be from now, either way (Slack: five minutes). */
export const SLACK_MAX_SKEW_SECONDS = 300;
export const SLACK_SIGNATURE_HEADER = "x-slack-signature";
export const SLACK_TIMESTAMP_HEADER = "x-slack-request-timestamp";

/** Why a request's signature was refused. */
export type SignatureRejection = "missing" | "malformed" | "stale" | "mismatch";

export type SignatureVerdict =
  | { readonly ok: true; readonly timestamp: number }
  | { readonly ok: false; readonly reason: SignatureRejection; readonly detail: string };

/** What verification reads of a request: two headers and the body exactly as received. */
export interface SignedRequest {
  readonly timestamp: string | undefined;
  readonly signature: string | undefined;
  readonly body: string;
}

/**
 * The `X-Slack-Signature` value Slack sends for this body and timestamp.
 *
 * @example
 * slackSignature("8f742231b10e8888abcd99yyyzzz85a5", "1531420618", body) // "v0=a2114d57…"
 */
export function slackSignature(secret: string, timestamp: string, body: string): string {
  const mac = createHmac("sha256", secret)
    .update(`${SLACK_SIGNATURE_VERSION}:${timestamp}:${body}`, "utf8")
    .digest("hex");
  return `${SLACK_SIGNATURE_VERSION}=${mac}`;
}

/**
 * Verifies one request from Slack before anything of its body is read. The timestamp is checked
 * first (a stale request is refused whatever its signature), then the signature is compared in
 * constant time. `now` is the receiver's clock.
 *
 * @example
 * verifySlackSignature({ timestamp, signature, body }, secret, new Date())
 * // { ok: true, timestamp: 1531420618 } or { ok: false, reason: "stale", detail: "…" }
 */
export function verifySlackSignature(
  request: SignedRequest,
  secret: string,
  now: Date,
): SignatureVerdict {
  const { timestamp, signature, body } = request;
  if (timestamp === undefined || signature === undefined || timestamp === "" || signature === "") {
    return {
      ok: false,
      reason: "missing",
      detail: "X-Slack-Request-Timestamp or X-Slack-Signature is missing",
    };
  }
  if (!/^\d{1,12}$/.test(timestamp)) {
    return { ok: false, reason: "malformed", detail: "the timestamp is not Unix seconds" };
  }
  if (!/^v0=[0-9a-f]{64}$/.test(signature)) {
    return { ok: false, reason: "malformed", detail: "the signature is not v0=<64 hex digits>" };
  }
  const seconds = Number(timestamp);
  const skew = Math.abs(Math.floor(now.getTime() / 1000) - seconds);
  if (skew > SLACK_MAX_SKEW_SECONDS) {
    return {
      ok: false,
      reason: "stale",
      detail: `the timestamp is ${skew} s from now (at most ${SLACK_MAX_SKEW_SECONDS} s)`,
    };
  }
  const expected = Buffer.from(slackSignature(secret, timestamp, body), "utf8");
  const given = Buffer.from(signature, "utf8");
  // Same length by the format check above; timingSafeEqual throws on a length difference.
  if (expected.length !== given.length || !timingSafeEqual(expected, given)) {
    return { ok: false, reason: "mismatch", detail: "the signature does not match the body" };
  }
  return { ok: true, timestamp: seconds };
}

/**
 * The replay key of a verified request: a hash of its signature (which covers its timestamp and
 * body). Stored with a conditional write until the request is stale anyway, it lets one request
 * in once.
 *
 * @example
 * replayKey("v0=a2114d57…") // "6f1c…" (sha256 hex)
 */
export function replayKey(signature: string): string {
  return createHash("sha256").update(signature, "utf8").digest("hex");
}

/** Until when a replay key must be kept (epoch seconds): past it the timestamp check refuses. */
export function replayKeyExpiry(timestamp: number): number {
  return timestamp + SLACK_MAX_SKEW_SECONDS + 60;
}
