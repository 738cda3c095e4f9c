/**
 * The floor of the NACL benchmark: a Lambda handler that makes only the calls the NACL path
 * cannot do without, one DescribeNetworkAcls of the ACL and the writes, with the entries to
 * create handed to it in the event (no validation, no policy, no planning, no audit, no
 * notification). Bundled exactly like the real handler, with the same SDK client settings and
 * the same call tracing, so the two differ only in what the guardrail adds.
 */
import {
  CreateNetworkAclEntryCommand,
  DescribeNetworkAclsCommand,
  EC2Client,
} from "@aws-sdk/client-ec2";
import { traceCalls } from "../../packages/aws/src/trace";

/** One entry to create, as CreateNetworkAclEntry takes it. */
export interface FloorEntry {
  readonly RuleNumber: number;
  readonly Egress: boolean;
  readonly RuleAction: "allow" | "deny";
  readonly Protocol: string;
  readonly CidrBlock: string;
  readonly PortRange?: { readonly From: number; readonly To: number };
}

interface FloorEvent {
  readonly detail: { readonly requestParameters: { readonly networkAclId: string } };
  /** What the guardrail created for the same change, in its order. */
  readonly floorEntries: readonly FloorEntry[];
}

const ec2 = traceCalls(new EC2Client({ retryMode: "standard", maxAttempts: 5 }));

export async function handler(event: FloorEvent): Promise<{ status: string }> {
  const id = event.detail.requestParameters.networkAclId;
  await ec2.send(
    new DescribeNetworkAclsCommand({ Filters: [{ Name: "network-acl-id", Values: [id] }] }),
  );
  for (const e of event.floorEntries) {
    await ec2.send(new CreateNetworkAclEntryCommand({ NetworkAclId: id, ...e }));
  }
  return { status: "revoked" };
}
