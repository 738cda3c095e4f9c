import { GetQueueAttributesCommand, SendMessageCommand, SQSClient } from "@aws-sdk/client-sqs";
import { type Invoke, redrive } from "@guardrail/aws";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { credentials, REGION } from "../../functions/test/harness";
import { startWorld, type World } from "./harness";

const FN = "arn:aws:lambda:eu-west-1:123456789012:function:guardrail-security-group-change";
const BROKEN = "arn:aws:lambda:eu-west-1:123456789012:function:guardrail-broken";

let world: World;
let sqs: SQSClient;
let stop: () => Promise<void>;
let queueUrl: string;

beforeAll(async () => {
  world = await startWorld();
  const { startFauxqs } = await import("fauxqs");
  const server = await startFauxqs({
    port: 0,
    host: "127.0.0.1",
    logger: false,
    defaultRegion: REGION,
  });
  const setup = server.setup({ queues: [{ name: "guardrail-dlq" }] });
  queueUrl = setup.queues[0]?.url as string;
  sqs = new SQSClient({
    endpoint: `http://127.0.0.1:${server.port}`,
    region: REGION,
    credentials,
    useQueueUrlAsEndpoint: false,
  });
  stop = () => server.stop();
});
afterAll(async () => {
  sqs.destroy();
  await stop();
  await world.close();
});

/** What Lambda's on-failure destination sends after the last attempt (its documented shape). */
function onFailureRecord(event: unknown, functionArn: string) {
  return JSON.stringify({
    version: "1.0",
    timestamp: "2025-01-01T00:03:05.000Z",
    requestContext: {
      requestId: "r-1",
      functionArn: `${functionArn}:$LATEST`,
      condition: "RetriesExhausted",
      approximateInvokeCount: 3,
    },
    requestPayload: event,
    responseContext: { statusCode: 200, executedVersion: "$LATEST", functionError: "Unhandled" },
    responsePayload: {
      errorType: "RemediationFailedError",
      errorMessage: "revoke failed (RequestLimitExceeded): the exposure persists",
    },
  });
}

/** Lambda Invoke (RequestResponse) in-process: the real handler, errors as Lambda answers them. */
function invoker(calls: string[]): Invoke {
  const handlers = world.handlers();
  return async (arn, event) => {
    calls.push(arn);
    try {
      if (arn.startsWith(BROKEN)) throw Object.assign(new Error("still broken"), { name: "Boom" });
      const payload = await handlers["security-group-change"]?.(event);
      return { payload: JSON.stringify(payload ?? null) };
    } catch (error) {
      const e = error as Error;
      return {
        functionError: "Unhandled",
        payload: JSON.stringify({ errorType: e.name, errorMessage: e.message }),
      };
    }
  };
}

async function depth(): Promise<number> {
  const out = await sqs.send(
    new GetQueueAttributesCommand({
      QueueUrl: queueUrl,
      AttributeNames: ["ApproximateNumberOfMessages", "ApproximateNumberOfMessagesNotVisible"],
    }),
  );
  return (
    Number(out.Attributes?.ApproximateNumberOfMessages ?? 0) +
    Number(out.Attributes?.ApproximateNumberOfMessagesNotVisible ?? 0)
  );
}

describe("guardrail redrive against a local DLQ", () => {
  it("lists with --dry-run, then replays the unwrapped event, deletes it once handled, and keeps what fails again", async () => {
    const open = await world.openSsh("dead-lettered");
    const other = await world.openSsh("still-broken");
    await sqs.send(
      new SendMessageCommand({ QueueUrl: queueUrl, MessageBody: onFailureRecord(open.event, FN) }),
    );
    await sqs.send(
      new SendMessageCommand({
        QueueUrl: queueUrl,
        MessageBody: onFailureRecord(other.event, BROKEN),
      }),
    );

    const calls: string[] = [];
    const listed = await redrive({ sqs, queueUrl, invoke: invoker(calls), dryRun: true });
    expect(listed.map((o) => o.status)).toEqual(["listed", "listed"]);
    expect(listed[0]?.error).toBe(
      "RemediationFailedError: revoke failed (RequestLimitExceeded): the exposure persists (3 attempts)",
    );
    expect(calls).toEqual([]);
    expect(await depth()).toBe(2);
    expect(world.isOpen(open.groupId, open.ruleId)).toBe(true);

    const outcomes = await redrive({
      sqs,
      queueUrl,
      invoke: invoker(calls),
      dryRun: false,
      visibilitySeconds: 30,
    });
    const byFn = Object.fromEntries(outcomes.map((o) => [o.functionArn, o]));
    expect(byFn[`${FN}:$LATEST`]?.status).toBe("replayed");
    expect(byFn[`${BROKEN}:$LATEST`]).toMatchObject({
      status: "failed",
      replayError: "Boom: still broken",
    });
    // The event itself reached the function (not the on-failure record, which would be judged
    // an unreadable event): the rule is revoked and recorded as such.
    expect(world.isOpen(open.groupId, open.ruleId)).toBe(false);
    const [item] = await world.auditItems(open.eventId);
    expect(item?.result).toBe("revoked");
    // Only the handled one was deleted; the other is back in the queue, visible.
    expect(await depth()).toBe(1);
    const again = await redrive({ sqs, queueUrl, invoke: invoker([]), dryRun: true });
    expect(again.map((o) => o.functionArn)).toEqual([`${BROKEN}:$LATEST`]);
  });
});
