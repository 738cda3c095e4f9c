import type { Actor } from "@guardrail/core";
/**
 * Who the caller's credentials belong to (STS GetCallerIdentity), as an actor: the ARN, and for
 * an assumed-role session the role it belongs to (without its path, which the session ARN does
 * not carry).
 */
export async function callerActor(config: {
  region?: string;
  endpoint?: string;
  credentials?: { accessKeyId: string; secretAccessKey: string; sessionToken?: string };
  profile?: string;
}): Promise<Actor> {
  const { STSClient, GetCallerIdentityCommand } = await import("@aws-sdk/client-sts");
  const client = new STSClient(config);
  try {
    const out = await client.send(new GetCallerIdentityCommand({}));
    const arn = out.Arn ?? null;
    const session = arn ? /^arn:([^:]+):sts::(\d{12}):assumed-role\/([^/]+)\//.exec(arn) : null;
    return {
      arn,
      type: session ? "AssumedRole" : arn?.endsWith(":root") ? "Root" : "IAMUser",
      accountId: out.Account ?? null,
      sessionIssuerArn: session ? `arn:${session[1]}:iam::${session[2]}:role/${session[3]}` : null,
      invokedBy: null,
      sourceIp: null,
      userAgent: null,
      console: false,
    };
  } finally {
    client.destroy();
  }
}
