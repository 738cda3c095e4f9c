import { createHash } from "node:crypto";

/** How a policy that is not read from a file is named in outputs and records. */
export const BUILT_IN_POLICY_SOURCE = "built-in default";

/** Hex digits kept of the sha256: enough to tell policy versions apart at a glance. */
const ID_LENGTH = 12;

/**
 * A policy's id: the short sha256 of its source bytes. The deploy, the functions (reading the
 * bundled copy) and every CLI command compute it the same way, so a decision in the audit trail
 * or a Slack message names the exact policy text that made it.
 *
 * @example
 * policyId(DEFAULT_POLICY_YAML) // 12 hex digits, the same wherever the default is used
 */
export function policyId(source: string | Uint8Array): string {
  return createHash("sha256").update(source).digest("hex").slice(0, ID_LENGTH);
}

/** Where a policy came from and which version it is. */
export interface PolicyProvenance {
  /** The path it was read from, or `built-in default`. */
  readonly source: string;
  /** {@link policyId} of its text. */
  readonly id: string;
}

/**
 * One line naming a policy for headers and logs.
 *
 * @example
 * describePolicy({ source: "guardrail.policy.yaml", id: "3f2a9c81d0e4" })
 * // "guardrail.policy.yaml (policy id 3f2a9c81d0e4)"
 */
export function describePolicy(p: PolicyProvenance): string {
  return `${p.source} (policy id ${p.id})`;
}
