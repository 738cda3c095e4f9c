import type { EventParser, PermissiveEventName } from "./context";
import {
  parseDeleteNetworkAclEntry,
  parseNetworkAclEntry,
  parseReplaceNetworkAclAssociation,
} from "./network-acl";
import { parseModifyManagedPrefixList, parseRestoreManagedPrefixListVersion } from "./prefix-list";
import { parseAuthorize, parseModifySecurityGroupRules } from "./security-group";

/**
 * The one table from event name to parser. Its keys are exactly the permissive names of
 * `EVENT_SPECS` (the type says so), so a new permissive event cannot be registered without a
 * parser, and restrictive ones (Revoke*) never get one.
 */
export const EVENT_PARSERS: { readonly [K in PermissiveEventName]: EventParser } = {
  AuthorizeSecurityGroupIngress: (ctx) => parseAuthorize(ctx, "ingress"),
  AuthorizeSecurityGroupEgress: (ctx) => parseAuthorize(ctx, "egress"),
  ModifySecurityGroupRules: parseModifySecurityGroupRules,
  CreateNetworkAclEntry: (ctx) => parseNetworkAclEntry(ctx, "create"),
  ReplaceNetworkAclEntry: (ctx) => parseNetworkAclEntry(ctx, "replace"),
  DeleteNetworkAclEntry: parseDeleteNetworkAclEntry,
  ReplaceNetworkAclAssociation: parseReplaceNetworkAclAssociation,
  ModifyManagedPrefixList: parseModifyManagedPrefixList,
  RestoreManagedPrefixListVersion: parseRestoreManagedPrefixListVersion,
};
