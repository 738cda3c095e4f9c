import "./setup";
import {
  createSecurityGroupChangeHandler,
  createSweepHandler,
  type SweepDeps,
} from "@guardrail/functions";
import { beforeEach, describe, expect, it } from "vitest";
import { endpointsOf, SSH_FROM_WORLD_RULE, type WireOptions, wireDeps, wireStubs } from "./harness";
import {
  breakGlassIdentity,
  lambdaContext,
  BREAK_GLASS_POLICY as POLICY,
  RULE,
  sshFromWorld,
} from "./helpers";

const wire = wireStubs();

beforeEach(() => {
  wire.ec2.addRules(SSH_FROM_WORLD_RULE);
});

function options(over: Partial<WireOptions> = {}): WireOptions {
  return {
    ...endpointsOf(wire),
    policyYaml: POLICY,
    // Handled two seconds after the fixture's event.
    now: () => new Date("2024-11-05T10:15:02.000Z"),
    ...over,
  };
}

function sweepDeps(): SweepDeps {
  return {
    ...wireDeps(options({ fn: "sweep", now: () => new Date("2024-11-05T10:30:00.000Z") })),
    identity: async () => ({ account: "123456789012", region: "eu-west-1" }),
  };
}

/** SSH to the world on the fixture's group, through the break-glass role (or by alice). */
function opensSsh(eventId: string, breakGlass: boolean) {
  return sshFromWorld({
    eventID: eventId,
    ...(breakGlass ? { userIdentity: breakGlassIdentity() } : {}),
  });
}

describe("wire: principal exemptions survive the sweep through the audit trail", () => {
  it("keeps the rule the break-glass role opened, reading the by-resource index of dynalite", async () => {
    const opened = await createSecurityGroupChangeHandler(wireDeps(options()))(
      opensSsh("trail-break-glass", true),
      lambdaContext,
    );
    expect(opened).toMatchObject({ result: "exempt" });
    const result = await createSweepHandler(sweepDeps())(
      { id: "trail-run-1", account: "123456789012", region: "eu-west-1" },
      lambdaContext,
    );
    expect(wire.ec2.calls("RevokeSecurityGroupIngress")).toEqual([]);
    expect(wire.ec2.rules.has(RULE)).toBe(true);
    expect(result.counts).toMatchObject({ exempt: 2, revoked: 0 });
  });
});
