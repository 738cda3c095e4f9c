import { GuardrailError, PolicyValidationError } from "@guardrail/core/runtime";
import { Command, CommanderError } from "commander";
import { type CliIo, type CommandContext, withGlobalFlags } from "./context";
import { EXIT, InputError, UsageError } from "./errors";
import { VERSION } from "./version";

/** Registers one command on the program: `(program, ctx) => void`. */
export type RegisterCommand = (program: Command, ctx: CommandContext) => void;

/**
 * Runs `argv` (without `node` and the script) against a program of `commands` and returns the
 * exit code. main.ts passes every command; a single command's entry passes only its own, so that
 * it does not load the others' dependencies.
 */
export async function runProgram(
  argv: readonly string[],
  io: CliIo,
  commands: readonly RegisterCommand[],
): Promise<number> {
  let code: number = EXIT.ok;
  const ctx: { io: CliIo } & CommandContext = {
    io,
    exit: (c) => {
      code = c;
    },
  };
  const program = new Command()
    .name("guardrail")
    .description(
      "AWS network guardrail: validate a policy, replay CloudTrail through it, scan live state, " +
        "read the audit trail.",
    )
    .version(VERSION, "-V, --version", "print the version and exit")
    .option("-q, --quiet", "print no warnings, progress or notices on stderr (errors still are)")
    .option("--no-color", "never colour the output (as NO_COLOR=1 does)")
    .showHelpAfterError("(add --help for usage and examples)")
    .exitOverride()
    .configureOutput({
      writeOut: (t) => io.stdout.write(t),
      writeErr: (t) => io.stderr.write(t),
    })
    .addHelpText(
      "after",
      `
Exit codes: 0 ok · 1 --fail-on matched · 2 invalid policy or usage · 3 unreadable input or
AWS failure · 4 fixes declined or incomplete. Run \`guardrail <command> --help\` for examples.
`,
    );
  // Global flags go before or after the command (`guardrail -q replay …`, `guardrail replay … -q`).
  program.hook("preAction", () => {
    ctx.io = withGlobalFlags(io, program.opts<{ quiet?: boolean; color?: boolean }>());
  });
  for (const register of commands) register(program, ctx);
  for (const c of program.commands) c.exitOverride().configureOutput(program.configureOutput());

  try {
    await program.parseAsync(argv, { from: "user" });
  } catch (err) {
    return report(err, io);
  }
  return code;
}

function report(err: unknown, io: CliIo): number {
  if (err instanceof CommanderError) {
    // Commander has printed its message (or the help/version it was asked for).
    return err.exitCode === 0 ? EXIT.ok : EXIT.invalid;
  }
  if (err instanceof PolicyValidationError) {
    io.stderr.write(`${err.message}\n`);
    return EXIT.invalid;
  }
  if (err instanceof UsageError) {
    io.stderr.write(`error: ${err.message}\n`);
    return EXIT.invalid;
  }
  if (err instanceof InputError) {
    io.stderr.write(`error: ${err.message}\n`);
    return EXIT.failure;
  }
  if (err instanceof GuardrailError) {
    io.stderr.write(`error [${err.code}]: ${err.message}\n`);
    return err.code === "CONFIGURATION_INVALID" ? EXIT.invalid : EXIT.failure;
  }
  io.stderr.write(`error: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`);
  return EXIT.failure;
}
