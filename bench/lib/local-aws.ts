import { AuthorizeSecurityGroupIngressCommand, EC2Client } from "@aws-sdk/client-ec2";
import { FUNCTION_ENV } from "@guardrail/core";
import {
  Ec2Sandbox,
  type EventBridgeEvent,
  type SandboxRequest,
  type SandboxResponse,
} from "@guardrail/sandbox";
import { startDynamo, startSnsStub } from "../../functions/test/harness";
import { TABLE, TOPIC } from "../../functions/test/helpers";

export const ACCOUNT = "123456789012";
export const REGION = "eu-west-1";
/** The key the guardrail's functions sign with; the sandbox maps it to their role's session. */
export const GUARDRAIL_KEY = "ASIAGUARDRAILBENCH01";
export const GUARDRAIL_ROLE = "guardrail-security-group-change";
export const GUARDRAIL_ROLE_ARN = `arn:aws:iam::${ACCOUNT}:role/${GUARDRAIL_ROLE}`;
/** A developer (IAM user) whose changes the guardrail judges. */
export const DEVELOPER_KEY = "AKIADEVELOPERBENCH01";

/**
 * The EC2 sandbox, keeping the order of the actions it answered (for "calls before the revoke")
 * and counting the calls it throttled.
 */
export class RecordingSandbox extends Ec2Sandbox {
  readonly actions: string[] = [];
  throttled = 0;

  override async handle(request: SandboxRequest): Promise<SandboxResponse> {
    const response = await super.handle(request);
    this.actions.push(response.action);
    if (response.status === 503) this.throttled++;
    return response;
  }
}

export interface LocalAws {
  readonly sandbox: RecordingSandbox;
  readonly endpoints: { readonly ec2: string; readonly sns: string; readonly dynamo: string };
  readonly sns: Awaited<ReturnType<typeof startSnsStub>>;
  readonly dynamo: Awaited<ReturnType<typeof startDynamo>>;
  /** Environment of a bundled function on this stack (as the deploy sets it, plus endpoints). */
  lambdaEnv(extra?: Readonly<Record<string, string>>): Record<string, string>;
  developer(): EC2Client;
  close(): Promise<void>;
}

/**
 * The local AWS of the benchmarks: the EC2 sandbox, an SNS Query stub that records publishes,
 * and dynalite with the audit table (the wire tests' helpers).
 */
export async function startLocalAws(): Promise<LocalAws> {
  const sandbox = new RecordingSandbox({
    defaultAccountId: ACCOUNT,
    defaultRegion: REGION,
    maxRecordedEvents: 100_000,
    accessKeys: {
      [GUARDRAIL_KEY]: {
        type: "AssumedRole",
        accountId: ACCOUNT,
        roleName: GUARDRAIL_ROLE,
        sessionName: "security-group-change",
      },
      [DEVELOPER_KEY]: { type: "IAMUser", accountId: ACCOUNT, userName: "developer" },
    },
  });
  const [ec2, sns, dynamo] = await Promise.all([sandbox.listen(0), startSnsStub(), startDynamo()]);
  const endpoints = { ec2, sns: sns.endpoint, dynamo: dynamo.endpoint };
  const clients: EC2Client[] = [];
  return {
    sandbox,
    endpoints,
    sns,
    dynamo,
    lambdaEnv: (extra = {}) => ({
      AWS_REGION: REGION,
      AWS_ACCESS_KEY_ID: GUARDRAIL_KEY,
      AWS_SECRET_ACCESS_KEY: "bench-secret",
      AWS_SESSION_TOKEN: "bench-session",
      AWS_ENDPOINT_URL_EC2: endpoints.ec2,
      AWS_ENDPOINT_URL_SNS: endpoints.sns,
      AWS_ENDPOINT_URL_DYNAMODB: endpoints.dynamo,
      [FUNCTION_ENV.tableName]: TABLE,
      [FUNCTION_ENV.topicArn]: TOPIC,
      [FUNCTION_ENV.ownRoleArns]: GUARDRAIL_ROLE_ARN,
      [FUNCTION_ENV.stage]: "bench",
      [FUNCTION_ENV.version]: "bench",
      ...extra,
    }),
    developer: () => {
      const client = new EC2Client({
        endpoint: endpoints.ec2,
        region: REGION,
        credentials: { accessKeyId: DEVELOPER_KEY, secretAccessKey: "developer-secret" },
      });
      clients.push(client);
      return client;
    },
    close: async () => {
      for (const c of clients) c.destroy();
      await Promise.all([sandbox.close(), sns.close(), dynamo.close()]);
    },
  };
}

type RuleSet = { items?: { securityGroupRuleId?: string }[] };

/** One violating change: the rule it opened and the event EventBridge would deliver. */
export interface Violation {
  readonly groupId: string;
  readonly ruleId: string;
  readonly event: EventBridgeEvent;
}

/**
 * Seeds `count` empty groups and has the developer open SSH (or tcp `port`) to the world on
 * each, through the SDK: the sandbox emits the CloudTrail events, exactly as EventBridge would
 * deliver them.
 */
export async function openSshToTheWorld(
  local: LocalAws,
  count: number,
  prefix: string,
  port = 22,
): Promise<Violation[]> {
  const groups = local.sandbox.seedSecurityGroups(
    Array.from({ length: count }, (_, i) => ({ name: `${prefix}-${i}` })),
  );
  const byRule = new Map<string, EventBridgeEvent>();
  const off = local.sandbox.onEvent((e) => {
    if (e.detail.eventName !== "AuthorizeSecurityGroupIngress" || e.detail.errorCode) return;
    const set = e.detail.responseElements?.securityGroupRuleSet as RuleSet | undefined;
    const id = set?.items?.[0]?.securityGroupRuleId;
    if (id) byRule.set(id, e);
  });
  const client = local.developer();
  const opened: { groupId: string; ruleId: string }[] = [];
  const CONCURRENCY = 8;
  for (let i = 0; i < groups.length; i += CONCURRENCY) {
    const batch = groups.slice(i, i + CONCURRENCY);
    const outs = await Promise.all(
      batch.map((g) =>
        client.send(
          new AuthorizeSecurityGroupIngressCommand({
            GroupId: g.groupId,
            IpPermissions: [
              {
                IpProtocol: "tcp",
                FromPort: port,
                ToPort: port,
                IpRanges: [{ CidrIp: "0.0.0.0/0" }],
              },
            ],
          }),
        ),
      ),
    );
    batch.forEach((g, j) => {
      const ruleId = outs[j]?.SecurityGroupRules?.[0]?.SecurityGroupRuleId;
      if (!ruleId) throw new Error(`no rule id for ${g.groupId}`);
      opened.push({ groupId: g.groupId, ruleId });
    });
  }
  // The events reach listeners after the replies: pair them by the rule they opened.
  await local.sandbox.drainEvents();
  off();
  return opened.map((v) => {
    const event = byRule.get(v.ruleId);
    if (!event) throw new Error(`the sandbox emitted no event for ${v.ruleId}`);
    return { ...v, event };
  });
}

/** Whether the rule is still in its group. */
export function stillOpen(local: LocalAws, v: Violation): boolean {
  return (local.sandbox.securityGroupRules(v.groupId) ?? []).some(
    (r) => r.securityGroupRuleId === v.ruleId,
  );
}
