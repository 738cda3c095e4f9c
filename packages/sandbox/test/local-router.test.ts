import { AuthorizeSecurityGroupIngressCommand } from "@aws-sdk/client-ec2";
import type { GuardrailFunction } from "@guardrail/core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type Ec2Sandbox, type EventBridgeEvent, roleArn } from "../src/index";
import { EventBridgeRouter, unroutedReason } from "../src/local/index";
import { ec2Client, startSandbox } from "./helpers";
import { tcpPermission } from "./requests";

const OWN = {
  type: "AssumedRole",
  accountId: "123456789012",
  roleName: "guardrail-sg",
  sessionName: "fn",
} as const;
const OWN_ARN = roleArn(OWN);

let sandbox: Ec2Sandbox;
let endpoint: string;
let groupId: string;

beforeAll(async () => {
  ({ sandbox, endpoint } = await startSandbox({ accessKeys: { ASIAGUARDRAILOWN0001: OWN } }));
  ({ groupId } = sandbox.seedSecurityGroup({ name: "router" }));
});

afterAll(async () => {
  await sandbox.close();
});

/** The event of one ingress call by `accessKeyId` (the port keeps calls distinct). */
async function eventOf(
  accessKeyId: string,
  port: number,
  cidr = "0.0.0.0/0",
): Promise<EventBridgeEvent> {
  const client = ec2Client(endpoint, { accessKeyId });
  const out = await client
    .send(
      new AuthorizeSecurityGroupIngressCommand({
        GroupId: groupId,
        IpPermissions: [tcpPermission(port, cidr)],
      }),
    )
    .catch((e: { $metadata: { requestId?: string } }) => e);
  client.destroy();
  const requestId = out.$metadata.requestId;
  return sandbox.waitForEvent(
    (e) => (e.detail as unknown as { requestID: string }).requestID === requestId,
  );
}

function router(invoke: (fn: GuardrailFunction, event: EventBridgeEvent) => Promise<unknown>) {
  return new EventBridgeRouter({ ownRoleArns: [OWN_ARN], invoke, retryDelayMs: 1 });
}

describe("EventBridgeRouter", () => {
  it("delivers a developer's ingress change to security-group-change, as its own copy", async () => {
    const event = await eventOf("AKIADEVELOPER0000001", 22);
    const seen: [GuardrailFunction, EventBridgeEvent][] = [];
    const r = router(async (fn, e) => {
      seen.push([fn, e]);
      (e as { id: string }).id = "changed by the handler";
      return { status: "compliant" };
    });
    const routed = await r.dispatch(event);
    expect(routed.targets).toEqual(["security-group-change"]);
    expect(seen.map(([fn]) => fn)).toEqual(["security-group-change"]);
    expect(seen[0]?.[1]).not.toBe(event);
    expect(event.id).not.toBe("changed by the handler");
    expect(routed.invocations[0]).toMatchObject({ attempt: 1, result: { status: "compliant" } });
    expect(r.stats()).toMatchObject({ events: 1, delivered: { "security-group-change": 1 } });
  });

  it("retries a failing function until it succeeds, each attempt a new invocation", async () => {
    const event = await eventOf("AKIADEVELOPER0000001", 23);
    let calls = 0;
    const r = router(async () => {
      calls++;
      if (calls < 3) throw new Error(`attempt ${calls} failed`);
      return "ok";
    });
    const routed = await r.dispatch(event);
    expect(routed.invocations.map((i) => [i.attempt, i.error === undefined])).toEqual([
      [1, false],
      [2, false],
      [3, true],
    ]);
    expect(r.stats()).toMatchObject({ invocations: 3, failedInvocations: 2 });
  });

  it("gives up after the last attempt and keeps every error", async () => {
    const event = await eventOf("AKIADEVELOPER0000001", 24);
    const r = new EventBridgeRouter({
      ownRoleArns: [OWN_ARN],
      maxAttempts: 2,
      retryDelayMs: 1,
      invoke: async () => {
        throw new Error("down");
      },
    });
    const routed = await r.dispatch(event);
    expect(routed.invocations.map((i) => (i.error as Error).message)).toEqual(["down", "down"]);
  });

  it("does not deliver the guardrail's own call, and says why", async () => {
    const event = await eventOf("ASIAGUARDRAILOWN0001", 25);
    const r = router(async () => {
      throw new Error("must not be called");
    });
    const routed = await r.dispatch(event);
    expect(routed).toMatchObject({ targets: [], unrouted: "own-role", invocations: [] });
    expect(r.stats().unrouted).toEqual({ "own-role": 1, "failed-call": 0, "not-handled": 0 });
  });

  it("does not deliver a failed call", async () => {
    const event = await eventOf("AKIADEVELOPER0000001", 26, "not-a-cidr");
    expect((event.detail as unknown as { errorCode: string }).errorCode).toMatch(/^Client\./);
    const r = router(async () => {
      throw new Error("must not be called");
    });
    expect((await r.dispatch(event)).unrouted).toBe("failed-call");
  });

  it("tells a call no rule wants from the rest", async () => {
    const event = await eventOf("AKIADEVELOPER0000001", 27);
    const revoke = {
      ...event,
      detail: { ...event.detail, eventName: "RevokeSecurityGroupIngress" },
    } as EventBridgeEvent;
    expect(unroutedReason(revoke, [OWN_ARN])).toBe("not-handled");
    expect(router(async () => "x").targetsFor(revoke)).toEqual([]);
  });

  it("refuses to start without the guardrail's own roles: no loop guard, no routing", () => {
    expect(() => new EventBridgeRouter({ ownRoleArns: [], invoke: async () => "x" })).toThrow(
      /own role ARNs/,
    );
  });
});
