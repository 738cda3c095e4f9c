import { ConfigurationError } from "@guardrail/core";
import { describe, expect, it } from "vitest";
import { eventRuleName, readSelfMonitoring } from "../../stacks/self-monitoring-settings";

describe("self-monitoring settings", () => {
  it("requires an email or HTTPS alarm subscription in a production stage", () => {
    expect(() => readSelfMonitoring({}, true, undefined)).toThrow(ConfigurationError);
    expect(() => readSelfMonitoring({}, true, undefined)).toThrow(/GUARDRAIL_ALARM_HTTPS_ENDPOINT/);
    expect(readSelfMonitoring({}, true, "oncall@example.com").email).toBe("oncall@example.com");
    expect(
      readSelfMonitoring(
        { GUARDRAIL_ALARM_HTTPS_ENDPOINT: "https://events.pagerduty.com/integration/x/enqueue" },
        true,
        undefined,
      ).httpsEndpoint,
    ).toBe("https://events.pagerduty.com/integration/x/enqueue");
  });

  it("needs no subscription outside production", () => {
    expect(readSelfMonitoring({}, false, undefined)).toEqual({
      email: undefined,
      httpsEndpoint: undefined,
      trails: [],
      slackMaxPerMinute: undefined,
    });
  });

  it("refuses an alarm endpoint that is not HTTPS", () => {
    expect(() =>
      readSelfMonitoring({ GUARDRAIL_ALARM_HTTPS_ENDPOINT: "http://x" }, false, undefined),
    ).toThrow(/https:\/\//);
  });

  it("reads the trails to check, names or full ARNs", () => {
    expect(
      readSelfMonitoring(
        { GUARDRAIL_TRAILS: " org-trail , arn:aws:cloudtrail:us-east-1:111111111111:trail/org " },
        false,
        undefined,
      ).trails,
    ).toEqual(["org-trail", "arn:aws:cloudtrail:us-east-1:111111111111:trail/org"]);
  });

  it("names the event rules so that the sweep can check them", () => {
    expect(eventRuleName("prod", "security-group-change")).toBe(
      "network-guardrail-prod-security-group-change",
    );
  });
});
