import { Logger } from "@aws-lambda-powertools/logger";
import { Metrics } from "@aws-lambda-powertools/metrics";
import { AuthorizeSecurityGroupIngressCommand, EC2Client } from "@aws-sdk/client-ec2";
import { QueryCommand } from "@aws-sdk/lib-dynamodb";
import { createSlackPoster } from "@guardrail/aws";
import { AUDIT_TABLE, auditKey, type GuardrailFunction, METRICS } from "@guardrail/core";
import {
  createNetworkAclChangeHandler,
  createPrefixListChangeHandler,
  createSecurityGroupChangeHandler,
  createSlackNotifierHandler,
  type RemediationDeps,
} from "@guardrail/functions";
import { Ec2Sandbox, type EventBridgeEvent } from "@guardrail/sandbox";
import type { SNSEvent } from "aws-lambda";
import {
  credentials,
  REGION,
  snsEventOf,
  startDynamo,
  startSnsStub,
  startWebhook,
  type WireOptions,
  wireDeps,
} from "../../functions/test/harness";
import { lambdaContext, OWN_ROLE, TABLE } from "../../functions/test/helpers";
import { EventBridgeRouter } from "../../packages/sandbox/src/local/router";

export const ACCOUNT = "123456789012";
const DEVELOPER_KEY = "AKIARELIABILITYDEV01";

type Handler = (event: unknown) => Promise<unknown>;

/**
 * The guardrail on local wire endpoints: the EC2 sandbox (the functions sign as their own role,
 * so the sandbox's CloudTrail events name it), an SNS stub that can fail, dynalite with the audit
 * table, a Slack webhook that can fail, and an EventBridge router with the deployed patterns that
 * retries failed invocations.
 */
export async function startWorld() {
  const sandbox = new Ec2Sandbox({
    defaultAccountId: ACCOUNT,
    defaultRegion: REGION,
    accessKeys: {
      // wireDeps signs with this key: the guardrail's role, as in production.
      [credentials.accessKeyId]: {
        type: "AssumedRole",
        accountId: ACCOUNT,
        roleName: OWN_ROLE.split("/").pop() as string,
        sessionName: "security-group-change",
      },
      [DEVELOPER_KEY]: { type: "IAMUser", accountId: ACCOUNT, userName: "developer" },
    },
  });
  const [ec2Endpoint, sns, dynamo, slack] = await Promise.all([
    sandbox.listen(0),
    startSnsStub(),
    startDynamo(),
    startWebhook(),
  ]);
  const clients: EC2Client[] = [];

  /** Fresh adapters and SDK clients (retry capacity is per client), as a new environment has. */
  const deps = (over: Partial<WireOptions> = {}): RemediationDeps =>
    wireDeps({
      ec2Endpoint,
      snsEndpoint: sns.endpoint,
      dynamoEndpoint: dynamo.endpoint,
      ...over,
    });

  const handlers = (over: Partial<WireOptions> = {}): Record<string, Handler> => {
    const sg = createSecurityGroupChangeHandler(deps(over));
    const nacl = createNetworkAclChangeHandler(deps({ ...over, fn: "network-acl-change" }));
    const pl = createPrefixListChangeHandler(deps({ ...over, fn: "prefix-list-change" }));
    return {
      "security-group-change": (e) => sg(e, lambdaContext),
      "network-acl-change": (e) => nacl(e, lambdaContext),
      "prefix-list-change": (e) => pl(e, lambdaContext),
    };
  };

  /** EventBridge with the deployed patterns and retries (EventBridge retries failed targets). */
  const router = (h: Record<string, Handler> = handlers(), maxAttempts = 3) =>
    new EventBridgeRouter({
      ownRoleArns: [OWN_ROLE],
      invoke: (fn: GuardrailFunction, event: unknown) => {
        const handler = h[fn];
        if (!handler) throw new Error(`no handler for ${fn}`);
        return handler(event);
      },
      maxAttempts,
      retryDelayMs: 10,
    });

  const slackHandler = () => {
    const notify = createSlackNotifierHandler({
      logger: new Logger({ serviceName: "reliability", logLevel: "SILENT" }),
      metrics: new Metrics({ namespace: METRICS.namespace, serviceName: "reliability" }),
      config: {
        webhookParameter: "/network-guardrail/test/slack-webhook-url",
        stage: "test",
        version: "1",
      },
      slack: createSlackPoster(slack.url),
    });
    return (event: SNSEvent) => notify(event, lambdaContext);
  };

  const developer = () => {
    const client = new EC2Client({
      endpoint: ec2Endpoint,
      region: REGION,
      credentials: { accessKeyId: DEVELOPER_KEY, secretAccessKey: "developer" },
    });
    clients.push(client);
    return client;
  };

  /**
   * A developer opens SSH (or another tcp `port`) to the world on a new group; returns the
   * event CloudTrail emits.
   */
  const openSsh = async (name: string, port = 22) => {
    const { groupId } = sandbox.seedSecurityGroup({ name });
    const out = await developer().send(
      new AuthorizeSecurityGroupIngressCommand({
        GroupId: groupId,
        IpPermissions: [
          { IpProtocol: "tcp", FromPort: port, ToPort: port, IpRanges: [{ CidrIp: "0.0.0.0/0" }] },
        ],
      }),
    );
    const ruleId = out.SecurityGroupRules?.[0]?.SecurityGroupRuleId as string;
    const event = await sandbox.waitForEvent(
      (e) =>
        e.detail.eventName === "AuthorizeSecurityGroupIngress" &&
        JSON.stringify(e.detail.responseElements ?? {}).includes(ruleId),
    );
    return { groupId, ruleId, event, eventId: event.detail.eventID };
  };

  const isOpen = (groupId: string, ruleId: string) =>
    (sandbox.securityGroupRules(groupId) ?? []).some((r) => r.securityGroupRuleId === ruleId);

  /** Every audit item of one decision (the id is the CloudTrail eventID). */
  const auditItems = async (id: string) => {
    const out = await dynamo.doc.send(
      new QueryCommand({
        TableName: TABLE,
        KeyConditionExpression: "#pk = :pk",
        ExpressionAttributeNames: { "#pk": AUDIT_TABLE.partitionKey },
        ExpressionAttributeValues: { ":pk": auditKey(id).pk },
      }),
    );
    return out.Items ?? [];
  };

  /** SNS messages about one decision. */
  const messagesAbout = (id: string) =>
    sns.publishes.filter((p) => (JSON.parse(p.message) as { id?: string }).id === id);

  /** Successful (not failed) revoke calls the sandbox emitted CloudTrail events for. */
  const revokeEvents = (groupId: string): EventBridgeEvent[] =>
    sandbox
      .recordedEvents()
      .filter(
        (e) =>
          e.detail.eventName.startsWith("RevokeSecurityGroup") &&
          !e.detail.errorCode &&
          (e.detail.requestParameters as { groupId?: string } | null)?.groupId === groupId,
      );

  return {
    sandbox,
    sns,
    dynamo,
    slack,
    deps,
    handlers,
    router,
    slackHandler,
    snsEventOf,
    developer,
    openSsh,
    isOpen,
    auditItems,
    messagesAbout,
    revokeEvents,
    async close() {
      for (const c of clients) c.destroy();
      await Promise.all([sandbox.close(), sns.close(), dynamo.close(), slack.close()]);
    },
  };
}

export type World = Awaited<ReturnType<typeof startWorld>>;
