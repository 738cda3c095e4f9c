import {
  paginateDescribeNetworkAcls,
  paginateDescribeSecurityGroupRules,
  paginateDescribeSecurityGroups,
} from "@aws-sdk/client-ec2";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { Ec2Sandbox, SeedSecurityGroup } from "../src/index";
import { ec2Client, HTTPS_IN_FROM_WORLD, startSandbox } from "./helpers";

// The sweep benchmark's estate: 10,000 groups holding 50,000 rules, and 2,000 network ACLs.
const GROUPS = 10_000;
const INGRESS_PER_GROUP = 4; // + the default egress rule = 5 rules per group
const NACLS = 2_000;

let sandbox: Ec2Sandbox;
let endpoint: string;
let seedMs = 0;

beforeAll(async () => {
  ({ sandbox, endpoint } = await startSandbox());
  const started = performance.now();
  const specs: SeedSecurityGroup[] = [];
  for (let g = 0; g < GROUPS; g++) {
    specs.push({
      name: `bulk-${g}`,
      tags: g % 100 === 0 ? { "guardrail:exempt": "benchmark" } : undefined,
      ingress: Array.from({ length: INGRESS_PER_GROUP }, (_, i) => ({
        protocol: "tcp",
        fromPort: 1000 + i,
        toPort: 1000 + i,
        cidr: `10.${g % 250}.${i}.0/24`,
      })),
    });
  }
  sandbox.seedSecurityGroups(specs);
  for (let n = 0; n < NACLS; n++) {
    sandbox.seedNetworkAcl({
      entries: [
        HTTPS_IN_FROM_WORLD,
        { ruleNumber: 100, egress: true, protocol: -1, ruleAction: "allow", cidr: "0.0.0.0/0" },
      ],
    });
  }
  seedMs = performance.now() - started;
});

afterAll(async () => {
  await sandbox.close();
});

describe("the sandbox at sweep-benchmark scale", () => {
  it("seeds 10,000 groups, 50,000 rules and 2,000 ACLs directly", () => {
    const stats = sandbox.stats();
    // Plus the default VPC's default group (2 rules) and default ACL.
    expect(stats.groups).toBe(GROUPS + 1);
    expect(stats.rules).toBe(GROUPS * (INGRESS_PER_GROUP + 1) + 2);
    expect(stats.networkAcls).toBe(NACLS + 1);
    console.info(
      `seeded ${stats.rules} rules, ${stats.groups} groups, ${stats.networkAcls} ACLs in ${seedMs.toFixed(0)} ms`,
    );
  });

  it("pages every rule, group and ACL through the SDK paginators with few Describe calls", async () => {
    const client = ec2Client(endpoint);
    sandbox.resetCallCounts();
    const started = performance.now();
    const ruleIds = new Set<string>();
    for await (const page of paginateDescribeSecurityGroupRules({ client, pageSize: 1000 }, {})) {
      for (const r of page.SecurityGroupRules ?? []) ruleIds.add(r.SecurityGroupRuleId ?? "");
    }
    let groups = 0;
    for await (const page of paginateDescribeSecurityGroups({ client, pageSize: 1000 }, {})) {
      groups += page.SecurityGroups?.length ?? 0;
    }
    let acls = 0;
    let entries = 0;
    for await (const page of paginateDescribeNetworkAcls({ client, pageSize: 1000 }, {})) {
      acls += page.NetworkAcls?.length ?? 0;
      for (const acl of page.NetworkAcls ?? []) entries += acl.Entries?.length ?? 0;
    }
    const elapsed = performance.now() - started;
    client.destroy();

    const stats = sandbox.stats();
    expect(ruleIds.size).toBe(stats.rules);
    expect(ruleIds.has("")).toBe(false);
    expect(groups).toBe(stats.groups);
    expect(acls).toBe(stats.networkAcls);
    expect(entries).toBe(NACLS * 4 + 4);
    expect(sandbox.callCounts()).toEqual({
      DescribeSecurityGroupRules: Math.ceil(stats.rules / 1000),
      DescribeSecurityGroups: Math.ceil(stats.groups / 1000),
      DescribeNetworkAcls: Math.ceil(stats.networkAcls / 1000),
    });
    console.info(
      `read ${ruleIds.size} rules, ${groups} groups, ${acls} ACLs in ${sandbox.calls()} Describe calls, ${elapsed.toFixed(0)} ms`,
    );
  });
});
