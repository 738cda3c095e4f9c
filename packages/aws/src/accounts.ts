import { EC2Client } from "@aws-sdk/client-ec2";
import type { AssumeRoleCommandOutput, STSClient } from "@aws-sdk/client-sts";
import {
  type AccountTarget,
  AWS_PATTERNS,
  InvalidInputError,
  MEMBER_CREDENTIAL_REFRESH_MS,
  MEMBER_SESSION_SECONDS,
  type OrganizationConfig,
} from "@guardrail/core";
import { createEc2Gateway, type Ec2Gateway } from "./ec2";
import { ec2RetryStrategy } from "./ec2-retry";
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
  /** Accounts with a session held (for tests and logs). */
  accounts(): string[];
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
      const { AssumeRoleCommand } = await import("@aws-sdk/client-sts");
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

  return { get, accounts: () => [...held.keys()] };
}

const { accountId: ACCOUNT_ID, region: REGION } = AWS_PATTERNS;

/** Which EC2 gateway acts where. */
export interface MemberAccess {
  /**
   * The gateway acting in `target`: the function's own in the hub's account and Region, the
   * member role's everywhere else. @throws InvalidInputError for a malformed account or Region.
   */
  gateway(target: AccountTarget): Promise<Ec2Gateway>;
  /** Whether `target` is the hub's own account and Region. */
  isHub(target: AccountTarget): boolean;
}

export interface MemberAccessOptions {
  readonly organization: OrganizationConfig;
  readonly credentials: CredentialCache;
  /** The gateway of the function's own role (the hub's account and Region). */
  readonly hubGateway: Ec2Gateway;
  /** Builds an EC2 client acting in one account and Region. */
  readonly makeClient?: (
    target: AccountTarget,
    credentials: () => Promise<MemberCredentials>,
  ) => EC2Client;
  readonly now?: () => Date;
  /** Clients kept at most; the least recently made is dropped first. Default 256. */
  readonly maxClients?: number;
}

function defaultClient(
  target: AccountTarget,
  credentials: () => Promise<MemberCredentials>,
): EC2Client {
  return new EC2Client({
    region: target.region,
    credentials,
    retryStrategy: ec2RetryStrategy(),
  });
}

/**
 * One EC2 client per (account, Region), each signing with the account's member-role session.
 * The SDK asks the credential provider again when the session is within 5 minutes of expiry,
 * and the cache renews it then, so a long sweep never signs with run-out credentials.
 */
export function createMemberAccess(options: MemberAccessOptions): MemberAccess {
  const { organization, credentials, hubGateway } = options;
  const makeClient = options.makeClient ?? defaultClient;
  const max = options.maxClients ?? 256;
  const gateways = new Map<string, { client: EC2Client; gateway: Ec2Gateway }>();
  const isHub = (t: AccountTarget) =>
    organization.hub !== null &&
    t.account === organization.hub.account &&
    t.region === organization.hub.region;
  return {
    isHub,
    async gateway(target) {
      if (!ACCOUNT_ID.test(target.account)) {
        throw new InvalidInputError("account", `"${target.account}" is not a 12-digit account id`);
      }
      if (!REGION.test(target.region)) {
        throw new InvalidInputError("region", `"${target.region}" is not a Region name`);
      }
      if (isHub(target)) return hubGateway;
      const key = `${target.account}/${target.region}`;
      let entry = gateways.get(key);
      if (entry === undefined) {
        // Assume before building the client: a refused role fails here, with its own error,
        // rather than inside the first EC2 call as a credential-provider failure.
        await credentials.get(target.account);
        const client = makeClient(target, () => credentials.get(target.account));
        entry = { client, gateway: createEc2Gateway(client, options.now) };
        gateways.set(key, entry);
        if (gateways.size > max) {
          const [oldest, dropped] = gateways.entries().next().value as [
            string,
            { client: EC2Client },
          ];
          gateways.delete(oldest);
          dropped.client.destroy();
        }
      }
      return entry.gateway;
    },
  };
}
