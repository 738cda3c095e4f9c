import { createHash } from "node:crypto";

/** Who an access key belongs to. The sandbox never checks signatures; it only reads the key id. */
export type SandboxPrincipal =
  | { readonly type: "IAMUser"; readonly accountId: string; readonly userName: string }
  | {
      readonly type: "AssumedRole";
      readonly accountId: string;
      readonly roleName: string;
      /** Session name in the assumed-role ARN (`.../role/session`). */
      readonly sessionName: string;
      /** IAM path of the role (`/service-role/`), `/` by default. */
      readonly rolePath?: string;
      /**
       * A service calling with this role (`cloudformation.amazonaws.com` for a stack's service
       * role): recorded as `userIdentity.invokedBy`, and as the source and user agent.
       */
      readonly invokedBy?: string;
    }
  | { readonly type: "Root"; readonly accountId: string };

/** An access-key table entry: a full principal, or just an account id (an IAM user `sandbox-user`). */
export type AccessKeyEntry = SandboxPrincipal | string;

/**
 * Credentials issued at run time (by the STS sandbox's AssumeRole), as an EC2 endpoint sees them:
 * whose they are, whether they have run out, and which actions their role's policies allow.
 */
export interface ResolvedCredentials {
  readonly principal: SandboxPrincipal;
  /** True once the session's expiration has passed: every call then fails with ExpiredToken. */
  readonly expired: boolean;
  /**
   * Whether the principal may call `action` (`ec2:RevokeSecurityGroupIngress`) in `region`.
   * Absent: everything is allowed, as for the static access-key table.
   */
  readonly allows?: (action: string, region: string) => boolean;
}

/** Looks up run-time credentials; undefined hands the key to the static access-key table. */
export type CredentialResolver = (accessKeyId: string) => ResolvedCredentials | undefined;

export const DEFAULT_ACCOUNT_ID = "123456789012";
export const DEFAULT_REGION = "us-east-1";
export const DEFAULT_USER_NAME = "sandbox-user";

/** The credential scope of a SigV4 `Authorization` header: access key id and region. */
export function parseAuthorization(
  header: string | undefined,
): { accessKeyId: string; region: string } | undefined {
  if (header === undefined) return undefined;
  const match = /Credential=([^/,\s]+)\/\d{8}\/([^/,\s]+)\/[^/,\s]+\/aws4_request/.exec(header);
  if (match === null) return undefined;
  return { accessKeyId: match[1] ?? "", region: match[2] ?? "" };
}

export function resolvePrincipal(
  table: Readonly<Record<string, AccessKeyEntry>>,
  accessKeyId: string,
  defaultAccountId: string,
): SandboxPrincipal {
  const entry = table[accessKeyId];
  if (entry === undefined) {
    return { type: "IAMUser", accountId: defaultAccountId, userName: DEFAULT_USER_NAME };
  }
  if (typeof entry === "string") {
    return { type: "IAMUser", accountId: entry, userName: DEFAULT_USER_NAME };
  }
  return entry;
}

/** A stable IAM unique id (`AIDA…`, `AROA…`) derived from the name, as real ids are stable per principal. */
export function uniqueId(prefix: string, seed: string): string {
  const alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZ234567";
  const digest = createHash("sha256").update(seed).digest();
  let out = prefix;
  for (let i = 0; out.length < 21; i++) out += alphabet[(digest[i] ?? 0) % 32];
  return out;
}

export function roleArn(p: Extract<SandboxPrincipal, { type: "AssumedRole" }>): string {
  const path = p.rolePath ?? "/";
  return `arn:aws:iam::${p.accountId}:role${path}${p.roleName}`;
}

/** The ARN a principal acts as (`assumed-role/...` for sessions). */
export function principalArn(p: SandboxPrincipal): string {
  switch (p.type) {
    case "IAMUser":
      return `arn:aws:iam::${p.accountId}:user/${p.userName}`;
    case "AssumedRole":
      return `arn:aws:sts::${p.accountId}:assumed-role/${p.roleName}/${p.sessionName}`;
    case "Root":
      return `arn:aws:iam::${p.accountId}:root`;
  }
}

/** CloudTrail's `userIdentity` for a call made with `accessKeyId`. */
export function userIdentity(
  p: SandboxPrincipal,
  accessKeyId: string,
  sessionCreated: string,
): Record<string, unknown> {
  switch (p.type) {
    case "IAMUser":
      return {
        type: "IAMUser",
        principalId: uniqueId("AIDA", principalArn(p)),
        arn: principalArn(p),
        accountId: p.accountId,
        accessKeyId,
        userName: p.userName,
      };
    case "AssumedRole": {
      const roleId = uniqueId("AROA", roleArn(p));
      return {
        type: "AssumedRole",
        principalId: `${roleId}:${p.sessionName}`,
        arn: principalArn(p),
        accountId: p.accountId,
        accessKeyId,
        sessionContext: {
          sessionIssuer: {
            type: "Role",
            principalId: roleId,
            arn: roleArn(p),
            accountId: p.accountId,
            userName: p.roleName,
          },
          attributes: { creationDate: sessionCreated, mfaAuthenticated: "false" },
        },
        ...(p.invokedBy !== undefined ? { invokedBy: p.invokedBy } : {}),
      };
    }
    case "Root":
      return {
        type: "Root",
        principalId: p.accountId,
        arn: principalArn(p),
        accountId: p.accountId,
        accessKeyId,
      };
  }
}
