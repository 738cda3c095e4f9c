import { readFileSync } from "node:fs";
import {
  type Policy,
  PolicySourceError,
  type ResolvedPolicy,
  resolvePolicy,
} from "@guardrail/core/runtime";
import { builtInPolicy } from "./built-in-policy";
import type { CliIo } from "./context";
import { InputError } from "./errors";

/** `--policy`'s help, the same for every command. */
export const POLICY_FLAG_HELP =
  "policy YAML or JSON (default: $GUARDRAIL_POLICY, else ./guardrail.policy.yaml, else the built-in default)";

/** A resolved policy, validated. */
export interface LoadedPolicy extends ResolvedPolicy {
  readonly policy: Policy;
  /**
   * The policy compiled (core's `compilePolicy`) when it came so: the built-in default of the
   * packaged CLI. Replay hands it to its workers as is.
   */
  readonly compiled?: string;
}

/**
 * The policy a command uses: `--policy FILE`, else `GUARDRAIL_POLICY`, else
 * `guardrail.policy.yaml` in the working directory, else the built-in default (core's
 * `resolvePolicy`, the order the deploy uses too).
 *
 * @throws InputError when the named or found file cannot be read (exit 3).
 */
export function readPolicySource(
  flag: string | undefined,
  io: Pick<CliIo, "cwd" | "env">,
): ResolvedPolicy {
  try {
    return resolvePolicy({ flag, env: io.env, dir: io.cwd, read: (p) => readFileSync(p) });
  } catch (error) {
    if (error instanceof PolicySourceError) {
      throw new InputError(error.path, error.message, { cause: error });
    }
    throw error;
  }
}

/**
 * {@link readPolicySource}, then validates it. The YAML parser and the schema load only when a
 * file was given or found: the built-in default comes compiled with the packaged CLI.
 *
 * @throws InputError when the file cannot be read; PolicyValidationError when it is not valid;
 *   PolicyArtefactError when the packaged built-in policy is corrupt.
 */
export async function loadPolicyFile(
  flag: string | undefined,
  io: Pick<CliIo, "cwd" | "env">,
): Promise<LoadedPolicy> {
  const src = readPolicySource(flag, io);
  if (src.origin === "built-in") return { ...src, ...(await builtInPolicy(src.text)) };
  const { loadPolicy } = await import("./policy-parse");
  return { ...src, policy: loadPolicy(src.text, { format: src.format }) };
}
