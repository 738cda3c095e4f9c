import { readFile } from "node:fs/promises";
import { join, resolve } from "node:path";
import { DEFAULT_POLICY_YAML, loadPolicy, type Policy } from "@guardrail/core";
import { InputError } from "./errors";

/** A policy's YAML and where it came from, for messages. */
export interface PolicySource {
  readonly text: string;
  readonly source: string;
}

/** A policy, its YAML (handed to worker threads) and where it came from. */
export interface LoadedPolicy extends PolicySource {
  readonly policy: Policy;
}

export const LOCAL_POLICY_FILE = "guardrail.policy.yaml";
export const DEFAULT_POLICY_SOURCE = "(default policy)";

/**
 * Reads `--policy FILE`; without it, `guardrail.policy.yaml` in the working directory when
 * `lookLocal` is set (validate) and present, else the default policy embedded in core (replay
 * and scan say what the default policy would do unless told otherwise).
 *
 * @throws InputError when FILE cannot be read.
 */
export async function readPolicySource(
  file: string | undefined,
  { lookLocal = false, cwd = "." }: { lookLocal?: boolean; cwd?: string } = {},
): Promise<PolicySource> {
  if (file !== undefined) {
    const text = await readFile(resolve(cwd, file), "utf8").catch((cause: unknown) => {
      throw new InputError(file, `cannot read policy ${file}: ${(cause as Error).message}`, {
        cause,
      });
    });
    return { text, source: file };
  }
  const local = lookLocal
    ? await readFile(join(cwd, LOCAL_POLICY_FILE), "utf8").catch(() => null)
    : null;
  if (local !== null) return { text: local, source: LOCAL_POLICY_FILE };
  return { text: DEFAULT_POLICY_YAML, source: DEFAULT_POLICY_SOURCE };
}

/**
 * {@link readPolicySource}, then validates it.
 *
 * @throws InputError when the file cannot be read; PolicyValidationError when it is not valid.
 */
export async function loadPolicyFile(
  file: string | undefined,
  options: { lookLocal?: boolean; cwd?: string } = {},
): Promise<LoadedPolicy> {
  const src = await readPolicySource(file, options);
  return { ...src, policy: loadPolicy(src.text) };
}
