import {
  DeleteNetworkAclEntryCommand,
  DescribeNetworkAclsCommand,
  type DescribeNetworkAclsCommandOutput,
  DescribeSecurityGroupRulesCommand,
  type DescribeSecurityGroupRulesCommandOutput,
  DescribeSecurityGroupsCommand,
  type EC2Client,
  type IpPermission,
  type NetworkAcl,
  paginateGetManagedPrefixListAssociations,
  paginateGetManagedPrefixListEntries,
  type SecurityGroupRule,
} from "@aws-sdk/client-ec2";
import {
  type Action,
  type ActionOutcome,
  ALREADY_GONE_ERROR_CODES,
  type Direction,
} from "@guardrail/core";
import { insertNetworkAclEntries, narrowSecurityGroupRule, revoke } from "./ec2-remediation";
import { AwsCallError, awsErrorCode, errorMessage, LookupFailedError } from "./errors";
import { traceCalls } from "./trace";

type PermissionAction = Extract<Action, { type: "revoke-security-group-permissions" }>;

/** What the EC2 adapter answers for a look-up of rules by id. */
export interface RuleDirections {
  readonly directions: Readonly<Record<string, Direction>>;
  /** Ids EC2 says do not exist (any more): nothing to revoke for them. */
  readonly missing: readonly string[];
  /**
   * The rules as EC2 describes them now (content and direction), by id: what a revoke by id
   * would remove.
   */
  readonly rules: Readonly<Record<string, SecurityGroupRule>>;
}

/** Every EC2 call the functions make, and nothing else. */
export interface Ec2Gateway {
  /** Carries out one action. Never throws for an AWS error: a failure is an outcome. */
  execute(action: Action): Promise<ActionOutcome[]>;
  /** Tags of one security group (tag exemptions). @throws LookupFailedError */
  tagsOf(groupId: string): Promise<Record<string, string>>;
  /** Tags of many groups (the sweep); groups that no longer exist are left out. @throws LookupFailedError */
  tagsByGroup(groupIds: readonly string[]): Promise<Record<string, Record<string, string>>>;
  /**
   * Rules by id as they are now, with their directions (ModifySecurityGroupRules, late events).
   * @throws LookupFailedError
   */
  ruleDirections(ruleIds: readonly string[]): Promise<RuleDirections>;
  /**
   * CIDRs of a managed prefix list: the current version, or `version` when given (what a
   * RestoreManagedPrefixListVersion puts back). @throws LookupFailedError
   */
  prefixListEntries(prefixListId: string, version?: number): Promise<string[]>;
  /**
   * Security groups that reference a prefix list, each with the account that owns it (a list
   * shared through RAM is referenced from other accounts too). @throws LookupFailedError
   */
  prefixListAssociations(prefixListId: string): Promise<PrefixListAssociation[]>;
  /** Rules of the given groups, or of every group, page by page (MaxResults 1000). */
  securityGroupRules(groupIds?: readonly string[]): AsyncGenerator<SecurityGroupRule[]>;
  /** Network ACLs with their entries, page by page. */
  networkAcls(): AsyncGenerator<NetworkAcl[]>;
  /**
   * One network ACL as it is now (one DescribeNetworkAcls), or null when it no longer exists.
   * @throws LookupFailedError
   */
  networkAcl(networkAclId: string): Promise<NetworkAcl | null>;
}

/** A security group that references a prefix list, and the account that owns it. */
export interface PrefixListAssociation {
  readonly groupId: string;
  /** `ResourceOwner`; null when EC2 did not say. */
  readonly owner: string | null;
}

const GONE: ReadonlySet<string> = new Set(ALREADY_GONE_ERROR_CODES);

/** EC2 accepts at most 200 values in one filter. */
const FILTER_VALUES = 200;

function lookupError(what: string, error: unknown): LookupFailedError {
  const code = awsErrorCode(error);
  return new LookupFailedError(`${what} failed: ${code}: ${errorMessage(error)}`, {
    cause: new AwsCallError(what, code, errorMessage(error), { cause: error }),
  });
}

function toIpPermission(p: PermissionAction["permissions"][number]): IpPermission {
  const ports = p.fromPort === null ? {} : { FromPort: p.fromPort, ToPort: p.toPort ?? p.fromPort };
  const base: IpPermission = { IpProtocol: p.protocol, ...ports };
  if (p.cidr !== undefined) {
    // The family is the text's: an IPv4-mapped block (`::ffff:0:0/96`), which the policy reads
    // as IPv4, is named by its IPv6 text (`Cidr.original`) and lives in Ipv6Ranges.
    return p.cidr.includes(":")
      ? { ...base, Ipv6Ranges: [{ CidrIpv6: p.cidr }] }
      : { ...base, IpRanges: [{ CidrIp: p.cidr }] };
  }
  if (p.prefixListId !== undefined)
    return { ...base, PrefixListIds: [{ PrefixListId: p.prefixListId }] };
  return { ...base, UserIdGroupPairs: [{ GroupId: p.groupId }] };
}

/**
 * The EC2 adapter. The SDK client does the retrying (standard mode: throttling, 5xx); what
 * reaches this code is final. `now` stamps the moment a revoke is confirmed. Every call is
 * published on `AWS_CALL_CHANNEL` (see `traceCalls`) for benchmarks and tests.
 */
export function createEc2Gateway(
  client: EC2Client,
  now: () => Date = () => new Date(),
): Ec2Gateway {
  traceCalls(client);
  async function attempt(
    action: Action,
    call: () => Promise<{ unknown: number }>,
  ): Promise<ActionOutcome> {
    try {
      const { unknown } = await call();
      // In a default VPC a permission that matches nothing is echoed back, not an error.
      return {
        action,
        status: unknown > 0 ? "already-gone" : "revoked",
        confirmedAt: now().toISOString(),
      };
    } catch (error) {
      const code = awsErrorCode(error);
      if (GONE.has(code))
        return { action, status: "already-gone", confirmedAt: now().toISOString() };
      return { action, status: "failed", error: { code, message: errorMessage(error) } };
    }
  }

  async function revokeRules(
    action: Extract<Action, { type: "revoke-security-group-rules" }>,
  ): Promise<ActionOutcome[]> {
    const direction = action.direction;
    if (direction === null) {
      return [
        {
          action,
          status: "failed",
          error: {
            code: "DirectionUnknown",
            message: "the rule direction is unknown; nothing was revoked",
          },
        },
      ];
    }
    const call = (ids: readonly string[]) => async () => {
      const input = { GroupId: action.groupId, SecurityGroupRuleIds: [...ids] };
      const out = await revoke(client, direction, input);
      if (out.Return === false)
        throw Object.assign(new Error("EC2 returned false"), { name: "ReturnFalse" });
      return { unknown: 0 };
    };
    const all = await attempt(action, call(action.ruleIds));
    // One missing id fails the whole call and revokes nothing: the others must be revoked alone.
    if (all.status !== "already-gone" || action.ruleIds.length === 1) return [all];
    return Promise.all(
      action.ruleIds.map((id) => {
        const one = { ...action, ruleIds: [id] };
        return attempt(one, call([id]));
      }),
    );
  }

  async function revokePermissions(action: PermissionAction): Promise<ActionOutcome[]> {
    const input = {
      GroupId: action.groupId,
      IpPermissions: action.permissions.map(toIpPermission),
    };
    return [
      await attempt(action, async () => {
        const out = await revoke(client, action.direction, input);
        return { unknown: out.UnknownIpPermissions?.length ?? 0 };
      }),
    ];
  }

  async function associations(prefixListId: string): Promise<PrefixListAssociation[]> {
    const groups = new Map<string, string | null>();
    const pages = paginateGetManagedPrefixListAssociations(
      { client, pageSize: 255 },
      { PrefixListId: prefixListId },
    );
    try {
      for await (const out of pages) {
        for (const a of out.PrefixListAssociations ?? []) {
          // Route tables reference prefix lists too; only security groups have rules to revoke.
          if (a.ResourceId?.startsWith("sg-")) groups.set(a.ResourceId, a.ResourceOwner ?? null);
        }
      }
    } catch (error) {
      throw lookupError(`GetManagedPrefixListAssociations ${prefixListId}`, error);
    }
    return [...groups].map(([groupId, owner]) => ({ groupId, owner }));
  }

  return {
    async execute(action) {
      switch (action.type) {
        case "revoke-security-group-rules":
          return revokeRules(action);
        case "revoke-security-group-permissions":
          return revokePermissions(action);
        case "delete-network-acl-entry":
          return [
            await attempt(action, async () => {
              await client.send(
                new DeleteNetworkAclEntryCommand({
                  NetworkAclId: action.networkAclId,
                  RuleNumber: action.ruleNumber,
                  Egress: action.egress,
                }),
              );
              return { unknown: 0 };
            }),
          ];
        case "insert-network-acl-entries":
          return [await insertNetworkAclEntries(client, action, now)];
        case "narrow-security-group-rule":
          return [await narrowSecurityGroupRule(client, action, now)];
      }
    },

    async tagsOf(groupId) {
      try {
        const out = await client.send(new DescribeSecurityGroupsCommand({ GroupIds: [groupId] }));
        const group = out.SecurityGroups?.find((g) => g.GroupId === groupId);
        if (!group)
          throw Object.assign(new Error(`${groupId} not in the answer`), { name: "MissingGroup" });
        return Object.fromEntries(
          (group.Tags ?? [])
            .filter((t) => t.Key !== undefined)
            .map((t) => [t.Key as string, t.Value ?? ""]),
        );
      } catch (error) {
        throw lookupError(`DescribeSecurityGroups ${groupId}`, error);
      }
    },

    async tagsByGroup(groupIds) {
      const result: Record<string, Record<string, string>> = {};
      for (let i = 0; i < groupIds.length; i += FILTER_VALUES) {
        const batch = groupIds.slice(i, i + FILTER_VALUES);
        let token: string | undefined;
        try {
          do {
            // A filter, not GroupIds: a group deleted since it was read must not fail the batch.
            const out = await client.send(
              new DescribeSecurityGroupsCommand({
                Filters: [{ Name: "group-id", Values: [...batch] }],
                MaxResults: 1000,
                NextToken: token,
              }),
            );
            for (const g of out.SecurityGroups ?? []) {
              if (!g.GroupId) continue;
              result[g.GroupId] = Object.fromEntries(
                (g.Tags ?? [])
                  .filter((t) => t.Key !== undefined)
                  .map((t) => [t.Key as string, t.Value ?? ""]),
              );
            }
            token = out.NextToken || undefined;
          } while (token);
        } catch (error) {
          throw lookupError("DescribeSecurityGroups (tags)", error);
        }
      }
      return result;
    },

    async ruleDirections(ruleIds) {
      const directions: Record<string, Direction> = {};
      const rules: Record<string, SecurityGroupRule> = {};
      const missing: string[] = [];
      const describe = async (ids: readonly string[]) => {
        const out = await client.send(
          new DescribeSecurityGroupRulesCommand({ SecurityGroupRuleIds: [...ids] }),
        );
        for (const r of out.SecurityGroupRules ?? []) {
          if (r.SecurityGroupRuleId && typeof r.IsEgress === "boolean") {
            directions[r.SecurityGroupRuleId] = r.IsEgress ? "egress" : "ingress";
            rules[r.SecurityGroupRuleId] = r;
          }
        }
      };
      try {
        await describe(ruleIds);
      } catch (error) {
        if (awsErrorCode(error) !== "InvalidSecurityGroupRuleId.NotFound") {
          throw lookupError(`DescribeSecurityGroupRules ${ruleIds.join(",")}`, error);
        }
        // One unknown id fails the call: ask for each id alone to learn which are gone.
        for (const id of ruleIds) {
          try {
            await describe([id]);
          } catch (inner) {
            if (awsErrorCode(inner) !== "InvalidSecurityGroupRuleId.NotFound") {
              throw lookupError(`DescribeSecurityGroupRules ${id}`, inner);
            }
            missing.push(id);
          }
        }
      }
      for (const id of ruleIds) {
        if (directions[id] === undefined && !missing.includes(id)) {
          throw new LookupFailedError(
            `DescribeSecurityGroupRules did not return ${id} or its direction`,
          );
        }
      }
      return { directions, missing, rules };
    },

    async prefixListEntries(prefixListId, version) {
      const cidrs: string[] = [];
      const pages = paginateGetManagedPrefixListEntries(
        { client, pageSize: 100 },
        {
          PrefixListId: prefixListId,
          ...(version !== undefined ? { TargetVersion: version } : {}),
        },
      );
      try {
        for await (const out of pages) {
          for (const e of out.Entries ?? []) if (e.Cidr) cidrs.push(e.Cidr);
        }
      } catch (error) {
        const which = version !== undefined ? ` version ${version}` : "";
        throw lookupError(`GetManagedPrefixListEntries ${prefixListId}${which}`, error);
      }
      return cidrs;
    },

    prefixListAssociations: associations,

    async *securityGroupRules(groupIds) {
      const batches: (readonly string[] | undefined)[] = [];
      if (groupIds === undefined) batches.push(undefined);
      else
        for (let i = 0; i < groupIds.length; i += FILTER_VALUES)
          batches.push(groupIds.slice(i, i + FILTER_VALUES));
      for (const batch of batches) {
        let token: string | undefined;
        do {
          let out: DescribeSecurityGroupRulesCommandOutput;
          try {
            out = await client.send(
              new DescribeSecurityGroupRulesCommand({
                MaxResults: 1000,
                NextToken: token,
                ...(batch ? { Filters: [{ Name: "group-id", Values: [...batch] }] } : {}),
              }),
            );
          } catch (error) {
            throw lookupError("DescribeSecurityGroupRules", error);
          }
          yield out.SecurityGroupRules ?? [];
          token = out.NextToken || undefined;
        } while (token);
      }
    },

    async networkAcl(networkAclId) {
      try {
        // A filter, not NetworkAclIds: an ACL deleted since the event is an empty answer, not
        // an InvalidNetworkAclID.NotFound to tell apart from real failures.
        const out = await client.send(
          new DescribeNetworkAclsCommand({
            Filters: [{ Name: "network-acl-id", Values: [networkAclId] }],
          }),
        );
        return out.NetworkAcls?.find((a) => a.NetworkAclId === networkAclId) ?? null;
      } catch (error) {
        throw lookupError(`DescribeNetworkAcls ${networkAclId}`, error);
      }
    },

    async *networkAcls() {
      let token: string | undefined;
      do {
        let out: DescribeNetworkAclsCommandOutput;
        try {
          out = await client.send(
            new DescribeNetworkAclsCommand({ MaxResults: 1000, NextToken: token }),
          );
        } catch (error) {
          throw lookupError("DescribeNetworkAcls", error);
        }
        yield out.NetworkAcls ?? [];
        token = out.NextToken || undefined;
      } while (token);
    },
  };
}

export type { NetworkAcl } from "@aws-sdk/client-ec2";
