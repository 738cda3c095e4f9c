import { EVENT_DETAIL_TYPE, EVENT_SOURCE, HANDLED_EVENT_NAMES } from "@guardrail/core";
import fc from "fast-check";
import { pathsOf, type Step } from "../fixtures/json-paths";
import { listFixtures, loadFixture } from "../fixtures/load";

type Json = unknown;

/** Every real, sanitised and edge-case event of test/fixtures, parsed once. */
export const FIXTURES: readonly Json[] = listFixtures().map((f) =>
  loadFixture(f.eventName, f.caseName),
);

/** Values that sit on the edges the normaliser and the policy care about. */
const EDGE_VALUES: readonly Json[] = [
  null,
  {},
  [],
  "",
  " ",
  "-1",
  -1,
  0,
  65535,
  65536,
  1e21,
  Number.MAX_SAFE_INTEGER,
  "0.0.0.0/0",
  "::/0",
  "0.0.0.0/33",
  "10.0.0.1/8",
  "203.0.113.0/24",
  "fe80::/10",
  "not-a-cidr",
  "tcp",
  "TCP",
  "6",
  "all",
  "icmpv6",
  "58",
  "sg-",
  "sg-0123456789abcdef0",
  "pl-0123456789abcdef0",
  "sgr-0123456789abcdef0",
  { items: [] },
  { items: null },
  [{}],
  true,
  "2024-02-30T25:61:00Z",
  "x".repeat(5000),
];

const valueArb: fc.Arbitrary<Json> = fc.oneof(
  { weight: 3, arbitrary: fc.constantFrom(...EDGE_VALUES) },
  { weight: 2, arbitrary: fc.jsonValue({ maxDepth: 2 }) },
  { weight: 1, arbitrary: fc.string({ maxLength: 40 }) },
  { weight: 1, arbitrary: fc.integer({ min: -70000, max: 70000 }) },
);

interface Mutation {
  readonly pick: number;
  readonly op: "set" | "delete" | "stringify" | "wrap-in-array";
  readonly value: Json;
}

const mutationArb: fc.Arbitrary<Mutation> = fc.record({
  pick: fc.nat(),
  op: fc.constantFrom("set", "set", "delete", "stringify", "wrap-in-array"),
  value: valueArb,
});

function mutate(root: Json, mutations: readonly Mutation[]): Json {
  for (const m of mutations) {
    const paths = pathsOf(root);
    if (paths.length === 0) return root;
    const path = paths[m.pick % paths.length] as Step[];
    let parent = root as Record<Step, Json>;
    for (const step of path.slice(0, -1)) parent = parent[step] as Record<Step, Json>;
    const last = path[path.length - 1] as Step;
    if (m.op === "delete") {
      if (Array.isArray(parent)) parent.splice(last as number, 1);
      else delete parent[last];
    } else if (m.op === "stringify") {
      parent[last] = JSON.stringify(parent[last]) ?? "undefined";
    } else if (m.op === "wrap-in-array") {
      parent[last] = [parent[last]];
    } else {
      parent[last] = structuredClone(m.value);
    }
  }
  return root;
}

/** A real event with one to four random edits (set, delete, stringify, wrap). */
export const mutatedFixture: fc.Arbitrary<Json> = fc
  .tuple(
    fc.nat({ max: FIXTURES.length - 1 }),
    fc.array(mutationArb, { minLength: 1, maxLength: 4 }),
  )
  .map(([i, ms]) => mutate(structuredClone(FIXTURES[i]), ms));

const protocolArb = fc.constantFrom<Json>(
  "tcp",
  "udp",
  "icmp",
  "icmpv6",
  "-1",
  "6",
  "17",
  "50",
  -1,
  "all",
  null,
);
const portArb = fc.oneof(
  fc.constantFrom<Json>(22, 80, 443, 3389, 25, 0, 65535, -1, "22", null),
  fc.integer({ min: -2, max: 70000 }),
);
const cidrArb = fc.oneof(
  fc.constantFrom<Json>(
    "0.0.0.0/0",
    "::/0",
    "10.0.0.0/8",
    "198.51.100.7/32",
    "203.0.113.0/24",
    "1.2.3.4/1",
  ),
  fc
    .tuple(fc.nat(255), fc.nat(255), fc.nat(255), fc.nat(255), fc.nat(40))
    .map((p) => `${p.slice(0, 4).join(".")}/${p[4]}`),
  valueArb,
);

const permissionArb = fc.record(
  {
    ipProtocol: protocolArb,
    fromPort: portArb,
    toPort: portArb,
    ipRanges: fc.record({ items: fc.array(fc.record({ cidrIp: cidrArb }), { maxLength: 3 }) }),
    ipv6Ranges: fc.record({ items: fc.array(fc.record({ cidrIpv6: cidrArb }), { maxLength: 2 }) }),
    prefixListIds: fc.record({
      items: fc.array(
        fc.record({ prefixListId: fc.constantFrom("pl-0123456789abcdef0", "", null) }),
        { maxLength: 1 },
      ),
    }),
    groups: fc.record({
      items: fc.array(fc.record({ groupId: fc.constantFrom("sg-0fedcba9876543210", null, 7) }), {
        maxLength: 1,
      }),
    }),
  },
  { requiredKeys: ["ipProtocol"] },
);

const actorArb = fc.constantFrom<Json>(
  { type: "IAMUser", arn: "arn:aws:iam::123456789012:user/dev", accountId: "123456789012" },
  {
    type: "AssumedRole",
    arn: "arn:aws:sts::123456789012:assumed-role/guardrail-security-group-change/s",
    sessionContext: {
      sessionIssuer: { arn: "arn:aws:iam::123456789012:role/guardrail-security-group-change" },
    },
  },
  { type: "Root", arn: "arn:aws:iam::123456789012:root" },
  {},
  null,
);

/** An EventBridge envelope built from scratch: a handled event name and random permissions. */
export const generatedEvent: fc.Arbitrary<Json> = fc
  .record({
    id: fc.oneof(fc.uuid(), fc.constant(undefined)),
    eventID: fc.oneof(fc.uuid(), fc.constantFrom<Json>(undefined, "", 42)),
    eventName: fc.oneof(
      { weight: 5, arbitrary: fc.constantFrom(...HANDLED_EVENT_NAMES) },
      { weight: 1, arbitrary: fc.constantFrom("RevokeSecurityGroupIngress", "RunInstances", "") },
    ),
    groupId: fc.constantFrom<Json>("sg-0123456789abcdef0", "sg-", undefined, null),
    items: fc.array(permissionArb, { maxLength: 3 }),
    actor: actorArb,
    errorCode: fc.constantFrom<Json>(
      undefined,
      undefined,
      undefined,
      "Client.UnauthorizedOperation",
    ),
    ruleNumber: portArb,
    egress: fc.constantFrom<Json>(true, false, "false", undefined),
  })
  .map((g) => ({
    version: "0",
    ...(g.id === undefined ? {} : { id: g.id }),
    "detail-type": EVENT_DETAIL_TYPE,
    source: EVENT_SOURCE,
    account: "123456789012",
    time: "2025-06-01T12:00:00Z",
    region: "eu-west-1",
    resources: [],
    detail: {
      eventVersion: "1.09",
      userIdentity: g.actor,
      eventTime: "2025-06-01T12:00:00Z",
      eventSource: "ec2.amazonaws.com",
      eventName: g.eventName,
      awsRegion: "eu-west-1",
      ...(g.eventID === undefined ? {} : { eventID: g.eventID }),
      ...(g.errorCode === undefined ? {} : { errorCode: g.errorCode }),
      recipientAccountId: "123456789012",
      requestParameters: {
        groupId: g.groupId,
        ipPermissions: { items: g.items },
        networkAclId: "acl-0123456789abcdef0",
        ruleNumber: g.ruleNumber,
        egress: g.egress,
        ruleAction: "allow",
        aclProtocol: g.items[0]?.ipProtocol ?? "6",
        cidrBlock: g.items[0]?.ipRanges?.items[0]?.cidrIp ?? "0.0.0.0/0",
        portRange: { from: g.items[0]?.fromPort ?? 22, to: g.items[0]?.toPort ?? 22 },
        ModifyManagedPrefixListRequest: {
          PrefixListId: "pl-0123456789abcdef0",
          AddEntry: { Cidr: g.items[0]?.ipRanges?.items[0]?.cidrIp ?? "0.0.0.0/0" },
        },
      },
      responseElements: null,
    },
  }));

/** Anything at all: JSON values, and JSON text (whole or cut short) of real events. */
export const anyInput: fc.Arbitrary<Json> = fc.oneof(
  fc.jsonValue({ maxDepth: 3 }),
  fc.tuple(fc.nat({ max: FIXTURES.length - 1 }), fc.nat()).map(([i, cut]) => {
    const text = JSON.stringify(FIXTURES[i]);
    return text.slice(0, cut % (text.length + 1));
  }),
  fc.constantFrom<Json>(undefined, null, 0, "", [], {}, { detail: null }, { detail: "{}" }),
);

/** The mix the fuzz test draws from. */
export const fuzzEvent: fc.Arbitrary<Json> = fc.oneof(
  { weight: 5, arbitrary: mutatedFixture },
  { weight: 3, arbitrary: generatedEvent },
  { weight: 1, arbitrary: fc.constantFrom(...FIXTURES).map((e) => structuredClone(e)) },
  { weight: 1, arbitrary: anyInput },
);
