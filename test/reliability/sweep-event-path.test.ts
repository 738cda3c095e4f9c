import { ModifySecurityGroupRulesCommand } from "@aws-sdk/client-ec2";
import type { EventPathProbe } from "@guardrail/aws";
import { METRICS } from "@guardrail/core";
import { type SweepDeps, sweep } from "@guardrail/functions";
import { afterAll, beforeAll, describe, expect, it, vi } from "vitest";
import { REGION } from "../../functions/test/harness";
import { ACCOUNT, startWorld, type World } from "./harness";

let world: World;
beforeAll(async () => {
  world = await startWorld();
});
afterAll(async () => {
  await world.close();
});

const scheduled = (id: string) => ({ id, account: ACCOUNT, region: REGION });

function sweepDeps(over: Partial<SweepDeps> = {}): SweepDeps {
  return {
    ...world.deps({ fn: "sweep" }),
    identity: async () => ({ account: ACCOUNT, region: REGION }),
    ...over,
  };
}

function sshRule(name: string) {
  const { groupId, ingressRuleIds } = world.sandbox.seedSecurityGroup({
    name,
    ingress: [{ protocol: "tcp", fromPort: 22, toPort: 22, cidr: "0.0.0.0/0" }],
  });
  return { groupId, ruleId: ingressRuleIds[0] as string };
}

describe("sweep: verify before revoke", () => {
  it("does not revoke a rule that changed between the sweep's read and its revoke", async () => {
    const { groupId, ruleId } = sshRule("changed-after-read");
    const deps = sweepDeps();
    const read = deps.ec2.securityGroupRules.bind(deps.ec2);
    // The rule is narrowed to an office range right after the sweep read it.
    deps.ec2.securityGroupRules = async function* (ids) {
      yield* read(ids);
      await world.developer().send(
        new ModifySecurityGroupRulesCommand({
          GroupId: groupId,
          SecurityGroupRules: [
            {
              SecurityGroupRuleId: ruleId,
              SecurityGroupRule: {
                IpProtocol: "tcp",
                FromPort: 22,
                ToPort: 22,
                CidrIpv4: "10.0.0.0/8",
              },
            },
          ],
        }),
      );
    };
    const result = await sweep(scheduled("verify-1"), deps);
    expect(result.skippedRevokes).toContainEqual({ ruleId, reason: "changed" });
    expect(world.isOpen(groupId, ruleId)).toBe(true);
    expect(world.revokeEvents(groupId)).toEqual([]);
  });

  it("revokes a rule that is still as it was read", async () => {
    const { groupId, ruleId } = sshRule("unchanged");
    const result = await sweep(scheduled("verify-2"), sweepDeps());
    expect(result.skippedRevokes.map((s) => s.ruleId)).not.toContain(ruleId);
    expect(world.isOpen(groupId, ruleId)).toBe(false);
  });
});

describe("sweep: event-path checks", () => {
  const probe = (over: Partial<Awaited<ReturnType<EventPathProbe["trails"]>>[number]>) => ({
    trails: async () => [
      {
        trail: "arn:aws:cloudtrail:eu-west-1:111111111111:trail/org-trail",
        isLogging: true,
        latestDeliveryTime: new Date(),
        ...over,
      },
    ],
    rules: async () => [
      { rule: "security-group-change", state: "ENABLED" },
      { rule: "network-acl-change", state: "ENABLED" },
    ],
  });

  it("names a stopped trail and counts it in EventPathChecksFailed", async () => {
    const deps = sweepDeps({ eventPath: probe({ isLogging: false }) });
    const add = vi.spyOn(deps.metrics, "addMetric");
    const result = await sweep(scheduled("trail-1"), deps);
    expect(result.eventPath?.problems).toEqual([
      "trail arn:aws:cloudtrail:eu-west-1:111111111111:trail/org-trail is not logging",
    ]);
    expect(add).toHaveBeenCalledWith(METRICS.eventPathChecksFailed, "Count", 1);
  });

  it("names a trail that stopped delivering", async () => {
    const deps = sweepDeps({
      eventPath: probe({
        latestDeliveryTime: new Date(Date.now() - 3 * 3600_000),
        latestDeliveryError: "AccessDenied",
      }),
    });
    const result = await sweep(scheduled("trail-2"), deps);
    expect(result.eventPath?.problems).toEqual([
      "trail arn:aws:cloudtrail:eu-west-1:111111111111:trail/org-trail has not delivered for over 60 minutes (AccessDenied)",
    ]);
  });

  it("names a disabled event rule", async () => {
    const base = probe({});
    const deps = sweepDeps({
      eventPath: {
        trails: base.trails,
        rules: async () => [{ rule: "security-group-change", state: "DISABLED" }],
      },
    });
    const add = vi.spyOn(deps.metrics, "addMetric");
    const result = await sweep(scheduled("rule-1"), deps);
    expect(result.eventPath?.problems).toEqual(["event rule security-group-change is DISABLED"]);
    expect(add).toHaveBeenCalledWith(METRICS.eventPathChecksFailed, "Count", 1);
  });

  it("reports nothing when the trail logs and delivers and every rule is enabled", async () => {
    const result = await sweep(scheduled("ok-1"), sweepDeps({ eventPath: probe({}) }));
    expect(result.eventPath).toEqual({ problems: [], trailsChecked: 1, rulesChecked: 2 });
  });
});

describe("sweep: EventPathMisses", () => {
  it("counts a violation seen by one sweep that no event decision covered by the next, naming the rule", async () => {
    // A rule opened while the event path is down: its CloudTrail event never reaches a function.
    const missed = sshRule("event-path-down");
    // A rule whose event arrives late: the sweep sees it first, the event function decides after.
    const late = await world.openSsh("event-late");

    const first = sweepDeps();
    await sweep(scheduled("miss-1"), first);
    expect(world.isOpen(missed.groupId, missed.ruleId)).toBe(false);
    const handlers = world.handlers();
    await handlers["security-group-change"]?.(late.event);

    const second = sweepDeps();
    const add = vi.spyOn(second.metrics, "addMetric");
    const result = await sweep(scheduled("miss-2"), second);
    const missedIds = result.eventPathMisses.map((m) => m.resourceId);
    expect(missedIds).toContain(missed.groupId);
    expect(missedIds).not.toContain(late.groupId);
    expect(result.eventPathMisses.find((m) => m.resourceId === missed.groupId)).toMatchObject({
      text: "ingress tcp 22 from 0.0.0.0/0",
    });
    expect(add).toHaveBeenCalledWith(
      METRICS.eventPathMisses,
      "Count",
      result.eventPathMisses.length,
    );

    // Counted once: the third run has no new sighting of it.
    const third = await sweep(scheduled("miss-3"), sweepDeps());
    expect(third.eventPathMisses.map((m) => m.resourceId)).not.toContain(missed.groupId);
  });
});

describe("sweep: unreadable rules", () => {
  it("counts a rule it cannot read in UnreadableRules and judges the rest", async () => {
    const deps = sweepDeps();
    const read = deps.ec2.securityGroupRules.bind(deps.ec2);
    deps.ec2.securityGroupRules = async function* (ids) {
      yield* read(ids);
      yield [
        {
          SecurityGroupRuleId: "sgr-0unreadable000001",
          GroupId: "sg-0unreadable000001",
          IsEgress: false,
          IpProtocol: "tcp",
          FromPort: 70_000,
          ToPort: 22,
          CidrIpv4: "0.0.0.0/0",
        },
      ];
    };
    const add = vi.spyOn(deps.metrics, "addMetric");
    const result = await sweep(scheduled("unreadable-1"), deps);
    expect(result.unreadable).toBe(1);
    expect(add).toHaveBeenCalledWith(METRICS.unreadableRules, "Count", 1);
  });
});
