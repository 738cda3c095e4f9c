import "./setup";
import { QueryCommand } from "@aws-sdk/lib-dynamodb";
import { AUDIT_TABLE } from "@guardrail/core";
import { createSweepHandler, type SweepDeps } from "@guardrail/functions";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { Ec2Stub, type StubRule } from "./ec2-stub";
import { sshRule, startDynamo, startSnsStub, wireDeps } from "./harness";
import { lambdaContext, scheduledEvent, TABLE } from "./helpers";

const GROUPS = 10_000;
const RULES_PER_GROUP = 5;
const NACLS = 500;

let ec2: Ec2Stub;
let sns: Awaited<ReturnType<typeof startSnsStub>>;
let dynamo: Awaited<ReturnType<typeof startDynamo>>;

/** 50,000 rules over 10,000 groups: private web traffic, prefix lists, and one SSH-to-the-world rule per 1,000 groups. */
function seed(stub: Ec2Stub): void {
  stub.prefixLists.set("pl-corp", { entries: ["10.0.0.0/8", "172.16.0.0/12"], groups: [] });
  stub.prefixLists.set("pl-partners", { entries: ["192.168.0.0/16"], groups: [] });
  for (let g = 0; g < GROUPS; g++) {
    const groupId = `sg-${g.toString(16).padStart(17, "0")}`;
    const rules: StubRule[] = [];
    for (let r = 0; r < RULES_PER_GROUP; r++) {
      const id = `sgr-${(g * RULES_PER_GROUP + r).toString(16).padStart(17, "0")}`;
      if (r === 0 && g % 1000 === 0) {
        rules.push(sshRule(id, groupId));
      } else if (r === 1) {
        rules.push({
          id,
          groupId,
          egress: false,
          protocol: "tcp",
          from: 5432,
          to: 5432,
          prefixListId: g % 2 ? "pl-corp" : "pl-partners",
        });
      } else if (r === 4) {
        rules.push({ id, groupId, egress: true, protocol: "-1", cidr: "0.0.0.0/0" });
      } else {
        rules.push({
          id,
          groupId,
          egress: false,
          protocol: "tcp",
          from: 443 + r,
          to: 443 + r,
          cidr: `10.${g % 256}.${r}.0/24`,
        });
      }
    }
    stub.addRules(...rules);
  }
  for (let n = 0; n < NACLS; n++) {
    stub.nacls.set(`acl-${n.toString(16).padStart(17, "0")}`, [
      {
        ruleNumber: 100,
        egress: false,
        protocol: "6",
        action: "allow",
        cidr: "10.0.0.0/8",
        from: 443,
        to: 443,
      },
      {
        ruleNumber: 200,
        egress: false,
        protocol: "6",
        action: "allow",
        cidr: "0.0.0.0/0",
        from: 1024,
        to: 65535,
      },
      { ruleNumber: 100, egress: true, protocol: "-1", action: "allow", cidr: "0.0.0.0/0" },
      { ruleNumber: 32767, egress: false, protocol: "-1", action: "deny", cidr: "0.0.0.0/0" },
    ]);
  }
}

function deps(): SweepDeps {
  return {
    ...wireDeps({
      fn: "sweep",
      ec2Endpoint: ec2.endpoint,
      snsEndpoint: sns.endpoint,
      dynamoEndpoint: dynamo.endpoint,
    }),
    identity: async () => ({ account: "123456789012", region: "eu-west-1" }),
  };
}

const scheduled = (id: string) => scheduledEvent(id, new Date().toISOString());

beforeAll(async () => {
  ec2 = new Ec2Stub();
  seed(ec2);
  [sns, dynamo] = await Promise.all([startSnsStub(), startDynamo(), ec2.listen()]).then(
    ([s, d]) => [s, d] as const,
  );
});

afterAll(async () => {
  await Promise.all([ec2.close(), sns.close(), dynamo.close()]);
});

describe("wire: sweep of 50,000 rules", () => {
  it("sweeps 50,000 rules and 2,000 NACL entries in 1,000-rule pages, revoking the 10 offenders", async () => {
    const t0 = performance.now();
    const result = await createSweepHandler(deps())(scheduled("run-1"), lambdaContext);
    const seconds = (performance.now() - t0) / 1000;
    console.log(
      `sweep #1 (empty state): ${seconds.toFixed(2)} s, ${result.stateWrites} state items written`,
    );
    expect(result.scanned).toEqual({
      securityGroupRules: 50_000,
      networkAclEntries: 2_000,
      prefixLists: 2,
    });
    // 50 pages, and one more: the 10 offenders read again by id before they are revoked.
    expect(ec2.calls("DescribeSecurityGroupRules")).toHaveLength(51);
    const [pages, byId] = [
      ec2.calls("DescribeSecurityGroupRules").filter((c) => !c.params.has("SecurityGroupRuleId.1")),
      ec2.calls("DescribeSecurityGroupRules").filter((c) => c.params.has("SecurityGroupRuleId.1")),
    ];
    expect(pages.every((c) => c.params.get("MaxResults") === "1000")).toBe(true);
    expect(byId).toHaveLength(1);
    expect(ec2.calls("GetManagedPrefixListEntries")).toHaveLength(2);
    expect(ec2.calls("RevokeSecurityGroupIngress")).toHaveLength(10);
    expect(result.counts.revoked).toBeGreaterThanOrEqual(10);
    expect(result.stateWrites).toBe(GROUPS + NACLS);
    expect(sns.publishes).toHaveLength(1);
    expect(JSON.parse(sns.publishes[0]?.message ?? "{}").schema).toBe("guardrail.sweep/v1");
  });

  it("writes no state, revokes nothing and publishes nothing the second time", async () => {
    const before = ec2.requests.length;
    const t0 = performance.now();
    const result = await createSweepHandler(deps())(scheduled("run-2"), lambdaContext);
    const seconds = (performance.now() - t0) / 1000;
    console.log(`sweep #2 (state unchanged): ${seconds.toFixed(2)} s`);
    expect(result).toMatchObject({ stateWrites: 0, stateDeletes: 0 });
    expect(result.counts.revoked).toBe(0);
    expect(ec2.requests.slice(before).some((r) => r.action.startsWith("Revoke"))).toBe(false);
    expect(result.published).toBe(false);
    expect(sns.publishes).toHaveLength(1);
  });

  it("keeps what it saw, so an alert about a replaced entry can show it", async () => {
    const out = await dynamo.doc.send(
      new QueryCommand({
        TableName: TABLE,
        KeyConditionExpression: "#pk = :pk AND #sk = :sk",
        ExpressionAttributeNames: { "#pk": AUDIT_TABLE.partitionKey, "#sk": AUDIT_TABLE.sortKey },
        ExpressionAttributeValues: {
          ":pk": "STATE#123456789012#eu-west-1",
          ":sk": "RESOURCE#acl-00000000000000000",
        },
      }),
    );
    const rules = out.Items?.[0]?.rules as Record<string, { text: string }>;
    expect(Object.keys(rules).sort()).toEqual(["egress#100", "ingress#100", "ingress#200"]);
    expect(rules["ingress#200"]?.text).toBe(
      "ingress rule #200 allow tcp 1024-65535 from 0.0.0.0/0",
    );
  });
});
