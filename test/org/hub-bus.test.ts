import { EVENT_DRIVEN_FUNCTIONS, eventPatternFor } from "@guardrail/core";
import { evaluatePolicies, parsePolicyDocument } from "@guardrail/sandbox";
import { matchesPattern } from "@guardrail/sandbox/pattern-matcher";
import { hubBusArn, memberRoleName } from "@guardrail/templates";
import { describe, expect, it } from "vitest";
import { hubBusPolicy, hubEventPatternFor } from "../../stacks/hub-bus";
import { fixtureEvents } from "../infra/fixture-events";

const BUS = hubBusArn("aws", "eu-west-1", "111122223333", "prod");
const ORG = "o-a1b2c3d4e5";
const MEMBER_ROLE = memberRoleName("prod");

describe("hub bus policy", () => {
  const policy = hubBusPolicy({ busArn: BUS, orgId: ORG });

  it("allows only events:PutEvents on this bus, from inside the organisation", () => {
    expect(policy.Statement).toEqual([
      {
        Sid: "OrganisationSpokesPutEvents",
        Effect: "Allow",
        Principal: "*",
        Action: "events:PutEvents",
        Resource: BUS,
        Condition: { StringEquals: { "aws:PrincipalOrgID": ORG } },
      },
    ]);
  });

  const put = (orgId: string | undefined, action = "events:PutEvents") =>
    evaluatePolicies([parsePolicyDocument(policy)], {
      action,
      principalArns: ["arn:aws:iam::444455556666:role/forwarder"],
      principalAccount: "444455556666",
      values: orgId === undefined ? {} : { "aws:PrincipalOrgID": orgId },
    });

  it("lets a forwarder of the organisation put events", () => {
    expect(put(ORG)).toBe("allow");
  });

  it("refuses a principal of another organisation or of none", () => {
    expect(put("o-zzzzzzzzzz")).toBe("implicit-deny");
    expect(put(undefined)).toBe("implicit-deny");
  });

  it("grants nothing but PutEvents", () => {
    expect(put(ORG, "events:PutRule")).toBe("implicit-deny");
  });
});

describe("hub bus rule patterns", () => {
  const { events } = fixtureEvents();
  const ownRole = "arn:aws:iam::111122223333:role/network-guardrail-prod-eu-west-1-sweep";

  it.each(EVENT_DRIVEN_FUNCTIONS)("route the same fixtures as the default bus (%s)", (fn) => {
    const hub = hubEventPatternFor(fn);
    const local = eventPatternFor(fn, [ownRole]);
    for (const e of events) {
      expect(matchesPattern(hub, e.event), e.id).toBe(matchesPattern(local, e.event));
    }
  });

  it.each(EVENT_DRIVEN_FUNCTIONS)("hold no EventBridge wildcard (%s)", (fn) => {
    // EventBridge's `*` matches `:` and `/`, unlike IAM's ArnLike: no pattern may rely on it.
    expect(JSON.stringify(hubEventPatternFor(fn))).not.toContain("wildcard");
  });

  /** An Authorize fixture as `sessionIssuer` issued it. */
  function authorizeBy(sessionIssuerArn: string, type = "AssumedRole") {
    const sample = events.find(
      (e) => e.eventName === "AuthorizeSecurityGroupIngress" && !("errorCode" in e.event.detail),
    );
    if (sample === undefined) throw new Error("no AuthorizeSecurityGroupIngress fixture");
    const event = structuredClone(sample.event);
    (event.detail as Record<string, unknown>).userIdentity = {
      type,
      sessionContext: { sessionIssuer: { arn: sessionIssuerArn } },
    };
    return event;
  }

  it("deliver an IAM user whose path imitates the member role to the function", () => {
    // sts:GetFederationToken by user /x:role/<member role>: an EventBridge wildcard on
    // arn:aws:iam::*:role/<member role> would have dropped it before any check ran.
    const crafted = authorizeBy(
      `arn:aws:iam::111122223333:user/x:role/${MEMBER_ROLE}`,
      "FederatedUser",
    );
    expect(matchesPattern(hubEventPatternFor("security-group-change"), crafted)).toBe(true);
  });

  it.each(["444455556666", "777788889999"])(
    "deliver the member role's own calls in account %s too: the function's own check is the loop guard",
    (account) => {
      const own = authorizeBy(`arn:aws:iam::${account}:role/${MEMBER_ROLE}`);
      expect(matchesPattern(hubEventPatternFor("security-group-change"), own)).toBe(true);
    },
  );
});
