import type { Command } from "commander";
import type { CommandContext } from "../context";
import { EXIT, UsageError } from "../errors";
import { POLICY_FLAG_HELP, readPolicySource } from "../policy-file";

export interface SandboxDemoOptions {
  policy?: string;
  serve?: boolean;
  port: string;
  host: string;
  verbose?: boolean;
}

function parsePort(text: string): number {
  const port = Number(text);
  if (!/^\d+$/.test(text) || port > 65532) {
    throw new UsageError(
      `--port ${text}: give a port number up to 65532 (the next three are used too)`,
    );
  }
  return port;
}

/** Resolves when the process is asked to stop (Ctrl-C, or a service manager's SIGTERM). */
function untilInterrupted(): { signal: AbortSignal; dispose(): void } {
  const controller = new AbortController();
  const stop = () => controller.abort();
  process.once("SIGINT", stop);
  process.once("SIGTERM", stop);
  return {
    signal: controller.signal,
    dispose() {
      process.off("SIGINT", stop);
      process.off("SIGTERM", stop);
    },
  };
}

export function registerSandbox(program: Command, ctx: CommandContext): void {
  const sandbox = program
    .command("sandbox")
    .summary("the whole guardrail on this machine: local EC2, EventBridge, SNS, DynamoDB, Slack")
    .description(
      "Run the guardrail end to end on this machine: a local EC2 endpoint that emits CloudTrail " +
        "events, the EventBridge patterns the infra deploys, the real Lambda handlers, SNS with the " +
        "Slack notifier subscribed, DynamoDB with the audit table, and a local Slack webhook. " +
        "Nothing touches AWS.",
    );
  sandbox
    .command("demo")
    .summary("play the course scenarios and check every verdict (npm start)")
    .description(
      "Start the local stack, play the security-group and NACL scenarios (SSH to the world, a " +
        "Python app on 8080 revoked and then exempted by tag, web ports, SSH from the office, SMTP " +
        "egress, NACL entries) as IAM user developer through the AWS SDK, print a timeline per " +
        "change, run the sweep once, and print a summary. With --serve, keep the stack running on " +
        "fixed ports for the aws CLI instead, printing each decision as it happens, until Ctrl-C.",
    )
    .option("-p, --policy <file>", POLICY_FLAG_HELP)
    .option("--serve", "serve the stack for the aws CLI until Ctrl-C instead of playing the demo")
    .option(
      "--port <port>",
      "with --serve: the EC2 port; SNS, DynamoDB and Slack take the next three",
      "4566",
    )
    .option("--host <host>", "with --serve: the address all four ports listen on", "127.0.0.1")
    .option("--verbose", "print the functions' JSON logs (Powertools Logger, level INFO)")
    .addHelpText(
      "after",
      `
Exit codes:
  0  every scenario got its expected verdict (--serve: stopped with Ctrl-C)
  1  some scenario did not
  2  invalid policy or usage
  3  the policy file cannot be read, or the stack could not start (a port in use)

Examples:
  npm start
  npm start -- --policy guardrail.policy.yaml
  npm start -- --serve
  guardrail sandbox demo --serve --port 5566
`,
    )
    .action(async (opts: SandboxDemoOptions) => {
      const { io } = ctx;
      // The same resolution as every command; the built-in default is what the stack loads anyway.
      const resolved = readPolicySource(opts.policy, io);
      const policy =
        resolved.path === null ? undefined : { text: resolved.text, source: resolved.path };
      const logLevel = opts.verbose ? ("INFO" as const) : ("SILENT" as const);
      // Loaded on use: the stack pulls in the SDK clients, fauxqs and dynalite.
      const demo = await import("@guardrail/sandbox/demo");
      const color = demo.wantsColor(io.stdoutIsTTY, io.env);
      if (opts.serve) {
        const port = parsePort(opts.port);
        const interrupt = untilInterrupted();
        try {
          await demo.serveSandbox({
            out: io.stdout,
            color,
            port,
            host: opts.host,
            logLevel,
            signal: interrupt.signal,
            ...(policy ? { policy } : {}),
          });
        } finally {
          interrupt.dispose();
        }
        ctx.exit(EXIT.ok);
        return;
      }
      const report = await demo.runDemo({
        out: io.stdout,
        color,
        stack: { logLevel },
        ...(policy ? { policy } : {}),
      });
      ctx.exit(report.ok ? EXIT.ok : EXIT.violation);
    });
}
