import { once } from "node:events";

/** What a command may touch of the outside world. Tests pass in-memory streams. */
export interface CliIo {
  readonly stdout: NodeJS.WritableStream;
  readonly stderr: NodeJS.WritableStream;
  readonly stdin: NodeJS.ReadableStream;
  readonly stdoutIsTTY: boolean;
  readonly stderrIsTTY: boolean;
  readonly stdinIsTTY: boolean;
  readonly env: Readonly<Record<string, string | undefined>>;
  readonly cwd: string;
  /** Asks a yes/no question on the terminal; absent when there is no terminal to ask on. */
  readonly confirm?: (question: string) => Promise<boolean>;
  /** `--quiet`: no warnings, progress or notices on stderr (errors are still printed). */
  readonly quiet?: boolean;
}

/** A warning or notice on stderr (`wrote report.html`), unless `--quiet`. */
export function notice(io: CliIo, text: string): void {
  if (!io.quiet) io.stderr.write(text);
}

/**
 * The io a command sees once the global flags are read: `--quiet`, and `--no-color` as
 * `NO_COLOR=1` (the convention every colouring tool reads, see https://no-color.org).
 */
export function withGlobalFlags(io: CliIo, flags: { quiet?: boolean; color?: boolean }): CliIo {
  return {
    ...io,
    ...(flags.quiet ? { quiet: true } : {}),
    ...(flags.color === false ? { env: { ...io.env, NO_COLOR: "1", FORCE_COLOR: undefined } } : {}),
  };
}

/** What a command's action receives besides its flags. */
export interface CommandContext {
  readonly io: CliIo;
  /** Sets the exit code the process ends with once the action returns. */
  exit(code: number): void;
}

/** Writes and waits for the stream to drain when its buffer is full, so output is streamed. */
export async function write(
  stream: NodeJS.WritableStream,
  data: string | Uint8Array,
): Promise<void> {
  if (data.length === 0) return;
  if (!stream.write(data)) await once(stream, "drain");
}

export function processIo(): CliIo {
  return {
    stdout: process.stdout,
    stderr: process.stderr,
    stdin: process.stdin,
    stdoutIsTTY: process.stdout.isTTY === true,
    stderrIsTTY: process.stderr.isTTY === true,
    stdinIsTTY: process.stdin.isTTY === true,
    env: process.env,
    cwd: process.cwd(),
    ...(process.stdin.isTTY && process.stderr.isTTY ? { confirm: ttyConfirm } : {}),
  };
}

async function ttyConfirm(question: string): Promise<boolean> {
  const { createInterface } = await import("node:readline/promises");
  const rl = createInterface({ input: process.stdin, output: process.stderr });
  try {
    const answer = await rl.question(`${question} [y/N] `);
    return /^y(es)?$/i.test(answer.trim());
  } finally {
    rl.close();
  }
}
