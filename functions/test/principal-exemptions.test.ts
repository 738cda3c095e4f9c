import { LookupFailedError } from "@guardrail/aws";
import "./setup";
import {
  CreateNetworkAclEntryCommand,
  DeleteNetworkAclEntryCommand,
  DescribeNetworkAclsCommand,
  DescribeSecurityGroupRulesCommand,
  GetManagedPrefixListAssociationsCommand,
  GetManagedPrefixListEntriesCommand,
  RevokeSecurityGroupIngressCommand,
} from "@aws-sdk/client-ec2";
import { PublishCommand } from "@aws-sdk/client-sns";
import { PutCommand, QueryCommand } from "@aws-sdk/lib-dynamodb";
import {
  AUDIT_TABLE,
  AUDIT_TRAIL_ACTIONS,
  DEFAULT_POLICY_YAML,
  FUNCTION_DATA_ACCESS,
} from "@guardrail/core";
import { functionStatements } from "@guardrail/templates";
import { beforeEach, describe, expect, it } from "vitest";
import { loadFixture } from "../../test/fixtures/load";
import { networkAclChange } from "../src/pipelines/network-acl-change";
import { prefixListChange } from "../src/pipelines/prefix-list-change";
import { securityGroupChange } from "../src/pipelines/security-group-change";
import { type SweepDeps, sweep } from "../src/pipelines/sweep";
import {
  aclWithSshFromWorld,
  awsError,
  BREAK_GLASS,
  breakGlassIdentity,
  GROUP,
  LIST,
  BREAK_GLASS_POLICY as POLICY,
  RULE,
  sshFromWorld,
  sshFromWorldRule,
  testDeps,
} from "./helpers";
import { acceptRemediation, ddb, ec2, mockAwsPerTest, sns } from "./support/aws-mocks";

/** tcp 22 from 0.0.0.0/0 on GROUP (rule RULE), opened through the break-glass role. */
function breakGlassOpensSsh() {
  return sshFromWorld({ userIdentity: breakGlassIdentity() });
}

const scheduled = {
  id: "run-1",
  "detail-type": "Scheduled Event",
  account: "123456789012",
  region: "eu-west-1",
};

function sweepDeps(policyYaml = POLICY): SweepDeps {
  return {
    ...testDeps({ fn: "sweep", policyYaml, now: new Date("2024-11-05T10:30:00.000Z") }),
    identity: async () => ({ account: "123456789012", region: "eu-west-1" }),
  };
}

/** The audit item the event path wrote for the break-glass change, as the trail returns it. */
async function recordedByEventPath(): Promise<Record<string, unknown>> {
  const result = await securityGroupChange(breakGlassOpensSsh(), testDeps({ policyYaml: POLICY }));
  expect(result).toMatchObject({ status: "decided", result: "exempt" });
  expect(ec2).not.toHaveReceivedCommand(RevokeSecurityGroupIngressCommand);
  const item = ddb.commandCalls(PutCommand)[0]?.args[0].input.Item;
  if (!item) throw new Error("the event path recorded nothing");
  ddb.resetHistory();
  ec2.resetHistory();
  sns.resetHistory();
  return item;
}

/** What the by-resource index answers, newest first. */
function trail(...items: Record<string, unknown>[]) {
  ddb.on(QueryCommand, { IndexName: AUDIT_TABLE.byResource.indexName }).resolves({ Items: items });
}

function summary() {
  const call = sns.commandCalls(PublishCommand)[0];
  return JSON.parse(call?.args[0].input.Message ?? "null");
}

mockAwsPerTest(() => {
  acceptRemediation({ groups: [GROUP] });
  ec2.on(DescribeSecurityGroupRulesCommand).resolves({ SecurityGroupRules: [sshFromWorldRule()] });
  ec2.on(DescribeNetworkAclsCommand).resolves({ NetworkAcls: [] });
});

describe("sweep: principal exemptions from the audit trail", () => {
  it("keeps a rule the break-glass role opened, as the event path did", async () => {
    trail(await recordedByEventPath());
    const result = await sweep(scheduled, sweepDeps());
    expect(ec2).not.toHaveReceivedCommand(RevokeSecurityGroupIngressCommand);
    expect(ddb).toHaveReceivedCommandWith(QueryCommand, {
      IndexName: "byResource",
      KeyConditionExpression: "#pk = :pk",
      ExpressionAttributeValues: { ":pk": `RESOURCE#${GROUP}`, ":event": "event" },
      ScanIndexForward: false,
    });
    expect(result.counts).toMatchObject({ revoked: 0, exempt: 2 });
    const [finding] = summary().findings;
    expect(finding).toMatchObject({ result: "exempt", exemption: { kind: "principal" } });
    expect(finding.exemption.reason).toContain("break-glass role, paged on use");
    expect(finding.exemption.reason).toContain("read from the audit trail");
  });

  it("keeps a network-ACL entry the break-glass role created", async () => {
    const event = loadFixture("ReplaceNetworkAclEntry", "tcp-6_ssh-from-world_replaces-rule-100");
    event.detail.eventName = "CreateNetworkAclEntry";
    event.detail.userIdentity = breakGlassOpensSsh().userIdentity;
    // The function reads the ACL the event left before it judges.
    ec2.on(DescribeNetworkAclsCommand).resolves(aclWithSshFromWorld());
    const created = await networkAclChange(
      event,
      testDeps({ fn: "network-acl-change", policyYaml: POLICY }),
    );
    expect(created).toMatchObject({ result: "exempt" });
    const item = ddb.commandCalls(PutCommand)[0]?.args[0].input.Item as Record<string, unknown>;
    ddb.resetHistory();
    trail(item);
    ec2.on(DescribeSecurityGroupRulesCommand).resolves({ SecurityGroupRules: [] });
    ec2.on(DescribeNetworkAclsCommand).resolves(aclWithSshFromWorld());
    const result = await sweep(scheduled, sweepDeps());
    expect(ec2).not.toHaveReceivedCommand(DeleteNetworkAclEntryCommand);
    expect(result.counts).toMatchObject({ exempt: 1, revoked: 0 });
  });

  it("keeps that entry when someone else deletes another entry of the ACL", async () => {
    ec2.on(DescribeNetworkAclsCommand).resolves(aclWithSshFromWorld());
    const create = loadFixture("ReplaceNetworkAclEntry", "tcp-6_ssh-from-world_replaces-rule-100");
    create.detail.eventName = "CreateNetworkAclEntry";
    create.detail.userIdentity = breakGlassOpensSsh().userIdentity;
    const deps = () => testDeps({ fn: "network-acl-change", policyYaml: POLICY });
    expect(await networkAclChange(create, deps())).toMatchObject({ result: "exempt" });
    const item = ddb.commandCalls(PutCommand)[0]?.args[0].input.Item as Record<string, unknown>;
    ddb.resetHistory();
    sns.resetHistory();
    ec2.resetHistory();
    trail(item);
    // Alice deletes an unrelated entry: entry 100 is judged without her, the trail exempts it.
    const deleted = loadFixture("DeleteNetworkAclEntry", "detail_iamuser-cli_elastic");
    deleted.requestParameters = {
      egress: false,
      networkAclId: "acl-0a1b2c3d4e5f60001",
      ruleNumber: 300,
    };
    // The same account and Region as the entry's own event.
    deleted.recipientAccountId = create.detail.recipientAccountId;
    deleted.awsRegion = create.detail.awsRegion;
    const result = await networkAclChange(deleted, deps());
    expect(ec2).not.toHaveReceivedCommand(DeleteNetworkAclEntryCommand);
    expect(result).toMatchObject({ status: "decided", result: "exempt" });
    expect(summary().findings[0].exemption.reason).toContain("read from the audit trail");
  });

  it("does not exempt an entry because the break-glass role deleted the deny before it", async () => {
    ec2.on(DescribeNetworkAclsCommand).resolves(aclWithSshFromWorld());
    trail();
    const deleted = loadFixture("DeleteNetworkAclEntry", "detail_iamuser-cli_elastic");
    deleted.requestParameters = {
      egress: false,
      networkAclId: "acl-0a1b2c3d4e5f60001",
      ruleNumber: 90,
    };
    deleted.userIdentity = breakGlassOpensSsh().userIdentity;
    const result = await networkAclChange(
      deleted,
      testDeps({ fn: "network-acl-change", policyYaml: POLICY }),
    );
    expect(result).toMatchObject({ status: "decided", result: "revoked" });
    // Remediated by the planner: tcp 22 denied before 100 (the VPC and office ranges keep it).
    expect(ec2).toHaveReceivedCommandWith(CreateNetworkAclEntryCommand, {
      RuleNumber: 99,
      RuleAction: "deny",
    });
  });

  it("revokes it once someone else has changed the rule since", async () => {
    const exempt = await recordedByEventPath();
    // A later ModifySecurityGroupRules by alice, recorded as notify-only (not exempt).
    const later = {
      ...exempt,
      id: "later",
      eventId: "later",
      eventName: "ModifySecurityGroupRules",
      actor: { ...(exempt.actor as object), arn: "arn:aws:iam::123456789012:user/alice" },
      result: "notify-only",
      findings: (exempt.findings as { exemption?: unknown }[]).map(({ exemption: _e, ...f }) => ({
        ...f,
        result: "notify-only",
      })),
    };
    trail(later, exempt);
    await sweep(scheduled, sweepDeps());
    expect(ec2).toHaveReceivedCommandExactlyOnceWith(RevokeSecurityGroupIngressCommand, {
      GroupId: GROUP,
      SecurityGroupRuleIds: [RULE],
    });
  });

  it("revokes it when the rule no longer is what the exempt principal opened", async () => {
    trail(await recordedByEventPath());
    ec2
      .on(DescribeSecurityGroupRulesCommand)
      .resolves({ SecurityGroupRules: [sshFromWorldRule({ FromPort: 3389, ToPort: 3389 })] });
    await sweep(scheduled, sweepDeps());
    expect(ec2).toHaveReceivedCommandTimes(RevokeSecurityGroupIngressCommand, 1);
  });

  it("ignores an exempt decision recorded for another account", async () => {
    const item = await recordedByEventPath();
    trail({ ...item, account: "210987654321" });
    await sweep(scheduled, sweepDeps());
    expect(ec2).toHaveReceivedCommandTimes(RevokeSecurityGroupIngressCommand, 1);
  });

  it("revokes it when the policy no longer exempts that principal", async () => {
    trail(await recordedByEventPath());
    const withOther = POLICY.replace(BREAK_GLASS, "arn:aws:iam::*:role/other-role");
    await sweep(scheduled, sweepDeps(withOther));
    expect(ec2).toHaveReceivedCommandTimes(RevokeSecurityGroupIngressCommand, 1);
  });

  it("only notifies, and fails the run, when the trail cannot be read", async () => {
    ddb
      .on(QueryCommand, { IndexName: AUDIT_TABLE.byResource.indexName })
      .rejects(awsError("ProvisionedThroughputExceededException", "slow down", "server"));
    await expect(sweep(scheduled, sweepDeps())).rejects.toMatchObject({
      code: "AUDIT_WRITE_FAILED",
    });
    expect(ec2).not.toHaveReceivedCommand(RevokeSecurityGroupIngressCommand);
    const findings = summary().findings as { result: string; reason: string }[];
    expect(findings.every((f) => f.result === "notify-only")).toBe(true);
    expect(findings[0]?.reason).toContain("audit trail could not be read");
  });

  it("reads no trail when the policy has no principal exemption", async () => {
    await sweep(scheduled, sweepDeps(DEFAULT_POLICY_YAML));
    expect(ddb).not.toHaveReceivedCommandWith(QueryCommand, {
      IndexName: AUDIT_TABLE.byResource.indexName,
    });
    expect(ec2).toHaveReceivedCommandTimes(RevokeSecurityGroupIngressCommand, 1);
  });

  it("reads each resource's trail once, however many of its rules are in question", async () => {
    ec2.on(DescribeSecurityGroupRulesCommand).resolves({
      SecurityGroupRules: [
        sshFromWorldRule(),
        sshFromWorldRule({ SecurityGroupRuleId: "sgr-rdp", FromPort: 3389, ToPort: 3389 }),
      ],
    });
    await sweep(scheduled, sweepDeps());
    expect(
      ddb
        .commandCalls(QueryCommand)
        .filter((c) => c.args[0].input.IndexName === AUDIT_TABLE.byResource.indexName),
    ).toHaveLength(1);
  });
});

describe("prefix-list-change: whose principal exemption counts", () => {
  /** The list gains 0.0.0.0/0; GROUP's RULE (tcp 22) references it. */
  function listWidened(editor: "break-glass" | "alice") {
    const event = loadFixture("ModifyManagedPrefixList", "wrapper_add-and-remove_object-form");
    event.detail.requestParameters.ModifyManagedPrefixListRequest.AddEntry.Cidr = "0.0.0.0/0";
    if (editor === "break-glass") {
      event.detail.userIdentity = {
        type: "AssumedRole",
        arn: "arn:aws:sts::123456789012:assumed-role/break-glass/oncall",
        accountId: "123456789012",
        sessionContext: { sessionIssuer: { type: "Role", arn: BREAK_GLASS } },
      };
    }
    return event;
  }

  beforeEach(() => {
    ec2.on(GetManagedPrefixListAssociationsCommand).resolves({
      PrefixListAssociations: [{ ResourceId: GROUP, ResourceOwner: "123456789012" }],
    });
    ec2.on(DescribeSecurityGroupRulesCommand).resolves({
      SecurityGroupRules: [sshFromWorldRule({ CidrIpv4: undefined, PrefixListId: LIST })],
    });
    ec2.on(GetManagedPrefixListEntriesCommand).resolves({ Entries: [{ Cidr: "10.0.0.0/8" }] });
  });

  it("revokes a rule alice made when the break-glass role widens the list it references", async () => {
    const result = await prefixListChange(
      listWidened("break-glass"),
      testDeps({ fn: "prefix-list-change", policyYaml: POLICY }),
    );
    expect(result.result).toBe("revoked");
    expect(ec2).toHaveReceivedCommandWith(RevokeSecurityGroupIngressCommand, {
      GroupId: GROUP,
      SecurityGroupRuleIds: [RULE],
    });
    // The message still says who edited the list.
    expect(summary().event.actor.sessionIssuerArn).toBe(BREAK_GLASS);
  });

  it("keeps a rule the break-glass role made when someone else widens the list", async () => {
    const opened = await recordedByEventPath();
    const findings = (opened.findings as { change: Record<string, unknown> }[]).map((f) => ({
      ...f,
      change: { ...f.change, peer: LIST, text: `ingress tcp 22 from ${LIST}` },
    }));
    trail({ ...opened, findings });
    const result = await prefixListChange(
      listWidened("alice"),
      testDeps({ fn: "prefix-list-change", policyYaml: POLICY }),
    );
    expect(result).toMatchObject({ status: "decided", result: "exempt" });
    expect(ec2).not.toHaveReceivedCommand(RevokeSecurityGroupIngressCommand);
  });

  it("fails before any revoke when the trail cannot be read, for the retry", async () => {
    ddb
      .on(QueryCommand, { IndexName: AUDIT_TABLE.byResource.indexName })
      .rejects(awsError("InternalServerError", "down", "server"));
    await expect(
      prefixListChange(
        listWidened("alice"),
        testDeps({ fn: "prefix-list-change", policyYaml: POLICY }),
      ),
    ).rejects.toBeInstanceOf(LookupFailedError);
    expect(ec2).not.toHaveReceivedCommand(RevokeSecurityGroupIngressCommand);
  });
});

describe("permissions for the audit-trail look-up", () => {
  it("lets the sweep and the prefix-list function query the audit table's indexes", () => {
    const scope = {
      partition: "aws",
      region: "eu-west-1",
      accountId: "123456789012",
      tableArn: "arn:aws:dynamodb:eu-west-1:123456789012:table/guardrail-audit",
      topicArn: "arn:aws:sns:eu-west-1:123456789012:guardrail-alerts",
      topicKeyArn: "arn:aws:kms:eu-west-1:123456789012:key/k",
      deadLetterQueueArn: "arn:aws:sqs:eu-west-1:123456789012:dlq",
      slackWebhookParameterArn: "arn:aws:ssm:eu-west-1:123456789012:parameter/p",
    };
    expect(AUDIT_TRAIL_ACTIONS).toContain("dynamodb:Query");
    for (const fn of ["sweep", "prefix-list-change"] as const) {
      expect(FUNCTION_DATA_ACCESS[fn].audit).toBe(true);
      const query = functionStatements(fn, scope).filter((s) =>
        s.actions.includes("dynamodb:Query"),
      );
      expect(query.flatMap((s) => s.resources)).toContain(
        `${scope.tableArn}/index/${AUDIT_TABLE.byResource.indexName}`,
      );
    }
  });
});
