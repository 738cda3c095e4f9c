import { describe, expect, it } from "vitest";
import { InvalidPatternError, matchesPattern } from "../src/local/pattern-matcher";

const event = {
  source: "aws.ec2",
  "detail-type": "AWS API Call via CloudTrail",
  resources: [],
  detail: {
    eventName: "AuthorizeSecurityGroupIngress",
    awsRegion: "us-east-1",
    ruleNumber: 100,
    egress: false,
    responseElements: null,
    tags: ["prod", "team-a"],
    userIdentity: { type: "IAMUser", arn: "arn:aws:iam::123456789012:user/alice" },
  },
};

describe("EventBridge pattern matcher", () => {
  it("matches exact string, number, boolean and null values", () => {
    expect(matchesPattern({ source: ["aws.ec2"] }, event)).toBe(true);
    expect(matchesPattern({ source: ["aws.s3"] }, event)).toBe(false);
    expect(matchesPattern({ detail: { ruleNumber: [100] } }, event)).toBe(true);
    expect(matchesPattern({ detail: { ruleNumber: ["100"] } }, event)).toBe(false);
    expect(matchesPattern({ detail: { egress: [false] } }, event)).toBe(true);
    expect(matchesPattern({ detail: { egress: [true] } }, event)).toBe(false);
    expect(matchesPattern({ detail: { responseElements: [null] } }, event)).toBe(true);
  });

  it("treats the matchers of one field as OR and the fields of a pattern as AND", () => {
    expect(matchesPattern({ source: ["aws.s3", "aws.ec2"] }, event)).toBe(true);
    expect(
      matchesPattern({ source: ["aws.ec2"], detail: { eventName: ["RunInstances"] } }, event),
    ).toBe(false);
  });

  it("descends into nested objects", () => {
    expect(matchesPattern({ detail: { userIdentity: { type: ["IAMUser"] } } }, event)).toBe(true);
    expect(matchesPattern({ detail: { userIdentity: { type: ["Root"] } } }, event)).toBe(false);
  });

  it("matches prefix, suffix, equals-ignore-case and wildcard on strings only", () => {
    expect(matchesPattern({ detail: { eventName: [{ prefix: "Authorize" }] } }, event)).toBe(true);
    expect(matchesPattern({ detail: { eventName: [{ prefix: "Revoke" }] } }, event)).toBe(false);
    expect(matchesPattern({ detail: { eventName: [{ suffix: "Ingress" }] } }, event)).toBe(true);
    expect(matchesPattern({ detail: { ruleNumber: [{ prefix: "1" }] } }, event)).toBe(false);
    expect(matchesPattern({ source: [{ "equals-ignore-case": "AWS.EC2" }] }, event)).toBe(true);
    expect(
      matchesPattern({ detail: { eventName: [{ wildcard: "Authorize*Ingress" }] } }, event),
    ).toBe(true);
    expect(
      matchesPattern({ detail: { eventName: [{ wildcard: "Authorize*Egress" }] } }, event),
    ).toBe(false);
    expect(matchesPattern({ source: [{ wildcard: "aws.ec?" }] }, event)).toBe(false);
  });

  it("matches anything-but values, lists and prefixes, but never a missing field", () => {
    expect(matchesPattern({ source: [{ "anything-but": "aws.s3" }] }, event)).toBe(true);
    expect(matchesPattern({ source: [{ "anything-but": ["aws.s3", "aws.ec2"] }] }, event)).toBe(
      false,
    );
    expect(matchesPattern({ source: [{ "anything-but": { prefix: "aws." } }] }, event)).toBe(false);
    expect(matchesPattern({ source: [{ "anything-but": { suffix: ".s3" } }] }, event)).toBe(true);
    expect(matchesPattern({ detail: { ruleNumber: [{ "anything-but": [100] }] } }, event)).toBe(
      false,
    );
    expect(matchesPattern({ detail: { errorCode: [{ "anything-but": ["x"] }] } }, event)).toBe(
      false,
    );
  });

  it("matches numeric ranges on numbers only", () => {
    expect(
      matchesPattern({ detail: { ruleNumber: [{ numeric: [">", 0, "<=", 100] }] } }, event),
    ).toBe(true);
    expect(matchesPattern({ detail: { ruleNumber: [{ numeric: ["<", 100] }] } }, event)).toBe(
      false,
    );
    expect(matchesPattern({ detail: { ruleNumber: [{ numeric: ["=", 100] }] } }, event)).toBe(true);
    expect(matchesPattern({ detail: { ruleNumber: [{ numeric: [">=", 101] }] } }, event)).toBe(
      false,
    );
    expect(matchesPattern({ source: [{ numeric: [">", 0] }] }, event)).toBe(false);
  });

  it("matches exists true on present leaves (null included) and exists false on missing ones", () => {
    expect(matchesPattern({ detail: { eventName: [{ exists: true }] } }, event)).toBe(true);
    expect(matchesPattern({ detail: { responseElements: [{ exists: true }] } }, event)).toBe(true);
    expect(matchesPattern({ detail: { errorCode: [{ exists: true }] } }, event)).toBe(false);
    expect(matchesPattern({ detail: { errorCode: [{ exists: false }] } }, event)).toBe(true);
    expect(matchesPattern({ detail: { eventName: [{ exists: false }] } }, event)).toBe(false);
  });

  it("fails every matcher but exists:false when a field or its parent is missing", () => {
    const issuer = {
      detail: {
        userIdentity: { sessionContext: { sessionIssuer: { arn: [{ "anything-but": ["x"] }] } } },
      },
    };
    const missing = {
      detail: {
        userIdentity: { sessionContext: { sessionIssuer: { arn: [{ exists: false }] } } },
      },
    };
    expect(matchesPattern(issuer, event)).toBe(false);
    expect(matchesPattern(missing, event)).toBe(true);
    expect(matchesPattern({ nothing: [null] }, event)).toBe(false);
    expect(matchesPattern({ nothing: { deeper: [{ exists: false }] } }, event)).toBe(true);
  });

  it("does not treat an object as a leaf value", () => {
    expect(matchesPattern({ detail: { userIdentity: [{ exists: true }] } }, event)).toBe(false);
    expect(matchesPattern({ detail: { userIdentity: [{ "anything-but": "x" }] } }, event)).toBe(
      false,
    );
  });

  it("matches an array field when any element matches, and an empty array only by exists:false", () => {
    expect(matchesPattern({ detail: { tags: ["team-a"] } }, event)).toBe(true);
    expect(matchesPattern({ detail: { tags: ["team-b"] } }, event)).toBe(false);
    expect(matchesPattern({ detail: { tags: [{ "anything-but": "prod" }] } }, event)).toBe(true);
    expect(matchesPattern({ resources: [{ exists: true }] }, event)).toBe(false);
    expect(matchesPattern({ resources: [{ exists: false }] }, event)).toBe(true);
  });

  it("rejects malformed patterns with the path of the problem", () => {
    expect(() => matchesPattern([], event)).toThrow(InvalidPatternError);
    expect(() => matchesPattern({ source: "aws.ec2" }, event)).toThrow(/\$\.source/);
    expect(() => matchesPattern({ source: [] }, event)).toThrow(/empty matcher list/);
    expect(() => matchesPattern({ source: [{ cidr: "10.0.0.0/8" }] }, event)).toThrow(
      /unsupported operator "cidr"/,
    );
    expect(() => matchesPattern({ source: [{ prefix: "a", suffix: "b" }] }, event)).toThrow(
      /exactly one operator/,
    );
    expect(() => matchesPattern({ source: [{ exists: "yes" }] }, event)).toThrow(/boolean/);
    expect(() => matchesPattern({ source: [{ prefix: 1 }] }, event)).toThrow(/string/);
    expect(() => matchesPattern({ source: [{ "anything-but": [] }] }, event)).toThrow(/non-empty/);
    expect(() =>
      matchesPattern({ source: [{ "anything-but": { numeric: [">", 1] } }] }, event),
    ).toThrow(/does not take "numeric"/);
    expect(() => matchesPattern({ source: [{ "anything-but": {} }] }, event)).toThrow(
      /one operator/,
    );
    expect(() => matchesPattern({ source: [{ numeric: [">"] }] }, event)).toThrow(/pairs/);
    expect(() => matchesPattern({ source: [{ numeric: [">", "1"] }] }, event)).toThrow(/numbers/);
    expect(() => matchesPattern({ source: [{ numeric: ["!=", 1] }] }, event)).toThrow(/"!="/);
    expect(() => matchesPattern({ source: [[1]] }, event)).toThrow(/unsupported matcher/);
  });

  it("throws for a malformed later key even when an earlier key already failed", () => {
    expect(() => matchesPattern({ source: ["aws.s3"], detail: "oops" }, event)).toThrow(
      /\$\.detail/,
    );
  });
});
