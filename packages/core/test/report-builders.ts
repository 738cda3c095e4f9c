import {
  type Action,
  type ActionOutcome,
  type Actor,
  buildDecision,
  type Decision,
  type DecisionInput,
  type Evaluation,
  type EventMeta,
  type Finding,
  type NetworkAclEntryChange,
  parseCidr,
  type SecurityGroupRuleChange,
} from "../src/index";
import { ACL } from "./policy-builders";

/** The network ACL of the captured console change, as policy-builders.ts names it. */
export { ACL };

/*
 * The decision the report tests render (audit record, SNS message, Slack, Security Hub): one
 * console change by a real-looking caller, the changes it carried and the findings on them.
 * Unlike policy-builders.ts, the change builders take the change's own fields as overrides.
 */

export const GROUP = "sg-0632fa4ee8a8468a4";
export const RULE_ID = "sgr-09be5c962afdc06ed";
export const DECIDED_AT = new Date("2025-06-15T10:51:14.250Z");

export const actor: Actor = {
  arn: "arn:aws:sts::776520358045:assumed-role/voclabs/user289515=Jia_Jia",
  type: "AssumedRole",
  accountId: "776520358045",
  sessionIssuerArn: "arn:aws:iam::776520358045:role/voclabs",
  invokedBy: null,
  sourceIp: "112.119.155.35",
  userAgent: "Mozilla/5.0",
  console: true,
};

export const event: EventMeta = {
  eventId: "2aae5c69-4eaf-490d-b022-fd622c12a717",
  eventName: "AuthorizeSecurityGroupIngress",
  eventTime: "2025-06-15T10:51:12Z",
  account: "776520358045",
  region: "us-east-1",
  actor,
};

/** The same caller replacing a network-ACL entry. */
export const aclEvent: EventMeta = { ...event, eventName: "ReplaceNetworkAclEntry" };

/** Ingress tcp 22 from 0.0.0.0/0 on {@link GROUP}, rule {@link RULE_ID}, unless told. */
export function sgRule(over: Partial<SecurityGroupRuleChange> = {}): SecurityGroupRuleChange {
  return {
    kind: "security-group-rule",
    groupId: GROUP,
    direction: "ingress",
    protocol: "tcp",
    ports: { from: 22, to: 22 },
    icmp: null,
    peer: { kind: "cidr", cidr: parseCidr("0.0.0.0/0") },
    ruleId: RULE_ID,
    ...over,
  };
}

/** A replaced ingress entry #100 allowing tcp 3389 from 0.0.0.0/0 on {@link ACL}, unless told. */
export function naclEntry(over: Partial<NetworkAclEntryChange> = {}): NetworkAclEntryChange {
  return {
    kind: "network-acl-entry",
    networkAclId: ACL,
    ruleNumber: 100,
    egress: false,
    ruleAction: "allow",
    protocol: "tcp",
    ports: { from: 3389, to: 3389 },
    icmp: null,
    cidr: parseCidr("0.0.0.0/0"),
    operation: "replace",
    ...over,
  };
}

/** An enforced critical admin-ports finding on `change`, unless told. */
export function finding(change: Finding["change"], over: Partial<Finding> = {}): Finding {
  return {
    rule: "admin-ports",
    mode: "enforce",
    severity: "critical",
    reason: "tcp 22 open to 0.0.0.0/0 (public, wide)",
    change,
    ...over,
  };
}

/** The revoke of {@link sgRule}'s rule by its id. */
export const revokeById = {
  type: "revoke-security-group-rules",
  groupId: GROUP,
  direction: "ingress",
  ruleIds: [RULE_ID],
} satisfies Action;

export function evaluation(findings: Finding[], waived: Finding[] = []): Evaluation {
  return { outcome: findings.length > 0 ? "violation" : "exempt", findings, waived };
}

/** `buildDecision` for a test that needs a decision (it returns null when nothing was found). */
export function decisionOf(
  input: Pick<DecisionInput, "evaluation"> & Partial<DecisionInput>,
): Decision {
  const d = buildDecision({
    source: "event",
    outcomes: [],
    decidedAt: DECIDED_AT,
    guardrailVersion: "0.1.0",
    policyId: "3f2a9c81d0e4",
    ...input,
  });
  if (!d) throw new Error("expected a decision");
  return d;
}

/** The decision on {@link event} with these findings, outcomes and waived findings. */
export function decide(
  findings: Finding[],
  outcomes: ActionOutcome[] = [],
  waived: Finding[] = [],
  on: EventMeta = event,
): Decision {
  return decisionOf({ event: on, evaluation: evaluation(findings, waived), outcomes });
}
