import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { pathsOf, type Step } from "../../../test/fixtures/json-paths";
import { listFixtures, loadFixture } from "../../../test/fixtures/load";
import { normalise } from "../src/cloudtrail/normalise";
import { InvalidEventError } from "../src/errors";
import type { NormaliseResult } from "../src/model";
import { parseCidr } from "../src/net/cidr";

/** Fixed seed: a failure reproduces on every machine; change it to explore further. */
const SEED = 20_241_105;
const RUNS = { seed: SEED, numRuns: 400 } as const;

const fixtures = listFixtures();

type Json = unknown;

interface Mutation {
  readonly pick: number;
  readonly op: "set" | "delete";
  readonly value: Json;
}

function mutate(root: Record<string, Json>, mutations: readonly Mutation[]): void {
  for (const m of mutations) {
    const paths = pathsOf(root);
    if (paths.length === 0) return;
    const path = paths[m.pick % paths.length] as Step[];
    let parent: Json = root;
    for (const step of path.slice(0, -1)) parent = (parent as Record<Step, Json>)[step];
    const last = path[path.length - 1] as Step;
    if (m.op === "delete") {
      if (Array.isArray(parent)) parent.splice(last as number, 1);
      else delete (parent as Record<Step, Json>)[last];
    } else {
      (parent as Record<Step, Json>)[last] = structuredClone(m.value);
    }
  }
}

const mutationArb: fc.Arbitrary<Mutation> = fc.record({
  pick: fc.nat(),
  op: fc.constantFrom("set", "delete"),
  value: fc.oneof(
    fc.jsonValue({ maxDepth: 2 }),
    fc.constantFrom(null, {}, [], "", "-1", -1, "0.0.0.0/0", "::/0", { items: [] }, "tcp"),
  ),
});

/** Values found under `key` anywhere inside `value`. */
function valuesUnder(value: Json, key: string): Set<unknown> {
  const found = new Set<unknown>();
  const walk = (v: Json) => {
    if (Array.isArray(v)) v.forEach(walk);
    else if (typeof v === "object" && v !== null) {
      for (const [k, inner] of Object.entries(v)) {
        if (k === key) found.add(inner);
        walk(inner);
      }
    }
  };
  walk(value);
  return found;
}

/** The record normalise reads: the envelope's detail, or the input itself. */
function recordOf(input: Record<string, Json>): Record<string, Json> {
  return (
    Object.hasOwn(input, "detail") || Object.hasOwn(input, "detail-type") ? input.detail : input
  ) as Record<string, Json>;
}

function expectWellFormed(result: NormaliseResult): void {
  switch (result.status) {
    case "invalid":
      expect(result.error).toBeInstanceOf(InvalidEventError);
      expect(result.error.code).toBe("INVALID_EVENT");
      expect(result.error.path).toMatch(/\S/);
      return;
    case "ignored":
      expect(["failed-call", "read-only", "unhandled-event", "restrictive", "no-change"]).toContain(
        result.reason,
      );
      return;
    case "handled":
      expect(result.changes.length).toBeGreaterThan(0);
      expect(typeof result.event.eventId).toBe("string");
      for (const change of result.changes) {
        if (change.kind === "prefix-list") {
          // Entries changed, or (RestoreManagedPrefixListVersion) a whole version came back.
          if (change.restoredVersion === undefined) {
            expect(change.added.length + change.removed.length).toBeGreaterThan(0);
          } else {
            expect(Number.isSafeInteger(change.restoredVersion)).toBe(true);
            expect(change.restoredVersion).toBeGreaterThanOrEqual(1);
            expect(change.added.length + change.removed.length).toBe(0);
          }
          continue;
        }
        if (change.kind === "network-acl") continue;
        if (change.ports) {
          expect(change.ports.from).toBeGreaterThanOrEqual(0);
          expect(change.ports.to).toBeLessThanOrEqual(65535);
          expect(change.ports.from).toBeLessThanOrEqual(change.ports.to);
        }
        if (change.kind === "network-acl-entry") {
          expect(change.ruleNumber).toBeGreaterThanOrEqual(1);
          expect(change.ruleNumber).toBeLessThanOrEqual(32766);
        }
      }
      return;
    default:
      throw new Error(`unknown status ${JSON.stringify(result)}`);
  }
}

/**
 * Rule ids in the output come only from where AWS named them: the response rule set for
 * Authorize*, the request for ModifySecurityGroupRules. Never invented, never positional.
 */
function expectRuleIdsFromTheEvent(input: Record<string, Json>, result: NormaliseResult): void {
  if (result.status !== "handled") return;
  const record = recordOf(input);
  const allowed =
    result.event.eventName === "ModifySecurityGroupRules"
      ? valuesUnder(record.requestParameters, "SecurityGroupRuleId")
      : valuesUnder(record.responseElements, "securityGroupRuleId");
  for (const change of result.changes) {
    if (change.kind === "security-group-rule" && change.ruleId !== null) {
      expect(allowed).toContain(change.ruleId);
    }
  }
}

/** A fixture (loaded afresh) with 1 to `most` random paths set to random JSON values or deleted. */
const mutatedFixture = (most: number) =>
  fc
    .tuple(fc.constantFrom(...fixtures), fc.array(mutationArb, { minLength: 1, maxLength: most }))
    .map(([fixture, mutations]) => {
      const event = loadFixture(fixture.eventName, fixture.caseName);
      mutate(event, mutations);
      return event;
    });

/** Normalises `input`, asserting that it does not throw and that the result is well formed. */
function normaliseChecked(input: unknown): NormaliseResult {
  let result: NormaliseResult | undefined;
  expect(() => {
    result = normalise(input);
  }).not.toThrow();
  expectWellFormed(result as NormaliseResult);
  return result as NormaliseResult;
}

describe("normalise never throws", () => {
  it("on every fixture with random paths set to random JSON values or deleted", () => {
    fc.assert(
      fc.property(mutatedFixture(4), (event) => {
        expectRuleIdsFromTheEvent(event, normaliseChecked(event));
      }),
      { ...RUNS, numRuns: 2_000 },
    );
  });

  it("on mutated fixtures given as JSON text", () => {
    fc.assert(
      fc.property(mutatedFixture(3), (event) => {
        const fromText = normalise(JSON.stringify(event));
        expectWellFormed(fromText);
        expect(fromText.status).toBe(normalise(event).status);
      }),
      RUNS,
    );
  });

  it("on arbitrary values, strings and JSON", () => {
    fc.assert(
      fc.property(
        fc.oneof(
          fc.anything(),
          fc.string(),
          fc.json(),
          fc.jsonValue(),
          fc.dictionary(
            fc.constantFrom(
              "detail",
              "detail-type",
              "eventName",
              "requestParameters",
              "errorCode",
              "Records",
            ),
            fc.jsonValue({ maxDepth: 3 }),
          ),
        ),
        (input) => {
          normaliseChecked(input);
        },
      ),
      RUNS,
    );
  });
});

// ---------------------------------------------------------------------------------------------
// Random well-formed Authorize events, for the content-pairing and flat-vs-items properties.

const PROTOCOLS = ["tcp", "udp", "icmp", "icmpv6", "-1", "50", "6", "17"] as const;

interface RandomRule {
  readonly protocol: (typeof PROTOCOLS)[number];
  readonly from: number;
  readonly to: number;
  readonly stringPorts: boolean;
}

const ruleArb: fc.Arbitrary<RandomRule> = fc
  .record({
    protocol: fc.constantFrom(...PROTOCOLS),
    a: fc.integer({ min: 0, max: 65535 }),
    b: fc.integer({ min: 0, max: 65535 }),
    type: fc.integer({ min: -1, max: 255 }),
    code: fc.integer({ min: -1, max: 255 }),
    stringPorts: fc.boolean(),
  })
  .map(({ protocol, a, b, type, code, stringPorts }) =>
    protocol === "icmp" || protocol === "icmpv6"
      ? { protocol, from: type, to: code, stringPorts }
      : { protocol, from: Math.min(a, b), to: Math.max(a, b), stringPorts },
  );

const ipv4CidrArb = fc
  .tuple(fc.ipV4(), fc.integer({ min: 0, max: 32 }))
  .map(([ip, p]) => `${ip}/${p}`);
const ipv6CidrArb = fc
  .tuple(fc.ipV6(), fc.integer({ min: 0, max: 128 }))
  .map(([ip, p]) => `${ip}/${p}`);

const hex17 = fc.string({
  unit: fc.constantFrom(..."0123456789abcdef"),
  minLength: 17,
  maxLength: 17,
});

type RandomPeer =
  | { readonly list: "ipRanges"; readonly cidr: string }
  | { readonly list: "ipv6Ranges"; readonly cidr: string }
  | { readonly list: "prefixListIds"; readonly id: string }
  | { readonly list: "groups"; readonly id: string; readonly owner: string | null };

const peerArb: fc.Arbitrary<RandomPeer> = fc.oneof(
  ipv4CidrArb.map((cidr) => ({ list: "ipRanges" as const, cidr })),
  ipv6CidrArb.map((cidr) => ({ list: "ipv6Ranges" as const, cidr })),
  hex17.map((h) => ({ list: "prefixListIds" as const, id: `pl-${h}` })),
  fc
    .tuple(hex17, fc.option(fc.constantFrom("123456789012", "210987654321")))
    .map(([h, owner]) => ({ list: "groups" as const, id: `sg-${h}`, owner })),
);

function wirePorts(rule: RandomRule): { fromPort?: number | string; toPort?: number | string } {
  const show = (n: number) => (rule.stringPorts ? String(n) : n);
  return { fromPort: show(rule.from), toPort: show(rule.to) };
}

function requestEntry(peer: RandomPeer): Record<string, unknown> {
  switch (peer.list) {
    case "ipRanges":
      return { cidrIp: peer.cidr };
    case "ipv6Ranges":
      return { cidrIpv6: peer.cidr };
    case "prefixListIds":
      return { prefixListId: peer.id };
    case "groups":
      return peer.owner ? { groupId: peer.id, userId: peer.owner } : { groupId: peer.id };
  }
}

/** What AWS would write in the rule set for a rule: canonical CIDRs, -1/-1 when portless. */
function createdItem(rule: RandomRule, peer: RandomPeer, id: string, egress: boolean) {
  const portless = !["tcp", "udp", "6", "17", "icmp", "icmpv6"].includes(rule.protocol);
  const item: Record<string, unknown> = {
    groupOwnerId: "123456789012",
    groupId: "sg-0a1b2c3d4e5f60001",
    securityGroupRuleId: id,
    isEgress: egress,
    ipProtocol: rule.protocol === "6" ? "tcp" : rule.protocol === "17" ? "udp" : rule.protocol,
    fromPort: portless ? -1 : rule.from,
    toPort: portless ? -1 : rule.to,
  };
  if (peer.list === "ipRanges") item.cidrIpv4 = parseCidr(peer.cidr).cidr;
  if (peer.list === "ipv6Ranges") item.cidrIpv6 = parseCidr(peer.cidr).cidr;
  if (peer.list === "prefixListIds") item.prefixListId = peer.id;
  if (peer.list === "groups") {
    item.referencedGroupInfo = { userId: peer.owner ?? "123456789012", groupId: peer.id };
  }
  return item;
}

function peerKeyOf(peer: RandomPeer): string {
  return peer.list === "ipRanges" || peer.list === "ipv6Ranges"
    ? `cidr:${parseCidr(peer.cidr).cidr}`
    : `${peer.list}:${peer.id}`;
}

function authorizeEvent(
  egress: boolean,
  requestParameters: Record<string, unknown>,
  created: readonly Record<string, unknown>[] | null,
) {
  const base = loadFixture(
    "AuthorizeSecurityGroupIngress",
    "items-form_tcp-22_same-rule-as-legacy-flat",
  );
  base.eventName = egress ? "AuthorizeSecurityGroupEgress" : "AuthorizeSecurityGroupIngress";
  base.requestParameters = requestParameters;
  base.responseElements = created
    ? { requestId: "r", _return: true, securityGroupRuleSet: { items: created } }
    : { requestId: "r", _return: true };
  return base;
}

const permissionsArb = fc.array(
  fc.record({
    rule: ruleArb,
    // One peer per canonical content, so that every created rule has exactly one requester.
    peers: fc.uniqueArray(peerArb, { minLength: 1, maxLength: 4, selector: peerKeyOf }),
  }),
  { minLength: 1, maxLength: 3 },
);

function ruleKey(rule: RandomRule): string {
  const proto = rule.protocol === "6" ? "tcp" : rule.protocol === "17" ? "udp" : rule.protocol;
  const portless = !["tcp", "udp", "icmp", "icmpv6"].includes(proto);
  return portless ? proto : `${proto}|${rule.from}|${rule.to}`;
}

describe("rule ids come from the event, by content", () => {
  it("pairs every requested rule with the created rule of the same content, whatever the response order", () => {
    fc.assert(
      fc.property(
        permissionsArb.filter(
          (perms) => new Set(perms.map((p) => ruleKey(p.rule))).size === perms.length,
        ),
        fc.boolean(),
        fc.array(fc.nat(), { minLength: 12, maxLength: 12 }),
        (perms, egress, order) => {
          const request = {
            groupId: "sg-0a1b2c3d4e5f60001",
            ipPermissions: {
              items: perms.map(({ rule, peers }) => {
                const lists: Record<string, unknown> = {
                  groups: {},
                  ipRanges: {},
                  ipv6Ranges: {},
                  prefixListIds: {},
                };
                for (const peer of peers) {
                  const list = (lists[peer.list] as { items?: unknown[] }).items ?? [];
                  list.push(requestEntry(peer));
                  lists[peer.list] = { items: list };
                }
                return { ipProtocol: rule.protocol, ...wirePorts(rule), ...lists };
              }),
            },
          };
          const expected = new Map<string, string>();
          const created = perms.flatMap(({ rule, peers }, i) =>
            peers.map((peer, j) => {
              const id = `sgr-${String(i).padStart(2, "0")}${String(j).padStart(2, "0")}${"0".repeat(13)}`;
              expected.set(`${ruleKey(rule)}#${peerKeyOf(peer)}`, id);
              return createdItem(rule, peer, id, egress);
            }),
          );
          // A random order for the response: AWS need not follow the request's.
          const shuffled = created
            .map((item, k) => ({ item, key: order[k] ?? 0 }))
            .sort((a, b) => a.key - b.key)
            .map(({ item }) => item);
          const result = normalise(authorizeEvent(egress, request, shuffled));
          expect(result.status).toBe("handled");
          if (result.status !== "handled") return;
          expect(result.changes).toHaveLength(created.length);
          const keyOf = (c: (typeof result.changes)[number]) =>
            c.kind !== "security-group-rule"
              ? c.kind
              : c.peer.kind === "cidr"
                ? `cidr:${c.peer.cidr.cidr}`
                : c.peer.kind === "prefix-list"
                  ? `prefixListIds:${c.peer.prefixListId}`
                  : `groups:${c.peer.groupId}`;
          for (const { rule, peers } of perms) {
            for (const peer of peers) {
              const want = expected.get(`${ruleKey(rule)}#${peerKeyOf(peer)}`);
              const change = result.changes.find(
                (c) =>
                  keyOf(c) === peerKeyOf(peer) &&
                  c.kind === "security-group-rule" &&
                  c.ruleId === want,
              );
              expect(change, `${ruleKey(rule)} ${peerKeyOf(peer)} → ${want}`).toBeDefined();
            }
          }
          expectRuleIdsFromTheEvent(authorizeEvent(egress, request, shuffled), result);
        },
      ),
      RUNS,
    );
  });

  it("never names an id the response does not hold when the rule set is partial or absent", () => {
    fc.assert(
      fc.property(
        permissionsArb,
        fc.boolean(),
        fc.array(fc.boolean(), { maxLength: 12 }),
        (perms, egress, keep) => {
          const request = {
            groupId: "sg-0a1b2c3d4e5f60001",
            ipPermissions: {
              items: perms.map(({ rule, peers }) => ({
                ipProtocol: rule.protocol,
                ...wirePorts(rule),
                ipRanges: { items: peers.filter((p) => p.list === "ipRanges").map(requestEntry) },
                ipv6Ranges: {
                  items: peers.filter((p) => p.list === "ipv6Ranges").map(requestEntry),
                },
                prefixListIds: {
                  items: peers.filter((p) => p.list === "prefixListIds").map(requestEntry),
                },
                groups: { items: peers.filter((p) => p.list === "groups").map(requestEntry) },
              })),
            },
          };
          const created = perms
            .flatMap(({ rule, peers }, i) =>
              peers.map((peer, j) => createdItem(rule, peer, `sgr-${i}${j}`, egress)),
            )
            .filter((_, k) => keep[k] ?? true);
          for (const set of [created, null]) {
            const event = authorizeEvent(egress, request, set);
            const result = normalise(event);
            expectWellFormed(result);
            expectRuleIdsFromTheEvent(event, result);
            if (set === null && result.status === "handled") {
              expect(
                result.changes.every((c) => c.kind !== "security-group-rule" || c.ruleId === null),
              ).toBe(true);
            }
          }
        },
      ),
      RUNS,
    );
  });

  it("ModifySecurityGroupRules names only the rule ids of its request", () => {
    fc.assert(
      fc.property(
        fc.array(
          fc.tuple(
            ruleArb,
            peerArb.filter((p) => p.list !== "groups" || p.owner === null),
          ),
          {
            minLength: 1,
            maxLength: 4,
          },
        ),
        fc.boolean(),
        (rules, asArray) => {
          const entries = rules.map(([rule, peer], i) => {
            const inner: Record<string, unknown> = {
              IpProtocol: rule.protocol,
              FromPort: rule.from,
              ToPort: rule.to,
            };
            if (peer.list === "ipRanges") inner.CidrIpv4 = peer.cidr;
            if (peer.list === "ipv6Ranges") inner.CidrIpv6 = peer.cidr;
            if (peer.list === "prefixListIds") inner.PrefixListId = peer.id;
            if (peer.list === "groups") inner.ReferencedGroupId = peer.id;
            return { SecurityGroupRuleId: `sgr-mod${i}`, tag: i + 1, SecurityGroupRule: inner };
          });
          const event = loadFixture(
            "ModifySecurityGroupRules",
            "wrapper_prefix-list_ports-as-strings",
          );
          event.requestParameters.ModifySecurityGroupRulesRequest.SecurityGroupRule =
            asArray || entries.length > 1 ? entries : entries[0];
          const result = normalise(event);
          expect(result.status).toBe("handled");
          if (result.status !== "handled") return;
          expect(result.changes.map((c) => c.kind === "security-group-rule" && c.ruleId)).toEqual(
            entries.map((e) => e.SecurityGroupRuleId),
          );
          expect(
            result.changes.every(
              (c) => c.kind === "security-group-rule" && c.direction === "unknown",
            ),
          ).toBe(true);
        },
      ),
      RUNS,
    );
  });
});

describe("the legacy flat form and the items form agree", () => {
  it("normalises a random rule identically in both forms, with or without a rule set", () => {
    fc.assert(
      fc.property(
        ruleArb,
        ipv4CidrArb,
        fc.boolean(),
        fc.boolean(),
        (rule, cidr, withRuleSet, omitPorts) => {
          const omit = omitPorts && !["tcp", "udp", "6", "17"].includes(rule.protocol);
          const ports = omit ? {} : wirePorts(rule);
          const peer: RandomPeer = { list: "ipRanges", cidr };
          // ICMP without ports is any type and code, which AWS writes as -1/-1.
          const effective = omit ? { ...rule, from: -1, to: -1 } : rule;
          const created = withRuleSet
            ? [createdItem(effective, peer, "sgr-0flat0000000000a", false)]
            : null;
          const items = authorizeEvent(
            false,
            {
              groupId: "sg-0a1b2c3d4e5f60001",
              ipPermissions: {
                items: [
                  {
                    ipProtocol: rule.protocol,
                    ...ports,
                    groups: {},
                    ipRanges: { items: [{ cidrIp: cidr }] },
                    ipv6Ranges: {},
                    prefixListIds: {},
                  },
                ],
              },
            },
            created,
          );
          const flat = authorizeEvent(
            false,
            {
              groupId: "sg-0a1b2c3d4e5f60001",
              ipPermissions: {},
              ipProtocol: rule.protocol,
              cidrIp: cidr,
              ...ports,
            },
            created,
          );
          const fromItems = normalise(items);
          const fromFlat = normalise(flat);
          expect(fromFlat).toEqual(fromItems);
          expect(fromItems.status).toBe("handled");
          if (fromItems.status === "handled" && withRuleSet) {
            expect(
              fromItems.changes.map((c) => c.kind === "security-group-rule" && c.ruleId),
            ).toEqual(["sgr-0flat0000000000a"]);
          }
        },
      ),
      RUNS,
    );
  });
});
