import { randomUUID } from "node:crypto";
import {
  type Adoption,
  adoptExemptionTags,
  callerActor,
  createAuditStore,
  type Notifier,
  toolDocuments,
  toolEc2,
  topicNotifier,
} from "@guardrail/aws";
import { exemptionTagKeys } from "@guardrail/core/runtime";
import type { Command } from "commander";
import { type AwsFlags, awsClientConfig, awsError } from "../aws";
import type { CliIo, CommandContext } from "../context";
import { EXIT, UsageError } from "../errors";
import { loadPolicyFile } from "../policy-file";
import { textTable } from "../replay/formats/table";
import { resolveTableName } from "../table-name";

export interface AdoptOptions extends AwsFlags {
  policy?: string;
  table?: string;
  group: string[];
  dynamodbEndpointUrl?: string;
  stsEndpointUrl?: string;
  iamEndpointUrl?: string;
  topicArn?: string;
}

export function registerExemptions(program: Command, ctx: CommandContext): void {
  const exemptions = program
    .command("exemptions")
    .summary("manage exemption tags on security groups");
  exemptions
    .command("adopt")
    .summary("record existing exemption tags as approved by you (an approver)")
    .description(
      "Exemption tags set before the guardrail was deployed (or whose tagging event never " +
        "arrived) have no record: the guardrail notifies the findings they would waive as " +
        "'unverified exemption' and neither honours nor revokes on their account. An approver " +
        "(tagExemptions.approvers) adopts them: each valid tag's value is recorded as approved " +
        "by the caller (STS GetCallerIdentity; a role's full ARN, path included, from IAM " +
        "GetRole), at the time STS answered (not the local clock), with its hash, in the " +
        "audit table, and " +
        "announced on --topic-arn. Tags already on record are left alone; invalid ones (no " +
        "rules=, longer than tagExemptions.maxDays from today, a rule no tag may waive) are " +
        "not adopted.",
    )
    .option("--group <id...>", "only these security groups (default: every group with the tag)")
    .option("--policy <file>", "the deployed policy (default: the default policy)")
    .option("--table <name>", "audit table name (default: from .sst/outputs.json)")
    .option("--topic-arn <arn>", "the guardrail's SNS topic, to announce each adoption")
    .option("--region <region>", "AWS Region (default: AWS_REGION, then your profile)")
    .option("--endpoint-url <url>", "EC2 endpoint (default: AWS's)")
    .option("--dynamodb-endpoint-url <url>", "DynamoDB endpoint (default: AWS's)")
    .option("--sts-endpoint-url <url>", "STS endpoint (default: AWS's)")
    .option("--iam-endpoint-url <url>", "IAM endpoint, for your role's path (default: AWS's)")
    .option("--profile <name>", "AWS profile (default: AWS_PROFILE)")
    .addHelpText(
      "after",
      `
Exit codes:
  0  every exemption tag found is on record now (adopted, or recorded before)
  1  some tags were not adopted (invalid, or you are not an approver)
  2  invalid usage or policy, or no table name to be found
  3  an AWS call failed, or no credentials or Region

Examples:
  guardrail exemptions adopt --region eu-west-1 --policy guardrail.policy.yaml
  guardrail exemptions adopt --region eu-west-1 --group sg-0123456789abcdef0 --topic-arn arn:aws:sns:eu-west-1:111122223333:guardrail
`,
    )
    .action(async (opts: AdoptOptions) => {
      ctx.exit(await adoptCommand(opts, ctx.io));
    });
}

async function adoptCommand(opts: AdoptOptions, io: CliIo): Promise<number> {
  const groups = opts.group ?? [];
  const bad = groups.find((g) => !/^sg-[0-9a-f]{8,17}$/.test(g));
  if (bad !== undefined) throw new UsageError(`--group takes security-group ids, not "${bad}"`);
  const { policy } = await loadPolicyFile(opts.policy, io);
  const keys = exemptionTagKeys(policy);
  if (keys.length === 0) throw new UsageError("the policy has no exemption tag key (tagKey)");
  const table = await resolveTableName(opts.table, io.cwd, io.env);
  const ec2Config = awsClientConfig(opts, io, "EC2");
  const only = (endpoint: string | undefined, service: "DYNAMODB" | "STS" | "SNS" | "IAM") => {
    const c = awsClientConfig({ ...opts, endpointUrl: endpoint }, io, service);
    return endpoint === undefined &&
      opts.endpointUrl !== undefined &&
      c.endpoint === opts.endpointUrl
      ? (({ endpoint: _e, ...rest }) => rest)(c)
      : c;
  };
  const ec2 = toolEc2(ec2Config);
  const ddb = toolDocuments(only(opts.dynamodbEndpointUrl, "DYNAMODB"));
  try {
    const region = await ec2.region().catch((error: unknown) => {
      throw awsError("EC2 client", error);
    });
    const { actor, awsTime } = await callerActor(
      only(opts.stsEndpointUrl, "STS"),
      only(opts.iamEndpointUrl, "IAM"),
    ).catch((error: unknown) => {
      throw awsError("STS GetCallerIdentity / IAM GetRole", error);
    });
    // The adoption's time is AWS's (STS's Date header), never the local clock: it starts the
    // tagExemptions.maxDays window, so a clock set ahead must not stretch it.
    const started = performance.now();
    const clock = () => new Date(awsTime.getTime() + (performance.now() - started));
    if (actor.accountId === null) throw awsError("STS GetCallerIdentity", "no account");
    const tags = await ec2.taggedGroups(keys, groups).catch((error: unknown) => {
      throw awsError("EC2 DescribeSecurityGroups", error);
    });
    const notifier: Notifier = opts.topicArn
      ? topicNotifier(opts.topicArn, only(undefined, "SNS"))
      : { publish: async () => "not announced (no --topic-arn)" };
    let adoptions: Adoption[];
    try {
      adoptions = await adoptExemptionTags(
        { account: actor.accountId, region },
        actor,
        tags,
        {
          audit: createAuditStore(table.name, async () => ddb.documents),
          notifier,
          clock,
          config: { policy, version: "cli" },
        },
        randomUUID,
      );
    } catch (error) {
      throw awsError("recording the adoption", error);
    }
    io.stdout.write(
      `${adoptions.length === 0 ? "No exemption tags found" : `${adoptions.length} exemption tag(s)`} in ${actor.accountId}/${region}, as ${actor.sessionIssuerArn ?? actor.arn}; records in ${table.name}${opts.topicArn ? "" : " (not announced: no --topic-arn)"}.\n`,
    );
    if (adoptions.length > 0) {
      io.stdout.write(
        textTable(
          ["group", "key", "result", "detail"],
          adoptions.map((a) => [a.groupId, a.key, a.status, a.detail]),
        ),
      );
    }
    return adoptions.every((a) => a.status === "adopted" || a.status === "recorded")
      ? EXIT.ok
      : EXIT.violation;
  } finally {
    ec2.destroy();
    ddb.destroy();
  }
}
