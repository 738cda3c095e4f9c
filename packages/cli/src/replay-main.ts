import { registerReplay } from "./commands/replay";
import { type CliIo, processIo } from "./context";
import { runProgram } from "./program";

/**
 * `guardrail replay` alone: the same program with only the replay command registered, so that
 * starting it does not load the AWS SDK clients the other commands use (replay calls no AWS).
 */
export async function main(argv: readonly string[], io: CliIo = processIo()): Promise<number> {
  return runProgram(argv, io, [registerReplay]);
}
