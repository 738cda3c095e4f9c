import { redrive, toolRedrive } from "@guardrail/aws";
import { STACK_OUTPUTS } from "@guardrail/core/runtime";
import type { Command } from "commander";
import { type AwsFlags, awsClientConfig, awsError } from "../aws";
import { type CommandContext, write } from "../context";
import { EXIT, UsageError } from "../errors";

export interface RedriveOptions extends AwsFlags {
  queueUrl?: string;
  function?: string;
  dryRun?: boolean;
  max?: string;
}

export function registerRedrive(program: Command, ctx: CommandContext): void {
  program
    .command("redrive")
    .summary("list dead-lettered events with their error, and replay them")
    .description(
      "Reads the guardrail's dead-letter queue: Lambda on-failure records (the event is " +
        "unwrapped from requestPayload) and EventBridge rule DLQ messages. Each event is " +
        "replayed through its function (a synchronous Invoke) and deleted only once the " +
        "function handled it; one that fails again stays in the queue. --dry-run only lists.",
    )
    .option("--queue-url <url>", `the DLQ (default: ${STACK_OUTPUTS.deadLetterQueueUrl} output)`)
    .option("--function <name>", "replay through this function instead of the one recorded")
    .option("--dry-run", "list the dead letters and their errors; replay and delete nothing")
    .option("--max <n>", "most messages to handle")
    .option("--region <region>", "AWS Region (default: AWS_REGION, then your profile)")
    .option("--endpoint-url <url>", "SQS and Lambda endpoint (default: AWS's)")
    .option("--profile <name>", "AWS profile (default: AWS_PROFILE)")
    .action(async (opts: RedriveOptions) => {
      const queueUrl = opts.queueUrl ?? ctx.io.env.GUARDRAIL_DLQ_URL;
      if (!queueUrl) throw new UsageError("--queue-url is required (or GUARDRAIL_DLQ_URL)");
      const max = opts.max === undefined ? undefined : Number(opts.max);
      if (max !== undefined && !(Number.isInteger(max) && max > 0)) {
        throw new UsageError(`--max must be a whole number above 0, not "${opts.max}"`);
      }
      const config = awsClientConfig(opts, ctx.io, "EC2");
      const clients = toolRedrive(config);
      try {
        const outcomes = await redrive({
          sqs: clients.sqs,
          queueUrl,
          dryRun: opts.dryRun === true,
          ...(opts.function ? { functionArn: opts.function } : {}),
          ...(max ? { max } : {}),
          invoke: clients.invoke,
          onOutcome: (o) =>
            write(
              ctx.io.stdout,
              `${o.status.padEnd(8)} ${o.messageId}  ${o.functionArn ?? "-"}  ${o.error}${
                o.replayError ? `  → ${o.replayError}` : ""
              }\n`,
            ),
        });
        const failed = outcomes.filter((o) => o.status === "failed" || o.status === "skipped");
        await write(
          ctx.io.stderr,
          `${outcomes.length} dead letter(s): ${outcomes.filter((o) => o.status === "replayed").length} replayed and deleted, ${failed.length} left in the queue${opts.dryRun ? " (dry run)" : ""}.\n`,
        );
        if (failed.length > 0) ctx.exit(EXIT.incomplete);
      } catch (error) {
        throw awsError("SQS/Lambda redrive", error);
      } finally {
        clients.destroy();
      }
    });
}
