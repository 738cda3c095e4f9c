import { spawn } from "node:child_process";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

export const REPO_ROOT = join(dirname(fileURLToPath(import.meta.url)), "..", "..", "..");
/** The pinned Node 22 (the `node` npm package), not whatever `node` is first on PATH. */
export const NODE = join(REPO_ROOT, "node_modules", ".bin", "node");
export const BIN = join(REPO_ROOT, "packages", "cli", "bin", "guardrail.mjs");

/** `replay` of every captured fixture, every record in path order: what the golden holds. */
export const REPLAY_ALL_FIXTURES: readonly string[] = [
  "replay",
  "--format",
  "json",
  "--all-records",
  "test/fixtures/cloudtrail",
];

export interface BinResult {
  readonly code: number | null;
  readonly stdout: string;
  readonly stderr: string;
}

/** Runs the real `guardrail` executable in a child process, as a user would. */
export function runBin(
  args: readonly string[],
  options: { cwd?: string; input?: string | Buffer; env?: Record<string, string> } = {},
): Promise<BinResult> {
  return new Promise((resolve, reject) => {
    const child = spawn(NODE, [BIN, ...args], {
      cwd: options.cwd ?? REPO_ROOT,
      env: { ...process.env, NO_COLOR: "1", ...options.env },
      stdio: ["pipe", "pipe", "pipe"],
    });
    const out: Buffer[] = [];
    const err: Buffer[] = [];
    child.stdout.on("data", (b: Buffer) => out.push(b));
    child.stderr.on("data", (b: Buffer) => err.push(b));
    child.on("error", reject);
    child.on("close", (code) =>
      resolve({
        code,
        stdout: Buffer.concat(out).toString("utf8"),
        stderr: Buffer.concat(err).toString("utf8"),
      }),
    );
    child.stdin.end(options.input ?? "");
  });
}
