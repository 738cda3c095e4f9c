import type { Command } from "commander";
import type { CommandContext } from "../context";
import { EXIT } from "../errors";
import { loadPolicyFile } from "../policy-file";

export function registerValidate(program: Command, ctx: CommandContext): void {
  program
    .command("validate")
    .summary("check a policy file")
    .description(
      "Check a policy file: exit 0 and list its rules when it is valid; exit 2 and name the path " +
        "of every error (rules[2].ports[0]: ...) when it is not.",
    )
    .option(
      "-p, --policy <file>",
      "policy YAML (default: ./guardrail.policy.yaml if present, else the built-in default)",
    )
    .addHelpText(
      "after",
      `
Exit codes:
  0  the policy is valid
  2  the policy is invalid (each error is printed with its path)
  3  the file cannot be read

Examples:
  guardrail validate
  guardrail validate --policy guardrail.policy.yaml
`,
    )
    .action(async (opts: { policy?: string }) => {
      const loaded = await loadPolicyFile(opts.policy, { lookLocal: true, cwd: ctx.io.cwd });
      const rules = loaded.policy.rules;
      ctx.io.stdout.write(
        `${loaded.source}: valid, ${rules.length} rules\n${rules
          .map((r) => `  ${r.id.padEnd(28)} ${r.mode.padEnd(8)} ${r.severity}`)
          .join("\n")}\n`,
      );
      ctx.exit(EXIT.ok);
    });
}
