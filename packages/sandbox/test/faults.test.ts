import {
  AuthorizeSecurityGroupIngressCommand,
  CreateSecurityGroupCommand,
  DescribeSecurityGroupsCommand,
  DescribeVpcsCommand,
} from "@aws-sdk/client-ec2";
import { ConfigurationError } from "@guardrail/core";
import { ConfiguredRetryStrategy } from "@smithy/util-retry";
import { afterEach, describe, expect, it } from "vitest";
import { FaultInjector } from "../src/ec2/faults";
import { Ec2Sandbox } from "../src/index";
import { ec2Client, ec2Error, startSandbox } from "./helpers";
import { tcpPermission } from "./requests";

const opened: Ec2Sandbox[] = [];
async function open(options: ConstructorParameters<typeof Ec2Sandbox>[0] = {}) {
  const started = await startSandbox(options);
  opened.push(started.sandbox);
  return started;
}

afterEach(async () => {
  await Promise.all(opened.splice(0).map((s) => s.close()));
});

const ssh = tcpPermission(22);

describe("throttling", () => {
  it("lets a client with ConfiguredRetryStrategy(4, 0) succeed after two throttled attempts", async () => {
    const { sandbox, endpoint } = await open();
    const { groupId } = sandbox.seedSecurityGroup({ name: "retry" });
    sandbox.faults.set("AuthorizeSecurityGroupIngress", { throttleNext: 2 });
    // A fresh client: retry capacity is per client and runs out after repeated failures.
    const client = ec2Client(endpoint, { retryStrategy: new ConfiguredRetryStrategy(4, 0) });
    const reply = await client.send(
      new AuthorizeSecurityGroupIngressCommand({ GroupId: groupId, IpPermissions: [ssh] }),
    );
    client.destroy();
    expect(reply.SecurityGroupRules?.[0]?.SecurityGroupRuleId).toMatch(/^sgr-/);
    expect(reply.$metadata.attempts).toBe(3);
    expect(sandbox.calls("AuthorizeSecurityGroupIngress")).toBe(3);
    await sandbox.drainEvents();
    expect(sandbox.recordedEvents().map((e) => e.detail.errorCode ?? "ok")).toEqual([
      "Client.RequestLimitExceeded",
      "Client.RequestLimitExceeded",
      "ok",
    ]);
  });

  it("answers RequestLimitExceeded with HTTP 503 to a client that does not retry", async () => {
    const { sandbox, endpoint } = await open();
    sandbox.faults.set("DescribeSecurityGroups", { throttleNext: 1 });
    const client = ec2Client(endpoint);
    const err = await ec2Error(client.send(new DescribeSecurityGroupsCommand({})));
    expect(err.name).toBe("RequestLimitExceeded");
    expect(err.message).toBe("Request limit exceeded.");
    expect(err.$metadata.httpStatusCode).toBe(503);
    // The next call goes through: throttleNext counts down.
    const ok = await client.send(new DescribeSecurityGroupsCommand({}));
    expect(ok.SecurityGroups?.[0]?.GroupName).toBe("default");
    client.destroy();
  });

  it("throttles the same calls for the same seed, at about the configured rate", async () => {
    const outcomes = async (seed: number) => {
      const sandbox = new Ec2Sandbox({ seed });
      sandbox.faults.set("DescribeVpcs", { throttleRate: 0.3 });
      const statuses: number[] = [];
      for (let i = 0; i < 300; i++) {
        const reply = await sandbox.handle({ params: [["Action", "DescribeVpcs"]] });
        statuses.push(reply.status);
      }
      return statuses;
    };
    const a = await outcomes(7);
    const b = await outcomes(7);
    const c = await outcomes(8);
    expect(a).toEqual(b);
    expect(a).not.toEqual(c);
    const throttledShare = a.filter((s) => s === 503).length / a.length;
    expect(throttledShare).toBeGreaterThan(0.2);
    expect(throttledShare).toBeLessThan(0.4);
  });

  it("replays the same fault sequence after reseed", async () => {
    const sandbox = new Ec2Sandbox();
    sandbox.faults.set("*", { errorRate: 0.5 });
    const run = async () => {
      sandbox.faults.reseed(42);
      const out: number[] = [];
      for (let i = 0; i < 50; i++)
        out.push((await sandbox.handle({ params: [["Action", "DescribeVpcs"]] })).status);
      return out;
    };
    expect(await run()).toEqual(await run());
  });
});

describe("server errors and latency", () => {
  it("answers InternalError with HTTP 500 and Unavailable with HTTP 503", async () => {
    const { sandbox, endpoint } = await open();
    const client = ec2Client(endpoint);
    sandbox.faults.set("CreateSecurityGroup", { errorNext: 1 });
    const internal = await ec2Error(
      client.send(new CreateSecurityGroupCommand({ GroupName: "x", Description: "x" })),
    );
    expect(internal.name).toBe("InternalError");
    expect(internal.$fault).toBe("server");
    expect(internal.$metadata.httpStatusCode).toBe(500);

    sandbox.faults.set("CreateSecurityGroup", { errorNext: 1, error: "Unavailable" });
    const unavailable = await ec2Error(
      client.send(new CreateSecurityGroupCommand({ GroupName: "x", Description: "x" })),
    );
    expect(unavailable.name).toBe("Unavailable");
    expect(unavailable.$metadata.httpStatusCode).toBe(503);

    // A failed call changed nothing: the name is still free.
    const created = await client.send(
      new CreateSecurityGroupCommand({ GroupName: "x", Description: "x" }),
    );
    expect(created.GroupId).toMatch(/^sg-/);
    await sandbox.drainEvents();
    expect(sandbox.recordedEvents().map((e) => e.detail.errorCode ?? "ok")).toEqual([
      "Server.InternalError",
      "Server.Unavailable",
      "ok",
    ]);
    client.destroy();
  });

  it("adds the configured latency before answering", async () => {
    const { sandbox, endpoint } = await open();
    sandbox.faults.set("DescribeVpcs", { latencyMs: 60 });
    const client = ec2Client(endpoint);
    const started = performance.now();
    const reply = await client.send(new DescribeVpcsCommand({}));
    const elapsed = performance.now() - started;
    expect(reply.Vpcs?.[0]?.IsDefault).toBe(true);
    expect(elapsed).toBeGreaterThanOrEqual(55);
    client.destroy();
  });

  it("applies '*' to actions without their own faults, until cleared", async () => {
    const sandbox = new Ec2Sandbox();
    sandbox.faults.set("*", { throttleRate: 1 });
    sandbox.faults.set("DescribeVpcs", {});
    const describeVpcs = await sandbox.handle({ params: [["Action", "DescribeVpcs"]] });
    const describeGroups = await sandbox.handle({ params: [["Action", "DescribeSecurityGroups"]] });
    expect(describeVpcs.status).toBe(200);
    expect(describeGroups.status).toBe(503);
    sandbox.faults.clear();
    expect((await sandbox.handle({ params: [["Action", "DescribeSecurityGroups"]] })).status).toBe(
      200,
    );
  });

  it("rejects fault specs that make no sense", () => {
    const sandbox = new Ec2Sandbox();
    expect(() => sandbox.faults.set("*", { throttleRate: 1.5 })).toThrow(ConfigurationError);
    expect(() => sandbox.faults.set("*", { errorNext: -1 })).toThrow(ConfigurationError);
    expect(() => sandbox.faults.set("*", { latencyMs: 2.5 })).toThrow(ConfigurationError);
  });
});

describe("call counters", () => {
  it("counts every call per action, failed and throttled ones included, until reset", async () => {
    const sandbox = new Ec2Sandbox();
    sandbox.faults.set("DescribeVpcs", { throttleNext: 1 });
    await sandbox.handle({ params: [["Action", "DescribeVpcs"]] });
    await sandbox.handle({ params: [["Action", "DescribeVpcs"]] });
    await sandbox.handle({
      params: [
        ["Action", "DescribeSecurityGroups"],
        ["GroupId.1", "sg-0000000000000000a"],
      ],
    });
    expect(sandbox.calls("DescribeVpcs")).toBe(2);
    expect(sandbox.calls()).toBe(3);
    expect(sandbox.callCounts()).toEqual({ DescribeVpcs: 2, DescribeSecurityGroups: 1 });
    sandbox.resetCallCounts();
    expect(sandbox.calls()).toBe(0);
  });
});

describe("fault injection: EC2's token bucket", () => {
  it("lets a full bucket through, throttles when empty, refills at the set rate", () => {
    let now = 0;
    const faults = new FaultInjector(1, () => now);
    faults.set("RevokeSecurityGroupIngress", {
      tokenBucket: { capacity: 50, refillPerSecond: 5 },
    });
    const burst = Array.from({ length: 60 }, () => faults.decide("RevokeSecurityGroupIngress"));
    expect(burst.filter((d) => d.error === undefined)).toHaveLength(50);
    expect(burst[50]?.error?.code).toBe("RequestLimitExceeded");
    now += 1000;
    const next = Array.from({ length: 10 }, () => faults.decide("RevokeSecurityGroupIngress"));
    expect(next.filter((d) => d.error === undefined)).toHaveLength(5);
    // Other actions have their own buckets (none set here).
    expect(faults.decide("DescribeSecurityGroups").error).toBeUndefined();
  });
});
