import { subscribe, unsubscribe } from "node:diagnostics_channel";
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { EC2Client, RevokeSecurityGroupIngressCommand } from "@aws-sdk/client-ec2";
import { ConfiguredRetryStrategy } from "@smithy/util-retry";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { createEc2Gateway } from "../src/ec2";
import { AWS_CALL_CHANNEL, type AwsCallTrace, traceCalls } from "../src/trace";

const OK = `<RevokeSecurityGroupIngressResponse xmlns="http://ec2.amazonaws.com/doc/2016-11-15/"><requestId>r</requestId><return>true</return></RevokeSecurityGroupIngressResponse>`;
const THROTTLED = `<Response><Errors><Error><Code>RequestLimitExceeded</Code><Message>Request limit exceeded.</Message></Error></Errors><RequestID>r</RequestID></Response>`;
const FAILED = `<Response><Errors><Error><Code>UnauthorizedOperation</Code><Message>no</Message></Error></Errors><RequestID>r</RequestID></Response>`;

let server: Server;
let endpoint: string;
/** Status codes the endpoint answers next, then 200. */
let script: number[] = [];
const traces: AwsCallTrace[] = [];
const onTrace = (t: unknown) => traces.push(t as AwsCallTrace);

beforeAll(async () => {
  server = createServer((req, res) => {
    req.resume();
    req.on("end", () => {
      const status = script.shift() ?? 200;
      res.writeHead(status, { "content-type": "text/xml" });
      res.end(status === 200 ? OK : status === 503 ? THROTTLED : FAILED);
    });
  });
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
  endpoint = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  subscribe(AWS_CALL_CHANNEL, onTrace);
});

afterAll(async () => {
  unsubscribe(AWS_CALL_CHANNEL, onTrace);
  await new Promise<void>((r) => server.close(() => r()));
});

afterEach(() => {
  traces.length = 0;
  script = [];
});

function client(): EC2Client {
  return new EC2Client({
    endpoint,
    region: "eu-west-1",
    credentials: { accessKeyId: "AKIDTRACE", secretAccessKey: "secret" },
    retryStrategy: new ConfiguredRetryStrategy(4, 0),
  });
}

const revoke = () =>
  new RevokeSecurityGroupIngressCommand({ GroupId: "sg-1", SecurityGroupRuleIds: ["sgr-1"] });

describe("traceCalls", () => {
  it("publishes one trace per command, after its answer is read", async () => {
    const c = traceCalls(client());
    const before = performance.now();
    await c.send(revoke());
    expect(traces).toHaveLength(1);
    const [t] = traces;
    expect(t).toMatchObject({
      client: "EC2Client",
      command: "RevokeSecurityGroupIngressCommand",
      ok: true,
      attempts: 1,
    });
    expect(t?.startedAt).toBeGreaterThanOrEqual(before);
    expect(t?.endedAt).toBeGreaterThanOrEqual(t?.startedAt ?? Number.POSITIVE_INFINITY);
  });

  it("covers the SDK's retries in one trace and counts the attempts", async () => {
    script = [503, 503];
    await traceCalls(client()).send(revoke());
    expect(traces).toEqual([expect.objectContaining({ ok: true, attempts: 3 })]);
  });

  it("publishes a failed call and still lets the error through", async () => {
    script = [403];
    await expect(traceCalls(client()).send(revoke())).rejects.toMatchObject({
      name: "UnauthorizedOperation",
    });
    expect(traces).toEqual([expect.objectContaining({ ok: false, attempts: 1 })]);
  });

  it("is added once however often a client is traced", async () => {
    const c = traceCalls(traceCalls(client()));
    await c.send(revoke());
    expect(traces).toHaveLength(1);
  });

  it("traces every call of the EC2 gateway", async () => {
    const gateway = createEc2Gateway(client());
    const outcomes = await gateway.execute({
      type: "revoke-security-group-rules",
      groupId: "sg-1",
      direction: "ingress",
      ruleIds: ["sgr-1"],
    });
    expect(outcomes[0]?.status).toBe("revoked");
    expect(traces.map((t) => t.command)).toEqual(["RevokeSecurityGroupIngressCommand"]);
  });
});
