import { main } from "../../src/main";
import { memoryIo } from "./io";

export type IoOptions = Parameters<typeof memoryIo>[0];

/** Runs `guardrail …argv` on in-memory streams: its exit code and what it wrote. */
export async function runCli(argv: string[], options: IoOptions = {}) {
  const io = memoryIo(options);
  const code = await main(argv, io);
  return { code, out: io.stdout.text(), err: io.stderr.text() };
}

/** Credentials and Region for a CLI call to a local wire stub that does not check signatures. */
export const STUB_AWS_ENV = {
  AWS_REGION: "us-east-1",
  AWS_ACCESS_KEY_ID: "AKIDEXAMPLE",
  AWS_SECRET_ACCESS_KEY: "secret",
} as const;
