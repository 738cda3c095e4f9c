import { describe, expect, it } from "vitest";
import { ConfigurationError } from "../src/errors";
import { DEFAULT_SWEEP_RATE_MINUTES, FUNCTION_SIZING } from "../src/registry";
import {
  AWS_PATTERNS,
  checkParameterName,
  checkSlackChannel,
  isParameterName,
  readList,
  readParameterName,
  readSweepRate,
  readSwitch,
  readWholeNumber,
  SWEEP_RATE_RANGE,
} from "../src/settings";
import { thrownBy } from "./thrown";

/** The message `run` throws, failing the test when it returns instead. */
function refusal(run: () => unknown): string {
  return thrownBy(run, ConfigurationError).message;
}

const RATE = "GUARDRAIL_SWEEP_RATE_MINUTES";

describe("sweep rate rule", () => {
  it("starts at the sweep's own timeout, so that one sweep ends before the next is due", () => {
    expect(SWEEP_RATE_RANGE).toEqual({ min: 5, max: 1440 });
    expect(SWEEP_RATE_RANGE.min * 60).toBeGreaterThanOrEqual(FUNCTION_SIZING.sweep.timeoutSeconds);
  });

  it.each([
    [undefined, DEFAULT_SWEEP_RATE_MINUTES],
    ["", DEFAULT_SWEEP_RATE_MINUTES],
    ["  ", DEFAULT_SWEEP_RATE_MINUTES],
    ["5", 5],
    [" 60 ", 60],
    ["1440", 1440],
  ])("reads %j as %d", (value, minutes) => {
    expect(readSweepRate({ [RATE]: value })).toBe(minutes);
  });

  it.each([
    ["0", `${RATE}="0" must be a whole number of minutes from 5 to 1440`],
    ["1", `${RATE}="1" must be a whole number of minutes from 5 to 1440`],
    ["4", `${RATE}="4" must be a whole number of minutes from 5 to 1440`],
    ["1441", `${RATE}="1441" must be a whole number of minutes from 5 to 1440`],
    ["15.5", `${RATE}="15.5" must be a whole number of minutes from 5 to 1440`],
    ["-5", `${RATE}="-5" must be a whole number of minutes from 5 to 1440`],
    ["1e2", `${RATE}="1e2" must be a whole number of minutes from 5 to 1440`],
    ["ten", `${RATE}="ten" must be a whole number of minutes from 5 to 1440`],
  ])("refuses %j", (value, message) => {
    expect(refusal(() => readSweepRate({ [RATE]: value }))).toBe(message);
  });

  it("reads other whole numbers with their own range and no unit", () => {
    const range = { fallback: 0, min: 0, max: 100 };
    expect(readWholeNumber({ N: "100" }, "N", range)).toBe(100);
    expect(readWholeNumber({}, "N", range)).toBe(0);
    expect(refusal(() => readWholeNumber({ N: "101" }, "N", range))).toBe(
      'N="101" must be a whole number from 0 to 100',
    );
  });
});

describe("on/off switch rule", () => {
  it.each([
    ["on", true],
    ["ON", true],
    [" true ", true],
    ["1", true],
    ["off", false],
    ["False", false],
    ["0", false],
  ])("reads %j as %s", (value, on) => {
    expect(readSwitch({ S: value }, "S", !on)).toBe(on);
  });

  it("falls back when unset or blank", () => {
    expect(readSwitch({}, "S", true)).toBe(true);
    expect(readSwitch({ S: " " }, "S", false)).toBe(false);
  });

  it.each(["yes", "enabled", "2", "o n"])("refuses %j", (value) => {
    expect(refusal(() => readSwitch({ S: value }, "S", false))).toBe(
      `S="${value}" must be "on" or "off"`,
    );
  });
});

describe("SSM parameter name rule (PutParameter's naming constraints)", () => {
  it.each([
    "slack-webhook-url",
    "/network-guardrail/prod/slack-webhook-url",
    "/team_1/slack.webhook-URL",
    `/${"a".repeat(1010)}`,
    `/${Array.from({ length: 15 }, (_, i) => `l${i}`).join("/")}`,
    // Only the prefix is reserved: `aws` or `ssm` further in is a name like any other.
    "/team/aws/slack",
    "my-ssm-parameter",
  ])("accepts %s", (name) => {
    expect(isParameterName(name)).toBe(true);
    expect(checkParameterName(name, "P", "the URL")).toBe(name);
  });

  it.each([
    ["", "empty"],
    [`/${"a".repeat(1011)}`, "over 1011 characters"],
    ["/aws/reserved", "the aws prefix"],
    ["AWS-params", "the aws prefix, any case"],
    ["/ssm/x", "the ssm prefix"],
    ["Ssm-x", "the ssm prefix, any case"],
    ["team/slack", "a hierarchy without the leading slash"],
    [`/${Array.from({ length: 16 }, (_, i) => `l${i}`).join("/")}`, "16 levels"],
    ["/team/slack url", "a space"],
    ["https://hooks.slack.com/services/T000/B000/XXXX", "a URL"],
    ["/team/slack:1", "a version selector"],
  ])("refuses %j (%s) without echoing it", (name) => {
    expect(isParameterName(name)).toBe(false);
    const message = refusal(() => checkParameterName(name, "P", "the URL"));
    expect(message).toMatch(
      /^P is not an SSM parameter name \(it names the parameter; the URL goes/,
    );
    expect(message).toMatch(/at most 1011 characters/);
    if (name !== "") expect(message).not.toContain(name);
  });

  it("reads an unset or blank variable as no parameter", () => {
    expect(readParameterName({}, "P", "the token")).toBeNull();
    expect(readParameterName({ P: "  " }, "P", "the token")).toBeNull();
    expect(readParameterName({ P: " /a/b " }, "P", "the token")).toBe("/a/b");
    expect(() => readParameterName({ P: "xoxb-1-2" }, "P", "the token")).not.toThrow();
    expect(refusal(() => readParameterName({ P: "/aws/x" }, "P", "the token"))).toMatch(
      /the token goes in the parameter/,
    );
  });
});

describe("Slack channel id rule", () => {
  it.each(["C0123ABCD", "G0123ABCD", "C0SANDBOX01", "CAB"])("accepts %s", (id) => {
    expect(checkSlackChannel(id, "CH")).toBe(id);
  });

  it.each([
    ["D0123ABCD", "a direct message"],
    ["U0123ABCD", "a user"],
    ["#alerts", "a channel name"],
    ["c0123abcd", "lower case"],
    ["C", "too short"],
    [`C${"A".repeat(31)}`, "too long"],
    ["", "empty"],
  ])("refuses %j (%s)", (id) => {
    expect(refusal(() => checkSlackChannel(id, "CH"))).toBe(
      `CH must be the channel id the bot posts to (C… for a public channel, G… for a private one), got "${id}"`,
    );
  });
});

describe("list rule", () => {
  const ROLE = "arn:aws:iam::123456789012:role/guardrail";
  const SESSION = "arn:aws:sts::123456789012:assumed-role/guardrail/session";

  it.each([
    [`${ROLE}, ${SESSION}`, [ROLE, SESSION]],
    [JSON.stringify([ROLE, ` ${SESSION} `, ROLE, ""]), [ROLE, SESSION]],
    [`${ROLE},,`, [ROLE]],
    ["", []],
  ])("reads %j", (raw, arns) => {
    expect(readList({ L: raw }, "L", AWS_PATTERNS.roleOrSessionArn, "an IAM role ARN")).toEqual(
      arns,
    );
  });

  it.each([
    ["[not json", "L is not valid JSON"],
    ["[1]", "L must be a list (comma-separated, or a JSON array of strings)"],
    ['{"a":1}', 'L: "{"a":1}" is not an IAM role ARN'],
    [
      "arn:aws:iam::123456789012:user/bob",
      'L: "arn:aws:iam::123456789012:user/bob" is not an IAM role ARN',
    ],
  ])("refuses %j", (raw, message) => {
    expect(
      refusal(() => readList({ L: raw }, "L", AWS_PATTERNS.roleOrSessionArn, "an IAM role ARN")),
    ).toBe(message);
  });

  it("reads `all` as every Region only where asked", () => {
    expect(
      readList({ L: "ALL" }, "L", AWS_PATTERNS.region, "a region name", { all: true }),
    ).toEqual([]);
    expect(refusal(() => readList({ L: "all" }, "L", AWS_PATTERNS.region, "a region name"))).toBe(
      'L: "all" is not a region name',
    );
  });
});

describe("AWS_PATTERNS the functions' own settings use", () => {
  it.each([
    ["tableName", "guardrail-audit", true],
    ["tableName", "a.b_c-1", true],
    ["tableName", "ab", false],
    ["tableName", "no spaces allowed", false],
    ["topicArn", "arn:aws:sns:eu-west-1:123456789012:guardrail-alerts", true],
    ["topicArn", "arn:aws-us-gov:sns:us-gov-west-1:123456789012:alerts.fifo", true],
    ["topicArn", "arn:aws:sqs:eu-west-1:123456789012:q", false],
    ["topicArn", "arn:aws:sns:eu-west-1:12345:alerts", false],
    ["roleOrSessionArn", "arn:aws:iam::123456789012:role/path/guardrail", true],
    ["roleOrSessionArn", "arn:aws:sts::123456789012:assumed-role/guardrail/session", true],
    ["roleOrSessionArn", "arn:aws:iam::123456789012:user/bob", false],
  ] as const)("%s: %s is %s", (pattern, value, ok) => {
    expect(AWS_PATTERNS[pattern].test(value)).toBe(ok);
  });
});
