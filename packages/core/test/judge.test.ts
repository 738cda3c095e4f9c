import { describe, expect, it } from "vitest";
import { type GroupTags, type JudgeLookups, judge } from "../src/judge";
import type { TagRecord } from "../src/model";
import { defaultPolicy } from "../src/policy";
import { diffStates, stateFingerprint, statesOf } from "../src/snapshot";
import { GROUP, NOW, revokeRules, sgRule } from "./policy-builders";

const ACCOUNT = "123456789012";
const REGION = "eu-west-1";

/** Look-ups that answer from tables and note what was asked. */
function lookups(tags: GroupTags, records: Record<string, Record<string, TagRecord>> = {}) {
  const asked: { tags: string[][]; records: string[] } = { tags: [], records: [] };
  const injected: JudgeLookups = {
    async groupTags(ids) {
      asked.tags.push([...ids]);
      return Object.fromEntries(ids.map((id) => [id, tags[id] ?? {}]));
    },
    async tagRecords(_account, _region, id) {
      asked.records.push(id);
      return records[id] ?? {};
    },
  };
  return { injected, asked };
}

describe("judge", () => {
  const ctx = { now: NOW, account: ACCOUNT, region: REGION };

  it("reads nothing for a compliant change", async () => {
    const { injected, asked } = lookups({});
    const judged = await judge([sgRule({ cidr: "10.0.0.0/8" })], defaultPolicy(), ctx, injected);
    expect(judged.evaluation.findings).toEqual([]);
    expect(asked).toEqual({ tags: [], records: [] });
  });

  it("reads the tags of the group a finding is on, once, and no record when no tag is set", async () => {
    const { injected, asked } = lookups({ [GROUP]: { team: "web" } });
    const judged = await judge([sgRule()], defaultPolicy(), ctx, injected);
    expect(judged.evaluation.findings.length).toBeGreaterThan(0);
    expect(asked).toEqual({ tags: [[GROUP]], records: [] });
    expect(judged.ctx.groupTags).toEqual({ [GROUP]: { team: "web" } });
    expect(judged.ctx.tagRecords).toBeUndefined();
  });

  it("reads the recorded tagging of a group that carries the exemption tag, null when none", async () => {
    const tag = { "guardrail-exempt": "reason=vendor;expires=2099-12-31" };
    const { injected, asked } = lookups({ [GROUP]: tag });
    const judged = await judge([sgRule()], defaultPolicy(), ctx, injected);
    expect(asked.records).toEqual([GROUP]);
    expect(judged.ctx.tagRecords).toEqual({ [GROUP]: { "guardrail-exempt": null } });
  });

  it("judges tags without records where there is nothing to read them from", async () => {
    const tag = { "guardrail-exempt": "reason=vendor;expires=2099-12-31" };
    const { injected } = lookups({ [GROUP]: tag });
    const { tagRecords: _, ...withoutRecords } = injected;
    const judged = await judge([sgRule()], defaultPolicy(), ctx, withoutRecords);
    expect(judged.ctx.groupTags).toEqual({ [GROUP]: tag });
    expect(judged.ctx.tagRecords).toBeUndefined();
  });
});

describe("the sweep's state", () => {
  const a = sgRule({ ruleId: "sgr-0aaaaaaaaaaaaaaa1" });
  const b = sgRule({ ruleId: "sgr-0aaaaaaaaaaaaaaa2", ports: [443] });
  const resources = new Map([[GROUP, { type: "security-group" as const, id: GROUP }]]);

  it("has one fingerprint for the same rules in any order", () => {
    const one = statesOf([a, b], resources, [], "t").get(GROUP);
    const two = statesOf([b, a], resources, [], "t").get(GROUP);
    expect(one?.fingerprint).toBe(two?.fingerprint);
    expect(one?.fingerprint).toBe(stateFingerprint(one?.rules ?? {}));
  });

  it("leaves out a rule the run removed, not one whose removal failed", () => {
    const action = revokeRules("ingress", ["sgr-0aaaaaaaaaaaaaaa1"]);
    const removed = statesOf([a, b], resources, [{ action, status: "revoked" }], "t");
    expect(Object.keys(removed.get(GROUP)?.rules ?? {})).toEqual(["rule#sgr-0aaaaaaaaaaaaaaa2"]);
    const failed = statesOf([a, b], resources, [{ action, status: "failed" }], "t");
    expect(Object.keys(failed.get(GROUP)?.rules ?? {})).toHaveLength(2);
  });

  it("writes what changed and deletes what is gone", () => {
    const states = statesOf([a], resources, [], "t");
    const same = states.get(GROUP)?.fingerprint ?? "";
    expect(diffStates(states, new Map([[GROUP, same]]))).toEqual({
      puts: [],
      deletes: [],
      changed: new Set(),
    });
    const diff = diffStates(
      states,
      new Map([
        [GROUP, "old"],
        ["sg-gone", "x"],
      ]),
    );
    expect(diff.puts.map((s) => s.resource.id)).toEqual([GROUP]);
    expect(diff.deletes).toEqual(["sg-gone"]);
    expect([...diff.changed]).toEqual([GROUP]);
  });
});
