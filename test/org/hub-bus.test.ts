import { EVENT_DRIVEN_FUNCTIONS, eventPatternFor } from "@guardrail/core";
import { evaluatePolicies, parsePolicyDocument } from "@guardrail/sandbox";
import { describe, expect, it } from "vitest";
import { hubBusPolicy, hubEventPatternFor } from "../../stacks/hub-bus";
import { hubBusArn, memberRoleName } from "../../stacks/spoke-template";
import { fixtureEvents } from "../infra/fixture-events";
import { matchesPattern } from "../infra/pattern-matcher";

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
    const hub = hubEventPatternFor(fn, MEMBER_ROLE);
    const local = eventPatternFor(fn, [ownRole]);
    for (const e of events) {
      expect(matchesPattern(hub, e.event), e.id).toBe(matchesPattern(local, e.event));
    }
  });

  it.each(["444455556666", "777788889999"])(
    "leave out the member role's own calls in account %s (loop guard)",
    (account) => {
      const sample = events.find(
        (e) => e.eventName === "AuthorizeSecurityGroupIngress" && !("errorCode" in e.event.detail),
      );
      if (sample === undefined) throw new Error("no AuthorizeSecurityGroupIngress fixture");
      const event = structuredClone(sample.event);
      const detail = event.detail as Record<string, unknown>;
      detail.userIdentity = {
        type: "AssumedRole",
        sessionContext: {
          sessionIssuer: { arn: `arn:aws:iam::${account}:role/${MEMBER_ROLE}` },
        },
      };
      const pattern = hubEventPatternFor("security-group-change", MEMBER_ROLE);
      expect(matchesPattern(pattern, event)).toBe(false);
      detail.userIdentity = {
        type: "AssumedRole",
        sessionContext: {
          sessionIssuer: { arn: `arn:aws:iam::${account}:role/${MEMBER_ROLE}-lookalike` },
        },
      };
      expect(matchesPattern(pattern, event)).toBe(true);
    },
  );
});
