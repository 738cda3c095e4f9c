import {
  DeleteNetworkAclEntryCommand,
  DescribeSecurityGroupsCommand,
  EC2Client,
  RevokeSecurityGroupEgressCommand,
  RevokeSecurityGroupIngressCommand,
} from "@aws-sdk/client-ec2";
import { PublishCommand, SNSClient } from "@aws-sdk/client-sns";
import {
  BatchWriteCommand,
  DynamoDBDocumentClient,
  GetCommand,
  PutCommand,
  QueryCommand,
  UpdateCommand,
} from "@aws-sdk/lib-dynamodb";
import { AUDIT_KEY_PREFIX } from "@guardrail/core";
import { mockClient } from "aws-sdk-client-mock";
import { afterEach, beforeEach } from "vitest";

/**
 * The clients the function tests mock: aws-sdk-client-mock patches every instance of a class,
 * so the real adapters `testDeps` builds talk to these. Each test file gets its own module
 * instance (vitest isolates files), so the mocks are per file.
 */
export const ec2 = mockClient(EC2Client);
export const sns = mockClient(SNSClient);
export const ddb = mockClient(DynamoDBDocumentClient);

/** Forgets the calls and answers of the three mocks. */
export function resetAwsMocks(): void {
  for (const m of [ec2, sns, ddb]) m.reset();
}

/** Registers a file's hooks: each test starts with empty mocks, then `setUp` answers for it. */
export function mockAwsPerTest(setUp: () => void = () => {}): void {
  beforeEach(() => {
    resetAwsMocks();
    setUp();
  });
  afterEach(resetAwsMocks);
}

/** An audit table that takes every write and holds nothing yet; SNS takes every publish. */
export function acceptWrites(messageId = "m"): void {
  sns.on(PublishCommand).resolves({ MessageId: messageId });
  ddb.on(PutCommand).resolves({});
  ddb.on(UpdateCommand).resolves({});
  ddb.on(BatchWriteCommand).resolves({});
  ddb.on(QueryCommand).resolves({ Items: [] });
  ddb.on(GetCommand).resolves({});
}

/**
 * Every remediation goes through: EC2 revokes each rule and deletes each NACL entry it is asked
 * to, the groups are untagged (`untaggedGroups(groups)`), and the audit table and SNS take every
 * write (`acceptWrites(messageId)`).
 */
export function acceptRemediation(
  options: { readonly groups?: string[]; readonly messageId?: string } = {},
): void {
  ec2.on(RevokeSecurityGroupIngressCommand).resolves({ Return: true });
  ec2.on(RevokeSecurityGroupEgressCommand).resolves({ Return: true });
  ec2.on(DeleteNetworkAclEntryCommand).resolves({});
  untaggedGroups(options.groups);
  acceptWrites(options.messageId);
}

/** DescribeSecurityGroups answers each group asked for (or `all` when none is named), untagged. */
export function untaggedGroups(all: string[] = []): void {
  ec2.on(DescribeSecurityGroupsCommand).callsFake((input: { GroupIds?: string[] }) => ({
    SecurityGroups: (input.GroupIds ?? all).map((id) => ({ GroupId: id, Tags: [] })),
  }));
}

/** String message attributes as a Publish input carries them. */
export function stringAttributes(values: Readonly<Record<string, string>>) {
  return Object.fromEntries(
    Object.entries(values).map(([name, value]) => [
      name,
      { DataType: "String", StringValue: value },
    ]),
  );
}

/** The messages published to SNS, parsed, with their attributes and subject. */
export function publishedMessages() {
  return sns.commandCalls(PublishCommand).map((c) => ({
    body: JSON.parse(c.args[0].input.Message ?? "{}"),
    attributes: c.args[0].input.MessageAttributes ?? {},
    subject: c.args[0].input.Subject,
  }));
}

/** The requests written to the audit table with BatchWriteCommand, in order. */
export function batchWriteRequests() {
  return ddb
    .commandCalls(BatchWriteCommand)
    .flatMap((c) => Object.values(c.args[0].input.RequestItems ?? {}).flat());
}

/**
 * The records written to the audit table with PutCommand, in order: not the flap guard's
 * per-rule counters (`FLAP#`), which it starts with a PutItem of their own before the record.
 */
export function auditItems(): Record<string, unknown>[] {
  return ddb
    .commandCalls(PutCommand)
    .map((c) => c.args[0].input.Item as Record<string, unknown>)
    .filter((item) => !String(item.pk).startsWith(AUDIT_KEY_PREFIX.flap));
}
