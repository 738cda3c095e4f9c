import { describe, expect, it } from "vitest";
import type { NetworkAclEntryChange } from "../src/model";
import { planActions } from "../src/plan";
import { defaultPolicy, loadPolicy } from "../src/policy";
import { evaluate, JUDGED_ALONE, networkAclsOf } from "../src/policy/evaluate";
import { ACL, NOW, naclEntry } from "./policy-builders";

function judge(entries: NetworkAclEntryChange[], judged = entries, policy = defaultPolicy()) {
  return evaluate(judged, policy, { now: NOW, networkAcls: networkAclsOf(entries) });
}

const verdicts = (r: ReturnType<typeof judge>) =>
  r.findings.map((f) => `${f.rule}:${f.mode}:${(f.change as NetworkAclEntryChange).ruleNumber}`);

describe("network-acl rule kinds judge the traffic an entry decides", () => {
  it("gives no finding for an allow that a lower-numbered deny fully shadows", () => {
    const deny = naclEntry({ ruleNumber: 90, ruleAction: "deny", ports: [0, 65535] });
    const allow = naclEntry({ ruleNumber: 100, ports: [22] });
    const result = judge([deny, allow]);
    expect(result.outcome).toBe("compliant");
    expect(planActions(result)).toEqual([]);
  });

  it.each<[string, NetworkAclEntryChange[], string[]]>([
    [
      "flags the same allow once the deny is gone",
      [naclEntry({ ruleNumber: 100, ports: [22] })],
      ["nacl-admin-ports:enforce:100"],
    ],
    [
      "does not shadow by a deny numbered after the allow",
      [
        naclEntry({ ruleNumber: 110, ruleAction: "deny", ports: [22] }),
        naclEntry({ ruleNumber: 100, ports: [22] }),
      ],
      ["nacl-admin-ports:enforce:100"],
    ],
    [
      "keeps whenBroad: the default ACL's 100 allow all is only notified",
      [naclEntry({ ruleNumber: 100, protocol: "all" })],
      ["nacl-admin-ports:notify:100"],
    ],
    [
      "keeps whenTargeted: a targeted allow behind unrelated entries is enforced",
      [
        naclEntry({ ruleNumber: 50, ruleAction: "deny", ports: [443] }),
        naclEntry({ ruleNumber: 100, ports: [3389] }),
      ],
      ["nacl-admin-ports:enforce:100"],
    ],
  ])("%s", (_name, entries, expected) => {
    expect(verdicts(judge(entries))).toEqual(expected);
  });

  it("names the exact slice that breaks the rule when earlier entries decide part", () => {
    const deny = naclEntry({ ruleNumber: 90, ruleAction: "deny", ports: [0, 21] });
    const allow = naclEntry({ ruleNumber: 100, ports: [0, 1023] });
    const [finding] = judge([deny, allow]).findings;
    expect(finding?.rule).toBe("nacl-admin-ports");
    expect(finding?.change).toBe(allow);
    expect(finding?.reason).toBe(
      `NACL ${ACL} entry 100 allows ingress tcp 0-1023 from 0.0.0.0/0 (public, wide) — admin port (covers tcp/22); breaks it with tcp 22`,
    );
  });

  it("decides the worked example of docs/policy.md", () => {
    const deny = naclEntry({ ruleNumber: 90, ruleAction: "deny", ports: [0, 21] });
    const wide = naclEntry({ ruleNumber: 100, ports: [0, 1023] });
    const ssh = naclEntry({ ruleNumber: 110, ports: [22] });
    expect(verdicts(judge([deny, wide, ssh]))).toEqual(["nacl-admin-ports:enforce:100"]);
    const denyAll = naclEntry({ ruleNumber: 90, ruleAction: "deny", ports: [0, 1023] });
    expect(judge([denyAll, wide, ssh]).outcome).toBe("compliant");
  });

  it("does not flag ports a deny removed from a wide allow", () => {
    // 90 denies 22, so the allow of 0-1023 reaches no admin port.
    const deny = naclEntry({ ruleNumber: 90, ruleAction: "deny", ports: [22] });
    const allow = naclEntry({ ruleNumber: 100, ports: [0, 1023] });
    expect(judge([deny, allow]).outcome).toBe("compliant");
  });

  it("judges the address dimension too: a deny of part of the block shadows only that part", () => {
    const deny = naclEntry({ ruleNumber: 90, ruleAction: "deny", cidr: "0.0.0.0/1" });
    const allow = naclEntry({ ruleNumber: 100, cidr: "0.0.0.0/0", ports: [22] });
    const [finding] = judge([deny, allow]).findings;
    expect(finding?.reason).toContain("breaks it with tcp 22 for 128.0.0.0/1");
  });

  it("judges the peer class on the entry's CIDR, not on the slice", () => {
    // 10/8 is not trusted in the default policy; the blocked network inside it is carved out
    // by the deny, and the rest of the allow is still public.
    const deny = naclEntry({ ruleNumber: 90, ruleAction: "deny", cidr: "198.51.100.0/24" });
    const allow = naclEntry({ ruleNumber: 100, cidr: "198.51.100.0/23", ports: [443] });
    expect(judge([deny, allow]).outcome).toBe("compliant");
  });

  it("exposure rules flag only the part beyond the allowed services", () => {
    const policy = loadPolicy(`
version: 1
rules:
  - id: web-only
    kind: network-acl-exposure
    description: Only web traffic from wide public ranges.
    mode: enforce
    options:
      peers: [public-wide]
      allow: [tcp/80, tcp/443]
`);
    const deny = naclEntry({ ruleNumber: 90, ruleAction: "deny", ports: [0, 79] });
    const allow = naclEntry({ ruleNumber: 100, ports: [0, 443] });
    const [finding] = judge([deny, allow], [deny, allow], policy).findings;
    expect(finding?.reason).toContain("breaks it with tcp 81-442");
    const shadowed = naclEntry({ ruleNumber: 100, ports: [80] });
    expect(judge([deny, shadowed], [deny, shadowed], policy).outcome).toBe("compliant");
  });

  it("peers rules: a fully shadowed allow to a blocked network has no finding", () => {
    const deny = naclEntry({ ruleNumber: 1, ruleAction: "deny", protocol: "all" });
    const allow = naclEntry({ ruleNumber: 100, cidr: "198.51.100.0/24", ports: [443] });
    expect(judge([deny, allow]).outcome).toBe("compliant");
    expect(verdicts(judge([allow]))).toEqual(["nacl-blocked-sources:enforce:100"]);
  });

  it("judges an entry of an ACL nobody read alone, and says so", () => {
    const allow = naclEntry({ ruleNumber: 100, ports: [22] });
    const result = evaluate([allow], defaultPolicy(), { now: NOW });
    expect(result.findings[0]?.reason).toContain(`; ${JUDGED_ALONE}`);
    const read = judge([allow]);
    expect(read.findings[0]?.reason).not.toContain(JUDGED_ALONE);
  });

  it("judges an event's entry in its place when the ACL read holds something else there", () => {
    const deny = naclEntry({ ruleNumber: 90, ruleAction: "deny", ports: [22] });
    const old = naclEntry({ ruleNumber: 100, ports: [443] });
    const fresh = naclEntry({ ruleNumber: 100, ports: [22, 23] });
    const result = evaluate([fresh], defaultPolicy(), {
      now: NOW,
      networkAcls: networkAclsOf([deny, old]),
    });
    expect(result.outcome).toBe("compliant");
  });

  it("reads ACL ids such as __proto__ and constructor as data", () => {
    for (const id of ["__proto__", "constructor", "toString"]) {
      const allow = naclEntry({ networkAclId: id, ruleNumber: 100, ports: [22] });
      const acls = networkAclsOf([allow]);
      expect(Object.hasOwn(acls, id)).toBe(true);
      expect(verdicts(evaluate([allow], defaultPolicy(), { now: NOW, networkAcls: acls }))).toEqual(
        ["nacl-admin-ports:enforce:100"],
      );
      // An ACL that was not read is judged alone, even when its id names a prototype member.
      const alone = evaluate([allow], defaultPolicy(), { now: NOW, networkAcls: {} });
      expect(alone.findings[0]?.reason).toContain(JUDGED_ALONE);
    }
  });

  it("never names a trusted range as the slice that breaks the rule", () => {
    // Denies cover every public address outside 10.0.0.0/8; the peer class is still judged on
    // the entry's 0.0.0.0/0, so the finding stays, but its reason says what gets through.
    const blocks = ["0.0.0.0/5", "8.0.0.0/7", "11.0.0.0/8", "12.0.0.0/6", "16.0.0.0/4"];
    const rest = ["32.0.0.0/3", "64.0.0.0/2", "128.0.0.0/1"];
    const denies = [...blocks, ...rest].map((cidr, i) =>
      naclEntry({ ruleNumber: 10 + i, ruleAction: "deny", protocol: "all", cidr }),
    );
    const allow = naclEntry({ ruleNumber: 100, ports: [22] });
    const [finding] = judge([...denies, allow], [allow]).findings;
    expect(finding?.rule).toBe("nacl-admin-ports");
    expect(finding?.reason).not.toContain("10.0.0.0/8");
    expect(finding?.reason).toContain(
      "every address it still lets through is in a trusted or office range, but the peer class is judged on the entry's CIDR",
    );
  });

  it("naclWholeDeletesOnly: enforces only on an entry whose every packet is forbidden", () => {
    const ctx = (entries: NetworkAclEntryChange[]) => ({
      now: NOW,
      networkAcls: networkAclsOf(entries),
      naclWholeDeletesOnly: true,
    });
    const low = naclEntry({ ruleNumber: 110, ports: [0, 1023], operation: "state" });
    const [mixed] = evaluate([low], defaultPolicy(), ctx([low])).findings;
    expect(mixed?.mode).toBe("notify");
    expect(mixed?.reason).toContain(
      "deleting the entry would also deny tcp 0-21, tcp 23-1023, which the policy allows, so notify",
    );
    const ssh = naclEntry({ ruleNumber: 100, ports: [22], operation: "state" });
    expect(verdicts(evaluate([ssh], defaultPolicy(), ctx([ssh])))).toEqual([
      "nacl-admin-ports:enforce:100",
    ]);
    // Without the option, today's verdict: the targeted 0-1023 is enforced.
    expect(verdicts(judge([low]))).toEqual(["nacl-admin-ports:enforce:110"]);
  });
});
