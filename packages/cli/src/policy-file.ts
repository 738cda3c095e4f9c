import { readFile } from "node:fs/promises";
import { join } from "node:path";
import { DEFAULT_POLICY_YAML, loadPolicy, type Policy } from "@guardrail/core";
import { InputError } from "./errors";

/** A policy, its YAML (handed to worker threads) and where it came from, for messages. */
export interface LoadedPolicy {
  readonly policy: Policy;
  readonly text: string;
  readonly source: string;
}

export const LOCAL_POLICY_FILE = "guardrail.policy.yaml";

/**
 * Reads `--policy FILE`; without it, `guardrail.policy.yaml` in the working directory when
 * `lookLocal` is set (validate) and present, else the default policy embedded in core (replay
 * and scan say what the default policy would do unless told otherwise).
 *
 * @throws InputError when FILE cannot be read; PolicyValidationError when it is not a valid policy.
 */
export async function loadPolicyFile(
  file: string | undefined,
  { lookLocal = false, cwd = "." }: { lookLocal?: boolean; cwd?: string } = {},
): Promise<LoadedPolicy> {
  if (file !== undefined) {
    const text = await readFile(file, "utf8").catch((cause: unknown) => {
      throw new InputError(file, `cannot read policy ${file}: ${(cause as Error).message}`, {
        cause,
      });
    });
    return { policy: loadPolicy(text), text, source: file };
  }
  const local = lookLocal
    ? await readFile(join(cwd, LOCAL_POLICY_FILE), "utf8").catch(() => null)
    : null;
  if (local !== null) return { policy: loadPolicy(local), text: local, source: LOCAL_POLICY_FILE };
  return {
    policy: loadPolicy(DEFAULT_POLICY_YAML),
    text: DEFAULT_POLICY_YAML,
    source: "(default policy)",
  };
}
