import { defaultPolicy } from "@guardrail/core";
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { listFixtures, loadFixture } from "../../../test/fixtures/load";
import { isUnrelated, peek, replayRecord, unrelatedLine } from "../src/replay/record";

const policy = defaultPolicy();

/** The fast path must say exactly what normalising the record would have said. */
function expectSameAsNormaliser(value: unknown) {
  const p = peek(value);
  expect(p).not.toBeNull();
  if (p === null || !isUnrelated(p)) return false;
  expect(unrelatedLine(p, "f#0")).toEqual(replayRecord(value, "f#0", policy));
  return true;
}

describe("unrelated-record fast path", () => {
  it("agrees with the normaliser on the fixtures it skips", () => {
    let skipped = 0;
    for (const f of listFixtures()) {
      if (expectSameAsNormaliser(loadFixture(f.eventName, f.caseName))) skipped++;
    }
    expect(skipped).toBeGreaterThanOrEqual(4);
  });

  it("never skips an EC2 call the guardrail knows", () => {
    for (const eventName of ["AuthorizeSecurityGroupIngress", "RevokeSecurityGroupIngress"]) {
      const p = peek({ eventSource: "ec2.amazonaws.com", eventName, errorCode: "Client.X" });
      expect(p && isUnrelated(p)).toBe(false);
    }
  });

  it("never skips a record it cannot read (the normaliser reports it)", () => {
    expect(peek("not an object")).toBeNull();
    const p = peek({ eventName: "GetObject" });
    expect(p && isUnrelated(p)).toBe(false);
  });

  it("agrees with the normaliser on any unrelated record, envelope or bare", () => {
    const text = fc.option(fc.string({ maxLength: 12 }), { nil: undefined });
    // What SIEM round-trips and hand edits produce: empty strings, numbers, nulls, objects.
    const messy = fc.oneof(
      fc.string({ maxLength: 8 }),
      fc.constant(""),
      fc.integer(),
      fc.constant(null),
      fc.constant({}),
      fc.constant(undefined),
    );
    const record = fc.record(
      {
        eventSource: fc.constantFrom(
          "s3.amazonaws.com",
          "ec2.amazonaws.com",
          "sts.amazonaws.com",
          "kms.amazonaws.com",
        ),
        eventName: fc.constantFrom(
          "GetObject",
          "DescribeInstances",
          "CreateTags",
          "RunInstances",
          "AssumeRole",
          "AuthorizeSecurityGroupIngress",
        ),
        eventID: fc.uuid(),
        eventTime: fc.constant("2025-03-01T10:00:00Z"),
        awsRegion: fc.constantFrom("eu-west-1", "us-east-1"),
        recipientAccountId: fc.constantFrom("111122223333", "444455556666"),
        errorCode: fc.oneof(
          fc.option(fc.constantFrom("AccessDenied", "Client.UnauthorizedOperation")),
          messy,
        ),
        readOnly: fc.oneof(fc.option(fc.boolean()), fc.constant("true"), messy),
        userAgent: messy,
        sessionCredentialFromConsole: fc.oneof(fc.constant("true"), messy),
        userIdentity: fc.record(
          {
            type: fc.constantFrom("IAMUser", "AssumedRole", "AWSService"),
            arn: fc.oneof(text, messy),
            invokedBy: text,
            invokedby: text,
            accountId: messy,
            sessionContext: fc.oneof(
              fc.record({ sessionIssuer: fc.oneof(fc.record({ arn: text }), messy) }),
              messy,
            ),
          },
          { requiredKeys: ["type"] },
        ),
      },
      { requiredKeys: ["eventSource", "eventName", "eventID", "eventTime", "userIdentity"] },
    );
    const input = fc.oneof(
      record,
      record.map((detail) => ({
        version: "0",
        id: "e",
        "detail-type": "AWS API Call via CloudTrail",
        source: "aws.s3",
        account: "999999999999",
        time: "2025-03-01T10:00:00Z",
        region: "ap-south-1",
        resources: [],
        detail,
      })),
    );
    let skipped = 0;
    fc.assert(
      fc.property(input, (value) => {
        if (expectSameAsNormaliser(JSON.parse(JSON.stringify(value)))) skipped++;
      }),
      { numRuns: 1000 },
    );
    // Not vacuous: most generated records are clean enough for the fast path.
    expect(skipped).toBeGreaterThan(100);
  });
});
