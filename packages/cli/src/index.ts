/**
 * The `guardrail` CLI as a library: `main(argv)` runs a command and returns its exit code; the
 * replay line type is the JSON Lines contract of `guardrail replay --format json`.
 */

export {
  type DeadLetter,
  type Invoke,
  type InvokeAnswer,
  type RedriveOutcome,
  readDeadLetter,
  redrive,
} from "@guardrail/aws";
export { type CliIo, type CommandContext, processIo, write } from "./context";
export { EXIT } from "./errors";
export { main } from "./main";
export type { ReplayFinding, ReplayLine } from "./replay/record";
