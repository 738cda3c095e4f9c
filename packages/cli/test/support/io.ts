import { Readable, Writable } from "node:stream";
import type { CliIo } from "../../src/context";
import type { ReplayLine } from "../../src/replay/record";

/** A stream that keeps what is written to it. */
export class Collector extends Writable {
  private readonly chunks: Buffer[] = [];

  override _write(chunk: Buffer, _enc: BufferEncoding, done: (err?: Error | null) => void): void {
    this.chunks.push(Buffer.isBuffer(chunk) ? chunk : Buffer.from(chunk));
    done();
  }

  text(): string {
    return Buffer.concat(this.chunks).toString("utf8");
  }
}

export interface MemoryIo extends CliIo {
  readonly stdout: Collector;
  readonly stderr: Collector;
}

/** In-memory CLI streams for tests: nothing is a terminal unless asked. */
export function memoryIo(
  options: {
    stdin?: string | Buffer | readonly (string | Buffer)[];
    cwd?: string;
    env?: Record<string, string | undefined>;
    answers?: readonly boolean[];
    tty?: boolean;
  } = {},
): MemoryIo & { readonly questions: string[] } {
  const input = options.stdin ?? [];
  const chunks = typeof input === "string" || Buffer.isBuffer(input) ? [input] : [...input];
  const answers = [...(options.answers ?? [])];
  const questions: string[] = [];
  return {
    stdout: new Collector(),
    stderr: new Collector(),
    stdin: Readable.from(chunks.map((c) => (Buffer.isBuffer(c) ? c : Buffer.from(c)))),
    stdoutIsTTY: options.tty ?? false,
    stderrIsTTY: options.tty ?? false,
    stdinIsTTY: false,
    env: options.env ?? {},
    cwd: options.cwd ?? process.cwd(),
    questions,
    ...(options.answers
      ? {
          confirm: async (q: string) => {
            questions.push(q);
            return answers.shift() ?? false;
          },
        }
      : {}),
  };
}

/** The values of JSON Lines output (`--format json|asff|ocsf`), one a non-empty line. */
export const jsonLines = <T = ReplayLine>(out: string): T[] =>
  out
    .trim()
    .split("\n")
    .filter((l) => l !== "")
    .map((l) => JSON.parse(l) as T);
