import type { AssumeRoleCommandOutput, STSClient } from "@aws-sdk/client-sts";
import { MEMBER_CREDENTIAL_REFRESH_MS, MEMBER_SESSION_SECONDS } from "@guardrail/core";
import { awsErrorCode, errorMessage, MemberRoleError } from "./errors";

/** Temporary credentials of a member role session. */
export interface MemberCredentials {
  readonly accessKeyId: string;
  readonly secretAccessKey: string;
  readonly sessionToken: string;
  readonly expiration: Date;
}

export interface CredentialCacheOptions {
  /** The STS client (of the hub's Region), made on first use. */
  readonly sts: () => Promise<STSClient>;
  readonly roleArnFor: (account: string) => string;
  /** Sent with every AssumeRole; the member roles require it. */
  readonly externalId?: string;
  /** Shown in the member's CloudTrail as the session name (`…/assumed-role/<role>/<name>`). */
  readonly sessionName: string;
  readonly now: () => Date;
  /** Renew this long before expiry. Default MEMBER_CREDENTIAL_REFRESH_MS (5 minutes). */
  readonly refreshBeforeMs?: number;
  readonly durationSeconds?: number;
}

/** Member-role credentials, one session per account. */
export interface CredentialCache {
  /** Valid credentials for the account's member role. @throws MemberRoleError */
  get(account: string): Promise<MemberCredentials>;
}

/**
 * Assumes the member role once per account and keeps the session until 5 minutes before it
 * expires. One session serves every Region of the account: STS sessions are global, and the
 * hub's calls are bounded by the number of accounts, not accounts × Regions. Concurrent asks
 * for one account share one AssumeRole call; a failed call is not kept, so the next ask tries
 * again.
 */
export function createCredentialCache(options: CredentialCacheOptions): CredentialCache {
  const refreshBefore = options.refreshBeforeMs ?? MEMBER_CREDENTIAL_REFRESH_MS;
  const held = new Map<string, Promise<MemberCredentials>>();
  const fresh = (c: MemberCredentials) =>
    c.expiration.getTime() - options.now().getTime() > refreshBefore;

  async function assume(account: string): Promise<MemberCredentials> {
    const roleArn = options.roleArnFor(account);
    let out: AssumeRoleCommandOutput;
    try {
      // Loaded on first use: single-account mode never loads the STS client.
      const { AssumeRoleCommand } = await import("./sdk/sts");
      out = await (await options.sts()).send(
        new AssumeRoleCommand({
          RoleArn: roleArn,
          RoleSessionName: options.sessionName,
          ...(options.externalId === undefined ? {} : { ExternalId: options.externalId }),
          DurationSeconds: options.durationSeconds ?? MEMBER_SESSION_SECONDS,
        }),
      );
    } catch (error) {
      throw new MemberRoleError(account, roleArn, awsErrorCode(error), errorMessage(error), {
        cause: error,
      });
    }
    const c = out.Credentials;
    if (!c?.AccessKeyId || !c.SecretAccessKey || !c.SessionToken || !c.Expiration) {
      throw new MemberRoleError(
        account,
        roleArn,
        "IncompleteCredentials",
        "STS answered without credentials",
      );
    }
    return {
      accessKeyId: c.AccessKeyId,
      secretAccessKey: c.SecretAccessKey,
      sessionToken: c.SessionToken,
      expiration: c.Expiration,
    };
  }

  async function get(account: string): Promise<MemberCredentials> {
    const pending = held.get(account);
    if (pending) {
      // Askers that shared a failed call share its error; a failed entry is then dropped.
      const credentials = await pending;
      if (fresh(credentials)) return credentials;
      // Only the first asker after the refresh point replaces the entry; the others then wait
      // for its call.
      if (held.get(account) !== pending) return get(account);
    }
    const next = assume(account);
    held.set(account, next);
    next.catch(() => {
      if (held.get(account) === next) held.delete(account);
    });
    return next;
  }

  return { get };
}
