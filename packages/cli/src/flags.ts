import { AWS_PATTERNS } from "@guardrail/core/runtime";
import { UsageError } from "./errors";

/**
 * Exit-2 unless every value is a Region the SDK knows. The SDK's partition table loads only when
 * there is a value to check: it comes with the SDK's client core, which a command that calls no
 * AWS (`guardrail replay` of local files) would otherwise load at every start.
 */
export async function checkRegions(flag: string, values: readonly string[]): Promise<void> {
  if (values.length === 0) return;
  const { isKnownRegion } = await import("@guardrail/aws/known-region");
  for (const r of values) {
    if (!isKnownRegion(r)) {
      throw new UsageError(`${flag} "${r}" is not an AWS Region (such as us-east-1, eu-west-1)`);
    }
  }
}

/** Exit-2 unless every value is a 12-digit account id. */
export function checkAccounts(flag: string, values: readonly string[]): void {
  for (const a of values) {
    if (!AWS_PATTERNS.accountId.test(a))
      throw new UsageError(`${flag} must be a 12-digit account id, not "${a}"`);
  }
}

/**
 * One value for a flag that takes one (`scan --region`, `audit --account`): a list there is a
 * usage error, not an SDK host-name failure later.
 */
export function single(flag: string, value: string | undefined, hint: string): string | undefined {
  if (value === undefined) return undefined;
  const v = value.trim();
  if (v === "" || /[\s,]/.test(v)) {
    throw new UsageError(`${flag} takes one value, not "${value}": ${hint}`);
  }
  return v;
}

/** Exit-2 for rule ids that are not in `known`, listing the known ones. */
export function checkRuleIds(flag: string, values: readonly string[], known: readonly string[]) {
  const unknown = values.filter((v) => !known.includes(v));
  if (unknown.length > 0) {
    throw new UsageError(
      `${flag}: unknown rule ${unknown.map((u) => `"${u}"`).join(", ")}; the policy's rules are: ${known.join(", ")}`,
    );
  }
}
