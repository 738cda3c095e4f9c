import { AWS_PATTERNS } from "../settings";
import type { ResourceRef } from "./view";

/** Console links a human follows from an alert. */
export interface ConsoleLinks {
  /** The security group, network ACL or prefix list page. */
  readonly resource?: string;
  /** The CloudTrail event history page of the event. */
  readonly event?: string;
}

function consoleHost(region: string): string {
  if (region.startsWith("cn-")) return `${region}.console.amazonaws.cn`;
  if (region.startsWith("us-gov-")) return `${region}.console.amazonaws-us-gov.com`;
  return `${region}.console.aws.amazon.com`;
}

const REGION = AWS_PATTERNS.region;

/**
 * Links to the console pages of a resource and of a CloudTrail event. Unknown regions or
 * resources give no link rather than a broken one.
 *
 * @example
 * consoleLinks({ type: "security-group", id: "sg-1" }, "eu-west-1").resource
 * // "https://eu-west-1.console.aws.amazon.com/ec2/home?region=eu-west-1#SecurityGroup:groupId=sg-1"
 */
export function consoleLinks(
  resource: ResourceRef,
  region: string,
  eventId?: string,
): ConsoleLinks {
  if (!REGION.test(region)) return {};
  const base = `https://${consoleHost(region)}`;
  const id = encodeURIComponent(resource.id);
  const known = resource.id !== "unknown";
  const page =
    !known || resource.type === "unknown"
      ? undefined
      : resource.type === "security-group"
        ? `${base}/ec2/home?region=${region}#SecurityGroup:groupId=${id}`
        : resource.type === "network-acl"
          ? `${base}/vpcconsole/home?region=${region}#NetworkAclDetails:networkAclId=${id}`
          : `${base}/vpcconsole/home?region=${region}#PrefixListDetails:prefixListId=${id}`;
  const event =
    eventId !== undefined
      ? `${base}/cloudtrailv2/home?region=${region}#/events/${encodeURIComponent(eventId)}`
      : undefined;
  return { ...(page ? { resource: page } : {}), ...(event ? { event } : {}) };
}
