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

/** Global flags that may come before the command name. */
const GLOBAL_FLAGS = new Set(["-q", "--quiet", "--no-color"]);

/** True when `argv` runs `guardrail replay` (global flags may come first). */
export function isReplay(argv: readonly string[]): boolean {
  const at = argv.indexOf("replay");
  return at >= 0 && argv.slice(0, at).every((a) => GLOBAL_FLAGS.has(a));
}
