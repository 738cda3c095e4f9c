/**
 * The floor of the time-to-revoke benchmark: a Lambda handler that does nothing but the one
 * revoke call, with the rule id read straight from the event (no validation, no policy, no
 * audit, no notification). Bundled exactly like the real handler, with the same SDK client
 * settings and the same call tracing, so the two differ only in what the guardrail adds.
 */
import { EC2Client, RevokeSecurityGroupIngressCommand } from "@aws-sdk/client-ec2";
import { traceCalls } from "../../packages/aws/src/trace";

interface AuthorizeEvent {
  readonly detail: {
    readonly requestParameters: { readonly groupId: string };
    readonly responseElements: {
      readonly securityGroupRuleSet: { readonly items: { readonly securityGroupRuleId: string }[] };
    };
  };
}

const ec2 = traceCalls(new EC2Client({ retryMode: "standard", maxAttempts: 5 }));

export async function handler(event: AuthorizeEvent): Promise<{ status: string }> {
  const { requestParameters, responseElements } = event.detail;
  await ec2.send(
    new RevokeSecurityGroupIngressCommand({
      GroupId: requestParameters.groupId,
      SecurityGroupRuleIds: responseElements.securityGroupRuleSet.items.map(
        (r) => r.securityGroupRuleId,
      ),
    }),
  );
  return { status: "revoked" };
}
