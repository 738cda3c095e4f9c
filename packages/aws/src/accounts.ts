import { EC2Client } from "@aws-sdk/client-ec2";
import {
  type AccountTarget,
  AWS_PATTERNS,
  InvalidInputError,
  type OrganizationConfig,
} from "@guardrail/core";
import type { CredentialCache, MemberCredentials } from "./credential-cache";
import { createEc2Gateway, type Ec2Gateway } from "./ec2";
import { ec2RetryStrategy } from "./ec2-retry";

// The member-role credential cache lives in its own module so that its users (Security Hub
// export) do not load the EC2 client; it is part of this module's interface.
export * from "./credential-cache";

const { accountId: ACCOUNT_ID, region: REGION } = AWS_PATTERNS;

/** Which EC2 gateway acts where. */
export interface MemberAccess {
  /**
   * The gateway acting in `target`: the function's own in the hub's account and Region, the
   * member role's everywhere else. @throws InvalidInputError for a malformed account or Region.
   */
  gateway(target: AccountTarget): Promise<Ec2Gateway>;
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
  const isHubAccountAndRegion = (t: AccountTarget) =>
    organization.hub !== null &&
    t.account === organization.hub.account &&
    t.region === organization.hub.region;
  return {
    async gateway(target) {
      if (!ACCOUNT_ID.test(target.account)) {
        throw new InvalidInputError("account", `"${target.account}" is not a 12-digit account id`);
      }
      if (!REGION.test(target.region)) {
        throw new InvalidInputError("region", `"${target.region}" is not a Region name`);
      }
      if (isHubAccountAndRegion(target)) return hubGateway;
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
