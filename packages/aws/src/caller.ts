import { type Actor, GuardrailError } from "@guardrail/core";

interface ClientConfig {
  region?: string;
  endpoint?: string;
  credentials?: { accessKeyId: string; secretAccessKey: string; sessionToken?: string };
  profile?: string;
}

/**
 * The parts of an STS session ARN (partition, account, role name), read from an identity STS
 * itself returned: a reading of its parts, not a check of its shape (`AWS_PATTERNS` checks input).
 */
const ASSUMED_ROLE_SESSION_ARN = /^arn:([^:]+):sts::(\d{12}):assumed-role\/([^/]+)\//;

/** Who called, and when AWS says it was. */
export interface Caller {
  readonly actor: Actor;
  /**
   * The time of STS's answer (its HTTP `Date` header): an authoritative clock for what the
   * caller records, whatever the local clock says.
   */
  readonly awsTime: Date;
}

/** The caller's identity or AWS's time could not be established. */
export class CallerIdentityError extends GuardrailError {
  constructor(message: string, options?: { cause?: unknown }) {
    super("CALLER_IDENTITY", message, options);
  }
}

/**
 * Who the caller's credentials belong to (STS GetCallerIdentity), as an actor: the ARN, and for
 * an assumed-role session the role it belongs to, with its path. The session ARN does not carry
 * the path (`assumed-role/<name>/<session>`), so the role's ARN is read with IAM GetRole; role
 * names are unique in an account, so the name finds the one role. Without that read the ARN
 * would differ from the one CloudTrail records for the same role (its `sessionIssuer.arn` has
 * the path), and an approver pattern naming a path could never match.
 *
 * @throws CallerIdentityError when STS answers without a `Date` header, or IAM GetRole fails
 * (the caller needs `iam:GetRole` on its own role).
 */
export async function callerActor(
  config: ClientConfig,
  iamConfig: ClientConfig = config,
): Promise<Caller> {
  const { STSClient, GetCallerIdentityCommand } = await import("./sdk/sts");
  const client = new STSClient(config);
  let date: string | undefined;
  client.middlewareStack.add(
    (next) => async (args) => {
      const out = await next(args);
      const headers = (out.response as { headers?: Record<string, string> }).headers;
      date = headers?.date ?? headers?.Date;
      return out;
    },
    { step: "deserialize", name: "guardrailAwsTime" },
  );
  try {
    const out = await client.send(new GetCallerIdentityCommand({}));
    const awsTime = date === undefined ? Number.NaN : Date.parse(date);
    if (Number.isNaN(awsTime)) {
      throw new CallerIdentityError(
        `STS GetCallerIdentity answered without a readable Date header (${date ?? "none"}): no authoritative time`,
      );
    }
    const arn = out.Arn ?? null;
    const session = arn ? ASSUMED_ROLE_SESSION_ARN.exec(arn) : null;
    const actor: Actor = {
      arn,
      type: session ? "AssumedRole" : arn?.endsWith(":root") ? "Root" : "IAMUser",
      accountId: out.Account ?? null,
      sessionIssuerArn: session ? await roleArnOf(session[3] as string, iamConfig) : null,
      invokedBy: null,
      sourceIp: null,
      userAgent: null,
      console: false,
    };
    return { actor, awsTime: new Date(awsTime) };
  } finally {
    client.destroy();
  }
}

async function roleArnOf(roleName: string, config: ClientConfig): Promise<string> {
  const { IAMClient, GetRoleCommand } = await import("./sdk/iam");
  // IAM is global: its endpoint is in us-east-1 whatever Region the caller works in.
  const client = new IAMClient({ ...config, region: "us-east-1" });
  try {
    const out = await client.send(new GetRoleCommand({ RoleName: roleName }));
    const arn = out.Role?.Arn;
    if (!arn) throw new CallerIdentityError(`IAM GetRole ${roleName} answered without an ARN`);
    return arn;
  } catch (error) {
    if (error instanceof CallerIdentityError) throw error;
    const code = (error as { name?: string }).name ?? String(error);
    throw new CallerIdentityError(
      `IAM GetRole ${roleName} failed (${code}): the role's full ARN, with its path, is needed to match tagExemptions.approvers; allow iam:GetRole on your own role`,
      { cause: error },
    );
  }
}
