import "../../functions/test/setup";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startWorld, type World } from "./harness";

let world: World;

beforeAll(async () => {
  world = await startWorld();
});

afterAll(async () => {
  await world.close();
});

describe("duplicate delivery", () => {
  it("turns ten concurrent deliveries of one event into one revoke, one message and one record", async () => {
    const { groupId, ruleId, event, eventId } = await world.openSsh("dup-10");
    // Ten deliveries at once, each in its own execution environment (own SDK clients).
    const results = await Promise.all(
      Array.from({ length: 10 }, () =>
        world.handlers()["security-group-change"]?.(structuredClone(event)),
      ),
    );

    expect(world.isOpen(groupId, ruleId)).toBe(false);
    // EC2 removed the rule once: one successful RevokeSecurityGroupIngress; the other nine
    // answered NotFound (recorded as already gone, not as failures).
    await world.sandbox.drainEvents();
    expect(world.revokeEvents(groupId)).toHaveLength(1);
    expect(world.messagesAbout(eventId)).toHaveLength(1);
    const items = await world.auditItems(eventId);
    expect(items).toHaveLength(1);
    expect(items[0]?.result).toBe("revoked");
    expect(results.every((r) => (r as { status: string }).status === "decided")).toBe(true);
    expect(results.filter((r) => (r as { published: boolean }).published)).toHaveLength(1);
  });

  it("stays at one message and one record when the same event is delivered again later", async () => {
    const { event, eventId } = await world.openSsh("dup-later");
    const handlers = world.handlers();
    await handlers["security-group-change"]?.(structuredClone(event));
    const again = await handlers["security-group-change"]?.(structuredClone(event));
    expect(again).toMatchObject({ status: "decided", recorded: "duplicate", published: false });
    expect(world.messagesAbout(eventId)).toHaveLength(1);
    expect(await world.auditItems(eventId)).toHaveLength(1);
  });
});
