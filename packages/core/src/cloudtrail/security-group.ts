import type { Direction, Peer, SecurityGroupRuleChange } from "../model";
import type { Cidr } from "../net/cidr";
import { type ParseContext, requestMembers } from "./context";
import {
  type At,
  absent,
  asObject,
  asString,
  at,
  describe,
  fail,
  field,
  isObject,
  itemList,
  type JsonObject,
  join,
  missing,
  oneOrMany,
  optBoolean,
  optString,
  readField,
} from "./json";
import {
  cidrPeer,
  groupIdOption,
  groupInfoOption,
  groupPeer,
  prefixListPeer,
  type RuleShape,
  securityGroupRuleChange,
  securityGroupRulePeer,
  securityGroupRuleShape,
  shapeKey,
  singlePeer,
} from "./rule";

// `§N`: sections of docs/cloudtrail-shapes.md, the CloudTrail shapes read here.

/** A rule as the request states it, before the response names its id. */
interface RequestedRule {
  readonly shape: RuleShape;
  readonly peer: Peer;
  readonly description: string | null;
}

/** One item of `responseElements.securityGroupRuleSet`: what AWS says it created. */
interface CreatedRule {
  /** JSON path of the item, for errors about it. */
  readonly path: string;
  readonly ruleId: string;
  readonly groupId: string | null;
  /** From `isEgress`; null when the item does not say. */
  readonly direction: Direction | null;
  readonly shape: RuleShape;
  readonly peer: Peer;
  readonly description: string | null;
}

/**
 * One `ipPermissions.items[]` entry: one rule per peer in its four lists. Each list is `{}` when
 * empty (§12.4), and one entry may hold IPv4 and IPv6 ranges at once (§12.8).
 */
function permissionRules(item: At): RequestedRule[] {
  const perm = asObject(item.value, item.path);
  const shape = securityGroupRuleShape(
    at(perm, "ipProtocol", item.path),
    at(perm, "fromPort", item.path),
    at(perm, "toPort", item.path),
  );
  const rules: RequestedRule[] = [];
  const lists: readonly [string, (entry: JsonObject, path: string) => Peer][] = [
    ["ipRanges", (e, p) => cidrPeer(at(e, "cidrIp", p))],
    ["ipv6Ranges", (e, p) => cidrPeer(at(e, "cidrIpv6", p))],
    ["prefixListIds", (e, p) => prefixListPeer(at(e, "prefixListId", p))],
    [
      "groups",
      (e, p) =>
        groupPeer(
          readField(e, "groupId", p, optString),
          readField(e, "groupName", p, optString),
          readField(e, "userId", p, optString),
          p,
        ),
    ],
  ];
  for (const [list, readPeer] of lists) {
    for (const entry of itemList(field(perm, list), join(item.path, list))) {
      const e = asObject(entry.value, entry.path);
      rules.push({
        shape,
        peer: readPeer(e, entry.path),
        description: readField(e, "description", entry.path, optString),
      });
    }
  }
  if (rules.length === 0) {
    fail(
      item.path,
      "the permission names no peer (ipRanges, ipv6Ranges, prefixListIds and groups are empty)",
    );
  }
  return rules;
}

/** What AWS documents for a flat-form source group without a protocol: full TCP, UDP and ICMP. */
const FULL_ACCESS: readonly RuleShape[] = [
  { protocol: "tcp", ports: { from: 0, to: 65535 }, icmp: null },
  { protocol: "udp", ports: { from: 0, to: 65535 }, icmp: null },
  { protocol: "icmp", ports: null, icmp: { type: -1, code: -1 } },
];

/**
 * The legacy flat form (§4b): `cidrIp/ipProtocol/fromPort/toPort` at the top level with
 * `ipPermissions: {}`, or `sourceSecurityGroupName/OwnerId` (default VPC, EC2-Classic).
 */
function flatRules(req: JsonObject, path: string): RequestedRule[] {
  const protocol = at(req, "ipProtocol", path);
  const cidr = at(req, "cidrIp", path);
  const name = at(req, "sourceSecurityGroupName", path);
  const owner = at(req, "sourceSecurityGroupOwnerId", path);
  const from = at(req, "fromPort", path);
  const to = at(req, "toPort", path);
  if ([protocol, cidr, name, owner, from, to].every((f) => missing(f.value))) return [];
  const sourceGroup =
    missing(name.value) && missing(owner.value)
      ? null
      : groupPeer(
          null,
          optString(name.value, name.path),
          optString(owner.value, owner.path),
          name.path,
        );
  if (sourceGroup && missing(protocol.value) && missing(cidr.value)) {
    // AuthorizeSecurityGroupIngress: a source group given this way "creates rules that grant
    // full ICMP, UDP, and TCP access" (API reference); AWS writes three rules.
    return FULL_ACCESS.map((shape) => ({ shape, peer: sourceGroup, description: null }));
  }
  const shape = securityGroupRuleShape(protocol, from, to);
  const peer = singlePeer(
    [
      { name: "cidrIp", value: cidr.value, read: () => cidrPeer(cidr) },
      { name: "sourceSecurityGroupName", value: sourceGroup, read: () => sourceGroup as Peer },
    ],
    cidr.path,
  );
  return [{ shape, peer, description: null }];
}

function createdRule(item: At): CreatedRule {
  const o = asObject(item.value, item.path);
  const ruleField = (key: string) => at(o, key, item.path);
  const isEgress = readField(o, "isEgress", item.path, optBoolean);
  return {
    path: item.path,
    ruleId: readField(o, "securityGroupRuleId", item.path, asString),
    groupId: readField(o, "groupId", item.path, optString),
    direction: isEgress === null ? null : isEgress ? "egress" : "ingress",
    shape: securityGroupRuleShape(
      ruleField("ipProtocol"),
      ruleField("fromPort"),
      ruleField("toPort"),
    ),
    peer: securityGroupRulePeer(
      ruleField,
      "camelCase",
      [
        groupInfoOption("referencedGroupInfo", ruleField("referencedGroupInfo"), "camelCase"),
        // Revoke responses flatten the reference to a string (§12.10); accept it here too.
        groupIdOption("referencedGroupId", ruleField("referencedGroupId")),
      ],
      item.path,
    ),
    description: readField(o, "description", item.path, optString),
  };
}

/**
 * `responseElements.securityGroupRuleSet.items[]`. Absent before mid-2021 (§12.3) and on
 * failed calls; never required.
 */
function createdRules(response: At): CreatedRule[] {
  if (!isObject(response.value)) return [];
  const set = at(response.value, "securityGroupRuleSet", response.path);
  return itemList(set.value, set.path).map(createdRule);
}

type PeerMatch = "same" | "by-name-only" | "different";

function writtenFamily(cidr: Cidr): 4 | 6 {
  return (cidr.original ?? cidr).family;
}

function peerMatch(requested: Peer, created: Peer): PeerMatch {
  if (requested.kind === "cidr" && created.kind === "cidr") {
    // Both sides are canonical (host bits cleared, RFC 5952), as AWS canonicalises (§12.9). An
    // IPv4-mapped IPv6 block reads as IPv4 but is an IPv6 rule: never paired with an IPv4 one.
    const same =
      requested.cidr.cidr === created.cidr.cidr &&
      writtenFamily(requested.cidr) === writtenFamily(created.cidr);
    return same ? "same" : "different";
  }
  if (requested.kind === "prefix-list" && created.kind === "prefix-list") {
    return requested.prefixListId === created.prefixListId ? "same" : "different";
  }
  if (requested.kind === "security-group" && created.kind === "security-group") {
    if (requested.groupId !== null) {
      return requested.groupId === created.groupId ? "same" : "different";
    }
    if (requested.groupName !== undefined && created.groupName !== undefined) {
      return requested.groupName === created.groupName ? "same" : "different";
    }
    return "by-name-only";
  }
  return "different";
}

function contentMatch(direction: Direction, r: RequestedRule, c: CreatedRule): PeerMatch {
  if (c.direction !== null && c.direction !== direction) return "different";
  if (shapeKey(r.shape) !== shapeKey(c.shape)) return "different";
  return peerMatch(r.peer, c.peer);
}

/**
 * Pairs each requested rule with the created rule of the same content: direction, protocol,
 * ports and canonical peer. Never by position: the response is canonicalised and need not
 * follow the request's order (§4d, §12.8). A group named only by name is paired only when a
 * single created rule can be it.
 */
function pairByContent(
  direction: Direction,
  requested: readonly RequestedRule[],
  created: readonly CreatedRule[],
): (number | null)[] {
  const pairs: (number | null)[] = requested.map(() => null);
  const claimed = new Set<number>();
  requested.forEach((r, i) => {
    const same = created.flatMap((c, j) => (contentMatch(direction, r, c) === "same" ? [j] : []));
    // A request that repeats a rule gets the same id twice rather than a stranger's.
    const j = same.find((k) => !claimed.has(k)) ?? same[0];
    if (j !== undefined) {
      pairs[i] = j;
      claimed.add(j);
    }
  });
  requested.forEach((r, i) => {
    if (pairs[i] !== null) return;
    const open = created.flatMap((c, j) =>
      !claimed.has(j) && contentMatch(direction, r, c) === "by-name-only" ? [j] : [],
    );
    const [only] = open;
    if (only !== undefined && open.length === 1) {
      pairs[i] = only;
      claimed.add(only);
    }
  });
  return pairs;
}

function mergePeer(requested: Peer, created: Peer | undefined): Peer {
  if (requested.kind !== "security-group" || created?.kind !== "security-group") return requested;
  const groupName = requested.groupName ?? created.groupName;
  const ownerId = requested.ownerId ?? created.ownerId;
  return {
    kind: "security-group",
    groupId: requested.groupId ?? created.groupId,
    ...(groupName !== undefined ? { groupName } : {}),
    ...(ownerId !== undefined ? { ownerId } : {}),
  };
}

/**
 * CloudTrail leaves `requestParameters` out (null) when it is larger than 100 KB (§12.16), so
 * a large Authorize* names its rules only in `responseElements.securityGroupRuleSet`, which
 * holds each created rule whole: id, group, `isEgress`, protocol, ports, one peer. Those are
 * the rules AWS created, so they are the changes. Without a rule set (before mid-2021, or the
 * response omitted too) nothing says what was opened: invalid at `requestParameters`, never
 * guessed. A rule whose `isEgress` contradicts the event name is not trusted either.
 */
function fromRuleSetOnly(ctx: ParseContext, direction: Direction): SecurityGroupRuleChange[] {
  const created = createdRules(ctx.response);
  if (created.length === 0) {
    fail(
      ctx.request.path,
      `got ${describe(ctx.request.value)}: CloudTrail omits requests over 100 KB, and the ` +
        "response has no securityGroupRuleSet to read the rules from",
    );
  }
  return created.map((c) => {
    const isEgressPath = join(c.path, "isEgress");
    if (c.direction === null) fail(isEgressPath, "missing: expected a boolean");
    if (c.direction !== direction) {
      fail(
        isEgressPath,
        `the rule set says ${c.direction}, but ${ctx.eventName} only creates ${direction} rules`,
      );
    }
    if (c.groupId === null) fail(join(c.path, "groupId"), "missing: expected a non-empty string");
    return securityGroupRuleChange({
      groupId: c.groupId,
      direction,
      shape: c.shape,
      peer: c.peer,
      ruleId: c.ruleId,
      description: c.description,
    });
  });
}

/**
 * AuthorizeSecurityGroupIngress/Egress (§4): one change per (permission × peer), from both
 * request forms, with the rule id taken from the response rule set by content.
 *
 * A created rule that no requested rule accounts for is still reported (from the response),
 * so that nothing AWS says it created is dropped because the two halves disagree.
 */
export function parseAuthorize(ctx: ParseContext, direction: Direction): SecurityGroupRuleChange[] {
  if (absent(ctx.request.value)) return fromRuleSetOnly(ctx, direction);
  const req = asObject(ctx.request.value, ctx.request.path);
  const path = ctx.request.path;
  const requestGroupId = readField(req, "groupId", path, optString);
  const groupName = readField(req, "groupName", path, optString);
  const requested = [
    ...readField(req, "ipPermissions", path, itemList).flatMap(permissionRules),
    ...flatRules(req, path),
  ];
  const created = createdRules(ctx.response);
  // With the group-name form (§4c) the only group id is in the response rule set.
  const groupId = requestGroupId ?? created.find((c) => c.groupId !== null)?.groupId ?? null;
  if (groupId === null && groupName === null) {
    fail(join(path, "groupId"), "missing: the request names no groupId or groupName");
  }
  const pairs = pairByContent(direction, requested, created);
  const changes = requested.map((r, i) => {
    const j = pairs[i];
    const c = j === null || j === undefined ? undefined : created[j];
    return securityGroupRuleChange({
      groupId,
      groupName,
      direction,
      shape: r.shape,
      peer: mergePeer(r.peer, c?.peer),
      ruleId: c?.ruleId ?? null,
      description: r.description ?? c?.description ?? null,
    });
  });
  const paired = new Set(pairs);
  created.forEach((c, j) => {
    if (paired.has(j)) return;
    changes.push(
      securityGroupRuleChange({
        groupId: c.groupId ?? groupId,
        groupName,
        direction: c.direction ?? direction,
        shape: c.shape,
        peer: c.peer,
        ruleId: c.ruleId,
        description: c.description,
      }),
    );
  });
  if (changes.length === 0) {
    fail(join(path, "ipPermissions"), "missing: the request names no permission");
  }
  return changes;
}

/**
 * ModifySecurityGroupRules (§6): PascalCase members inside a `ModifySecurityGroupRulesRequest`
 * wrapper; `SecurityGroupRule` is an object for one rule and an array for several. The event
 * does not say ingress or egress, so the direction is `unknown` until someone looks it up.
 */
export function parseModifySecurityGroupRules(ctx: ParseContext): SecurityGroupRuleChange[] {
  const wrapper = requestMembers(ctx, "ModifySecurityGroupRulesRequest", "GroupId");
  const w = wrapper.value;
  const groupId = readField(w, "GroupId", wrapper.path, asString);
  const rulesPath = join(wrapper.path, "SecurityGroupRule");
  const rules = oneOrMany(field(w, "SecurityGroupRule"), rulesPath);
  if (rules.length === 0) fail(rulesPath, "missing: the request modifies no rule");
  return rules.map((entry) => {
    const o = asObject(entry.value, entry.path);
    const ruleId = readField(o, "SecurityGroupRuleId", entry.path, asString);
    const innerPath = join(entry.path, "SecurityGroupRule");
    const inner = asObject(field(o, "SecurityGroupRule"), innerPath);
    const ruleField = (key: string) => at(inner, key, innerPath);
    return securityGroupRuleChange({
      groupId,
      direction: "unknown",
      shape: securityGroupRuleShape(
        ruleField("IpProtocol"),
        ruleField("FromPort"),
        ruleField("ToPort"),
      ),
      peer: securityGroupRulePeer(
        ruleField,
        "PascalCase",
        [groupIdOption("ReferencedGroupId", ruleField("ReferencedGroupId"))],
        innerPath,
      ),
      ruleId,
      description: readField(inner, "Description", innerPath, optString),
    });
  });
}
