import type { NetworkAcl, SecurityGroupRule } from "@aws-sdk/client-ec2";
import {
  fromNetworkAclEntry,
  fromSecurityGroupRule,
  type ResourceRef,
  type RuleChange,
  resourceOf,
} from "@guardrail/core";
import type { Ec2Gateway } from "./ec2";
import { mapLimit } from "./limit";

/** A described rule or entry that could not be read as a rule (reported, never guessed). */
export type UnreadableRule =
  | {
      readonly kind: "security-group-rule";
      readonly ruleId: string | undefined;
      readonly groupId: string | undefined;
      readonly message: string;
    }
  | {
      readonly kind: "network-acl-entry";
      readonly networkAclId: string;
      readonly ruleNumber: number | undefined;
      readonly message: string;
    };

/** Every security-group rule and network-ACL entry of one account and Region, as changes. */
export interface CurrentState {
  /** Security-group rules first, then network-ACL entries, each in the order EC2 listed them. */
  readonly changes: readonly RuleChange[];
  /** Every security group with a rule and every network ACL, by id. */
  readonly resources: ReadonlyMap<string, ResourceRef>;
  readonly securityGroupRules: number;
  readonly networkAclEntries: number;
  readonly unreadable: readonly UnreadableRule[];
  /** ACLs with an entry that could not be read: their entries are judged alone. */
  readonly incompleteAcls: ReadonlySet<string>;
  /** The account that owns what was read (the first rule's, else the first ACL's); null when empty. */
  readonly owner: string | null;
}

/** What to read: everything in the account and Region, or one security group or network ACL. */
export type StateScope = "all" | ResourceRef;

async function readRules(pages: AsyncIterable<SecurityGroupRule[]>) {
  const changes: RuleChange[] = [];
  const resources = new Map<string, ResourceRef>();
  const unreadable: UnreadableRule[] = [];
  let count = 0;
  let owner: string | null = null;
  for await (const page of pages) {
    for (const rule of page) {
      count++;
      owner ??= rule.GroupOwnerId ?? null;
      const read = fromSecurityGroupRule(rule);
      if (read.status === "ok") {
        changes.push(read.change);
        if (read.change.groupId) resources.set(read.change.groupId, resourceOf(read.change));
      } else if (read.status === "invalid") {
        unreadable.push({
          kind: "security-group-rule",
          ruleId: rule.SecurityGroupRuleId,
          groupId: rule.GroupId,
          message: read.error.message,
        });
      }
    }
  }
  return { changes, resources, unreadable, count, owner };
}

async function readAcls(pages: AsyncIterable<NetworkAcl[]>) {
  const changes: RuleChange[] = [];
  const resources = new Map<string, ResourceRef>();
  const unreadable: UnreadableRule[] = [];
  const incomplete = new Set<string>();
  let count = 0;
  let owner: string | null = null;
  for await (const page of pages) {
    for (const acl of page) {
      if (!acl.NetworkAclId) continue;
      owner ??= acl.OwnerId ?? null;
      resources.set(acl.NetworkAclId, { type: "network-acl", id: acl.NetworkAclId });
      for (const entry of acl.Entries ?? []) {
        count++;
        const read = fromNetworkAclEntry(acl.NetworkAclId, entry);
        if (read.status === "ok") changes.push(read.change);
        else if (read.status === "invalid") {
          incomplete.add(acl.NetworkAclId);
          unreadable.push({
            kind: "network-acl-entry",
            networkAclId: acl.NetworkAclId,
            ruleNumber: entry.RuleNumber,
            message: read.error.message,
          });
        }
      }
    }
  }
  return { changes, resources, unreadable, incomplete, count, owner };
}

const none = async function* (): AsyncGenerator<never[]> {};

async function* oneAcl(gateway: Pick<Ec2Gateway, "networkAcl">, id: string) {
  const acl = await gateway.networkAcl(id);
  if (acl) yield [acl];
}

/**
 * Reads current state through `gateway` into the same changes events become, so that every flow
 * judges state one way: the whole account and Region (DescribeSecurityGroupRules and
 * DescribeNetworkAcls, paginated, both at once) for the sweep and `scan`, or one security group's
 * rules or one network ACL for a flow about that resource (a network-ACL event, a Slack action).
 * An ACL that no longer exists is missing from `resources` (as is a group without rules).
 */
export async function readCurrentState(
  gateway: Pick<Ec2Gateway, "securityGroupRules" | "networkAcls" | "networkAcl">,
  scope: StateScope = "all",
): Promise<CurrentState> {
  const all = scope === "all";
  const [rules, acls] = await Promise.all([
    readRules(
      all || scope.type === "security-group"
        ? gateway.securityGroupRules(all ? undefined : [scope.id])
        : none(),
    ),
    readAcls(
      all
        ? gateway.networkAcls()
        : scope.type === "network-acl"
          ? oneAcl(gateway, scope.id)
          : none(),
    ),
  ]);
  return {
    changes: [...rules.changes, ...acls.changes],
    resources: new Map([...rules.resources, ...acls.resources]),
    securityGroupRules: rules.count,
    networkAclEntries: acls.count,
    unreadable: [...rules.unreadable, ...acls.unreadable],
    incompleteAcls: acls.incomplete,
    owner: rules.owner ?? acls.owner,
  };
}

/** The prefix lists the changes' rules reference, each once. */
export function referencedPrefixLists(changes: readonly RuleChange[]): string[] {
  return [
    ...new Set(
      changes.flatMap((c) =>
        c.kind === "security-group-rule" && c.peer.kind === "prefix-list"
          ? [c.peer.prefixListId]
          : [],
      ),
    ),
  ];
}

/** EC2 throttles per account: prefix lists are read a few at a time. */
const PREFIX_LIST_CONCURRENCY = 4;

/**
 * The entries of each list, by id. A list that cannot be read is left out (its rules stay
 * unresolved: notify, never a guess) and handed to `onUnreadable`, which may throw to stop.
 */
export async function resolvePrefixLists(
  ids: readonly string[],
  gateway: Pick<Ec2Gateway, "prefixListEntries">,
  onUnreadable: (id: string, error: unknown) => void,
): Promise<Record<string, string[]>> {
  const resolved: Record<string, string[]> = {};
  await mapLimit(ids, PREFIX_LIST_CONCURRENCY, async (id) => {
    try {
      resolved[id] = await gateway.prefixListEntries(id);
    } catch (error) {
      onUnreadable(id, error);
    }
  });
  return resolved;
}
