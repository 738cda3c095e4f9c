import { writeFileSync } from "node:fs";
import { dirname, join, resolve } from "node:path";
import {
  DEFAULT_POLICY_YAML,
  POLICY_FILE_NAME,
  POLICY_SCHEMA_FILE_NAME,
  policyId,
  policyJsonSchema,
} from "@guardrail/core";
import type { Command } from "commander";
import type { CommandContext } from "../context";
import { EXIT, InputError, UsageError } from "../errors";

/** The policy `init` writes: the built-in default, with the line editors read the schema from. */
export function initialPolicy(schemaRef: string): string {
  return `# yaml-language-server: $schema=${schemaRef}\n${DEFAULT_POLICY_YAML}`;
}

/** The schema as `guardrail schema` prints it and `init` writes it. */
export function schemaText(): string {
  return `${JSON.stringify(policyJsonSchema(), null, 2)}\n`;
}

function writeNew(path: string, text: string, force: boolean): void {
  try {
    writeFileSync(path, text, { flag: force ? "w" : "wx" });
  } catch (cause) {
    if ((cause as { code?: string }).code === "EEXIST") {
      throw new UsageError(`${path} already exists: edit it, or run init --force to replace it`, {
        cause,
      });
    }
    throw new InputError(path, `cannot write ${path}: ${(cause as Error).message}`, { cause });
  }
}

export function registerInit(program: Command, ctx: CommandContext): void {
  program
    .command("init")
    .summary("write the default policy to ./guardrail.policy.yaml, to edit")
    .description(
      `Write the built-in default policy, with its comments, to ${POLICY_FILE_NAME} in the ` +
        `working directory (or FILE), and its JSON Schema beside it as ${POLICY_SCHEMA_FILE_NAME}. ` +
        "The policy's first line points editors with the YAML language server at the schema, for " +
        "completion and checking as you type. Every command, and the deploy, then uses this file.",
    )
    .argument("[file]", `where to write the policy (default: ./${POLICY_FILE_NAME})`)
    .option("--force", "replace files that already exist", false)
    .addHelpText(
      "after",
      `
Exit codes:
  0  written
  2  the file already exists (nothing was written; --force replaces it)
  3  the file cannot be written

Examples:
  guardrail init
  guardrail init policies/production.yaml
`,
    )
    .action((file: string | undefined, opts: { force: boolean }) => {
      const { io } = ctx;
      const policyPath = resolve(io.cwd, file ?? POLICY_FILE_NAME);
      const schemaPath = join(dirname(policyPath), POLICY_SCHEMA_FILE_NAME);
      const text = initialPolicy(`./${POLICY_SCHEMA_FILE_NAME}`);
      writeNew(policyPath, text, opts.force);
      writeNew(schemaPath, schemaText(), true);
      const shown = file ?? POLICY_FILE_NAME;
      io.stdout.write(
        `wrote ${shown} (policy id ${policyId(text)}) and ${POLICY_SCHEMA_FILE_NAME} beside it\n` +
          `next: edit it, then run \`guardrail validate${file === undefined ? "" : ` ${file}`}\`\n`,
      );
      ctx.exit(EXIT.ok);
    });
}

export function registerSchema(program: Command, ctx: CommandContext): void {
  program
    .command("schema")
    .summary("print the policy file's JSON Schema")
    .description(
      "Print the JSON Schema (draft-07) of the policy file, generated from the schema " +
        "`guardrail validate` uses, for editors and other tools. It checks structure; validate " +
        "also checks what a JSON Schema cannot (CIDR syntax, calendar dates, duplicate rule ids).",
    )
    .option("-o, --output <file>", "write the schema to FILE instead of stdout")
    .addHelpText(
      "after",
      `
Examples:
  guardrail schema > guardrail.policy.schema.json
  guardrail schema -o docs/policy.schema.json
`,
    )
    .action((opts: { output?: string }) => {
      const { io } = ctx;
      const text = schemaText();
      if (opts.output === undefined) io.stdout.write(text);
      else writeNew(resolve(io.cwd, opts.output), text, true);
      ctx.exit(EXIT.ok);
    });
}
