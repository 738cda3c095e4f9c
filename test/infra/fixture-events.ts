import { listFixtures, loadFixture } from "../fixtures/load";

/**
 * The project's CloudTrail fixtures as the EventBridge events a rule would see. Envelopes are
 * used as they are; bare CloudTrail records (`detail_…` captures, most hand-made cases) are put
 * in the envelope EventBridge wraps every CloudTrail event in. Partial captures (`FRAGMENT_…`,
 * `requestParameters-only_…`) are not whole events and are reported as skipped, never dropped
 * silently.
 */

export interface FixtureEvent {
  readonly id: string;
  readonly eventName: string;
  /** Whether this file was a bare record that had to be wrapped. */
  readonly wrapped: boolean;
  // biome-ignore lint/suspicious/noExplicitAny: fixtures are arbitrary JSON that tests reshape.
  readonly event: Record<string, any>;
}

export interface SkippedFixture {
  readonly id: string;
  readonly reason: string;
}

const isObject = (v: unknown): v is Record<string, unknown> =>
  typeof v === "object" && v !== null && !Array.isArray(v);

export function fixtureEvents(): { events: FixtureEvent[]; skipped: SkippedFixture[] } {
  const events: FixtureEvent[] = [];
  const skipped: SkippedFixture[] = [];
  for (const ref of listFixtures()) {
    const json = loadFixture(ref.eventName, ref.caseName);
    if (isObject(json) && "detail-type" in json && isObject(json.detail)) {
      events.push({ id: ref.id, eventName: ref.eventName, wrapped: false, event: json });
    } else if (isObject(json) && typeof json.eventName === "string" && "eventSource" in json) {
      events.push({ id: ref.id, eventName: ref.eventName, wrapped: true, event: envelope(json) });
    } else {
      skipped.push({ id: ref.id, reason: "not a whole CloudTrail record or EventBridge event" });
    }
  }
  return { events, skipped };
}

/**
 * The envelope EventBridge puts around a CloudTrail record (values as seen in the captured
 * envelopes; deliberately literal rather than the registry's constants, so that the constants are
 * checked against reality and not against themselves).
 */
export function envelope(detail: Record<string, unknown>): Record<string, unknown> {
  const identity = isObject(detail.userIdentity) ? detail.userIdentity : {};
  return {
    version: "0",
    id: "00000000-0000-0000-0000-000000000000",
    "detail-type": "AWS API Call via CloudTrail",
    source: "aws.ec2",
    account: detail.recipientAccountId ?? identity.accountId ?? "123456789012",
    time: detail.eventTime,
    region: detail.awsRegion,
    resources: [],
    detail,
  };
}
