import type { AccountTarget } from "@guardrail/core";

/** Production identity: the scheduled event normally carries it; STS answers otherwise. */
export function stsIdentity(region: string | undefined): () => Promise<AccountTarget> {
  return async () => {
    const { STSClient, GetCallerIdentityCommand } = await import("./sdk/sts");
    const out = await new STSClient({}).send(new GetCallerIdentityCommand({}));
    if (!out.Account || !region) throw new Error("cannot tell the account and Region to sweep");
    return { account: out.Account, region };
  };
}
