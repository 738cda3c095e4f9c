import { partition } from "@aws-sdk/core/client";

/**
 * Whether `name` is a Region the AWS SDK knows (commercial, GovCloud, China, ...). The SDK's
 * partition table describes each Region it knows; a mistyped name (`eu-westt-1`) still matches a
 * partition's pattern but has no description, and would select nothing or fail later on a host
 * name that does not resolve. In a file of its own so that a caller that only checks a flag
 * (`guardrail replay --region`) does not load the SDK clients.
 */
export function isKnownRegion(name: string): boolean {
  const known = partition(name) as { description?: string };
  return !name.endsWith("-global") && known.description !== undefined;
}
