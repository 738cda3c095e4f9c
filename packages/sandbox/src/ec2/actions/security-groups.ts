import {
  Ec2ApiError,
  invalidParameterValue,
  missingParameter,
  ruleIdNotFound,
  vpcNotFound,
} from "../errors";
import { type RuleContent, ruleKey, type SecurityGroup, type SgRule } from "../model";
import {
  canonicalProtocolAndPorts,
  describeRuleForMessage,
  permissionItems,
  readPermissions,
  resolvePeer,
  resolveRules,
  revokedRuleItem,
  ruleItem,
  type SourceRequest,
} from "../permissions";
import { type XmlObject, xmlList } from "../xml";
import {
  type ActionContext,
  byId,
  createTagged,
  describeAction,
  readTagSpecifications,
  tagSet,
} from "./common";

export function groupArn(ctx: ActionContext, groupId: string): string {
  return `arn:aws:ec2:${ctx.state.region}:${ctx.state.accountId}:security-group/${groupId}`;
}

export function createSecurityGroup(ctx: ActionContext): XmlObject {
  const { params, state } = ctx;
  const name = params.requiredStr("GroupName");
  const description = params.requiredStr("GroupDescription");
  if (name === "default") {
    throw invalidParameterValue("Cannot use reserved security group name: default");
  }
  if (name.startsWith("sg-")) {
    throw invalidParameterValue(
      `Invalid value '${name}' for groupName. Group names may not be in the format sg-*.`,
    );
  }
  if (name.length > 255 || description.length > 255) {
    throw invalidParameterValue("Group name and description must be at most 255 characters");
  }
  const vpcId = params.str("VpcId") ?? state.defaultVpcId;
  if (!state.vpcs.has(vpcId)) throw vpcNotFound(vpcId);
  const group = createTagged(params, "security-group", () =>
    state.createGroup(vpcId, name, description),
  );
  return {
    return: true,
    groupId: group.id,
    tagSet: group.tags.size > 0 ? tagSet(group.tags) : undefined,
    securityGroupArn: groupArn(ctx, group.id),
  };
}

export function deleteSecurityGroup(ctx: ActionContext): XmlObject {
  const { params, state } = ctx;
  const group = state.resolveGroup(params.str("GroupId"), params.str("GroupName"));
  if (group.name === "default") {
    throw new Ec2ApiError(
      "CannotDelete",
      `the specified group: "${group.id}" name: "default" cannot be deleted by a user`,
    );
  }
  for (const rule of state.rules.values()) {
    if (rule.groupId !== group.id && rule.peer.kind === "group" && rule.peer.groupId === group.id) {
      throw new Ec2ApiError("DependencyViolation", `resource ${group.id} has a dependent object`);
    }
  }
  state.deleteGroup(group);
  return { return: true, groupId: group.id };
}

export const describeSecurityGroups = describeAction<SecurityGroup>(
  "securityGroupInfo",
  ({ state }) => ({
    all: state.groups.values(),
    ids: [
      { param: "GroupId", resolve: (id) => state.resolveGroup(id, undefined) },
      // Names address groups of the default VPC only, as in EC2.
      { param: "GroupName", resolve: (name) => state.resolveGroup(undefined, name) },
    ],
    filters: {
      "group-id": (g) => g.id,
      "group-name": (g) => g.name,
      "vpc-id": (g) => g.vpcId,
      description: (g) => g.description,
      "owner-id": (g) => g.ownerId,
    },
    tagged: true,
    maxResults: [5, 1000],
  }),
  (g, ctx) => groupItem(ctx, g),
);

function groupItem(ctx: ActionContext, g: SecurityGroup): XmlObject {
  const ingress: SgRule[] = [];
  const egress: SgRule[] = [];
  for (const rule of g.rules.values()) (rule.isEgress ? egress : ingress).push(rule);
  return {
    ownerId: g.ownerId,
    groupId: g.id,
    groupName: g.name,
    groupDescription: g.description,
    ipPermissions: permissionItems(ingress),
    ipPermissionsEgress: permissionItems(egress),
    vpcId: g.vpcId,
    securityGroupArn: groupArn(ctx, g.id),
    tagSet: tagSet(g.tags),
  };
}

export const describeSecurityGroupRules = describeAction<SgRule>(
  "securityGroupRuleSet",
  ({ state }) => ({
    ...byId(state.rules, "SecurityGroupRuleId", ruleIdNotFound),
    filters: {
      "group-id": (r) => r.groupId,
      "security-group-rule-id": (r) => r.id,
    },
    tagged: true,
    maxResults: [5, 1000],
    // The sweep asks group by group: read only those groups' rules, not all 50,000.
    narrow: (filters) => {
      const byGroup = filters.find((f) => f.name === "group-id");
      if (byGroup === undefined || byGroup.values.some((v) => /[*?]/.test(v))) return undefined;
      const rules: SgRule[] = [];
      for (const id of new Set(byGroup.values)) {
        const group = state.groups.get(id);
        if (group !== undefined) rules.push(...group.rules.values());
      }
      return rules.sort((a, b) => a.seq - b.seq);
    },
  }),
  (r, { state }) => ruleItem(state, r),
);

/**
 * Rule counts of one direction against the quota, which EC2 applies to IPv4 and IPv6 rules
 * separately; a rule referencing a group or prefix list counts once for each.
 */
function quotaUse(rules: Iterable<RuleContent>, isEgress: boolean): { v4: number; v6: number } {
  const use = { v4: 0, v6: 0 };
  for (const rule of rules) {
    if (rule.isEgress !== isEgress) continue;
    if (rule.peer.kind !== "cidr6") use.v4 += 1;
    if (rule.peer.kind !== "cidr4") use.v6 += 1;
  }
  return use;
}

function authorize(ctx: ActionContext, isEgress: boolean): XmlObject {
  const { params, state } = ctx;
  // Egress has no group-name form: it was never available outside a VPC.
  const group = isEgress
    ? state.resolveGroup(params.requiredStr("GroupId"), undefined)
    : state.resolveGroup(params.str("GroupId"), params.str("GroupName"));
  const { permissions } = readPermissions(params);
  if (permissions.length === 0) throw missingParameter("ipPermissions");
  const resolved = resolveRules(state, group, isEgress, permissions);
  const seen = new Set<string>();
  for (const { content } of resolved) {
    const key = ruleKey(content);
    if (seen.has(key)) {
      throw invalidParameterValue("The same permission must not appear multiple times");
    }
    seen.add(key);
    if (state.findRule(group, content) !== undefined) {
      throw new Ec2ApiError(
        "InvalidPermission.Duplicate",
        `the specified rule "${describeRuleForMessage(content)}" already exists`,
      );
    }
  }
  const before = quotaUse(group.rules.values(), isEgress);
  const adding = quotaUse(
    resolved.map((r) => r.content),
    isEgress,
  );
  const limit = ctx.limits.rulesPerGroup;
  if (before.v4 + adding.v4 > limit || before.v6 + adding.v6 > limit) {
    throw new Ec2ApiError(
      "RulesPerSecurityGroupLimitExceeded",
      "The maximum number of rules per security group has been reached.",
    );
  }
  const tags = readTagSpecifications(params, "security-group-rule");
  const added = resolved.map(({ content }) => {
    const rule = state.addRule(group, content);
    for (const [k, v] of tags) rule.tags.set(k, v);
    return rule;
  });
  return {
    return: true,
    securityGroupRuleSet: xmlList(added.map((rule) => ruleItem(state, rule))),
  };
}

function revoke(ctx: ActionContext, isEgress: boolean): XmlObject {
  const { params, state } = ctx;
  const group = isEgress
    ? state.resolveGroup(params.requiredStr("GroupId"), undefined)
    : state.resolveGroup(params.str("GroupId"), params.str("GroupName"));
  const ruleIds = params.list("SecurityGroupRuleId");
  const { permissions } = readPermissions(params);
  if (ruleIds.length > 0 && permissions.length > 0) {
    throw new Ec2ApiError(
      "InvalidParameterCombination",
      "The parameter 'SecurityGroupRuleIds' may not be used in combination with 'IpPermissions'",
    );
  }
  if (ruleIds.length > 0) {
    const rules = new Map<string, SgRule>();
    for (const id of ruleIds) {
      const rule = group.rules.get(id);
      if (rule === undefined || rule.isEgress !== isEgress) throw ruleIdNotFound(id);
      rules.set(id, rule);
    }
    for (const rule of rules.values()) state.removeRule(rule);
    return {
      return: true,
      revokedSecurityGroupRuleSet: xmlList([...rules.values()].map(revokedRuleItem)),
    };
  }
  if (permissions.length === 0) throw missingParameter("ipPermissions");
  const resolved = resolveRules(state, group, isEgress, permissions);
  const matched = new Map<string, SgRule>();
  const unknown: RuleContent[] = [];
  for (const { content } of resolved) {
    const rule = state.findRule(group, content);
    if (rule === undefined) unknown.push(content);
    else matched.set(rule.id, rule);
  }
  const inDefaultVpc = state.vpcs.get(group.vpcId)?.isDefault === true;
  if (unknown.length > 0 && !inDefaultVpc) {
    // Outside the default VPC, one unmatched permission fails the whole call; nothing is revoked.
    throw new Ec2ApiError(
      "InvalidPermission.NotFound",
      "The specified rule does not exist in this security group.",
    );
  }
  for (const rule of matched.values()) state.removeRule(rule);
  return {
    return: true,
    // In the default VPC, EC2 answers `true` and lists what it did not find.
    unknownIpPermissionSet: unknown.length > 0 ? permissionItems(unknown) : undefined,
    revokedSecurityGroupRuleSet:
      matched.size > 0 ? xmlList([...matched.values()].map(revokedRuleItem)) : undefined,
  };
}

export const authorizeIngress = (ctx: ActionContext) => authorize(ctx, false);
export const authorizeEgress = (ctx: ActionContext) => authorize(ctx, true);
export const revokeIngress = (ctx: ActionContext) => revoke(ctx, false);
export const revokeEgress = (ctx: ActionContext) => revoke(ctx, true);

export function modifySecurityGroupRules(ctx: ActionContext): XmlObject {
  const { params, state } = ctx;
  const group = state.resolveGroup(params.requiredStr("GroupId"), undefined);
  const updates = params.structs("SecurityGroupRule");
  if (updates.length === 0) throw missingParameter("SecurityGroupRule");
  const planned: { rule: SgRule; content: RuleContent }[] = [];
  const seen = new Set<string>();
  // Rules modified in this call give up their old content, so two rules may swap contents.
  const modified = new Set(updates.map((u) => u.str("SecurityGroupRuleId")));
  for (const update of updates) {
    const id = update.requiredStr("SecurityGroupRuleId");
    const rule = group.rules.get(id);
    if (rule === undefined) throw ruleIdNotFound(id);
    const spec = update.scope("SecurityGroupRule");
    const ports = canonicalProtocolAndPorts(
      spec.str("IpProtocol"),
      spec.int("FromPort"),
      spec.int("ToPort"),
    );
    const targets = ["CidrIpv4", "CidrIpv6", "PrefixListId", "ReferencedGroupId"].filter((k) =>
      spec.has(k),
    );
    if (targets.length !== 1) {
      throw invalidParameterValue(
        "Exactly one of CidrIpv4, CidrIpv6, PrefixListId or ReferencedGroupId must be specified",
      );
    }
    const text = spec.str(targets[0] ?? "") ?? "";
    const source: SourceRequest =
      targets[0] === "CidrIpv4"
        ? { kind: "cidr4", cidr: text }
        : targets[0] === "CidrIpv6"
          ? { kind: "cidr6", cidr: text }
          : targets[0] === "PrefixListId"
            ? { kind: "prefix-list", prefixListId: text }
            : { kind: "group", groupId: text };
    const peer = resolvePeer(state, group, source);
    const description = spec.str("Description");
    const content: RuleContent = {
      isEgress: rule.isEgress,
      ...ports,
      peer,
      ...(description === undefined ? {} : { description }),
    };
    const key = ruleKey(content);
    const existing = state.findRule(group, content);
    const clash = existing !== undefined && existing.id !== rule.id && !modified.has(existing.id);
    if (clash || seen.has(key)) {
      throw new Ec2ApiError(
        "InvalidPermission.Duplicate",
        `the specified rule "${describeRuleForMessage(content)}" already exists`,
      );
    }
    seen.add(key);
    planned.push({ rule, content });
  }
  state.replaceRules(planned);
  return { return: true };
}
