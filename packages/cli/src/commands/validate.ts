import { loadPolicy, PolicyValidationError } from "@guardrail/core";
import type { Command } from "commander";
import type { CommandContext } from "../context";
import { EXIT, UsageError } from "../errors";
import { readPolicySource } from "../policy-file";

export function registerValidate(program: Command, ctx: CommandContext): void {
  program
    .command("validate")
    .summary("check a policy file")
    .description(
      "Check a policy file: exit 0 and list its rules when it is valid; exit 2 and name the path " +
        "of every error (rules[2].options.ports[0]: ...) when it is not.",
    )
    .argument("[file]", "policy YAML (same as --policy)")
    .option(
      "-p, --policy <file>",
      "policy YAML (default: ./guardrail.policy.yaml if present, else the built-in default)",
    )
    .addHelpText(
      "after",
      `
Exit codes:
  0  the policy is valid
  2  the policy is invalid (each error is printed with its path and line)
  3  the file cannot be read

Examples:
  guardrail validate
  guardrail validate --policy guardrail.policy.yaml
  guardrail validate policies/production.yaml
`,
    )
    .action(async (file: string | undefined, opts: { policy?: string }) => {
      if (file !== undefined && opts.policy !== undefined && file !== opts.policy) {
        throw new UsageError("give the policy file once: as an argument or with --policy");
      }
      const { io } = ctx;
      const src = await readPolicySource(file ?? opts.policy, { lookLocal: true, cwd: io.cwd });
      try {
        const rules = loadPolicy(src.text).rules;
        io.stdout.write(
          `${src.source}: valid, ${rules.length} rules\n${rules
            .map((r) => `  ${r.id.padEnd(24)} ${r.mode.padEnd(8)} ${r.severity}`)
            .join("\n")}\n`,
        );
        ctx.exit(EXIT.ok);
      } catch (err) {
        if (!(err instanceof PolicyValidationError)) throw err;
        const n = err.issues.length;
        io.stderr.write(
          `${src.source}: invalid, ${n} error${n === 1 ? "" : "s"}\n${err.issues
            .map((i) => `  ${i.path}: ${i.message}`)
            .join("\n")}\n`,
        );
        ctx.exit(EXIT.invalid);
      }
    });
}
