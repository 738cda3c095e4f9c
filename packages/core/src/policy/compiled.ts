import { createHash } from "node:crypto";
import { GuardrailError } from "../errors";
import { policyId } from "./id";
import type { Policy } from "./types";

/**
 * Format of the compiled policy the deploy writes and the functions load. A function only loads
 * the version it was built with: an artefact of another version fails its cold start.
 */
export const COMPILED_POLICY_FORMAT = "guardrail.compiled-policy/v1";

/**
 * The compiled policy as a file: the policy validated at deploy, in JSON, with what proves it is
 * the one the stack shipped.
 */
export interface CompiledPolicyFile {
  readonly format: typeof COMPILED_POLICY_FORMAT;
  /** {@link policyId} of the source text: the id the deploy printed and the CLI shows. */
  readonly policyId: string;
  /** sha256 (hex) of the source text, as the stack passes it to the functions. */
  readonly sourceSha256: string;
  /** sha256 (hex) of `payload`, byte for byte. */
  readonly payloadSha256: string;
  /** The validated policy, every default applied, as JSON text (bigints as `{"$bigint":"…"}`). */
  readonly payload: string;
}

/** The compiled policy, read and verified. */
export interface CompiledPolicy {
  readonly policy: Policy;
  readonly policyId: string;
  readonly sourceSha256: string;
}

/**
 * A compiled policy that cannot be used: not JSON, another format version, a payload that does
 * not match its hash, or an artefact of another policy than the stack shipped. Raised at cold
 * start, like every configuration error, so the function fails its init loudly.
 */
export class PolicyArtefactError extends GuardrailError {
  /** Where the artefact was read from. */
  readonly source: string;
  constructor(source: string, message: string, options?: { cause?: unknown }) {
    super("POLICY_ARTEFACT_INVALID", `${source}: ${message}`, options);
    this.source = source;
  }
}

const BIGINT = "$bigint";
const SHA256_HEX = /^[0-9a-f]{64}$/;

const sha256 = (text: string) => createHash("sha256").update(text).digest("hex");

/**
 * The compiled form of a policy already validated from `source` (its text, byte for byte): what
 * the deploy writes beside each handler so that no function parses YAML or runs the schema at
 * cold start. `policy` must be what `loadPolicy(source)` returned.
 *
 * @throws PolicyArtefactError when the policy does not survive the JSON round trip unchanged
 *   (a value JSON cannot carry), so the deploy fails instead of shipping a different policy.
 * @example
 * const text = DEFAULT_POLICY_YAML;
 * writeFileSync("policy.compiled.json", compilePolicy(text, loadPolicy(text)));
 */
export function compilePolicy(source: string | Uint8Array, policy: Policy): string {
  const payload = JSON.stringify(policy, (_key, value) =>
    typeof value === "bigint" ? { [BIGINT]: value.toString() } : value,
  );
  const sourceSha256 = createHash("sha256").update(source).digest("hex");
  const file: CompiledPolicyFile = {
    format: COMPILED_POLICY_FORMAT,
    policyId: policyId(source),
    sourceSha256,
    payloadSha256: sha256(payload),
    payload,
  };
  const text = `${JSON.stringify(file, null, 2)}\n`;
  const back = readCompiledPolicy(text, "the compiled policy").policy;
  const difference = firstDifference(policy, back, "$");
  if (difference !== null) {
    throw new PolicyArtefactError(
      "the compiled policy",
      `${difference} does not survive compilation to JSON`,
    );
  }
  return text;
}

/** What the reader checks the artefact against. */
export interface CompiledPolicyExpectation {
  /** The source's sha256 the stack shipped (GUARDRAIL_POLICY_SHA256); unchecked when absent. */
  readonly sourceSha256?: string;
}

/**
 * Reads a compiled policy and verifies it: the format version, the payload against its hash, the
 * policy id against the source hash, and the source hash against the one the stack passed. Only
 * `JSON.parse`: neither the YAML parser nor the schema runs.
 *
 * @throws PolicyArtefactError naming `source` and what does not match.
 * @example
 * const { policy, policyId } = readCompiledPolicy(text, "/var/task/policy.compiled.json", {
 *   sourceSha256: deployedSourceSha256, // the hash the stack passed to the function
 * });
 */
export function readCompiledPolicy(
  text: string,
  source: string,
  expect: CompiledPolicyExpectation = {},
): CompiledPolicy {
  let file: Partial<Record<keyof CompiledPolicyFile, unknown>>;
  try {
    file = JSON.parse(text);
  } catch (error) {
    throw new PolicyArtefactError(source, "the compiled policy is not JSON", { cause: error });
  }
  if (file === null || typeof file !== "object" || Array.isArray(file)) {
    throw new PolicyArtefactError(source, "the compiled policy is not a JSON object");
  }
  if (file.format !== COMPILED_POLICY_FORMAT) {
    throw new PolicyArtefactError(
      source,
      `format ${JSON.stringify(file.format ?? null)} is not ${COMPILED_POLICY_FORMAT}, the one this function reads: deploy again so the bundle and its policy are built together`,
    );
  }
  const { payload, payloadSha256, sourceSha256, policyId: id } = file;
  if (typeof payload !== "string" || typeof payloadSha256 !== "string") {
    throw new PolicyArtefactError(source, "the compiled policy has no payload and payload hash");
  }
  if (typeof sourceSha256 !== "string" || !SHA256_HEX.test(sourceSha256)) {
    throw new PolicyArtefactError(source, "the compiled policy has no source sha256");
  }
  if (sha256(payload) !== payloadSha256) {
    throw new PolicyArtefactError(
      source,
      "the payload does not match its sha256: the artefact is corrupt",
    );
  }
  if (typeof id !== "string" || !sourceSha256.startsWith(id) || id.length === 0) {
    throw new PolicyArtefactError(
      source,
      `policy id ${JSON.stringify(id ?? null)} is not the source sha256's (${sourceSha256.slice(0, 12)})`,
    );
  }
  const expected = expect.sourceSha256?.trim();
  if (expected && expected !== sourceSha256) {
    throw new PolicyArtefactError(
      source,
      `compiled from a policy with sha256 ${sourceSha256}, but the stack shipped ${expected}: the bundle's policy is not the deployed one`,
    );
  }
  let policy: Policy;
  try {
    policy = withBigints(JSON.parse(payload)) as Policy;
  } catch (error) {
    throw new PolicyArtefactError(source, "the payload is not JSON", { cause: error });
  }
  if (policy === null || typeof policy !== "object" || policy.version !== 1) {
    throw new PolicyArtefactError(source, "the payload is not a version 1 policy");
  }
  return { policy, policyId: id, sourceSha256 };
}

/**
 * `value` with every `{"$bigint": "…"}` read back as a bigint, changed in place. One walk after a
 * plain `JSON.parse`: a reviver would call back for every value of the payload, which measured
 * as the most expensive line of an event function's own init.
 */
function withBigints(value: unknown): unknown {
  if (value === null || typeof value !== "object") return value;
  if (Array.isArray(value)) {
    for (let i = 0; i < value.length; i++) value[i] = withBigints(value[i]);
    return value;
  }
  const record = value as Record<string, unknown>;
  const digits = record[BIGINT];
  if (typeof digits === "string") return BigInt(digits);
  // Each key is an own data property (JSON.parse makes even `__proto__` one): a plain set.
  for (const key of Object.keys(record)) record[key] = withBigints(record[key]);
  return record;
}

/** The path of the first value that differs (type, key set or primitive), or null. */
function firstDifference(a: unknown, b: unknown, path: string): string | null {
  if (Object.is(a, b)) return null;
  if (typeof a !== "object" || typeof b !== "object" || a === null || b === null) return path;
  if (Array.isArray(a) !== Array.isArray(b)) return path;
  if (Object.getPrototypeOf(a) !== Object.getPrototypeOf(b)) return path;
  const at = (key: string) => (Array.isArray(a) ? `${path}[${key}]` : `${path}.${key}`);
  const keysA = Object.keys(a);
  const lost = keysA.find((k) => !Object.hasOwn(b, k));
  if (lost !== undefined) return at(lost);
  const added = Object.keys(b).find((k) => !Object.hasOwn(a, k));
  if (added !== undefined) return at(added);
  for (const key of keysA) {
    const d = firstDifference(
      (a as Record<string, unknown>)[key],
      (b as Record<string, unknown>)[key],
      at(key),
    );
    if (d !== null) return d;
  }
  return null;
}
