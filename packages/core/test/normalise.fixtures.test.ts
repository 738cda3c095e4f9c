import { describe, expect, it } from "vitest";
import { listFixtures, loadFixture, loadFixtureText } from "../../../test/fixtures/load";
import { summariseResult } from "../../../test/fixtures/summarise";
import { normalise } from "../src/cloudtrail/normalise";
import { InvalidEventError } from "../src/errors";

/**
 * Every fixture under test/fixtures/cloudtrail, with its expected result: one line per rule
 * change (direction, group, protocol, ports, peer, rule id), or the ignore reason, or the JSON
 * path of an invalid event. The shared captures (real, redacted, semi-synthetic and partial)
 * are kept verbatim; the rest are sanitised edge cases (account 123456789012, documentation
 * addresses). A fixture without an entry here fails the suite.
 */
const EXPECTED: Record<string, string | readonly string[]> = {
  "AuthorizeSecurityGroupEgress/detail_ec2-instance-role_cidrIp_elastic": [
    "egress sg-038ccc3a1f7b05f42 tcp 4444-4444 cidr:73.21.4.36/32 sgr-02bdc373eac599585",
  ],
  "AuthorizeSecurityGroupEgress/detail_panther_terraform_protocol-minus1_no-ports": [
    "egress sg-03eee825d6bb78f54 -1 all cidr:0.0.0.0/0 -",
  ],
  "AuthorizeSecurityGroupEgress/request-parameters-omitted_oversize_ruleset-holds-the-rules": [
    "egress sg-0a1b2c3d4e5f60001 tcp 25-25 cidr:0.0.0.0/0 sgr-0900000000bige25",
    "egress sg-0a1b2c3d4e5f60001 udp 53-53 cidr:0.0.0.0/0 sgr-0900000000bige53",
  ],
  "AuthorizeSecurityGroupEgress/two-items_prefix-list-and-cidr_ruleset-egress": [
    "egress sg-0a1b2c3d4e5f60001 tcp 443-443 pl:pl-0fedcba9876543210 sgr-0b000000000eg443",
    "egress sg-0a1b2c3d4e5f60001 udp 53-53 cidr:0.0.0.0/0 sgr-0b000000000eg053",
  ],
  "AuthorizeSecurityGroupIngress/FRAGMENT_protocol-minus1_ruleset-ports-minus1_c7n-issue-9656":
    "invalid: detail",
  "AuthorizeSecurityGroupIngress/aws-service-caller_minimal-userIdentity_invokedBy": [
    "ingress sg-0a1b2c3d4e5f60001 tcp 443-443 cidr:192.0.2.0/24 sgr-0700000000svc001",
  ],
  "AuthorizeSecurityGroupIngress/cross-account-caller_assumed-role": [
    "ingress sg-0a1b2c3d4e5f60001 tcp 22-22 cidr:198.51.100.0/24 sgr-0800000000xac001",
  ],
  "AuthorizeSecurityGroupIngress/iamuser_crafted-path_x-role_guardrail-remediator": [
    "ingress sg-0a1b2c3d4e5f60001 tcp 22-22 cidr:0.0.0.0/0 sgr-0e00000000craft1",
  ],
  "AuthorizeSecurityGroupIngress/detail_assumedrole-console_cidrIp_2025": [
    "ingress sg-0632fa4ee8a8468a4 tcp 22-22 cidr:0.0.0.0/0 sgr-09be5c962afdc06ed",
  ],
  "AuthorizeSecurityGroupIngress/detail_iamuser-cli_cidrIp_elastic": [
    "ingress sg-0f63fecfa17ef4fee tcp 22-22 cidr:203.0.113.0/24 sgr-027eb7c59241731e0",
  ],
  "AuthorizeSecurityGroupIngress/detail_iamuser_LEGACY-FLAT-cidrIp-ipProtocol-ports_ipPermissions-empty_stratus":
    ["ingress sg-003dc7f1f1c686164 tcp 22-22 cidr:0.0.0.0/0 sgr-09b3e3d2ca1edf2a2"],
  "AuthorizeSecurityGroupIngress/detail_panther_console_ports-as-strings_NORMALIZED": [
    "ingress sg-04f0b44316f7d2471 tcp 443-443 cidr:0.0.0.0/16 -",
  ],
  "AuthorizeSecurityGroupIngress/detail_panther_go-sdk": [
    "ingress sg-0d921df5d84f7270a tcp 22-22 cidr:0.0.0.0/0 -",
  ],
  "AuthorizeSecurityGroupIngress/envelope_2019_no-recipientAccountId_no-ruleset_two-items": [
    "ingress sg-0a1b2c3d4e5f60001 tcp 80-80 cidr:0.0.0.0/0 -",
    "ingress sg-0a1b2c3d4e5f60001 tcp 443-443 cidr:::/0 -",
  ],
  "AuthorizeSecurityGroupIngress/eventbridge_cfn-invokedBy_referenced-group_1": [
    "ingress sg-01f414f5313452cd1 tcp 1521-1521 sg:sg-000537769a1c2d858@770203350335 sgr-02e2ca7d55820dc26",
  ],
  "AuthorizeSecurityGroupIngress/eventbridge_cfn-invokedBy_referenced-group_2": [
    "ingress sg-01f414f5313452cd1 tcp 1521-1521 sg:sg-0e4d6b8a99395a608@770203350335 sgr-052f232f61106d4c4",
  ],
  "AuthorizeSecurityGroupIngress/eventbridge_root-console_cidrIp": [
    "ingress sg-012498864e98e1916 tcp 25-25 cidr:0.0.0.0/0 sgr-0e802a56a6c63d2ba",
  ],
  "AuthorizeSecurityGroupIngress/eventbridge_root-console_ipv4+ipv6-same-item_2021_no-ruleset": [
    "ingress sg-0db7d4784c4db8612 tcp 22-22 cidr:0.0.0.0/0 -",
    "ingress sg-0db7d4784c4db8612 tcp 22-22 cidr:::/0 -",
  ],
  "AuthorizeSecurityGroupIngress/failed_client-dry-run-operation": "ignored: failed-call",
  "AuthorizeSecurityGroupIngress/failed_client-invalid-permission-duplicate_response-null":
    "ignored: failed-call",
  "AuthorizeSecurityGroupIngress/failed_server-unavailable_response-null": "ignored: failed-call",
  "AuthorizeSecurityGroupIngress/group-name-form_default-vpc_groupId-only-in-ruleset": [
    "ingress sg-0a1b2c3d4e5f60001 tcp 80-80 cidr:192.0.2.0/24 sgr-0f00000000name01",
    "ingress sg-0a1b2c3d4e5f60001 tcp 8080-8080 sg:sg-0a1b2c3d4e5f6app1@123456789012 sgr-0f00000000name02",
  ],
  "AuthorizeSecurityGroupIngress/host-bits-set_ruleset-canonicalised": [
    "ingress sg-0a1b2c3d4e5f60001 tcp 443-443 cidr:203.0.113.0/24 sgr-0600000000can004",
    "ingress sg-0a1b2c3d4e5f60001 tcp 443-443 cidr:2001:db8::/64 sgr-0600000000can006",
  ],
  "AuthorizeSecurityGroupIngress/icmp-echo-request_type8-any-code": [
    "ingress sg-0a1b2c3d4e5f60001 icmp icmp:8/-1 cidr:0.0.0.0/0 sgr-0300000000icmp01",
  ],
  "AuthorizeSecurityGroupIngress/icmpv6-all-types_ports-minus1": [
    "ingress sg-0a1b2c3d4e5f60001 icmpv6 icmp:-1/-1 cidr:2001:db8::/32 sgr-0300000000icmp61",
  ],
  "AuthorizeSecurityGroupIngress/ipv4-and-ipv6-same-item_with-ruleset": [
    "ingress sg-0a1b2c3d4e5f60001 tcp 443-443 cidr:0.0.0.0/0 sgr-0c0000000000ipv4",
    "ingress sg-0a1b2c3d4e5f60001 tcp 443-443 cidr:::/0 sgr-0c0000000000ipv6",
  ],
  "AuthorizeSecurityGroupIngress/ipv4-mapped-ipv6-world_no-ruleset_tcp-22": [
    "ingress sg-0a1b2c3d4e5f60001 tcp 22-22 cidr:0.0.0.0/0 -",
  ],
  "AuthorizeSecurityGroupIngress/items-form_tcp-22_same-rule-as-legacy-flat": [
    "ingress sg-0a1b2c3d4e5f60001 tcp 22-22 cidr:0.0.0.0/0 sgr-0a00000000same01",
  ],
  "AuthorizeSecurityGroupIngress/legacy-flat_source-security-group-name_full-tcp-udp-icmp": [
    "ingress sg-0a1b2c3d4e5f60001 tcp 0-65535 sg:sg-0a1b2c3d4e5f6app1@123456789012 sgr-010000000flat0t1",
    "ingress sg-0a1b2c3d4e5f60001 udp 0-65535 sg:sg-0a1b2c3d4e5f6app1@123456789012 sgr-010000000flat0u1",
    "ingress sg-0a1b2c3d4e5f60001 icmp icmp:-1/-1 sg:sg-0a1b2c3d4e5f6app1@123456789012 sgr-010000000flat0i1",
  ],
  "AuthorizeSecurityGroupIngress/legacy-flat_tcp-22_same-rule-as-items-form": [
    "ingress sg-0a1b2c3d4e5f60001 tcp 22-22 cidr:0.0.0.0/0 sgr-0a00000000same01",
  ],
  "AuthorizeSecurityGroupIngress/ports-as-strings_ruleset-numbers": [
    "ingress sg-0a1b2c3d4e5f60001 tcp 8080-8081 cidr:198.51.100.0/24 sgr-0200000000str001",
  ],
  "AuthorizeSecurityGroupIngress/prefix-list-peer_ruleset": [
    "ingress sg-0a1b2c3d4e5f60001 tcp 5432-5432 pl:pl-0123456789abcdef0 sgr-0d00000000000pl1",
  ],
  "AuthorizeSecurityGroupIngress/protocol-minus1_no-ports_ruleset-ports-minus1": [
    "ingress sg-0a1b2c3d4e5f60001 -1 all cidr:0.0.0.0/0 sgr-0500000000all001",
  ],
  "AuthorizeSecurityGroupIngress/protocol-number-50-esp_no-ports_ruleset-minus1": [
    "ingress sg-0a1b2c3d4e5f60001 50 all cidr:203.0.113.10/32 sgr-0400000000esp001",
  ],
  "AuthorizeSecurityGroupIngress/referenced-group_cross-account": [
    "ingress sg-0a1b2c3d4e5f60001 tcp 8443-8443 sg:sg-0fedcba9876540001@210987654321 sgr-0e000000000xacc1",
  ],
  "AuthorizeSecurityGroupIngress/request-parameters-omitted_oversize": "invalid: requestParameters",
  "AuthorizeSecurityGroupIngress/request-parameters-omitted_oversize_ruleset-holds-the-rules": [
    "ingress sg-0a1b2c3d4e5f60001 tcp 22-22 cidr:0.0.0.0/0 sgr-0900000000big001",
    "ingress sg-0a1b2c3d4e5f60001 tcp 443-443 cidr:::/0 sgr-0900000000big002",
    "ingress sg-0a1b2c3d4e5f60001 tcp 5432-5432 pl:pl-0123456789abcdef0 sgr-0900000000big003",
    "ingress sg-0a1b2c3d4e5f60001 tcp 8443-8443 sg:sg-0fedcba9876540001@210987654321 sgr-0900000000big004",
  ],
  "AuthorizeSecurityGroupIngress/requestParameters-only_console2017_two-items_protocol-minus1_ports-0-65535_ipv6":
    "invalid: eventName",
  "AuthorizeSecurityGroupIngress/return-false_nothing-changed": "ignored: no-change",
  "AuthorizeSecurityGroupIngress/two-cidrs-one-item_ruleset-swapped-order": [
    "ingress sg-0a1b2c3d4e5f60001 tcp 22-22 cidr:203.0.113.0/24 sgr-0a0000000000ofc1",
    "ingress sg-0a1b2c3d4e5f60001 tcp 22-22 cidr:198.51.100.0/24 sgr-0b00000000000vpn1",
  ],
  "CreateNetworkAclEntry/deny_udp-17_port-range-as-strings": [
    "nacl acl-0a1b2c3d4e5f60001 #90 egress deny udp 53-53 203.0.113.0/24 create",
  ],
  "CreateNetworkAclEntry/detail_panther_all-protocols-minus1_egress": [
    "nacl acl-1 #500 egress allow -1 all 0.0.0.0/0 create",
  ],
  "CreateNetworkAclEntry/detail_panther_errorCode-only": "ignored: failed-call",
  "CreateNetworkAclEntry/detail_panther_tcp-6_portRange_ingress": [
    "nacl acl-1111 #12 ingress allow tcp 700-702 0.0.0.0/0 create",
  ],
  "CreateNetworkAclEntry/icmp-1_echo-request-type8_cidrBlock": [
    "nacl acl-0a1b2c3d4e5f60001 #120 ingress allow icmp icmp:8/-1 0.0.0.0/0 create",
  ],
  "CreateNetworkAclEntry/ipv6CidrBlock_icmpv6-58_any-type-any-code": [
    "nacl acl-0a1b2c3d4e5f60001 #110 ingress allow icmpv6 icmp:-1/-1 ::/0 create",
  ],
  "CreateNetworkAclEntry/protocol-50_portRange-ignored": [
    "nacl acl-0a1b2c3d4e5f60001 #130 ingress allow 50 all 198.51.100.0/24 create",
  ],
  "CreateSecurityGroup/detail_panther_terraform": "ignored: unhandled-event",
  "CreateSecurityGroup/eventbridge_root-console_AWS-KnowledgeCenter-sample_TRUNCATED":
    "ignored: unhandled-event",
  "CreateSecurityGroup/tag-specifications_exemption-tag": "ignored: unhandled-event",
  "CreateTags/assumed-role-approver_exemption-tag_two-groups": "ignored: unhandled-event",
  "CreateTags/iamuser-cli_exemption-tag_no-rules": "ignored: unhandled-event",
  "DeleteTags/iamuser-cli_exemption-tag": "ignored: unhandled-event",
  "DeleteNetworkAclEntry/detail_iamuser-cli_elastic": [
    "nacl acl-0af9cb843511d66d4 #100 ingress deleted",
  ],
  "DescribeSecurityGroups/readOnly-true": "ignored: read-only",
  "ReplaceNetworkAclAssociation/subnet-moved_cli": [
    "nacl acl-0b2c3d4e5f6a70002 associated aclassoc-0a1b2c3d4e5f60001 -> aclassoc-0a1b2c3d4e5f60009",
  ],
  "ModifyManagedPrefixList/camelCase-variant_addEntry-items_removeEntry-items": [
    "prefix-list pl-0123456789abcdef0 +192.0.2.0/25 -192.0.2.128/25",
  ],
  "ModifyManagedPrefixList/rename-only_no-entries": "ignored: no-change",
  "ModifyManagedPrefixList/wrapper_add-and-remove_object-form": [
    "prefix-list pl-0123456789abcdef0 +198.51.100.0/24 -203.0.113.0/24",
  ],
  "ModifyManagedPrefixList/wrapper_add-array_two-entries_ipv6": [
    "prefix-list pl-0fedcba9876543210 +2001:db8:1::/48 +::/0",
  ],
  "ModifySecurityGroupRules/requestParameters-only_live-shape_placeholder-ids":
    "invalid: eventName",
  "ModifySecurityGroupRules/wrapper_array-form_two-rules_ipv6-and-referenced-group": [
    "unknown sg-0a1b2c3d4e5f60001 tcp 443-443 cidr:::/0 sgr-0c0000000mod0002",
    "unknown sg-0a1b2c3d4e5f60001 -1 all sg:sg-0a1b2c3d4e5f6app1 sgr-0c0000000mod0003",
  ],
  "ModifySecurityGroupRules/wrapper_object-form_single-rule": [
    "unknown sg-0a1b2c3d4e5f60001 tcp 22-22 cidr:0.0.0.0/0 sgr-0c0000000mod0001",
  ],
  "ModifySecurityGroupRules/wrapper_prefix-list_ports-as-strings": [
    "unknown sg-0a1b2c3d4e5f60001 udp 5000-5010 pl:pl-0123456789abcdef0 sgr-0c0000000mod0004",
  ],
  "ReplaceNetworkAclEntry/tcp-6_ssh-from-world_replaces-rule-100": [
    "nacl acl-0a1b2c3d4e5f60001 #100 ingress allow tcp 22-22 0.0.0.0/0 replace",
  ],
  // The summary shows no entries; normalise.edge-cases checks restoredVersion.
  "TagResources/assumed-role-cli_security-group-arn": "ignored: unhandled-event",
  "UntagResources/iamuser-cli_security-group-arn": "ignored: unhandled-event",
  "RestoreManagedPrefixListVersion/camelCase-variant_previousVersion-number": [
    "prefix-list pl-0fedcba9876543210",
  ],
  "RestoreManagedPrefixListVersion/wrapper_previous-version-as-string": [
    "prefix-list pl-0123456789abcdef0",
  ],
  "RevokeSecurityGroupIngress/default-vpc_unknownIpPermissionSet_return-true":
    "ignored: restrictive",
  "RevokeSecurityGroupIngress/eventbridge_iamuser-console-invokedBy-signin_2019":
    "ignored: restrictive",
  "RevokeSecurityGroupIngress/rule-ids-only_securityGroupRuleIds": "ignored: restrictive",
  "RunInstances/EC2-error-shape_Client.UnauthorizedOperation_assumedrole_stratus":
    "ignored: failed-call",
};

const fixtures = listFixtures();

describe("CloudTrail fixtures", () => {
  it("has an expectation for every fixture file and a file for every expectation", () => {
    expect(fixtures.map((f) => f.id).sort()).toEqual(Object.keys(EXPECTED).sort());
  });

  it("holds every shared capture (22) and at least 25 sanitised edge cases of our own", () => {
    const shared = fixtures.filter((f) =>
      /^(detail|eventbridge|requestParameters|FRAGMENT|EC2-error)/.test(f.caseName),
    );
    expect(shared).toHaveLength(22);
    expect(fixtures.length - shared.length).toBeGreaterThanOrEqual(25);
  });

  it.each(fixtures)("normalises $id as expected", ({ id, eventName, caseName }) => {
    const result = normalise(loadFixture(eventName, caseName));
    expect(summariseResult(result)).toEqual(EXPECTED[id]);
    if (result.status === "invalid") expect(result.error).toBeInstanceOf(InvalidEventError);
  });

  it.each(fixtures)("reads $id the same from its JSON text", ({ eventName, caseName }) => {
    const fromObject = normalise(loadFixture(eventName, caseName));
    const fromText = normalise(loadFixtureText(eventName, caseName));
    expect(fromText).toEqual(fromObject);
  });

  it.each(fixtures)("does not mutate $id", ({ eventName, caseName }) => {
    const event = loadFixture(eventName, caseName);
    normalise(event);
    expect(event).toEqual(loadFixture(eventName, caseName));
  });

  it("gives every handled event its CloudTrail eventID, account and region", () => {
    for (const f of fixtures) {
      const result = normalise(loadFixture(f.eventName, f.caseName));
      if (result.status !== "handled") continue;
      expect(result.event.eventId, f.id).toMatch(/\S/);
      expect(result.event.account, f.id).toMatch(/^\d+$/);
      expect(result.event.region, f.id).toMatch(/^[a-z]+-[a-z]+-\d+[a-z]?$/);
      expect(result.event.eventName, f.id).toBe(f.eventName);
    }
  });
});
