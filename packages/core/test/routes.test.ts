import { describe, expect, it } from "vitest";
import {
  EVENT_DRIVEN_FUNCTIONS,
  EVENT_FUNCTIONS,
  EVENT_PARSERS,
  EVENT_SPECS,
  FUNCTION_DATA_ACCESS,
  FUNCTION_EC2_ACTIONS,
  FUNCTION_SIZING,
  GUARDRAIL_FUNCTIONS,
  HANDLED_EVENT_NAMES,
  isNotifierFunction,
  LOOKUP_PERMISSIONS,
  NOTIFIER_FUNCTIONS,
  NOTIFIERS,
  type NotifierSpec,
  notifierEnvironment,
  notifierParameterName,
  REMEDIATION_PERMISSIONS,
  SLACK_FUNCTION_ENV,
  TAG_EVENT_SPECS,
  topicNotifiers,
} from "../src";

/*
 * The route table (EVENT_SPECS over EVENT_FUNCTIONS) and the notifier registry (NOTIFIERS over
 * NOTIFIER_FUNCTIONS) are where the function set, its EC2 grants, sizing and data access come
 * from. The literal tables below are what the registry held before they were derived: the
 * derivation must reproduce them exactly (the infra tests check the rendered IAM and patterns).
 */

describe("the event route table", () => {
  it("derives the same function set, in the same order, as the hand-written list it replaced", () => {
    expect(GUARDRAIL_FUNCTIONS).toEqual([
      "security-group-change",
      "network-acl-change",
      "prefix-list-change",
      "sweep",
      "slack-notifier",
    ]);
    expect(EVENT_DRIVEN_FUNCTIONS).toEqual(Object.keys(EVENT_FUNCTIONS));
  });

  it("derives each function's EC2 actions exactly as they were listed by hand", () => {
    expect(FUNCTION_EC2_ACTIONS).toEqual({
      "security-group-change": [
        "ec2:RevokeSecurityGroupIngress",
        "ec2:RevokeSecurityGroupEgress",
        "ec2:DescribeSecurityGroups",
        "ec2:DescribeSecurityGroupRules",
        "ec2:GetManagedPrefixListEntries",
      ],
      "network-acl-change": [
        "ec2:DeleteNetworkAclEntry",
        "ec2:CreateNetworkAclEntry",
        "ec2:DescribeNetworkAcls",
      ],
      "prefix-list-change": [
        "ec2:RevokeSecurityGroupIngress",
        "ec2:RevokeSecurityGroupEgress",
        "ec2:DescribeSecurityGroupRules",
        "ec2:DescribeSecurityGroups",
        "ec2:GetManagedPrefixListEntries",
        "ec2:GetManagedPrefixListAssociations",
      ],
      sweep: [
        "ec2:RevokeSecurityGroupIngress",
        "ec2:RevokeSecurityGroupEgress",
        "ec2:DeleteNetworkAclEntry",
        "ec2:CreateNetworkAclEntry",
        "ec2:DescribeSecurityGroups",
        "ec2:DescribeSecurityGroupRules",
        "ec2:DescribeNetworkAcls",
        "ec2:GetManagedPrefixListEntries",
        "ec2:DescribeManagedPrefixLists",
        "ec2:DescribeRegions",
      ],
      "slack-notifier": [],
    });
  });

  it("derives sizing and data access as they were listed by hand", () => {
    expect(FUNCTION_SIZING).toEqual({
      "security-group-change": { memoryMb: 1769, timeoutSeconds: 90, reservedConcurrency: 25 },
      "network-acl-change": { memoryMb: 1769, timeoutSeconds: 60, reservedConcurrency: 10 },
      "prefix-list-change": { memoryMb: 1769, timeoutSeconds: 120, reservedConcurrency: 5 },
      sweep: { memoryMb: 1024, timeoutSeconds: 300, reservedConcurrency: 1 },
      "slack-notifier": { memoryMb: 256, timeoutSeconds: 180, reservedConcurrency: 5 },
    });
    expect(FUNCTION_DATA_ACCESS).toEqual({
      "security-group-change": { audit: true, state: "read", notify: true },
      "network-acl-change": { audit: true, state: "read", notify: true },
      "prefix-list-change": { audit: true, state: "read", notify: true },
      sweep: { audit: true, state: "write", notify: true },
      "slack-notifier": { audit: false, state: "none", notify: false },
    });
  });

  it("routes every event to an event function, or to none for a restrictive call", () => {
    for (const [name, spec] of Object.entries(EVENT_SPECS)) {
      if (spec.effect === "restrictive") expect(spec.handler, name).toBeNull();
      else expect(Object.keys(EVENT_FUNCTIONS), name).toContain(spec.handler);
    }
    for (const spec of Object.values(TAG_EVENT_SPECS)) {
      expect(Object.keys(EVENT_FUNCTIONS)).toContain(spec.handler);
    }
  });

  it("has a parser for exactly the handled events", () => {
    expect(Object.keys(EVENT_PARSERS).sort()).toEqual([...HANDLED_EVENT_NAMES].sort());
  });

  it("grants each event function exactly its remediations' and look-ups' actions", () => {
    for (const [fn, spec] of Object.entries(EVENT_FUNCTIONS)) {
      const expected = new Set([
        ...spec.remediations.flatMap((a) => REMEDIATION_PERMISSIONS[a]),
        ...spec.lookups.map((l) => LOOKUP_PERMISSIONS[l]),
      ]);
      expect(new Set(FUNCTION_EC2_ACTIONS[fn as keyof typeof EVENT_FUNCTIONS]), fn).toEqual(
        expected,
      );
    }
  });
});

describe("the notifier registry", () => {
  it("puts each subscribed function among the guardrail's functions, with no EC2 action", () => {
    for (const fn of Object.keys(NOTIFIER_FUNCTIONS)) {
      expect(GUARDRAIL_FUNCTIONS).toContain(fn);
      expect(FUNCTION_EC2_ACTIONS[fn as keyof typeof NOTIFIER_FUNCTIONS]).toEqual([]);
    }
    expect(GUARDRAIL_FUNCTIONS.filter(isNotifierFunction)).toEqual(Object.keys(NOTIFIER_FUNCTIONS));
  });

  it("gives every topic channel a subscribed function and a secret with distinct names", () => {
    const channels = topicNotifiers();
    expect(channels.map(([c]) => c)).toEqual(["slack", "slack-app"]);
    for (const [, spec] of channels)
      expect(Object.keys(NOTIFIER_FUNCTIONS)).toContain(spec.function);
    const envs = channels.map(([, spec]) => spec.secret.env);
    expect(new Set(envs).size).toBe(envs.length);
    const keys = channels.map(([, spec]) => spec.secret.scopeKey);
    expect(new Set(keys).size).toBe(keys.length);
  });

  it("names a channel's parameter from its deploy setting, or the stage's default", () => {
    const { secret } = NOTIFIERS.slack;
    expect(notifierParameterName(secret, "prod", {})).toBe(
      "/network-guardrail/prod/slack-webhook-url",
    );
    expect(notifierParameterName(secret, "prod", { [secret.deployEnv]: " /x/hook " })).toBe(
      "/x/hook",
    );
  });

  it("puts in a notifier's environment the parameter names of its channels that are on", () => {
    expect(notifierEnvironment("slack-notifier", { slack: "/a" })).toEqual({
      [SLACK_FUNCTION_ENV.webhookParameter]: "/a",
    });
    expect(notifierEnvironment("slack-notifier", { slack: "/a", "slack-app": "/t" })).toEqual({
      [SLACK_FUNCTION_ENV.webhookParameter]: "/a",
      GUARDRAIL_SLACK_TOKEN_PARAMETER: "/t",
    });
    expect(notifierEnvironment("sweep", { slack: "/a" })).toEqual({});
  });

  it("switches each after-record channel with one variable", () => {
    const afterRecord = (Object.values(NOTIFIERS) as NotifierSpec[]).filter(
      (spec) => spec.delivery === "after-record",
    );
    expect(afterRecord.map((spec) => spec.switch)).toEqual(["GUARDRAIL_SECURITY_HUB"]);
  });
});
