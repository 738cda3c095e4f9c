import { mkdir, mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { onTestFinished } from "vitest";

/** A new empty folder for the running test, removed with its contents once the test ends. */
export async function tempDir(prefix: string): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), prefix));
  onTestFinished(() => rm(dir, { recursive: true, force: true }));
  return dir;
}

/**
 * A folder of `tempDir` holding `files` (a `/`-separated path under it → its content), in the
 * folders those paths need.
 */
export async function tempTree(
  prefix: string,
  files: Readonly<Record<string, string | Uint8Array>>,
): Promise<string> {
  const dir = await tempDir(prefix);
  for (const [path, content] of Object.entries(files)) {
    const file = join(dir, ...path.split("/"));
    await mkdir(dirname(file), { recursive: true });
    await writeFile(file, content);
  }
  return dir;
}
