import { isAbsolute, join } from "node:path";
import { PolicySourceError } from "../errors";
import { DEFAULT_POLICY_YAML } from "./default-policy";
import { BUILT_IN_POLICY_SOURCE, type PolicyProvenance, policyId } from "./id";
import type { PolicyFormat } from "./load";

/** The environment variable naming the policy file, for the CLI and the deploy alike. */
export const POLICY_ENV = "GUARDRAIL_POLICY";
/** The policy file looked for in the working directory (CLI) or beside `sst.config.ts` (deploy). */
export const POLICY_FILE_NAME = "guardrail.policy.yaml";

/** Which step of the resolution gave the policy. */
export type PolicyOrigin = "flag" | "environment" | "file" | "built-in";

/** The policy text a command or the deploy uses, where it came from and its id. */
export interface ResolvedPolicy extends PolicyProvenance {
  readonly text: string;
  readonly origin: PolicyOrigin;
  /** The path read (absolute), or null for the built-in default. */
  readonly path: string | null;
  /** `json` for a `.json` file, so its syntax errors are reported as JSON. */
  readonly format: PolicyFormat;
}

export interface ResolvePolicyInput {
  /** `--policy FILE`, when given. */
  readonly flag?: string | undefined;
  readonly env: Readonly<Record<string, string | undefined>>;
  /** Where relative paths start and `guardrail.policy.yaml` is looked for. */
  readonly dir: string;
  /**
   * Reads a file's bytes (the CLI and the deploy pass `readFileSync`). Its errors are
   * Node's: `ENOENT`, `EISDIR`, `EACCES` are turned into sentences here.
   */
  readonly read: (path: string) => Uint8Array;
}

/**
 * Picks the policy: `--policy`, else `GUARDRAIL_POLICY`, else `guardrail.policy.yaml` in `dir`,
 * else the built-in default. One order for every command and the deploy, so the policy a user
 * backtests is the policy they ship. The id is the short sha256 of the bytes read.
 *
 * @throws PolicySourceError when a named file (flag or environment) cannot be read, or the
 *   local file exists but cannot be read (a directory, no permission).
 * @example
 * const p = resolvePolicy({ env: { GUARDRAIL_POLICY: "ops/policy.yaml" }, dir: "/srv/app", read });
 * p.source // "ops/policy.yaml" (the environment wins over ./guardrail.policy.yaml)
 */
export function resolvePolicy(input: ResolvePolicyInput): ResolvedPolicy {
  const flag = input.flag?.trim();
  if (flag) return fromFile(input, flag, "flag", "--policy");
  const fromEnv = input.env[POLICY_ENV]?.trim();
  if (fromEnv) return fromFile(input, fromEnv, "environment", POLICY_ENV);
  const local = join(input.dir, POLICY_FILE_NAME);
  let bytes: Uint8Array | null = null;
  try {
    bytes = input.read(local);
  } catch (error) {
    if (errnoOf(error) !== "ENOENT") throw unreadable(POLICY_FILE_NAME, error);
  }
  if (bytes !== null) return resolved(bytes, POLICY_FILE_NAME, "file", local);
  return {
    text: DEFAULT_POLICY_YAML,
    source: BUILT_IN_POLICY_SOURCE,
    id: policyId(DEFAULT_POLICY_YAML),
    origin: "built-in",
    path: null,
    format: "yaml",
  };
}

function fromFile(
  input: ResolvePolicyInput,
  given: string,
  origin: PolicyOrigin,
  via: string,
): ResolvedPolicy {
  const path = isAbsolute(given) ? given : join(input.dir, given);
  let bytes: Uint8Array;
  try {
    bytes = input.read(path);
  } catch (error) {
    throw unreadable(given, error, via);
  }
  return resolved(bytes, given, origin, path);
}

function resolved(
  bytes: Uint8Array,
  source: string,
  origin: PolicyOrigin,
  path: string,
): ResolvedPolicy {
  return {
    // The BOM is kept, so the text written back (the deploy's bundled copy) has the same bytes and id.
    text: new TextDecoder("utf-8", { ignoreBOM: true }).decode(bytes),
    source,
    id: policyId(bytes),
    origin,
    path,
    format: /\.json$/i.test(path) ? "json" : "yaml",
  };
}

function errnoOf(error: unknown): string | undefined {
  const code = (error as { code?: unknown } | null)?.code;
  return typeof code === "string" ? code : undefined;
}

const WHY: Record<string, string> = {
  ENOENT: "no such file",
  EISDIR: "it is a directory, not a policy file",
  EACCES: "permission denied",
  EPERM: "permission denied",
  ENOTDIR: "a part of the path is not a directory",
};

function unreadable(given: string, error: unknown, via?: string): PolicySourceError {
  const code = errnoOf(error);
  const why = (code && WHY[code]) ?? (error as Error).message;
  const named = via ? ` (from ${via})` : "";
  return new PolicySourceError(given, `cannot read policy ${given}${named}: ${why}`, {
    cause: error,
  });
}
