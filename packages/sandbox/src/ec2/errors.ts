import { GuardrailError } from "@guardrail/core";

/**
 * An error the local EC2 endpoint answers with, in EC2's own vocabulary: `code` is the Query API
 * `<Code>` (no `Client.` prefix: CloudTrail adds that), `status` the HTTP status AWS uses.
 * Thrown by the seeding API too, so that bulk set-up fails exactly as the wire would.
 */
export class Ec2ApiError extends GuardrailError {
  readonly status: number;
  /** `client` or `server`: decides the `Client.`/`Server.` prefix CloudTrail writes. */
  readonly fault: "client" | "server";
  constructor(code: string, message: string, status = 400) {
    super(code, message);
    this.status = status;
    this.fault = status >= 500 && code !== "RequestLimitExceeded" ? "server" : "client";
  }
}

export const invalidParameterValue = (message: string) =>
  new Ec2ApiError("InvalidParameterValue", message);

export const missingParameter = (name: string) =>
  new Ec2ApiError("MissingParameter", `The request must contain the parameter ${name}`);

export const groupNotFound = (groupId: string) =>
  new Ec2ApiError("InvalidGroup.NotFound", `The security group '${groupId}' does not exist`);

export const ruleIdNotFound = (ruleId: string) =>
  new Ec2ApiError(
    "InvalidSecurityGroupRuleId.NotFound",
    `The security group rule ID '${ruleId}' does not exist`,
  );

export const vpcNotFound = (vpcId: string) =>
  new Ec2ApiError("InvalidVpcID.NotFound", `The vpc ID '${vpcId}' does not exist`);

export const networkAclNotFound = (aclId: string) =>
  new Ec2ApiError("InvalidNetworkAclID.NotFound", `The networkAcl ID '${aclId}' does not exist`);

export const prefixListNotFound = (id: string) =>
  new Ec2ApiError("InvalidPrefixListID.NotFound", `The prefix list ID '${id}' does not exist`);
