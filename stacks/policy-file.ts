import { createHash } from "node:crypto";
import { existsSync, mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { dirname, join } from "node:path";
import {
  BUNDLED_POLICY_FILE,
  ConfigurationError,
  DEFAULT_POLICY_YAML,
  loadPolicy,
  type Policy,
  PolicyValidationError,
} from "@guardrail/core";

/** The user's policy, at the repository root. Without it the default policy from core ships. */
export const USER_POLICY_FILE = "guardrail.policy.yaml";
/** Where the validated copy is written for `copyFiles` (relative to the root; gitignored). */
export const GENERATED_POLICY_FILE = join(".sst", "guardrail", BUNDLED_POLICY_FILE);

export interface PreparedPolicy {
  /** `guardrail.policy.yaml` or `(default policy)`, for messages. */
  readonly source: string;
  /** Path of the validated copy, relative to `root`, for SST's `copyFiles`. */
  readonly file: string;
  /** sha256 of the shipped text: changes whenever the bundled policy changes. */
  readonly sha256: string;
  /** The validated policy, for deploy decisions that depend on it (Organizations grants). */
  readonly policy: Policy;
}

/**
 * Picks the policy to ship, validates it with core's `loadPolicy` and writes the copy that every
 * function bundle carries as `policy.yaml`. Validation at deploy means a bad policy fails
 * `sst deploy` instead of every cold start.
 *
 * @throws ConfigurationError naming the file and each offending field.
 */
export function preparePolicyFile(root: string): PreparedPolicy {
  const userFile = join(root, USER_POLICY_FILE);
  const fromUser = existsSync(userFile);
  const source = fromUser ? USER_POLICY_FILE : "(default policy)";
  const text = fromUser ? readFileSync(userFile, "utf8") : DEFAULT_POLICY_YAML;
  let policy: Policy;
  try {
    policy = loadPolicy(text);
  } catch (error) {
    if (error instanceof PolicyValidationError) {
      throw new ConfigurationError(`${source}: ${error.message}`, { cause: error });
    }
    throw error;
  }
  const out = join(root, GENERATED_POLICY_FILE);
  mkdirSync(dirname(out), { recursive: true });
  writeFileSync(out, text);
  return {
    source,
    file: GENERATED_POLICY_FILE,
    sha256: createHash("sha256").update(text).digest("hex"),
    policy,
  };
}
