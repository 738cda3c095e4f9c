import { main } from "../../src/main";
import { memoryIo } from "./io";

export type IoOptions = Parameters<typeof memoryIo>[0];

/** Runs `guardrail …argv` on in-memory streams: its exit code and what it wrote. */
export async function runCli(argv: string[], options: IoOptions = {}) {
  const io = memoryIo(options);
  const code = await main(argv, io);
  return { code, out: io.stdout.text(), err: io.stderr.text() };
}
