import { ec2RetryStrategy } from "@guardrail/aws";
import { DELIVERY_ATTEMPTS, METRICS } from "@guardrail/core";
import { afterAll, beforeAll, describe, expect, it, vi } from "vitest";
import { startWorld, type World } from "./harness";

let world: World;
beforeAll(async () => {
  world = await startWorld();
});
afterAll(async () => {
  world.sandbox.faults.clear();
  await world.close();
});

describe("throttle storm: EC2's revoke bucket empty under a burst", () => {
  it("absorbs every throttle inside the invocation: all revoked, no function error, no failed alert", async () => {
    const opened = [];
    for (let i = 0; i < 30; i++) opened.push(await world.openSsh(`storm-${i}`));
    // A bucket far smaller than AWS's (50, 5 per second) so that the storm lasts seconds: 30
    // revokes at once against 5 tokens and 3 more per second.
    world.sandbox.faults.set("RevokeSecurityGroupIngress", {
      tokenBucket: { capacity: 5, refillPerSecond: 3 },
    });
    const callsBefore = world.sandbox.calls("RevokeSecurityGroupIngress");
    const deps = world.deps({ ec2RetryStrategy: ec2RetryStrategy() });
    const add = vi.spyOn(deps.metrics, "addMetric");
    const { createSecurityGroupChangeHandler } = await import("@guardrail/functions");
    const handler = createSecurityGroupChangeHandler(deps);
    const { lambdaContext } = await import("../../functions/test/helpers");
    const results = await Promise.allSettled(opened.map((o) => handler(o.event, lambdaContext)));
    world.sandbox.faults.clear();

    expect(results.filter((r) => r.status === "rejected")).toEqual([]);
    // Every revoke beyond the first few was throttled at least once, then retried.
    expect(world.sandbox.calls("RevokeSecurityGroupIngress") - callsBefore).toBeGreaterThan(40);
    for (const o of opened) {
      expect(world.isOpen(o.groupId, o.ruleId)).toBe(false);
      const [item] = await world.auditItems(o.eventId);
      expect(item?.result).toBe("revoked");
      expect(world.messagesAbout(o.eventId).map((m) => JSON.parse(m.message).result)).toEqual([
        "revoked",
      ]);
    }
    expect(add).not.toHaveBeenCalledWith(
      METRICS.remediationFailures,
      expect.anything(),
      expect.anything(),
    );
  }, 60_000);

  it("a revoke that stays throttled past the call's budget fails the attempt without a failed alert until the last of the 3", async () => {
    const o = await world.openSsh("storm-forever");
    world.sandbox.faults.set("RevokeSecurityGroupIngress", { throttleRate: 1 });
    const { createSecurityGroupChangeHandler } = await import("@guardrail/functions");
    const { lambdaContext } = await import("../../functions/test/helpers");
    const attempt = () =>
      createSecurityGroupChangeHandler(
        world.deps({ ec2RetryStrategy: ec2RetryStrategy({ budgetMs: 300 }) }),
      )(o.event, lambdaContext);
    const errors: string[] = [];
    for (let i = 1; i <= DELIVERY_ATTEMPTS; i++) {
      errors.push(String(await attempt().catch((e: Error) => e.message)));
      const results = world.messagesAbout(o.eventId).map((m) => JSON.parse(m.message).result);
      // Lambda's retries (about 1 and 2 minutes later) find the record deferred: no alert yet.
      expect(results).toEqual(i < DELIVERY_ATTEMPTS ? [] : ["failed"]);
    }
    world.sandbox.faults.clear();
    expect(errors[0]).toMatch(/attempt 1 of 3: Lambda retries it/);
    expect(errors[2]).toMatch(/RequestLimitExceeded\): the exposure persists/);
    const [item] = await world.auditItems(o.eventId);
    expect(item).toMatchObject({ result: "failed", notification: "published" });
    // A redrive after the storm revokes it and announces the resolution.
    await createSecurityGroupChangeHandler(world.deps())(o.event, lambdaContext);
    expect(world.isOpen(o.groupId, o.ruleId)).toBe(false);
    expect(world.messagesAbout(o.eventId).map((m) => JSON.parse(m.message).result)).toEqual([
      "failed",
      "revoked",
    ]);
  }, 60_000);
});
