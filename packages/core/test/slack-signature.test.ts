import { describe, expect, it } from "vitest";
import {
  replayKey,
  replayKeyExpiry,
  SLACK_MAX_SKEW_SECONDS,
  slackSignature,
  verifySlackSignature,
} from "../src/slack";

/*
 * Slack's published example, from "Verifying requests from Slack"
 * (api.slack.com/authentication/verifying-requests-from-slack): a slash-command request signed
 * with the example signing secret. Reproducing Slack's own digest from Slack's own inputs shows
 * the base string is assembled as Slack assembles it, which a round trip through our own
 * `slackSignature` could not show.
 */
const SECRET = "8f742231b10e8888abcd99yyyzzz85a5";
const TIMESTAMP = "1531420618";
const BODY =
  "token=xyzz0WbapA4vBCDEFasx0q6G&team_id=T1DC2JH3J&team_domain=testteamnow&channel_id=G8PSS9T3V&channel_name=foobar&user_id=U2CERLKJA&user_name=roadrunner&command=%2Fwebhook-collect&text=&response_url=https%3A%2F%2Fhooks.slack.com%2Fcommands%2FT1DC2JH3J%2F397700885554%2F96rGlfmibIGlgcZRskXaIFfN&trigger_id=398738663015.47445629121.803a0bc887a14d10d2c447fce8b6703c";
const SIGNATURE = "v0=a2114d57b48eac39b9ad189dd8316235a7b4a8d21a10bd27519666489c69b503";
/** A receiver clock one minute after the example was signed. */
const NOW = new Date((Number(TIMESTAMP) + 60) * 1000);

describe("Slack request signatures (v0)", () => {
  it("reproduces Slack's published example signature", () => {
    expect(slackSignature(SECRET, TIMESTAMP, BODY)).toBe(SIGNATURE);
  });

  it("accepts Slack's published example request", () => {
    const verdict = verifySlackSignature(
      { timestamp: TIMESTAMP, signature: SIGNATURE, body: BODY },
      SECRET,
      NOW,
    );
    expect(verdict).toEqual({ ok: true, timestamp: 1531420618 });
  });

  it("refuses a tampered body, however small the change", () => {
    for (const body of [
      BODY.replace("user_id=U2CERLKJA", "user_id=U2CERLKJB"),
      `${BODY}&x=1`,
      BODY.slice(0, -1),
      ` ${BODY}`,
    ]) {
      const verdict = verifySlackSignature(
        { timestamp: TIMESTAMP, signature: SIGNATURE, body },
        SECRET,
        NOW,
      );
      expect(verdict).toMatchObject({ ok: false, reason: "mismatch" });
    }
  });

  it("refuses the right body under another secret or another timestamp", () => {
    expect(
      verifySlackSignature({ timestamp: TIMESTAMP, signature: SIGNATURE, body: BODY }, "x", NOW),
    ).toMatchObject({ ok: false, reason: "mismatch" });
    expect(
      verifySlackSignature(
        { timestamp: String(Number(TIMESTAMP) + 1), signature: SIGNATURE, body: BODY },
        SECRET,
        NOW,
      ),
    ).toMatchObject({ ok: false, reason: "mismatch" });
  });

  it("refuses a request older (or newer) than five minutes, even correctly signed", () => {
    const late = new Date((Number(TIMESTAMP) + SLACK_MAX_SKEW_SECONDS + 1) * 1000);
    const early = new Date((Number(TIMESTAMP) - SLACK_MAX_SKEW_SECONDS - 1) * 1000);
    for (const now of [late, early]) {
      expect(
        verifySlackSignature(
          { timestamp: TIMESTAMP, signature: SIGNATURE, body: BODY },
          SECRET,
          now,
        ),
      ).toMatchObject({ ok: false, reason: "stale" });
    }
    const edge = new Date((Number(TIMESTAMP) + SLACK_MAX_SKEW_SECONDS) * 1000);
    expect(
      verifySlackSignature(
        { timestamp: TIMESTAMP, signature: SIGNATURE, body: BODY },
        SECRET,
        edge,
      ),
    ).toMatchObject({ ok: true });
  });

  it("refuses missing and malformed headers before computing anything", () => {
    const cases = [
      [{ timestamp: undefined, signature: SIGNATURE }, "missing"],
      [{ timestamp: TIMESTAMP, signature: undefined }, "missing"],
      [{ timestamp: "", signature: SIGNATURE }, "missing"],
      [{ timestamp: "1531420618.5", signature: SIGNATURE }, "malformed"],
      [{ timestamp: TIMESTAMP, signature: SIGNATURE.replace("v0=", "v1=") }, "malformed"],
      [{ timestamp: TIMESTAMP, signature: SIGNATURE.toUpperCase() }, "malformed"],
      [{ timestamp: TIMESTAMP, signature: SIGNATURE.slice(0, -2) }, "malformed"],
    ] as const;
    for (const [headers, reason] of cases) {
      expect(verifySlackSignature({ ...headers, body: BODY }, SECRET, NOW)).toMatchObject({
        ok: false,
        reason,
      });
    }
  });

  it("gives a replayed request the same replay key, and another request another", () => {
    const again = replayKey(SIGNATURE);
    expect(replayKey(SIGNATURE)).toBe(again);
    expect(again).toMatch(/^[0-9a-f]{64}$/);
    expect(replayKey(slackSignature(SECRET, TIMESTAMP, `${BODY}&x=1`))).not.toBe(again);
    // Kept past the five minutes in which the timestamp check would still let it in.
    expect(replayKeyExpiry(1531420618)).toBeGreaterThan(1531420618 + SLACK_MAX_SKEW_SECONDS);
  });
});
