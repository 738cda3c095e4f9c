// The AWS SDK's EC2 client alone, as a handler would hold it: what `import` of the SDK costs
// before any guardrail code runs (bench/cold-start.ts).
import { EC2Client, RevokeSecurityGroupIngressCommand } from "@aws-sdk/client-ec2";

export const client = new EC2Client({});
export const Revoke = RevokeSecurityGroupIngressCommand;
