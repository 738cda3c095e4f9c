import { createServer, type Server } from "node:http";
import { createRequire } from "node:module";
import type { AddressInfo } from "node:net";
import { Logger } from "@aws-lambda-powertools/logger";
import { Metrics } from "@aws-lambda-powertools/metrics";
import { DynamoDBClient } from "@aws-sdk/client-dynamodb";
import { EC2Client } from "@aws-sdk/client-ec2";
import { SNSClient } from "@aws-sdk/client-sns";
import {
  DeleteCommand,
  DynamoDBDocumentClient,
  QueryCommand,
  ScanCommand,
} from "@aws-sdk/lib-dynamodb";
import { createAuditStore, createEc2Gateway, createNotifier, lazy } from "@guardrail/aws";
import { AUDIT_TABLE, type GuardrailFunction, METRICS } from "@guardrail/core";
import { DEFAULT_SETTLE_MS, loadConfig, type RemediationDeps } from "@guardrail/functions";
import type { RetryStrategyV2 } from "@smithy/types";
import { ConfiguredRetryStrategy } from "@smithy/util-retry";
import type { SNSEvent } from "aws-lambda";
import { afterAll, afterEach, beforeAll, beforeEach } from "vitest";
import { createLocalAuditTable } from "../../packages/aws/src/audit-table";
import { readBody } from "../../packages/sandbox/src/http";
import { Ec2Stub, type StubRule } from "./ec2-stub";
import { BASE_ENV, GROUP, policyFiles, RULE, TABLE, TOPIC } from "./helpers";

export const credentials = { accessKeyId: "AKIDWIRETEST", secretAccessKey: "wire-secret" };
export const REGION = "eu-west-1";

async function listen(server: Server): Promise<string> {
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  return `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
}

const close = (server: Server) => new Promise<void>((resolve) => server.close(() => resolve()));

/** A recorded SNS Publish: the raw form params and the message attributes read back from them. */
export interface PublishRecord {
  readonly params: URLSearchParams;
  readonly message: string;
  readonly subject: string | null;
  readonly attributes: Record<string, { type: string; value: string }>;
}

/** String message attributes as the SNS stub records them from the form params. */
export function recordedStringAttributes(
  values: Readonly<Record<string, string>>,
): PublishRecord["attributes"] {
  return Object.fromEntries(
    Object.entries(values).map(([name, value]) => [name, { type: "String", value }]),
  );
}

/** A minimal SNS Query endpoint (Version=2010-03-31) that records Publish calls. */
export async function startSnsStub() {
  const publishes: PublishRecord[] = [];
  let failures = 0;
  let hangs = 0;
  const server = createServer(async (req, res) => {
    const params = new URLSearchParams(await readBody(req, 8 * 1024 * 1024));
    if (hangs > 0) {
      // Never answers: a connection that hangs until the client gives up.
      hangs--;
      return;
    }
    res.setHeader("content-type", "text/xml");
    if (failures > 0) {
      failures--;
      res.writeHead(500);
      res.end(
        '<ErrorResponse xmlns="http://sns.amazonaws.com/doc/2010-03-31/"><Error><Type>Receiver</Type><Code>InternalError</Code><Message>stub failure</Message></Error><RequestId>r</RequestId></ErrorResponse>',
      );
      return;
    }
    if (params.get("Action") !== "Publish") {
      res.writeHead(400);
      res.end(
        "<ErrorResponse><Error><Code>InvalidAction</Code><Message>stub</Message></Error></ErrorResponse>",
      );
      return;
    }
    const attributes: PublishRecord["attributes"] = {};
    for (let i = 1; params.has(`MessageAttributes.entry.${i}.Name`); i++) {
      attributes[params.get(`MessageAttributes.entry.${i}.Name`) as string] = {
        type: params.get(`MessageAttributes.entry.${i}.Value.DataType`) as string,
        value: params.get(`MessageAttributes.entry.${i}.Value.StringValue`) as string,
      };
    }
    publishes.push({
      params,
      message: params.get("Message") ?? "",
      subject: params.get("Subject"),
      attributes,
    });
    res.writeHead(200);
    res.end(
      `<PublishResponse xmlns="http://sns.amazonaws.com/doc/2010-03-31/"><PublishResult><MessageId>msg-${publishes.length}</MessageId></PublishResult><ResponseMetadata><RequestId>r-${publishes.length}</RequestId></ResponseMetadata></PublishResponse>`,
    );
  });
  const endpoint = await listen(server);
  return {
    endpoint,
    publishes,
    failNext: (n: number) => {
      failures = n;
    },
    hangNext: (n: number) => {
      hangs = n;
    },
    close: () => {
      server.closeAllConnections();
      return close(server);
    },
  };
}

/** An HTTP server standing in for the Slack webhook. */
export async function startWebhook() {
  const posts: { path: string; body: unknown }[] = [];
  let status = 200;
  const server = createServer(async (req, res) => {
    const text = await readBody(req, 8 * 1024 * 1024);
    posts.push({ path: req.url ?? "", body: JSON.parse(text) });
    res.writeHead(status, { "content-type": "text/plain" });
    res.end(status === 200 ? "ok" : "service unavailable");
  });
  const endpoint = await listen(server);
  return {
    url: `${endpoint}/services/T000/B000/secret-token`,
    posts,
    answer: (s: number) => {
      status = s;
    },
    close: () => close(server),
  };
}

type DynaliteServer = Server;
const dynalite = createRequire(import.meta.url)("dynalite") as (options: {
  createTableMs?: number;
}) => DynaliteServer;

/** dynalite with the audit table (key schema and both indexes from AUDIT_TABLE). */
export async function startDynamo() {
  const server = dynalite({ createTableMs: 0 });
  const endpoint = await listen(server);
  const client = new DynamoDBClient({ endpoint, region: REGION, credentials });
  await createLocalAuditTable(client, TABLE);
  const doc = DynamoDBDocumentClient.from(client, {
    marshallOptions: { removeUndefinedValues: true },
  });
  /** Deletes every item whose partition key starts with `prefix` (dynalite lives across tests). */
  const deleteItems = async (prefix: string) => {
    const out = await doc.send(
      new ScanCommand({
        TableName: TABLE,
        FilterExpression: "begins_with(pk, :prefix)",
        ExpressionAttributeValues: { ":prefix": prefix },
      }),
    );
    for (const item of out.Items ?? []) {
      await doc.send(new DeleteCommand({ TableName: TABLE, Key: { pk: item.pk, sk: item.sk } }));
    }
  };
  /** Forgets every rule the flap guard counted, so that a test's re-openings start from none. */
  const resetFlapCounters = () => deleteItems("FLAP#");
  /** The audit items stored under one event's decision key. */
  const decisionItems = async (eventId: string) => {
    const out = await doc.send(
      new QueryCommand({
        TableName: TABLE,
        KeyConditionExpression: "#pk = :pk",
        ExpressionAttributeNames: { "#pk": AUDIT_TABLE.partitionKey },
        ExpressionAttributeValues: { ":pk": `DECISION#${eventId}` },
      }),
    );
    return out.Items ?? [];
  };
  return {
    endpoint,
    client,
    doc,
    deleteItems,
    resetFlapCounters,
    decisionItems,
    close: () => close(server),
  };
}

/** An inbound tcp 22 rule as the EC2 stub holds it, from `peer` (0.0.0.0/0 by default). */
export function sshRule(
  id: string,
  groupId: string,
  peer: Pick<StubRule, "cidr" | "cidrV6"> = { cidr: "0.0.0.0/0" },
): StubRule {
  return { id, groupId, egress: false, protocol: "tcp", from: 22, to: 22, ...peer };
}

/** The rule of the ssh-from-world fixture as EC2 holds it: tcp 22 from 0.0.0.0/0, inbound. */
export const SSH_FROM_WORLD_RULE = sshRule(RULE, GROUP);

/** The servers a wire test file talks to; set once the hooks `wireStubs` registers have run. */
export interface WireStubs {
  ec2: Ec2Stub;
  sns: Awaited<ReturnType<typeof startSnsStub>>;
  dynamo: Awaited<ReturnType<typeof startDynamo>>;
}

/**
 * Registers the hooks of a wire test file: the SNS stub and dynalite start once for the file and
 * close after it; each test gets a fresh EC2 stub and an empty record of SNS publishes.
 */
export function wireStubs(): WireStubs {
  const stubs = {} as WireStubs;
  beforeAll(async () => {
    [stubs.sns, stubs.dynamo] = await Promise.all([startSnsStub(), startDynamo()]);
  });
  afterAll(async () => {
    await Promise.all([stubs.sns.close(), stubs.dynamo.close()]);
  });
  beforeEach(async () => {
    stubs.ec2 = new Ec2Stub();
    await stubs.ec2.listen();
    stubs.sns.publishes.length = 0;
  });
  afterEach(async () => {
    await stubs.ec2.close();
  });
  return stubs;
}

/** The endpoints of a file's stubs, as `wireDeps` takes them. */
export function endpointsOf(stubs: WireStubs) {
  return {
    ec2Endpoint: stubs.ec2.endpoint,
    snsEndpoint: stubs.sns.endpoint,
    dynamoEndpoint: stubs.dynamo.endpoint,
  };
}

export interface WireOptions {
  readonly fn?: GuardrailFunction;
  readonly ec2Endpoint: string;
  readonly snsEndpoint: string;
  readonly dynamoEndpoint: string;
  /** A fresh client per fault test: retry capacity is shared per client. */
  readonly fastRetries?: boolean;
  readonly settleMs?: number;
  readonly now?: () => Date;
  /** The policy (`policy.yaml` next to the handler); the default policy otherwise. */
  readonly policyYaml?: string;
  /** The EC2 client's retry strategy (the production one for throttling tests). */
  readonly ec2RetryStrategy?: RetryStrategyV2;
}

/** Real adapters over real SDK clients pointed at the local servers. */
export function wireDeps(o: WireOptions): RemediationDeps {
  const retry = o.fastRetries === false ? {} : { retryStrategy: new ConfiguredRetryStrategy(4, 0) };
  const clock = o.now ?? (() => new Date());
  return {
    config: loadConfig(o.fn ?? "security-group-change", BASE_ENV, policyFiles(o.policyYaml)),
    logger: new Logger({ serviceName: "wire", logLevel: "SILENT" }),
    metrics: new Metrics({ namespace: METRICS.namespace, serviceName: "wire" }),
    clock,
    settleMs: o.settleMs ?? DEFAULT_SETTLE_MS,
    ec2: createEc2Gateway(
      new EC2Client({
        endpoint: o.ec2Endpoint,
        region: REGION,
        credentials,
        ...retry,
        ...(o.ec2RetryStrategy ? { retryStrategy: o.ec2RetryStrategy } : {}),
      }),
      clock,
    ),
    audit: createAuditStore(
      TABLE,
      lazy(async () =>
        DynamoDBDocumentClient.from(
          new DynamoDBClient({ endpoint: o.dynamoEndpoint, region: REGION, credentials, ...retry }),
          { marshallOptions: { removeUndefinedValues: true } },
        ),
      ),
    ),
    notifier: createNotifier(
      TOPIC,
      lazy(
        async () =>
          new SNSClient({ endpoint: o.snsEndpoint, region: REGION, credentials, ...retry }),
      ),
    ),
  };
}

/** The SNS event the topic would deliver to the Slack notifier for one recorded publish. */
export function snsEventOf(p: PublishRecord): SNSEvent {
  return {
    Records: [
      {
        EventSource: "aws:sns",
        EventVersion: "1.0",
        EventSubscriptionArn: `${TOPIC}:sub-1`,
        Sns: {
          Type: "Notification",
          MessageId: "m-1",
          TopicArn: TOPIC,
          Subject: p.subject as string,
          Message: p.message,
          Timestamp: new Date().toISOString(),
          SignatureVersion: "1",
          Signature: "",
          SigningCertUrl: "",
          UnsubscribeUrl: "",
          MessageAttributes: Object.fromEntries(
            Object.entries(p.attributes).map(([k, v]) => [k, { Type: v.type, Value: v.value }]),
          ),
        },
      },
    ],
  };
}
