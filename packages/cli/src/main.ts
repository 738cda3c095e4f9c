import { registerAthenaDdl } from "./commands/athena-ddl";
import { registerAudit } from "./commands/audit";
import { registerExemptions } from "./commands/exemptions";
import { registerInit, registerSchema } from "./commands/init";
import { registerPosture } from "./commands/posture";
import { registerRedrive } from "./commands/redrive";
import { registerReplay } from "./commands/replay";
import { registerSandbox } from "./commands/sandbox";
import { registerScan } from "./commands/scan";
import { registerScp } from "./commands/scp";
import { registerSpokeTemplate } from "./commands/spoke-template";
import { registerValidate } from "./commands/validate";
import { type CliIo, processIo } from "./context";
import { EXIT } from "./errors";
import { type RegisterCommand, runProgram } from "./program";

/** Every command: `(program, ctx) => void`. Adding one is one line here. */
const COMMANDS: readonly RegisterCommand[] = [
  registerValidate,
  registerReplay,
  registerScan,
  registerAudit,
  registerPosture,
  registerExemptions,
  registerSandbox,
  registerSpokeTemplate,
  registerScp,
  registerInit,
  registerSchema,
  registerRedrive,
  registerAthenaDdl,
];

export { EXIT };

/** Runs the CLI with `argv` (without `node` and the script) and returns the exit code. */
export async function main(argv: readonly string[], io: CliIo = processIo()): Promise<number> {
  return runProgram(argv, io, COMMANDS);
}
