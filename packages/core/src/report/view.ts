import type {
  Action,
  Direction,
  NaclEntrySpec,
  RuleChange,
  SecurityGroupPermission,
} from "../model";
import type { IcmpTypeCode, PortRange } from "../net/ports";
import { isIcmp, type Protocol, protocolApiName } from "../net/protocol";

/** The resource a decision is about. */
export interface ResourceRef {
  /** `unknown` only for events that could not be read. */
  readonly type: "security-group" | "network-acl" | "prefix-list" | "unknown";
  readonly id: string;
}

/**
 * A rule change as plain, JSON-safe data (no bigints, no classes): what goes into SNS messages,
 * audit records and the sweep's state store.
 */
export interface ChangeView {
  readonly kind: RuleChange["kind"];
  /** Group id, network ACL id or prefix list id (`unknown` when the event named a group by name). */
  readonly resourceId: string;
  /** `sgr-…` for security-group rules when known. */
  readonly ruleId?: string;
  readonly direction?: Direction | "unknown";
  /** `tcp`, `udp`, `icmp`, `icmpv6`, `all` or an IANA number as text. */
  readonly protocol?: string;
  /** `22`, `1024-2048`, `all`, or `type 8 code -1` for ICMP. */
  readonly ports?: string;
  /** The one source/destination: a CIDR, `pl-…` or `sg-…`. */
  readonly peer?: string;
  readonly ruleNumber?: number;
  readonly ruleAction?: "allow" | "deny";
  readonly operation?: "create" | "replace" | "state" | "delete-entry" | "associate";
  readonly added?: readonly string[];
  readonly removed?: readonly string[];
  /** RestoreManagedPrefixListVersion: the version the prefix list went back to. */
  readonly restoredVersion?: number;
  readonly description?: string;
  /** One line a human reads: `ingress tcp 22 from 0.0.0.0/0`. */
  readonly text: string;
}

/** A remediation action as plain data, with a one-line text. */
export interface ActionView {
  readonly type: Action["type"];
  readonly resourceId: string;
  readonly direction: Direction | null;
  readonly ruleIds?: readonly string[];
  readonly ruleNumber?: number;
  readonly permissions?: number;
  /** Entries an insert creates (rule number, action, traffic, block), in creation order. */
  readonly inserted?: readonly string[];
  /** The permissions a narrowing authorizes before it revokes the rule. */
  readonly remainder?: readonly string[];
  /** The planner's check of the plan, in words. */
  readonly check?: string;
  readonly text: string;
}

/** One entry to create, in words: `#98 allow tcp 0-1023 10.0.0.0/8`. */
export function insertedEntryText(e: NaclEntrySpec): string {
  return `#${e.ruleNumber} ${e.ruleAction} ${trafficText(e.protocol, portsText(e.protocol, e.ports, e.icmp))} ${e.cidr}`;
}

function permissionText(p: SecurityGroupPermission, direction: Direction): string {
  const proto = p.protocol === "-1" ? "all traffic" : p.protocol;
  const ports =
    p.fromPort === null || p.protocol === "-1"
      ? ""
      : p.fromPort === p.toPort
        ? ` ${p.fromPort}`
        : ` ${p.fromPort}-${p.toPort}`;
  const peer = p.cidr ?? p.prefixListId ?? p.groupId ?? "?";
  return `${proto}${ports} ${direction === "egress" ? "to" : "from"} ${peer}`;
}

function protocolText(p: Protocol): string {
  return typeof p === "number" ? String(p) : p;
}

function portsText(protocol: Protocol, ports: PortRange | null, icmp: IcmpTypeCode | null): string {
  if (isIcmp(protocol)) {
    if (icmp === null || (icmp.type === -1 && icmp.code === -1)) return "all";
    return `type ${icmp.type} code ${icmp.code}`;
  }
  if (ports === null) return "all";
  if (ports.from === 0 && ports.to === 65535) return "all";
  return ports.from === ports.to ? String(ports.from) : `${ports.from}-${ports.to}`;
}

/** `tcp 22`, `udp all ports`, `icmp all types`, `all traffic`, `protocol 50`. */
function trafficText(protocol: Protocol, ports: string): string {
  if (protocol === "all") return "all traffic";
  if (typeof protocol === "number") return `protocol ${protocol}`;
  if (isIcmp(protocol)) return `${protocol} ${ports === "all" ? "all types" : ports}`;
  return `${protocol} ${ports === "all" ? "all ports" : ports}`;
}

/**
 * Turns a rule change into JSON-safe data with a readable line.
 *
 * @example
 * viewChange(change).text // "ingress tcp 22 from 0.0.0.0/0"
 */
export function viewChange(change: RuleChange): ChangeView {
  switch (change.kind) {
    case "security-group-rule": {
      const peer =
        change.peer.kind === "cidr"
          ? change.peer.cidr.cidr
          : change.peer.kind === "prefix-list"
            ? change.peer.prefixListId
            : (change.peer.groupId ?? change.peer.groupName ?? "unknown group");
      const protocol = protocolText(change.protocol);
      const ports = portsText(change.protocol, change.ports, change.icmp);
      const where = change.direction === "egress" ? "to" : "from";
      return strip({
        kind: change.kind,
        resourceId: change.groupId ?? change.groupName ?? "unknown",
        ruleId: change.ruleId ?? undefined,
        direction: change.direction,
        protocol,
        ports,
        peer,
        description: change.description,
        text: `${change.direction === "unknown" ? "(direction unknown)" : change.direction} ${trafficText(change.protocol, ports)} ${where} ${peer}`,
      });
    }
    case "network-acl-entry": {
      const protocol = protocolText(change.protocol);
      const ports = portsText(change.protocol, change.ports, change.icmp);
      const direction: Direction = change.egress ? "egress" : "ingress";
      const where = change.egress ? "to" : "from";
      return {
        kind: change.kind,
        resourceId: change.networkAclId,
        direction,
        protocol,
        ports,
        peer: change.cidr.cidr,
        ruleNumber: change.ruleNumber,
        ruleAction: change.ruleAction,
        operation: change.operation,
        text: `${direction} rule #${change.ruleNumber} ${change.ruleAction} ${trafficText(change.protocol, ports)} ${where} ${change.cidr.cidr}`,
      };
    }
    case "prefix-list": {
      const added = change.added.map((c) => c.cidr);
      const removed = change.removed.map((c) => c.cidr);
      const restored = change.restoredVersion;
      const parts = [
        restored !== undefined ? `restored version ${restored}` : "",
        added.length > 0 ? `added ${added.join(", ")}` : "",
        removed.length > 0 ? `removed ${removed.join(", ")}` : "",
      ].filter((p) => p !== "");
      return {
        kind: change.kind,
        resourceId: change.prefixListId,
        added,
        removed,
        ...(restored !== undefined ? { restoredVersion: restored } : {}),
        text: `prefix list ${change.prefixListId}: ${parts.length > 0 ? parts.join("; ") : "no entry change"}`,
      };
    }
    case "network-acl": {
      const text =
        change.operation === "delete-entry"
          ? `${change.egress ? "egress" : "ingress"} rule #${change.ruleNumber} deleted from ${change.networkAclId}`
          : `subnet association ${change.associationId ?? "(unknown)"} moved to ${change.networkAclId}`;
      return strip({
        kind: change.kind,
        resourceId: change.networkAclId,
        operation: change.operation,
        ruleNumber: change.ruleNumber,
        text,
      });
    }
  }
}

/** The resource a change belongs to. */
export function resourceOf(change: RuleChange): ResourceRef {
  switch (change.kind) {
    case "security-group-rule":
      return { type: "security-group", id: change.groupId ?? change.groupName ?? "unknown" };
    case "network-acl-entry":
      return { type: "network-acl", id: change.networkAclId };
    case "prefix-list":
      return { type: "prefix-list", id: change.prefixListId };
    case "network-acl":
      return { type: "network-acl", id: change.networkAclId };
  }
}

/**
 * Turns an action into JSON-safe data with a readable line.
 *
 * @example
 * viewAction({ type: "delete-network-acl-entry", networkAclId: "acl-1", ruleNumber: 100, egress: false }).text
 * // "delete ingress entry #100 of acl-1"
 */
export function viewAction(action: Action): ActionView {
  switch (action.type) {
    case "revoke-security-group-rules":
      return {
        type: action.type,
        resourceId: action.groupId,
        direction: action.direction,
        ruleIds: [...action.ruleIds],
        text: `revoke ${action.direction ?? ""} ${action.ruleIds.join(", ")} of ${action.groupId}`.replace(
          /\s+/g,
          " ",
        ),
      };
    case "revoke-security-group-permissions":
      return {
        type: action.type,
        resourceId: action.groupId,
        direction: action.direction,
        permissions: action.permissions.length,
        text: `revoke ${action.direction} ${action.permissions
          .map((p) => permissionText(p, action.direction))
          .join(", ")} of ${action.groupId}`,
      };
    case "delete-network-acl-entry": {
      const direction: Direction = action.egress ? "egress" : "ingress";
      return {
        type: action.type,
        resourceId: action.networkAclId,
        direction,
        ruleNumber: action.ruleNumber,
        text: `delete ${direction} entry #${action.ruleNumber} of ${action.networkAclId}`,
      };
    }
    case "insert-network-acl-entries": {
      const direction: Direction = action.egress ? "egress" : "ingress";
      const inserted = action.entries.map(insertedEntryText);
      return {
        type: action.type,
        resourceId: action.networkAclId,
        direction,
        ruleNumber: action.before,
        inserted,
        check: action.check,
        text: `insert ${direction} ${inserted.join(", ")} before entry #${action.before} of ${action.networkAclId}`,
      };
    }
    case "narrow-security-group-rule": {
      const remainder = action.remainder.map((p) => permissionText(p, action.direction));
      return {
        type: action.type,
        resourceId: action.groupId,
        direction: action.direction,
        ruleIds: [action.ruleId],
        remainder,
        check: action.check,
        text: `narrow ${action.direction} ${action.ruleId} of ${action.groupId}: authorize ${remainder.length > 0 ? remainder.join(", ") : "nothing"}, then revoke ${action.ruleId}`,
      };
    }
  }
}

/** Whether `change` is the entry `ruleNumber` of one network ACL, in one direction. */
function isEntry(change: RuleChange, aclId: string, ruleNumber: number, egress: boolean): boolean {
  return (
    change.kind === "network-acl-entry" &&
    change.networkAclId === aclId &&
    change.ruleNumber === ruleNumber &&
    change.egress === egress
  );
}

/**
 * True when carrying out `action` removes the rule `change` describes. Used to attach each
 * action's result to the findings it resolves.
 */
export function actionCovers(action: Action, change: RuleChange): boolean {
  switch (action.type) {
    case "revoke-security-group-rules":
      return (
        change.kind === "security-group-rule" &&
        change.groupId === action.groupId &&
        change.ruleId !== null &&
        action.ruleIds.includes(change.ruleId)
      );
    case "revoke-security-group-permissions": {
      if (change.kind !== "security-group-rule" || change.groupId !== action.groupId) return false;
      if (change.direction !== action.direction) return false;
      const protocol = protocolApiName(change.protocol);
      const peer = change.peer;
      const [from, to] = wireRange(change);
      return action.permissions.some((p) => {
        if (p.protocol !== protocol) return false;
        // A permission without ports (or a change without them) matches on protocol and peer alone.
        if (p.fromPort !== null && from !== null && (p.fromPort !== from || p.toPort !== to)) {
          return false;
        }
        // The plan names an IPv4-mapped block by its IPv6 text (as AWS stores it).
        if (peer.kind === "cidr") return p.cidr === (peer.cidr.original ?? peer.cidr).cidr;
        if (peer.kind === "prefix-list") return p.prefixListId === peer.prefixListId;
        return peer.groupId !== null && p.groupId === peer.groupId;
      });
    }
    case "delete-network-acl-entry":
      return isEntry(change, action.networkAclId, action.ruleNumber, action.egress);
    case "insert-network-acl-entries":
      return isEntry(change, action.networkAclId, action.before, action.egress);
    case "narrow-security-group-rule":
      return (
        change.kind === "security-group-rule" &&
        change.groupId === action.groupId &&
        change.ruleId === action.ruleId
      );
  }
}

/** The FromPort/ToPort pair EC2 uses for a rule: ports, or ICMP type/code; null when none. */
function wireRange(change: {
  readonly protocol: Protocol;
  readonly ports: PortRange | null;
  readonly icmp: IcmpTypeCode | null;
}): [number | null, number | null] {
  if (isIcmp(change.protocol))
    return change.icmp ? [change.icmp.type, change.icmp.code] : [null, null];
  return change.ports ? [change.ports.from, change.ports.to] : [null, null];
}

function strip<T extends object>(value: T): T {
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(value)) if (v !== undefined) out[k] = v;
  return out as T;
}
