import { createWriteStream, type WriteStream } from "node:fs";
import { writeFile } from "node:fs/promises";
import { isAbsolute, resolve } from "node:path";
import { type CliIo, notice, write } from "./context";
import { InputError } from "./errors";

/** Opens `-o FILE` (relative to the working directory) for writing; exit 3 when it cannot be. */
export async function openOutput(path: string, cwd = "."): Promise<WriteStream> {
  const stream = createWriteStream(resolve(cwd, path));
  await new Promise<void>((done, reject) => {
    stream.once("open", () => done());
    stream.once("error", (cause) =>
      reject(new InputError(path, `cannot write ${path}: ${cause.message}`, { cause })),
    );
  });
  return stream;
}

/** Ends the file and waits until everything is on disk. */
export function closeOutput(stream: WriteStream): Promise<void> {
  return new Promise<void>((done, reject) => {
    stream.once("error", reject);
    stream.end(done);
  });
}

/**
 * Runs `fn` with where the report goes: the file named by `-o`, else stdout. The file is closed
 * (and `wrote FILE` said on stderr, unless --quiet) whatever `fn` returns.
 */
export async function withOutput<T>(
  io: CliIo,
  path: string | undefined,
  fn: (out: NodeJS.WritableStream) => Promise<T>,
): Promise<T> {
  if (path === undefined) return fn(io.stdout);
  const file = await openOutput(path, io.cwd);
  try {
    return await fn(file);
  } finally {
    await closeOutput(file);
    notice(io, `wrote ${path}\n`);
  }
}

/**
 * Writes a whole document to `-o FILE` (relative to the working directory), or to stdout without
 * one. @returns the file's path, or null for stdout. @throws InputError when the file cannot be
 * written (exit 3).
 */
export async function writeDocument(
  io: CliIo,
  output: string | undefined,
  text: string,
): Promise<string | null> {
  if (output === undefined) {
    await write(io.stdout, text);
    return null;
  }
  const path = isAbsolute(output) ? output : resolve(io.cwd, output);
  try {
    await writeFile(path, text);
  } catch (error) {
    throw new InputError(path, `cannot write ${path}: ${(error as Error).message}`, {
      cause: error,
    });
  }
  return path;
}
