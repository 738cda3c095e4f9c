import fc from "fast-check";
import { describe, expect, it } from "vitest";
import type {
  Evaluation,
  Mode,
  NetworkAclEntryChange,
  RuleChange,
  SecurityGroupRuleChange,
} from "../src/model";
import { parseCidr } from "../src/net/cidr";
import type { Protocol } from "../src/net/protocol";
import { planActions } from "../src/plan";
import { defaultPolicy, isBroad, type Policy } from "../src/policy";
import { evaluate } from "../src/policy/evaluate";
import { NOW } from "./policy-builders";

const RUNS = { numRuns: 400 };

function v4(n: bigint): string {
  return [24n, 16n, 8n, 0n].map((s) => String((n >> s) & 0xffn)).join(".");
}
function v6(n: bigint): string {
  const words: string[] = [];
  for (let s = 112n; s >= 0n; s -= 16n) words.push(((n >> s) & 0xffffn).toString(16));
  return words.join(":");
}

/** Any CIDR, IPv4 or IPv6, host bits possibly set (parseCidr clears them). */
const anyCidr = fc.oneof(
  fc
    .tuple(fc.bigInt(0n, (1n << 32n) - 1n), fc.integer({ min: 0, max: 32 }))
    .map(([n, p]) => `${v4(n)}/${p}`),
  fc
    .tuple(fc.bigInt(0n, (1n << 128n) - 1n), fc.integer({ min: 0, max: 128 }))
    .map(([n, p]) => `${v6(n)}/${p}`),
  fc.constantFrom(
    "0.0.0.0/0",
    "::/0",
    "0.0.0.0/1",
    "128.0.0.0/1",
    "198.51.100.0/24",
    "::ffff:0:0/96",
  ),
);

/** A CIDR wholly inside one of the default policy's trusted or office networks. */
const trustedCidr = fc
  .tuple(
    fc.constantFrom(...defaultPolicy().networks.trusted, ...defaultPolicy().networks.office),
    fc.bigInt(0n, (1n << 128n) - 1n),
    fc.integer({ min: 0, max: 128 }),
  )
  .map(([net, bits, extra]) => {
    const width = net.family === 4 ? 32 : 128;
    const prefix = net.prefixLength + (extra % (width - net.prefixLength + 1));
    const host = bits & ((1n << BigInt(width - net.prefixLength)) - 1n);
    const addr = net.network | host;
    return `${net.family === 4 ? v4(addr) : v6(addr)}/${prefix}`;
  });

const protocol = fc.constantFrom<Protocol>("tcp", "udp", "icmp", "icmpv6", "all", 50);
const portRange = fc
  .tuple(fc.integer({ min: 0, max: 65535 }), fc.integer({ min: 0, max: 65535 }))
  .map(([a, b]) => ({ from: Math.min(a, b), to: Math.max(a, b) }));
const portsFor = (p: Protocol) =>
  p === "tcp" || p === "udp"
    ? fc.oneof(portRange, fc.constant({ from: 22, to: 22 }), fc.constant(null))
    : fc.constant(null);
const icmpFor = (p: Protocol) =>
  p === "icmp" || p === "icmpv6"
    ? fc.record({
        type: fc.integer({ min: -1, max: 255 }),
        code: fc.integer({ min: -1, max: 255 }),
      })
    : fc.constant(null);

const groupId = fc.constantFrom("sg-0123456789abcdef0", "sg-0fedcba9876543210", null);
const ruleId = fc.oneof(
  fc.constant(null),
  fc.integer({ min: 1, max: 20 }).map((n) => `sgr-${n}`),
);

function sgChange(cidr: fc.Arbitrary<string>): fc.Arbitrary<SecurityGroupRuleChange> {
  return protocol.chain((p) =>
    fc.record({
      kind: fc.constant("security-group-rule" as const),
      groupId,
      direction: fc.constantFrom("ingress" as const, "egress" as const, "unknown" as const),
      protocol: fc.constant(p),
      ports: portsFor(p),
      icmp: icmpFor(p),
      peer: fc.oneof(
        { weight: 6, arbitrary: cidr.map((c) => ({ kind: "cidr" as const, cidr: parseCidr(c) })) },
        {
          weight: 1,
          arbitrary: fc.constant({ kind: "prefix-list" as const, prefixListId: "pl-1" }),
        },
        {
          weight: 1,
          arbitrary: groupId.map((g) => ({ kind: "security-group" as const, groupId: g })),
        },
      ),
      ruleId,
    }),
  );
}

function naclChange(cidr: fc.Arbitrary<string>): fc.Arbitrary<NetworkAclEntryChange> {
  return protocol.chain((p) =>
    fc.record({
      kind: fc.constant("network-acl-entry" as const),
      networkAclId: fc.constantFrom("acl-1", "acl-2"),
      ruleNumber: fc.integer({ min: 1, max: 32766 }),
      egress: fc.boolean(),
      ruleAction: fc.constantFrom("allow" as const, "deny" as const),
      protocol: fc.constant(p),
      ports: portsFor(p),
      icmp: icmpFor(p),
      cidr: cidr.map((c) => parseCidr(c)),
      operation: fc.constantFrom("create" as const, "replace" as const, "state" as const),
    }),
  );
}

const change = (cidr: fc.Arbitrary<string>): fc.Arbitrary<RuleChange> =>
  fc.oneof(sgChange(cidr), naclChange(cidr));

/** Prefix-list entries the caller might have resolved (or not). */
const prefixLists = fc.option(
  fc.array(anyCidr, { maxLength: 3 }).map((l) => ({ "pl-1": l })),
  { nil: undefined },
);

const ctx = (lists: Record<string, string[]> | undefined) => ({
  now: NOW,
  unknownDirection: "evaluate-both" as const,
  ...(lists ? { prefixLists: lists } : {}),
});

const modeOrNull = fc.constantFrom<Mode | null>("enforce", "notify", "off", null);

/** The default policy with random modes and overrides on every rule. */
const remoded = fc
  .array(fc.tuple(fc.constantFrom<Mode>("enforce", "notify", "off"), modeOrNull, modeOrNull), {
    minLength: defaultPolicy().rules.length,
    maxLength: defaultPolicy().rules.length,
  })
  .map(
    (modes): Policy => ({
      ...defaultPolicy(),
      rules: defaultPolicy().rules.map((r, i) => {
        const [mode, whenBroad, whenTargeted] = modes[i] as [Mode, Mode | null, Mode | null];
        return { ...r, mode, whenBroad, whenTargeted };
      }),
    }),
  );

/** Every rule of the default policy in one mode, with no broad/targeted override. */
const allRules = (mode: Mode): Policy => ({
  ...defaultPolicy(),
  rules: defaultPolicy().rules.map((r) => ({ ...r, mode, whenBroad: null, whenTargeted: null })),
});

/**
 * Asserts `check` on the evaluation of random changes (at most `maxLength`, prefix lists resolved
 * or not) under each policy `policies` draws.
 */
function forAnyEvaluation(
  policies: fc.Arbitrary<Policy>,
  maxLength: number,
  check: (result: Evaluation, changes: RuleChange[], policy: Policy) => void,
): void {
  fc.assert(
    fc.property(
      policies,
      fc.array(change(anyCidr), { maxLength }),
      prefixLists,
      (policy, changes, lists) => check(evaluate(changes, policy, ctx(lists)), changes, policy),
    ),
    RUNS,
  );
}

describe("policy properties", () => {
  it("never flags a CIDR inside a trusted or office network", () => {
    fc.assert(
      fc.property(fc.array(change(trustedCidr), { maxLength: 5 }), (changes) => {
        const noLists = changes.filter(
          (c) => c.kind !== "security-group-rule" || c.peer.kind === "cidr",
        );
        const result = evaluate(noLists, defaultPolicy(), ctx(undefined));
        expect(result.findings).toEqual([]);
        expect(result.outcome).toBe("compliant");
      }),
      RUNS,
    );
  });

  it("never flags a prefix list whose entries all lie in trusted networks", () => {
    fc.assert(
      fc.property(sgChange(trustedCidr), fc.array(trustedCidr, { maxLength: 4 }), (c, entries) => {
        const viaList: RuleChange = { ...c, peer: { kind: "prefix-list", prefixListId: "pl-1" } };
        expect(evaluate([viaList], defaultPolicy(), ctx({ "pl-1": entries })).findings).toEqual([]);
      }),
      RUNS,
    );
  });

  it("never plans a rule id, group or NACL entry absent from the input changes", () => {
    forAnyEvaluation(fc.constant(defaultPolicy()), 8, (result, changes) => {
      const sg = changes.filter(
        (c): c is SecurityGroupRuleChange => c.kind === "security-group-rule",
      );
      for (const a of planActions(result)) {
        if (a.type === "revoke-security-group-rules") {
          for (const id of a.ruleIds) {
            expect(sg.some((c) => c.ruleId === id && c.groupId === a.groupId)).toBe(true);
          }
        } else if (a.type === "revoke-security-group-permissions") {
          expect(a.permissions).toHaveLength(1);
          expect(
            sg.some(
              (c) => c.groupId === a.groupId && c.ruleId === null && c.direction === a.direction,
            ),
          ).toBe(true);
        } else if (a.type === "delete-network-acl-entry") {
          expect(
            changes.some(
              (c) =>
                c.kind === "network-acl-entry" &&
                c.ruleAction === "allow" &&
                c.networkAclId === a.networkAclId &&
                c.ruleNumber === a.ruleNumber &&
                c.egress === a.egress,
            ),
          ).toBe(true);
        }
      }
    });
  });

  it("never plans the delete of an entry that ReplaceNetworkAclEntry replaced", () => {
    forAnyEvaluation(remoded, 8, (result, changes) => {
      for (const f of result.findings) {
        if (f.change.kind === "network-acl-entry" && f.change.operation === "replace") {
          expect(f.mode).toBe("notify");
        }
      }
      const deletable = (a: { networkAclId: string; ruleNumber: number; egress: boolean }) =>
        changes.some(
          (c) =>
            c.kind === "network-acl-entry" &&
            c.operation !== "replace" &&
            c.networkAclId === a.networkAclId &&
            c.ruleNumber === a.ruleNumber &&
            c.egress === a.egress,
        );
      for (const a of planActions(result)) {
        if (a.type === "delete-network-acl-entry") expect(deletable(a)).toBe(true);
      }
    });
  });

  it("never gives a finding for a rule that is off for that change", () => {
    forAnyEvaluation(remoded, 6, (result, _changes, policy) => {
      for (const f of [...result.findings, ...result.waived]) {
        const rule = policy.rules.find((r) => r.id === f.rule);
        if (!rule) continue; // the unresolved-prefix-list finding
        const c = f.change as {
          protocol: Protocol;
          ports: { from: number; to: number } | null;
        };
        const effective =
          (isBroad(c, policy.thresholds) ? rule.whenBroad : rule.whenTargeted) ?? rule.mode;
        expect(effective).not.toBe("off");
        // A finding is never stricter than its rule says.
        if (effective === "notify") expect(f.mode).toBe("notify");
      }
    });
  });

  it("gives no findings at all when every rule is off", () => {
    forAnyEvaluation(fc.constant(allRules("off")), 6, (result) => {
      expect(result).toEqual({ outcome: "compliant", findings: [], waived: [] });
    });
  });

  it("never turns a notify finding into an action", () => {
    forAnyEvaluation(fc.constant(allRules("notify")), 6, (result) => {
      expect(result.findings.every((f) => f.mode === "notify")).toBe(true);
      expect(planActions(result)).toEqual([]);
    });
  });

  it("plans actions only for changes with an enforce finding, under any modes", () => {
    forAnyEvaluation(remoded, 6, (result) => {
      const enforced = result.findings.filter((f) => f.mode === "enforce").map((f) => f.change);
      for (const a of planActions(result)) {
        const backed = enforced.some((c) =>
          a.type === "delete-network-acl-entry"
            ? c.kind === "network-acl-entry" &&
              c.networkAclId === a.networkAclId &&
              c.ruleNumber === a.ruleNumber
            : "groupId" in a && c.kind === "security-group-rule" && c.groupId === a.groupId,
        );
        expect(backed).toBe(true);
      }
    });
  });
});
