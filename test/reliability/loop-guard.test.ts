import "../../functions/test/setup";
import { AuthorizeSecurityGroupIngressCommand, EC2Client } from "@aws-sdk/client-ec2";
import { eventPatternFor } from "@guardrail/core";
import { matchesPattern } from "@guardrail/sandbox/pattern-matcher";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { credentials, REGION } from "../../functions/test/harness";
import { OWN_ROLE } from "../../functions/test/helpers";
import { startWorld, type World } from "./harness";

let world: World;

beforeAll(async () => {
  world = await startWorld();
});

afterAll(async () => {
  await world.close();
});

const issuer = (e: { detail: { userIdentity: unknown } }) =>
  (e.detail.userIdentity as { sessionContext?: { sessionIssuer?: { arn?: string } } })
    .sessionContext?.sessionIssuer?.arn;

describe("loop guard", () => {
  it("never feeds the guardrail's own revokes back to it, with every CloudTrail event on the bus", async () => {
    const router = world.router();
    // Every event the sandbox emits goes to the bus, the guardrail's own calls included.
    const off = world.sandbox.onEvent((event) => router.dispatch(event).then(() => undefined));
    world.sandbox.clearRecordedEvents();
    try {
      const opened = await Promise.all(
        Array.from({ length: 20 }, (_, i) => world.openSsh(`loop-${i}`)),
      );
      await world.sandbox.drainEvents();

      for (const o of opened) expect(world.isOpen(o.groupId, o.ruleId)).toBe(false);
      const own = world.sandbox.recordedEvents().filter((e) => issuer(e) === OWN_ROLE);
      // The guardrail's own calls did reach the bus (tag look-ups are not events; revokes are)...
      expect(own.filter((e) => e.detail.eventName === "RevokeSecurityGroupIngress")).toHaveLength(
        20,
      );
      // ...and none of them was delivered: one invocation per developer change, no more.
      const stats = router.stats();
      expect(stats.invocations).toBe(20);
      expect(stats.delivered).toEqual({ "security-group-change": 20 });
      expect(stats.unrouted["own-role"]).toBe(own.length);
    } finally {
      off();
    }
  });

  it("matches no deployed pattern for any call the guardrail's role makes, violating or not", async () => {
    const { groupId } = world.sandbox.seedSecurityGroup({ name: "own-authorize" });
    world.sandbox.clearRecordedEvents();
    // The guardrail's own role opening SSH (as an operator using the role might): a violation
    // by content, but the guardrail's own change.
    const own = new EC2Client({ endpoint: world.sandbox.endpoint, region: REGION, credentials });
    await own.send(
      new AuthorizeSecurityGroupIngressCommand({
        GroupId: groupId,
        IpPermissions: [
          { IpProtocol: "tcp", FromPort: 22, ToPort: 22, IpRanges: [{ CidrIp: "0.0.0.0/0" }] },
        ],
      }),
    );
    own.destroy();
    await world.sandbox.drainEvents();
    const [event] = world.sandbox.recordedEvents();
    expect(event && issuer(event)).toBe(OWN_ROLE);
    for (const fn of [
      "security-group-change",
      "network-acl-change",
      "prefix-list-change",
    ] as const) {
      expect(matchesPattern(eventPatternFor(fn, [OWN_ROLE]), event), fn).toBe(false);
    }

    // Delivered anyway (a misconfigured rule): the handler ignores it without any AWS call.
    world.sandbox.resetCallCounts();
    const result = await world.handlers()["security-group-change"]?.(event);
    expect(result).toMatchObject({ status: "ignored", reason: "own-principal" });
    expect(world.sandbox.calls()).toBe(0);
  });
});
