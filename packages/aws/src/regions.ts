import { DescribeRegionsCommand, EC2Client } from "@aws-sdk/client-ec2";
import { InvalidInputError, REGION_NAME } from "@guardrail/core";
import type { AwsClientSettings } from "./client-settings";
import { ec2Client } from "./clients";
import { createEc2Gateway, type Ec2Gateway } from "./ec2";
import { ec2RetryStrategy } from "./ec2-retry";
import { lazy } from "./lazy";

/** Single-account mode: the EC2 gateway of each covered Region, with the function's own role. */
export interface RegionalAccess {
  /** The gateway acting in `region`. @throws InvalidInputError for a malformed Region name. */
  gateway(region: string): Ec2Gateway;
}

export interface RegionalAccessOptions {
  /** The function's own Region, whose gateway is `homeGateway`. */
  readonly home: string;
  readonly homeGateway: Ec2Gateway;
  /** Builds an EC2 client acting in one Region. Default: the SDK's, with `ec2RetryStrategy`. */
  readonly makeClient?: (region: string) => EC2Client;
  /** Builds the whole gateway of one Region instead (local runs that time each call). */
  readonly makeGateway?: (region: string) => Ec2Gateway;
  readonly now?: () => Date;
}

/**
 * One EC2 client per Region, made on first use and kept for the life of the execution
 * environment (a Region's client is reused by every later event from it). The home Region
 * answers with the gateway made at cold start.
 */
export function createRegionalAccess(options: RegionalAccessOptions): RegionalAccess {
  const makeClient =
    options.makeClient ??
    ((region: string) => new EC2Client({ region, retryStrategy: ec2RetryStrategy() }));
  const makeGateway =
    options.makeGateway ?? ((region: string) => createEc2Gateway(makeClient(region), options.now));
  const gateways = new Map<string, Ec2Gateway>([[options.home, options.homeGateway]]);
  return {
    gateway(region) {
      if (!REGION_NAME.test(region)) {
        throw new InvalidInputError("region", `"${region}" is not a Region name`);
      }
      let gateway = gateways.get(region);
      if (gateway === undefined) {
        gateway = makeGateway(region);
        gateways.set(region, gateway);
      }
      return gateway;
    },
  };
}

/**
 * The Regions enabled in the account now (`DescribeRegions` without `AllRegions` answers those
 * whose opt-in status is `opt-in-not-required` or `opted-in`).
 * https://docs.aws.amazon.com/AWSEC2/latest/APIReference/API_DescribeRegions.html
 */
export async function describeEnabledRegions(client: EC2Client): Promise<string[]> {
  const out = await client.send(new DescribeRegionsCommand({}));
  const names = (out.Regions ?? [])
    .filter((r) => r.OptInStatus === undefined || r.OptInStatus !== "not-opted-in")
    .map((r) => r.RegionName)
    .filter((n): n is string => n !== undefined);
  if (names.length === 0) throw new Error("DescribeRegions answered no Region");
  return names;
}

/**
 * The sweep's reader of the enabled Regions: one EC2 client, made on first use, with `settings`
 * (the SDK's defaults in production).
 */
export function enabledRegionsReader(settings: AwsClientSettings = {}): () => Promise<string[]> {
  const client = lazy(async () => ec2Client(settings));
  return async () => describeEnabledRegions(await client());
}
