import "./setup";
import { subscribe, unsubscribe } from "node:diagnostics_channel";
import { QueryCommand } from "@aws-sdk/lib-dynamodb";
import { AWS_CALL_CHANNEL, type AwsCallTrace } from "@guardrail/aws/trace";
import { flapCounterKey } from "@guardrail/core";
import { createSecurityGroupChangeHandler, type RemediationDeps } from "@guardrail/functions";
import { beforeEach, describe, expect, it } from "vitest";
import { endpointsOf, SSH_FROM_WORLD_RULE, wireDeps, wireStubs } from "./harness";
import { GROUP, lambdaContext, RULE, sshFromWorld, TABLE } from "./helpers";

const TERRAFORM =
  "APN/1.0 HashiCorp/1.0 Terraform/1.9.5 (+https://www.terraform.io) terraform-provider-aws/5.70.0 (+https://registry.terraform.io/providers/hashicorp/aws) aws-sdk-go-v2/1.30.5 os/linux lang/go#1.22.7";

const wire = wireStubs();

beforeEach(async () => {
  await wire.dynamo.resetFlapCounters();
});

function deps(): RemediationDeps {
  return wireDeps(endpointsOf(wire));
}

/** The rule Terraform re-applies: the same content every time. */
function reapply(eventId: string, eventTime = "2024-11-05T10:15:00Z") {
  wire.ec2.addRules(SSH_FROM_WORLD_RULE);
  return sshFromWorld({ eventID: eventId, eventTime, userAgent: TERRAFORM });
}

async function decisionItem(eventId: string) {
  return (await wire.dynamo.decisionItems(eventId))[0];
}

const KEY = `123456789012#eu-west-1#${GROUP}#ingress#tcp#22#0.0.0.0/0`;

describe("wire: the flap guard's counter in the audit table", () => {
  it("gives each of many concurrent re-openings its own count, and duplicates the same one", async () => {
    const audit = deps().audit;
    const ids = Array.from({ length: 12 }, (_, i) => `evt-concurrent-${i}`);
    // Each event delivered twice, all at once.
    const results = await Promise.all(
      [...ids, ...ids].map((eventId) =>
        audit.countReopening({
          ruleKey: KEY,
          eventId,
          eventTime: "2024-11-05T10:15:00Z",
          windowHours: 24,
        }),
      ),
    );
    const byEvent = new Map<string, number>();
    for (const [i, r] of results.entries()) {
      const id = [...ids, ...ids][i] as string;
      const seen = byEvent.get(id);
      if (seen === undefined) byEvent.set(id, r.count);
      else expect(r.count, id).toBe(seen);
    }
    expect([...byEvent.values()].sort((a, b) => a - b)).toEqual(ids.map((_, i) => i + 1));
    expect(results.filter((r) => r.duplicate)).toHaveLength(12);
    const item = await wire.dynamo.doc.send(
      new QueryCommand({
        TableName: TABLE,
        KeyConditionExpression: "#pk = :pk",
        ExpressionAttributeNames: { "#pk": "pk" },
        ExpressionAttributeValues: { ":pk": flapCounterKey(KEY).pk },
      }),
    );
    expect(item.Items?.[0]).toMatchObject({ type: "flap", count: 12, ruleKey: KEY });
  });

  it("counts a rule's first opening in one write, a re-opening in two, a duplicate with a read", async () => {
    const audit = deps().audit;
    const calls: string[] = [];
    const onTrace = (t: unknown) => calls.push((t as AwsCallTrace).command);
    const count = async (eventId: string) => {
      calls.length = 0;
      subscribe(AWS_CALL_CHANNEL, onTrace);
      try {
        const r = await audit.countReopening({
          ruleKey: KEY,
          eventId,
          eventTime: "2024-11-05T10:15:00Z",
          windowHours: 24,
        });
        return { count: r.count, duplicate: r.duplicate, calls: [...calls] };
      } finally {
        unsubscribe(AWS_CALL_CHANNEL, onTrace);
      }
    };
    expect(await count("evt-first")).toEqual({
      count: 1,
      duplicate: false,
      calls: ["PutItemCommand"],
    });
    expect(await count("evt-again")).toEqual({
      count: 2,
      duplicate: false,
      calls: ["PutItemCommand", "UpdateItemCommand"],
    });
    expect(await count("evt-first")).toEqual({
      count: 1,
      duplicate: true,
      calls: ["PutItemCommand", "UpdateItemCommand", "GetItemCommand"],
    });
  });

  it("lets exactly one of the events past the threshold take the escalation", async () => {
    const audit = deps().audit;
    const ids = Array.from({ length: 8 }, (_, i) => `evt-claim-${i}`);
    const counts = await Promise.all(
      ids.map((eventId) =>
        audit.countReopening({
          ruleKey: KEY,
          eventId,
          eventTime: "2024-11-05T10:15:00Z",
          windowHours: 24,
        }),
      ),
    );
    const holders = await Promise.all(
      ids.map((eventId, i) =>
        audit.claimEscalation(KEY, eventId, (counts[i] as { windowStart: string }).windowStart),
      ),
    );
    const winners = ids.filter((id, i) => holders[i] === id);
    expect(winners).toHaveLength(1);
    expect(new Set(holders)).toEqual(new Set(winners));
  });

  it("starts a new window once the first re-opening is more than windowHours old", async () => {
    const audit = deps().audit;
    const count = (eventId: string, eventTime: string) =>
      audit.countReopening({ ruleKey: KEY, eventId, eventTime, windowHours: 24 });
    expect(await count("w-1", "2024-11-05T10:00:00Z")).toMatchObject({ count: 1 });
    expect(await count("w-2", "2024-11-06T09:59:59Z")).toMatchObject({
      count: 2,
      windowStart: "2024-11-05T10:00:00.000Z",
    });
    expect(await count("w-3", "2024-11-06T10:00:01Z")).toMatchObject({
      count: 1,
      windowStart: "2024-11-06T10:00:01.000Z",
      escalatedBy: null,
    });
  });
});

describe("wire: security-group-change with a rule Terraform keeps re-applying", () => {
  it("revokes 5 times, alerts 3 times, escalates once naming Terraform, folds the 5th", async () => {
    const handler = createSecurityGroupChangeHandler(deps());
    const results = [];
    for (let i = 1; i <= 5; i++) {
      results.push(
        await handler(reapply(`tf-apply-${i}`, `2024-11-05T1${i}:00:00Z`), lambdaContext),
      );
    }
    expect(wire.ec2.calls("RevokeSecurityGroupIngress")).toHaveLength(5);
    expect(results.map((r) => r.result)).toEqual(Array(5).fill("revoked"));
    expect(results.map((r) => r.flap ?? "alert")).toEqual([
      "alert",
      "alert",
      "alert",
      "escalate",
      "fold",
    ]);
    expect(wire.sns.publishes).toHaveLength(4);
    expect(wire.sns.publishes.map((p) => p.attributes.flap?.value ?? "none")).toEqual([
      "none",
      "none",
      "none",
      "escalated",
    ]);
    const escalation = JSON.parse(wire.sns.publishes[3]?.message ?? "{}");
    expect(escalation.flap).toMatchObject({
      state: "escalated",
      count: 4,
      threshold: 3,
      windowHours: 24,
      windowStart: "2024-11-05T11:00:00.000Z",
      rules: [`ingress tcp 22 from 0.0.0.0/0 on ${GROUP}`],
      attribution: { tool: "terraform", label: "Terraform 1.9.5", evidence: ["userAgent"] },
    });
    expect(escalation.summary).toMatch(/^Revoke loop: .* by Terraform 1\.9\.5/);
    const folded = await decisionItem("tf-apply-5");
    expect(folded).toMatchObject({
      result: "revoked",
      notification: "none",
      flap: { state: "folded", count: 5, escalationId: "tf-apply-4" },
    });

    // A redelivery of the escalation counts nothing more and sends nothing more.
    const again = await handler(reapply("tf-apply-4", "2024-11-05T14:00:00Z"), lambdaContext);
    expect(again).toMatchObject({ flap: "escalate", recorded: "duplicate", published: false });
    expect(wire.sns.publishes).toHaveLength(4);
    // The guardrail never stops revoking: a 6th re-opening is revoked, and folded.
    const sixth = await handler(reapply("tf-apply-6", "2024-11-05T16:00:00Z"), lambdaContext);
    expect(sixth).toMatchObject({ result: "revoked", flap: "fold", published: false });
    expect(wire.ec2.rules.has(RULE)).toBe(false);
  });

  it("reads the workspace and the stack only from the group's tags", async () => {
    wire.ec2.tags.set(GROUP, { Workspace: "network-prod", git_repo: "acme/network" });
    const handler = createSecurityGroupChangeHandler(deps());
    for (let i = 1; i <= 4; i++) await handler(reapply(`tags-${i}`), lambdaContext);
    const escalation = JSON.parse(wire.sns.publishes[3]?.message ?? "{}");
    expect(escalation.flap.attribution).toMatchObject({
      workspace: "network-prod",
      repository: "acme/network",
      stack: null,
    });
    expect(escalation.flap.attribution.fixAt).toContain('workspace "network-prod"');
  });
});
