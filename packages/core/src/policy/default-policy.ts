/**
 * What the two blocked-network rules (security groups, network ACLs) say after their kind and
 * description: written once so that they cannot drift apart. The text is what ships (its bytes
 * are the policy id).
 */
const BLOCKED_NETWORK_RULE = `    label: blocked network
    mode: enforce
    severity: critical
    options:
      direction: ingress
      peers: [blocked]`;

/**
 * The policy the product ships with, as commented YAML a user can copy and edit.
 * Every field is documented in docs/policy.md.
 *
 * @example
 * writeFileSync("guardrail.policy.yaml", DEFAULT_POLICY_YAML); // a starting point to edit
 */
export const DEFAULT_POLICY_YAML = `# aws-network-guardrail policy (the shipped default).
# Copy it to guardrail.policy.yaml, edit it, and check it with \`guardrail validate\`.
# Every field is documented in docs/policy.md.
version: 1

# A peer CIDR is trusted when it lies wholly inside a trusted or office network, special-purpose
# when wholly inside loopback, link-local, multicast and the like, and public otherwise.
# Blocked networks are flagged whatever else applies.
networks:
  trusted:
    - 10.0.0.0/8 # RFC 1918
    - 172.16.0.0/12 # RFC 1918
    - 192.168.0.0/16 # RFC 1918
    - 100.64.0.0/10 # RFC 6598 shared address space (carrier-grade NAT)
    - fc00::/7 # IPv6 unique local addresses
  office:
    - 203.0.113.0/24
    - 2001:db8:1234::/48
  blocked:
    - 198.51.100.0/24

# A public CIDR is wide when its prefix is shorter than these; a rule is broad when its
# protocol is all (-1) or its port range spans more than broadPortCount ports.
thresholds:
  wideIpv4Prefix: 24
  wideIpv6Prefix: 48
  broadPortCount: 1024

# The guardrail's own roles are never evaluated (loop guard). The deployment adds its role
# ARNs; add patterns here for anything else that must never be judged.
guardrail:
  ownPrincipals: []

# Exemptions for every rule. A security group tagged
#   guardrail-exempt = "reason=python app demo;expires=2026-12-31;rules=internet-exposure"
# is exempt until the end of that day (UTC), for the listed rules only, when an approver set
# the tag (see tagExemptions) and the rules are tagExemptable.
exemptions:
  tagKey: guardrail-exempt

# A tag exemption is an approval. Only tagging by these principals counts (IAM ArnLike
# patterns), the expiry may be at most maxDays after the tag was set, and only rules marked
# tagExemptable may be waived by a tag. Everything else needs an entry above, in this file.
tagExemptions:
  maxDays: 30
  approvers: []

rules:
  - id: blocked-sources
    kind: security-group-peers
    description: Nothing may be opened to a blocked network, on any port.
${BLOCKED_NETWORK_RULE}

  - id: admin-ports
    kind: security-group-ports
    description: SSH and RDP must not be reachable from public addresses, narrow or wide.
    label: admin port
    mode: enforce
    severity: critical
    options:
      direction: ingress
      peers: [public]
      ports: [tcp/22, tcp/3389, udp/3389]

  - id: internet-exposure
    kind: security-group-exposure
    description: Wide public ranges may reach only web ports and path-MTU discovery.
    label: internet exposure
    mode: enforce
    severity: high
    tagExemptable: true
    options:
      direction: ingress
      peers: [public-wide]
      allow: [tcp/80, tcp/443, udp/443, icmp/3:4, icmpv6/2]

  # Protocol all (-1) egress is AWS's default rule: not matched.
  - id: smtp-egress
    kind: security-group-ports
    description: Outbound SMTP to public addresses is how compromised hosts send spam.
    label: SMTP egress
    mode: enforce
    whenBroad: notify
    severity: medium
    tagExemptable: true
    options:
      direction: egress
      peers: [public]
      ports: [tcp/25]
      includeProtocolAll: false

  - id: nacl-admin-ports
    kind: network-acl-ports
    description: Network ACLs must not allow SSH or RDP from public addresses.
    label: admin port
    mode: enforce
    whenBroad: notify
    severity: critical
    options:
      direction: ingress
      peers: [public]
      ports: [tcp/22, tcp/3389, udp/3389]

  - id: nacl-smtp-egress
    kind: network-acl-ports
    description: Network ACLs must not allow outbound SMTP to public addresses.
    label: SMTP egress
    mode: enforce
    whenBroad: notify
    severity: medium
    options:
      direction: egress
      peers: [public]
      ports: [tcp/25]
      includeProtocolAll: false

  - id: nacl-blocked-sources
    kind: network-acl-peers
    description: Network ACLs must not allow traffic from a blocked network.
${BLOCKED_NETWORK_RULE}
`;
