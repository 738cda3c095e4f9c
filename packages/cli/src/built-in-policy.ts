import { createHash } from "node:crypto";
import { readFileSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { type Policy, PolicyArtefactError, readCompiledPolicy } from "@guardrail/core/runtime";

/** Set by the packaged build (packages/cli/scripts/build.mjs). */
declare const __GUARDRAIL_BUNDLE__: boolean | undefined;

const BUNDLED = typeof __GUARDRAIL_BUNDLE__ !== "undefined" && __GUARDRAIL_BUNDLE__;

/** The built-in default policy compiled at build time, next to dist/guardrail.mjs. */
export const BUILT_IN_POLICY_FILE = "default-policy.compiled.json";

/** The built-in default, validated, and compiled when the packaged CLI carries it so. */
export interface BuiltInPolicy {
  readonly policy: Policy;
  readonly compiled?: string;
}

/**
 * The built-in default policy whose source is `text`: in the packaged CLI, the compiled copy
 * the build wrote beside the bundle (JSON only, verified against `text`'s sha256); in the
 * repository, `text` parsed and validated.
 *
 * @throws PolicyArtefactError when the packaged copy is missing, corrupt or of another text.
 */
export async function builtInPolicy(text: string): Promise<BuiltInPolicy> {
  if (BUNDLED)
    return readBuiltInPolicy(text, new URL(`./${BUILT_IN_POLICY_FILE}`, import.meta.url));
  const { loadPolicy } = await import("./policy-parse");
  return { policy: loadPolicy(text) };
}

/**
 * Reads and verifies a compiled built-in policy: core's `readCompiledPolicy`, checked against
 * the sha256 of the source text this CLI carries, so a copy compiled from another default fails.
 *
 * @throws PolicyArtefactError naming the file and what does not match.
 */
export function readBuiltInPolicy(text: string, file: URL): Required<BuiltInPolicy> {
  const path = fileURLToPath(file);
  let compiled: string;
  try {
    compiled = readFileSync(file, "utf8");
  } catch (error) {
    throw new PolicyArtefactError(
      path,
      `the built-in policy cannot be read (${(error as Error).message}): reinstall the CLI`,
      { cause: error },
    );
  }
  const sourceSha256 = createHash("sha256").update(text).digest("hex");
  return { policy: readCompiledPolicy(compiled, path, { sourceSha256 }).policy, compiled };
}
