import type { Action } from "@guardrail/core";
import { describe, expect, it } from "vitest";
import { listFixtures } from "../../../test/fixtures/load";
import type { ReplayLine } from "../src/replay/record";
import { REPLAY_ALL_FIXTURES, runBin } from "./bin";
import { jsonLines } from "./support/io";

const rules = (groupId: string, direction: "ingress" | "egress" | null, ...ruleIds: string[]) =>
  ({ type: "revoke-security-group-rules", groupId, direction, ruleIds }) as const;
const perms = (groupId: string, protocol: string, port: number, cidr: string) =>
  ({
    type: "revoke-security-group-permissions",
    groupId,
    direction: "ingress",
    permissions: [{ protocol, fromPort: port, toPort: port, cidr }],
  }) as const;
const entry = (networkAclId: string, ruleNumber: number) =>
  ({ type: "delete-network-acl-entry", networkAclId, ruleNumber, egress: false }) as const;

interface Expected {
  readonly outcome: ReplayLine["outcome"];
  /** Rules of counting findings. */
  readonly rules?: readonly string[];
  readonly mode?: "enforce" | "notify";
  readonly actions?: readonly Action[];
  /** Start of the reason of an ignored or invalid event. */
  readonly reason?: string;
}

const SG = "sg-0a1b2c3d4e5f60001";
const ACL = "acl-0a1b2c3d4e5f60001";
const SSH_WORLD = ["admin-ports", "internet-exposure"];

/**
 * What the default policy must decide for every fixture, and why. The expected actions name only
 * the offending rule: the rule id when the response carries one, else the exact permission.
 */
const EXPECTED: Record<string, Expected> = {
  // Egress to anywhere on any port is AWS's default rule; no egress rule but SMTP applies.
  "AuthorizeSecurityGroupEgress/detail_ec2-instance-role_cidrIp_elastic": { outcome: "compliant" },
  "AuthorizeSecurityGroupEgress/detail_panther_terraform_protocol-minus1_no-ports": {
    outcome: "compliant",
  },
  // CloudTrail omitted the oversized request: the rules come from the response rule set.
  "AuthorizeSecurityGroupEgress/request-parameters-omitted_oversize_ruleset-holds-the-rules": {
    outcome: "violation",
    rules: ["smtp-egress"],
    mode: "enforce",
    actions: [rules(SG, "egress", "sgr-0900000000bige25")],
  },
  "AuthorizeSecurityGroupEgress/two-items_prefix-list-and-cidr_ruleset-egress": {
    outcome: "compliant",
  },
  // A log fragment without eventName or detail: reported, never guessed.
  "AuthorizeSecurityGroupIngress/FRAGMENT_protocol-minus1_ruleset-ports-minus1_c7n-issue-9656": {
    outcome: "invalid",
    reason: "detail: missing",
  },
  "AuthorizeSecurityGroupIngress/aws-service-caller_minimal-userIdentity_invokedBy": {
    outcome: "compliant",
  },
  // tcp/22 from the blocked 198.51.100.0/24: blocked network and admin port.
  // An IAM user whose path reads like a role: judged like anyone else.
  "AuthorizeSecurityGroupIngress/iamuser_crafted-path_x-role_guardrail-remediator": {
    outcome: "violation",
    rules: ["admin-ports", "internet-exposure"],
    mode: "enforce",
    actions: [rules(SG, "ingress", "sgr-0e00000000craft1")],
  },
  "AuthorizeSecurityGroupIngress/cross-account-caller_assumed-role": {
    outcome: "violation",
    rules: ["admin-ports", "blocked-sources"],
    mode: "enforce",
    actions: [rules(SG, "ingress", "sgr-0800000000xac001")],
  },
  // tcp/22 from 0.0.0.0/0, with a rule id in the response.
  "AuthorizeSecurityGroupIngress/detail_assumedrole-console_cidrIp_2025": {
    outcome: "violation",
    rules: SSH_WORLD,
    mode: "enforce",
    actions: [rules("sg-0632fa4ee8a8468a4", "ingress", "sgr-09be5c962afdc06ed")],
  },
  // tcp/22 from the office network 203.0.113.0/24: trusted.
  "AuthorizeSecurityGroupIngress/detail_iamuser-cli_cidrIp_elastic": { outcome: "compliant" },
  // Legacy flat form (cidrIp/ipProtocol at the top) of tcp/22 from a /0.
  "AuthorizeSecurityGroupIngress/detail_iamuser_LEGACY-FLAT-cidrIp-ipProtocol-ports_ipPermissions-empty_stratus":
    {
      outcome: "violation",
      rules: SSH_WORLD,
      mode: "enforce",
      actions: [rules("sg-003dc7f1f1c686164", "ingress", "sgr-09b3e3d2ca1edf2a2")],
    },
  // tcp/443 (ports as strings): a web port, allowed from anywhere.
  "AuthorizeSecurityGroupIngress/detail_panther_console_ports-as-strings_NORMALIZED": {
    outcome: "compliant",
  },
  // tcp/22 from 0.0.0.0/0 without a rule set: revoked by exact permission.
  "AuthorizeSecurityGroupIngress/detail_panther_go-sdk": {
    outcome: "violation",
    rules: SSH_WORLD,
    mode: "enforce",
    actions: [perms("sg-0d921df5d84f7270a", "tcp", 22, "0.0.0.0/0")],
  },
  // tcp/80 and tcp/443 from anywhere: web ports.
  "AuthorizeSecurityGroupIngress/envelope_2019_no-recipientAccountId_no-ruleset_two-items": {
    outcome: "compliant",
  },
  // Referenced security groups are not public peers.
  "AuthorizeSecurityGroupIngress/eventbridge_cfn-invokedBy_referenced-group_1": {
    outcome: "compliant",
  },
  "AuthorizeSecurityGroupIngress/eventbridge_cfn-invokedBy_referenced-group_2": {
    outcome: "compliant",
  },
  // tcp/25 from 0.0.0.0/0: not a web port, so internet exposure.
  "AuthorizeSecurityGroupIngress/eventbridge_root-console_cidrIp": {
    outcome: "violation",
    rules: ["internet-exposure"],
    mode: "enforce",
    actions: [rules("sg-012498864e98e1916", "ingress", "sgr-0e802a56a6c63d2ba")],
  },
  // tcp/22 from 0.0.0.0/0 and ::/0 in one item, 2021 (no rule ids): one revoke per source.
  "AuthorizeSecurityGroupIngress/eventbridge_root-console_ipv4+ipv6-same-item_2021_no-ruleset": {
    outcome: "violation",
    rules: SSH_WORLD,
    mode: "enforce",
    actions: [
      perms("sg-0db7d4784c4db8612", "tcp", 22, "0.0.0.0/0"),
      perms("sg-0db7d4784c4db8612", "tcp", 22, "::/0"),
    ],
  },
  "AuthorizeSecurityGroupIngress/failed_client-dry-run-operation": {
    outcome: "ignored",
    reason: "failed-call",
  },
  "AuthorizeSecurityGroupIngress/failed_client-invalid-permission-duplicate_response-null": {
    outcome: "ignored",
    reason: "failed-call",
  },
  "AuthorizeSecurityGroupIngress/failed_server-unavailable_response-null": {
    outcome: "ignored",
    reason: "failed-call",
  },
  "AuthorizeSecurityGroupIngress/group-name-form_default-vpc_groupId-only-in-ruleset": {
    outcome: "compliant",
  },
  "AuthorizeSecurityGroupIngress/host-bits-set_ruleset-canonicalised": { outcome: "compliant" },
  // ICMP echo from anywhere: only path-MTU discovery (icmp 3:4) is allowed to wide ranges.
  "AuthorizeSecurityGroupIngress/icmp-echo-request_type8-any-code": {
    outcome: "violation",
    rules: ["internet-exposure"],
    mode: "enforce",
    actions: [rules(SG, "ingress", "sgr-0300000000icmp01")],
  },
  "AuthorizeSecurityGroupIngress/icmpv6-all-types_ports-minus1": {
    outcome: "violation",
    rules: ["internet-exposure"],
    mode: "enforce",
    actions: [rules(SG, "ingress", "sgr-0300000000icmp61")],
  },
  // tcp/443 from 0.0.0.0/0 and ::/0.
  "AuthorizeSecurityGroupIngress/ipv4-and-ipv6-same-item_with-ruleset": { outcome: "compliant" },
  // The same rule written two ways must be decided the same way.
  // ::ffff:0:0/96 is the IPv4 world; without a rule id it is revoked by its IPv6 text.
  "AuthorizeSecurityGroupIngress/ipv4-mapped-ipv6-world_no-ruleset_tcp-22": {
    outcome: "violation",
    rules: SSH_WORLD,
    mode: "enforce",
    actions: [perms(SG, "tcp", 22, "::ffff:0:0/96")],
  },
  "AuthorizeSecurityGroupIngress/items-form_tcp-22_same-rule-as-legacy-flat": {
    outcome: "violation",
    rules: SSH_WORLD,
    mode: "enforce",
    actions: [rules(SG, "ingress", "sgr-0a00000000same01")],
  },
  "AuthorizeSecurityGroupIngress/legacy-flat_tcp-22_same-rule-as-items-form": {
    outcome: "violation",
    rules: SSH_WORLD,
    mode: "enforce",
    actions: [rules(SG, "ingress", "sgr-0a00000000same01")],
  },
  // Source security group by name: not a public peer.
  "AuthorizeSecurityGroupIngress/legacy-flat_source-security-group-name_full-tcp-udp-icmp": {
    outcome: "compliant",
  },
  "AuthorizeSecurityGroupIngress/ports-as-strings_ruleset-numbers": {
    outcome: "violation",
    rules: ["blocked-sources"],
    mode: "enforce",
    actions: [rules(SG, "ingress", "sgr-0200000000str001")],
  },
  // Replay cannot resolve a prefix list: notify, never revoke.
  "AuthorizeSecurityGroupIngress/prefix-list-peer_ruleset": {
    outcome: "violation",
    rules: ["unresolved-prefix-list"],
    mode: "notify",
    actions: [],
  },
  // All traffic from anywhere includes tcp/22.
  "AuthorizeSecurityGroupIngress/protocol-minus1_no-ports_ruleset-ports-minus1": {
    outcome: "violation",
    rules: SSH_WORLD,
    mode: "enforce",
    actions: [rules(SG, "ingress", "sgr-0500000000all001")],
  },
  "AuthorizeSecurityGroupIngress/protocol-number-50-esp_no-ports_ruleset-minus1": {
    outcome: "compliant",
  },
  "AuthorizeSecurityGroupIngress/referenced-group_cross-account": { outcome: "compliant" },
  // CloudTrail omits requestParameters over its size limit, and no rule set names the rules:
  // invalid, never guessed.
  "AuthorizeSecurityGroupIngress/request-parameters-omitted_oversize": {
    outcome: "invalid",
    reason: "requestParameters",
  },
  // The same, with a rule set: only the ssh-from-world rule is revoked; the unresolved prefix
  // list only notifies.
  "AuthorizeSecurityGroupIngress/request-parameters-omitted_oversize_ruleset-holds-the-rules": {
    outcome: "violation",
    rules: ["admin-ports", "internet-exposure", "unresolved-prefix-list"],
    actions: [rules(SG, "ingress", "sgr-0900000000big001")],
  },
  "AuthorizeSecurityGroupIngress/requestParameters-only_console2017_two-items_protocol-minus1_ports-0-65535_ipv6":
    { outcome: "invalid", reason: "eventName: missing" },
  "AuthorizeSecurityGroupIngress/return-false_nothing-changed": {
    outcome: "ignored",
    reason: "no-change",
  },
  // Office and blocked CIDRs in one item: only the blocked one's rule is revoked.
  "AuthorizeSecurityGroupIngress/two-cidrs-one-item_ruleset-swapped-order": {
    outcome: "violation",
    rules: ["admin-ports", "blocked-sources"],
    mode: "enforce",
    actions: [rules(SG, "ingress", "sgr-0b00000000000vpn1")],
  },
  "CreateNetworkAclEntry/deny_udp-17_port-range-as-strings": { outcome: "compliant" },
  "CreateNetworkAclEntry/detail_panther_all-protocols-minus1_egress": { outcome: "compliant" },
  "CreateNetworkAclEntry/detail_panther_errorCode-only": {
    outcome: "ignored",
    reason: "failed-call",
  },
  // tcp/700-702 from anywhere: no admin port.
  "CreateNetworkAclEntry/detail_panther_tcp-6_portRange_ingress": { outcome: "compliant" },
  "CreateNetworkAclEntry/icmp-1_echo-request-type8_cidrBlock": { outcome: "compliant" },
  "CreateNetworkAclEntry/ipv6CidrBlock_icmpv6-58_any-type-any-code": { outcome: "compliant" },
  "CreateNetworkAclEntry/protocol-50_portRange-ignored": {
    outcome: "violation",
    rules: ["nacl-blocked-sources"],
    mode: "enforce",
    actions: [entry(ACL, 130)],
  },
  "CreateSecurityGroup/detail_panther_terraform": { outcome: "ignored", reason: "unhandled-event" },
  "CreateSecurityGroup/eventbridge_root-console_AWS-KnowledgeCenter-sample_TRUNCATED": {
    outcome: "ignored",
    reason: "unhandled-event",
  },
  "CreateSecurityGroup/tag-specifications_exemption-tag": {
    outcome: "ignored",
    reason: "unhandled-event",
  },
  "CreateTags/assumed-role-approver_exemption-tag_two-groups": {
    outcome: "ignored",
    reason: "unhandled-event",
  },
  "CreateTags/iamuser-cli_exemption-tag_no-rules": {
    outcome: "ignored",
    reason: "unhandled-event",
  },
  "DeleteTags/iamuser-cli_exemption-tag": { outcome: "ignored", reason: "unhandled-event" },
  "TagResources/assumed-role-cli_security-group-arn": {
    outcome: "ignored",
    reason: "unhandled-event",
  },
  "UntagResources/iamuser-cli_security-group-arn": {
    outcome: "ignored",
    reason: "unhandled-event",
  },
  // What a delete opens depends on the rest of the ACL, which replay does not have.
  "DeleteNetworkAclEntry/detail_iamuser-cli_elastic": {
    outcome: "ignored",
    reason: "needs the ACL",
  },
  "DescribeSecurityGroups/readOnly-true": { outcome: "ignored", reason: "read-only" },
  "ModifyManagedPrefixList/camelCase-variant_addEntry-items_removeEntry-items": {
    outcome: "compliant",
  },
  "ModifyManagedPrefixList/rename-only_no-entries": { outcome: "ignored", reason: "no-change" },
  "ModifyManagedPrefixList/wrapper_add-and-remove_object-form": { outcome: "compliant" },
  "ModifyManagedPrefixList/wrapper_add-array_two-entries_ipv6": { outcome: "compliant" },
  "ModifySecurityGroupRules/requestParameters-only_live-shape_placeholder-ids": {
    outcome: "invalid",
    reason: "eventName: missing",
  },
  "ModifySecurityGroupRules/wrapper_array-form_two-rules_ipv6-and-referenced-group": {
    outcome: "compliant",
  },
  // tcp/22 from anywhere by rule id; replay cannot look the direction up, so it says null.
  "ModifySecurityGroupRules/wrapper_object-form_single-rule": {
    outcome: "violation",
    rules: SSH_WORLD,
    mode: "enforce",
    actions: [rules(SG, null, "sgr-0c0000000mod0001")],
  },
  "ModifySecurityGroupRules/wrapper_prefix-list_ports-as-strings": {
    outcome: "violation",
    rules: ["unresolved-prefix-list"],
    mode: "notify",
    actions: [],
  },
  // A replaced entry is never deleted: the delete would remove the entry it replaced too.
  "ReplaceNetworkAclEntry/tcp-6_ssh-from-world_replaces-rule-100": {
    outcome: "violation",
    rules: ["nacl-admin-ports"],
    mode: "notify",
    actions: [],
  },
  "ReplaceNetworkAclAssociation/subnet-moved_cli": { outcome: "ignored", reason: "needs the ACL" },
  // Like ModifyManagedPrefixList: the list is judged through the rules that reference it, which
  // replay cannot look up.
  "RestoreManagedPrefixListVersion/camelCase-variant_previousVersion-number": {
    outcome: "compliant",
  },
  "RestoreManagedPrefixListVersion/wrapper_previous-version-as-string": { outcome: "compliant" },
  "RevokeSecurityGroupIngress/default-vpc_unknownIpPermissionSet_return-true": {
    outcome: "ignored",
    reason: "restrictive",
  },
  "RevokeSecurityGroupIngress/eventbridge_iamuser-console-invokedBy-signin_2019": {
    outcome: "ignored",
    reason: "restrictive",
  },
  "RevokeSecurityGroupIngress/rule-ids-only_securityGroupRuleIds": {
    outcome: "ignored",
    reason: "restrictive",
  },
  // An unrelated EC2 call that failed: the failure is the first thing the normaliser checks.
  "RunInstances/EC2-error-shape_Client.UnauthorizedOperation_assumedrole_stratus": {
    outcome: "ignored",
    reason: "failed-call",
  },
};

function check(id: string, line: ReplayLine) {
  const want = EXPECTED[id];
  expect(want, `no expectation for fixture ${id}: add one to EXPECTED`).toBeDefined();
  if (!want) return;
  expect(line.outcome, id).toBe(want.outcome);
  const counting = line.findings.filter((f) => !f.exemption);
  expect([...new Set(counting.map((f) => f.rule))].sort(), id).toEqual(want.rules ?? []);
  if (want.mode) expect(new Set(counting.map((f) => f.mode)), id).toEqual(new Set([want.mode]));
  expect(line.actions, id).toEqual(want.actions ?? []);
  if (want.reason) expect(line.reason?.startsWith(want.reason), `${id}: ${line.reason}`).toBe(true);
  else expect(line.reason, id).toBeUndefined();
}

describe("npx guardrail replay --format json on the CloudTrail fixtures", () => {
  it("decides every fixture of test/fixtures/cloudtrail as expected with --all-records, in path order", async () => {
    const { code, stdout, stderr } = await runBin(REPLAY_ALL_FIXTURES);
    expect(stderr).toBe("");
    expect(code).toBe(0);
    const lines = jsonLines(stdout);
    const fixtures = listFixtures();
    expect(lines.map((l) => l.source)).toEqual(
      fixtures.map((f) => `test/fixtures/cloudtrail/${f.id}.json#0`),
    );
    for (const [i, f] of fixtures.entries()) check(f.id, lines[i]!);
    expect(lines.filter((l) => l.outcome === "violation").length).toBeGreaterThan(10);
    // Replay has only the event: a NACL entry is judged alone, and the finding says so.
    const nacl = lines.flatMap((l) => l.findings).filter((f) => f.reason.startsWith("NACL "));
    expect(nacl.length).toBeGreaterThan(0);
    for (const f of nacl) expect(f.reason).toContain("; judged without the rest of the ACL");
  });
});
