import { createHash } from "node:crypto";
import { mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { dirname, join } from "node:path";
import {
  BUNDLED_POLICY_FILE,
  ConfigurationError,
  compilePolicy,
  loadPolicy,
  type Policy,
  PolicySourceError,
  PolicyValidationError,
  type ResolvedPolicy,
  resolvePolicy,
} from "@guardrail/core";

/** Where the compiled policy is written for `copyFiles` (relative to the root; gitignored). */
export const GENERATED_POLICY_FILE = join(".sst", "guardrail", BUNDLED_POLICY_FILE);

export interface PreparedPolicy {
  /** The path given in GUARDRAIL_POLICY, `guardrail.policy.yaml` or `built-in default`. */
  readonly source: string;
  /** `policyId` of the shipped text: the id the functions record and the CLI prints. */
  readonly id: string;
  /** Path of the compiled policy, relative to `root`, for SST's `copyFiles`. */
  readonly file: string;
  /**
   * sha256 of the policy's source text: changes whenever the bundled policy changes. The
   * functions get it as GUARDRAIL_POLICY_SHA256 and refuse a compiled policy of another text.
   */
  readonly sha256: string;
  /** The validated policy, for deploy decisions that depend on it (Organizations grants). */
  readonly policy: Policy;
}

/**
 * Picks the policy to ship with the CLI's resolution (core's `resolvePolicy`): GUARDRAIL_POLICY,
 * else `guardrail.policy.yaml` beside `sst.config.ts`, else the built-in default. Validates it
 * with core's `loadPolicy` and writes what every function bundle carries as
 * `policy.compiled.json` (core's `compilePolicy`): the validated policy as JSON, with the source
 * text's sha256 and policy id, so the functions record the same policy id as the CLI and load it
 * with `JSON.parse` alone (neither the YAML parser nor the schema is in their bundles' cold
 * path). Validation at deploy means a bad policy fails `sst deploy` instead of every cold start.
 *
 * @throws ConfigurationError naming the file and each offending field, or why it cannot be read.
 */
export function preparePolicyFile(
  root: string,
  env: Readonly<Record<string, string | undefined>> = process.env,
): PreparedPolicy {
  let resolved: ResolvedPolicy;
  try {
    resolved = resolvePolicy({ env, dir: root, read: (p) => readFileSync(p) });
  } catch (error) {
    if (error instanceof PolicySourceError) {
      throw new ConfigurationError(error.message, { cause: error });
    }
    throw error;
  }
  const { source, text } = resolved;
  let policy: Policy;
  try {
    policy = loadPolicy(text, { format: resolved.format });
  } catch (error) {
    if (error instanceof PolicyValidationError) {
      throw new ConfigurationError(`${source}: ${error.message}`, { cause: error });
    }
    throw error;
  }
  const compiled = compilePolicy(text, policy);
  const out = join(root, GENERATED_POLICY_FILE);
  mkdirSync(dirname(out), { recursive: true });
  writeFileSync(out, compiled);
  return {
    source,
    id: resolved.id,
    file: GENERATED_POLICY_FILE,
    sha256: createHash("sha256").update(text).digest("hex"),
    policy,
  };
}
