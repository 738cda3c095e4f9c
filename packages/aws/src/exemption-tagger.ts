import { CreateTagsCommand, EC2Client } from "@aws-sdk/client-ec2";
import { AwsCallError, awsErrorCode, errorMessage } from "./errors";

/** Sets the exemption tag on a security group as the guardrail's approver role. */
export interface ExemptionTagger {
  /** @throws AwsCallError when EC2 refuses (the tag is then not set, and the press fails). */
  setTag(
    target: { account: string; region: string },
    groupId: string,
    key: string,
    value: string,
  ): Promise<void>;
}

/**
 * Sets exemption tags with the worker's role: the guardrail's approver role, whose
 * `ec2:CreateTags` is limited to the exemption tag keys (`aws:TagKeys`, `aws:RequestTag`).
 * Its own CreateTags event is filtered by the loop guard (the role is an own principal); the
 * approval is recorded by the worker before the tag is set.
 */
export function createExemptionTagger(
  client: EC2Client = new EC2Client({ retryMode: "standard" }),
): ExemptionTagger {
  return {
    async setTag(_target, groupId, key, value) {
      try {
        await client.send(
          new CreateTagsCommand({ Resources: [groupId], Tags: [{ Key: key, Value: value }] }),
        );
      } catch (error) {
        throw new AwsCallError("ec2:CreateTags", awsErrorCode(error), errorMessage(error, 200), {
          cause: error,
        });
      }
    },
  };
}
