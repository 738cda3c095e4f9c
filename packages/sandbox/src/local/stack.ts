import { randomUUID } from "node:crypto";
import { resolve } from "node:path";
import type { LogLevel } from "@aws-lambda-powertools/logger/types";
import { DynamoDBClient } from "@aws-sdk/client-dynamodb";
import { EC2Client } from "@aws-sdk/client-ec2";
import { SSMClient } from "@aws-sdk/client-ssm";
import { DynamoDBDocumentClient } from "@aws-sdk/lib-dynamodb";
import { type AwsClientSettings, type Ec2Gateway, enabledRegionsReader } from "@guardrail/aws";
import {
  BUILT_IN_POLICY_SOURCE,
  DEFAULT_POLICY_YAML,
  EVENT_DRIVEN_FUNCTIONS,
  FUNCTION_ENV,
  GUARDRAIL_FUNCTIONS,
  type GuardrailFunction,
  isNotifierFunction,
  loadPolicy,
  NOTIFIERS,
  notifierEnvironment,
  ORG_FUNCTION_ENV,
} from "@guardrail/core";
import {
  createCoveredSweepHandler,
  createNetworkAclChangeHandler,
  createPrefixListChangeHandler,
  createSecurityGroupChangeHandler,
  createSlackNotifierHandler,
  defaultRemediationDeps,
  defaultSlackNotifierDeps,
  type Env,
  type PolicyFiles,
  type RegionsSweepResult,
  type RemediationDeps,
  type SweepResult,
} from "@guardrail/functions";
import { ConfiguredRetryStrategy } from "@smithy/util-retry";
import type { Context, SNSEvent } from "aws-lambda";
import type { EventBridgeEvent } from "../cloudtrail/record";
import { DEFAULT_ACCOUNT_ID, DEFAULT_REGION, type SandboxPrincipal } from "../ec2/identity";
import {
  Ec2Sandbox,
  type Ec2SandboxOptions,
  type SandboxRequest,
  type SandboxResponse,
} from "../ec2/sandbox";
import { type LocalDynamo, startLocalDynamo } from "./dynamo";
import { lambdaContext } from "./lambda-context";
import { type CollectedMetrics, type EmittedMetric, localObservability } from "./observability";
import { currentInvocation, EventBridgeRouter, type Invocation, type TimedOutcome } from "./router";
import { type ReceivedSlackMessage, type SlackReceiver, startSlackReceiver } from "./slack";
import type { LocalSlackApp } from "./slack-app";
import {
  LOCAL_SLACK_SIGNING_SECRET,
  LOCAL_SLACK_TOKEN,
  type LocalSlackAppStack,
  startLocalSlackAppStack,
} from "./slack-app-stack";
import { type LocalSns, startLocalSns } from "./sns";
import { type LocalSsm, startLocalSsm } from "./ssm";

/** The EC2 sandbox of the local stack: remembers when it answered each request. */
export class LocalEc2Sandbox extends Ec2Sandbox {
  private readonly replies = new Map<string, number>();

  override async handle(request: SandboxRequest): Promise<SandboxResponse> {
    const response = await super.handle(request);
    // Taken before the reply is written and before the call's event can reach any listener.
    this.replies.set(response.requestId, performance.now());
    if (this.replies.size > 10_000) {
      const oldest = this.replies.keys().next().value;
      if (oldest !== undefined) this.replies.delete(oldest);
    }
    return response;
  }

  /** `performance.now()` when the sandbox answered the request with this id. */
  repliedAt(requestId: string): number | undefined {
    return this.replies.get(requestId);
  }
}

/** Dummy credentials of the developer the demo acts as (the aws CLI's documented example key). */
export const DEVELOPER = {
  accessKeyId: "AKIAIOSFODNN7EXAMPLE",
  secretAccessKey: "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY",
  userName: "developer",
} as const;

/**
 * CloudFormation deploying a stack with its service role: calls made with this key are recorded
 * as CloudFormation records them (`invokedBy`, source and agent `cloudformation.amazonaws.com`,
 * session `AWSCloudFormation`).
 */
export const CLOUDFORMATION_ROLE = {
  accessKeyId: "ASIACLOUDFORMATION01",
  secretAccessKey: "local",
  roleName: "stack-deployer",
  sessionName: "AWSCloudFormation",
  invokedBy: "cloudformation.amazonaws.com",
} as const;

/**
 * Dummy credentials of the security team's approver (a role session), whose tagging counts as
 * an approval of a tag exemption in the sandbox's policy (AWS's second documented example key).
 */
export const APPROVER = {
  accessKeyId: "AKIAI44QH8DHBEXAMPLE",
  secretAccessKey: "je7MtGbClwBF/2Zp9Utk/h3yCo8nvbEXAMPLEKEY",
  roleName: "security-approver",
  sessionName: "approver",
} as const;

/** The policy the sandbox runs when given none: the shipped default, with the approver. */
export function sandboxPolicyYaml(accountId: string): string {
  return DEFAULT_POLICY_YAML.replace(
    "  approvers: []",
    `  approvers:\n    - arn:aws:iam::${accountId}:role/${APPROVER.roleName} # the sandbox's approver`,
  );
}

/** A `slack:` section naming these approvers (none: nothing). */
function slackApproversYaml(approvers: readonly { id: string; name: string }[]): string {
  if (approvers.length === 0) return "";
  const entries = approvers.map((a) => `    - { id: ${a.id}, name: ${JSON.stringify(a.name)} }`);
  return `\nslack:\n  approvers:\n${entries.join("\n")}\n`;
}

const SANDBOX_POLICY_SOURCE = "(default policy, with the sandbox's approver)";

export const LOCAL_STAGE = "sandbox";
export const LOCAL_TOPIC_NAME = "network-guardrail-sandbox";
export const LOCAL_TABLE_NAME = "network-guardrail-sandbox-audit";

/** Functions that call EC2, each with its own role (as deployed). */
const EC2_FUNCTIONS = [
  ...EVENT_DRIVEN_FUNCTIONS,
  "sweep",
] as const satisfies readonly GuardrailFunction[];
type Ec2Function = (typeof EC2_FUNCTIONS)[number];

export interface FunctionIdentity {
  readonly functionName: string;
  readonly roleArn: string;
  /** The access key its EC2 client signs with; the sandbox maps it to the role's session. */
  readonly accessKeyId: string;
}

/** One topic message as the Slack notifier handled it, with what it posted. */
export interface LocalNotification {
  readonly messageId: string;
  readonly subject: string | null;
  /** The SNS message, parsed (a decision or sweep message). */
  readonly message: unknown;
  /** `schema` of the message (`guardrail.decision/v1`, `guardrail.sweep/v1`), if any. */
  readonly schema: string | null;
  /** The decision id (CloudTrail eventID) or the sweep run id. */
  readonly id: string | null;
  /** What reached Slack while the notifier handled this message. */
  readonly slack: readonly ReceivedSlackMessage[];
  readonly ok: boolean;
  readonly error?: unknown;
}

export interface LocalStackOptions {
  /** The policy; default: the shipped default policy. */
  readonly policy?: PolicyInput;
  /** Default 0 for each (any free port). */
  readonly ports?: { ec2?: number; sns?: number; dynamo?: number; slack?: number; ssm?: number };
  readonly host?: string;
  readonly accountId?: string;
  /** The home Region, where the functions run. Default `us-east-1`. */
  readonly region?: string;
  /**
   * The covered Regions (GUARDRAIL_REGIONS as the deploy writes it); the home Region is always
   * covered. Events from any other Region are reported as not covered. Default: the home alone.
   */
  readonly regions?: readonly string[];
  /** The functions' log level. Default `SILENT`. */
  readonly logLevel?: LogLevel;
  /** CloudTrail's delay between a call and its event. Default 0. */
  readonly eventDelayMs?: number;
  readonly seed?: number;
  /** Extra sandbox options (limits, clock). */
  readonly sandbox?: Omit<Ec2SandboxOptions, "accessKeys" | "defaultAccountId" | "defaultRegion">;
  /**
   * Run the Slack app: the notifier posts with a bot token, and presses reach the signed
   * interaction endpoint (see `LocalStack.slackApp`). `userGroups`: Slack user group members.
   */
  readonly slackApp?: {
    readonly userGroups?: Readonly<Record<string, readonly string[]>>;
    /** Added to the default policy's `slack.approvers` (ignored when `policy` is given). */
    readonly approvers?: readonly { readonly id: string; readonly name: string }[];
  };
}

export interface LocalStack {
  readonly sandbox: LocalEc2Sandbox;
  readonly router: EventBridgeRouter;
  readonly sns: LocalSns;
  readonly dynamo: LocalDynamo;
  readonly slack: SlackReceiver;
  /** Parameter Store, holding the webhook URL as a SecureString the notifier reads. */
  readonly ssm: LocalSsm;
  readonly endpoints: {
    readonly ec2: string;
    readonly sns: string;
    readonly dynamo: string;
    readonly slack: string;
    readonly ssm: string;
  };
  readonly accountId: string;
  readonly region: string;
  /** The covered Regions, the home Region first. */
  readonly regions: readonly string[];
  readonly topicArn: string;
  readonly tableName: string;
  readonly ownRoleArns: readonly string[];
  readonly functions: Readonly<Record<Ec2Function, FunctionIdentity>>;
  /** The Slack app (option `slackApp`): the local Slack's presses and the endpoint's URL. */
  readonly slackApp?: { readonly slack: LocalSlackApp; readonly interactionsUrl: string };
  /** Where the policy came from: a file path, or the default policy with the approver. */
  readonly policySource: string;
  /** `policyId` of the policy the functions loaded. */
  readonly policyId: string;
  /**
   * A developer's EC2 client on the sandbox (IAM user `developer`). `userAgent` is appended to
   * the SDK's own, as a tool built on an SDK does (Terraform's provider adds `Terraform/…`).
   */
  developerEc2(options?: { readonly userAgent?: string }): EC2Client;
  /** An EC2 client acting as CloudFormation with a stack's service role (`CLOUDFORMATION_ROLE`). */
  cloudFormationEc2(): EC2Client;
  /** The approver's EC2 client (role `security-approver`): its tagging approves exemptions. */
  approverEc2(): EC2Client;
  /**
   * Runs the sweep once, as the schedule would: every covered Region. `result` is the home
   * Region's; `regions` the whole run's (each Region, and the Regions enabled but not covered).
   */
  runSweep(): Promise<{
    result: SweepResult;
    regions: RegionsSweepResult;
    invocation: Invocation;
  }>;
  /** Topic messages handled by the Slack notifier so far, oldest first. */
  notifications(): readonly LocalNotification[];
  onNotification(listener: (n: LocalNotification) => void): () => void;
  /** Metrics the functions emitted so far. */
  metrics(): EmittedMetric[];
  /** Waits until every event has been handled and every topic message delivered. */
  idle(timeoutMs?: number): Promise<void>;
  close(): Promise<void>;
}

function accessKeyFor(fn: string): string {
  return `ASIAGR${fn.replace(/-/g, "").toUpperCase()}`.slice(0, 20).padEnd(20, "X");
}

function retry() {
  // Real backoff, short: three retries 50, 100 and 200 ms apart, not seconds.
  return new ConfiguredRetryStrategy(4, (attempt) => 25 * 2 ** attempt);
}

/** The gateway with each confirmed action timed against the running invocation. */
function timedGateway(gateway: Ec2Gateway): Ec2Gateway {
  return {
    ...gateway,
    async execute(action) {
      const outcomes = await gateway.execute(action);
      const at = performance.now();
      const invocation = currentInvocation.getStore();
      invocation?.outcomes.push(...outcomes.map((o): TimedOutcome => ({ ...o, at })));
      return outcomes;
    },
  };
}

/** A policy given as text; `source` names where it came from (a file path) in messages. */
export interface PolicyInput {
  readonly text: string;
  readonly source: string;
}

/**
 * What loadConfig reads the policy through: the given text, or nothing (the default policy).
 * The sandbox validates the source text as the deploy does, where the bundles read the
 * compiled policy.
 */
function policyFiles(policy: PolicyInput | undefined): { env: Env; files: PolicyFiles } {
  if (policy === undefined) {
    return {
      env: {},
      files: { exists: () => false, read: () => "", handlerDirs: [], parseSource: loadPolicy },
    };
  }
  const path = resolve(policy.source);
  return {
    env: { [FUNCTION_ENV.policyFile]: path },
    files: {
      exists: (p) => p === path,
      read: () => policy.text,
      handlerDirs: [],
      parseSource: loadPolicy,
    },
  };
}

type Handler = (event: unknown, context: Context) => Promise<unknown>;

/**
 * The whole guardrail on one machine: the EC2 sandbox, an EventBridge router with the deployed
 * patterns, the real handlers (built by the functions' factories, their SDK clients on the local
 * endpoints, each function signing as its own role), SNS with the Slack notifier subscribed,
 * DynamoDB with the audit table, and a Slack webhook receiver.
 *
 * @example
 * const stack = await startLocalStack();
 * const ec2 = stack.developerEc2();
 * // authorize tcp 22 from 0.0.0.0/0 with `ec2` … then:
 * await stack.idle();
 * stack.slack.messages().at(-1)?.lines[0]; // "✅ Guardrail revoked a rule"
 * await stack.close();
 */
export async function startLocalStack(options: LocalStackOptions = {}): Promise<LocalStack> {
  const accountId = options.accountId ?? DEFAULT_ACCOUNT_ID;
  const region = options.region ?? DEFAULT_REGION;
  const regions = [region, ...(options.regions ?? []).filter((r) => r !== region)];
  const host = options.host ?? "127.0.0.1";
  const logLevel = options.logLevel ?? "SILENT";
  const ports = options.ports ?? {};

  const identities = Object.fromEntries(
    GUARDRAIL_FUNCTIONS.map((fn) => {
      const functionName = `network-guardrail-${LOCAL_STAGE}-${fn}`;
      return [
        fn,
        {
          functionName,
          roleArn: `arn:aws:iam::${accountId}:role/${functionName}`,
          accessKeyId: accessKeyFor(fn),
        },
      ];
    }),
  ) as Record<GuardrailFunction, FunctionIdentity>;
  // As deployed: every function's role is an own principal, excluded by the patterns. The Slack
  // app's worker is the approver role that sets exemption tags: its own too.
  const slackWorker = {
    functionName: `network-guardrail-${LOCAL_STAGE}-slack-actions`,
    accessKeyId: accessKeyFor("slack-actions"),
  };
  const ownRoleArns = [
    ...GUARDRAIL_FUNCTIONS.map((fn) => identities[fn].roleArn),
    ...(options.slackApp ? [`arn:aws:iam::${accountId}:role/${slackWorker.functionName}`] : []),
  ];
  const accessKeys: Record<string, SandboxPrincipal> = {
    [DEVELOPER.accessKeyId]: { type: "IAMUser", accountId, userName: DEVELOPER.userName },
    [CLOUDFORMATION_ROLE.accessKeyId]: {
      type: "AssumedRole",
      accountId,
      roleName: CLOUDFORMATION_ROLE.roleName,
      sessionName: CLOUDFORMATION_ROLE.sessionName,
      invokedBy: CLOUDFORMATION_ROLE.invokedBy,
    },
    [APPROVER.accessKeyId]: {
      type: "AssumedRole",
      accountId,
      roleName: APPROVER.roleName,
      sessionName: APPROVER.sessionName,
    },
  };
  if (options.slackApp) {
    accessKeys[slackWorker.accessKeyId] = {
      type: "AssumedRole",
      accountId,
      roleName: slackWorker.functionName,
      sessionName: slackWorker.functionName,
    };
  }
  for (const fn of GUARDRAIL_FUNCTIONS) {
    const { accessKeyId, functionName } = identities[fn];
    // Lambda's session name is the function name.
    accessKeys[accessKeyId] = {
      type: "AssumedRole",
      accountId,
      roleName: functionName,
      sessionName: functionName,
    };
  }

  const sandbox = new LocalEc2Sandbox({
    ...options.sandbox,
    accessKeys,
    defaultAccountId: accountId,
    defaultRegion: region,
    ...(options.eventDelayMs === undefined ? {} : { eventDelayMs: options.eventDelayMs }),
    ...(options.seed === undefined ? {} : { seed: options.seed }),
  });
  const dummy = { accessKeyId: "AKIALOCALSTACK000000", secretAccessKey: "local" };
  const started = await Promise.allSettled([
    sandbox.listen(ports.ec2 ?? 0, host),
    startLocalSns({
      topicName: LOCAL_TOPIC_NAME,
      region,
      credentials: dummy,
      host,
      ...(ports.sns === undefined ? {} : { port: ports.sns }),
    }),
    startLocalDynamo({
      tableName: LOCAL_TABLE_NAME,
      region,
      credentials: dummy,
      host,
      ...(ports.dynamo === undefined ? {} : { port: ports.dynamo }),
    }),
    startSlackReceiver({
      host,
      ...(ports.slack === undefined ? {} : { port: ports.slack }),
      ...(options.slackApp
        ? {
            app: {
              token: LOCAL_SLACK_TOKEN,
              signingSecret: LOCAL_SLACK_SIGNING_SECRET,
              ...(options.slackApp.userGroups ? { userGroups: options.slackApp.userGroups } : {}),
            },
          }
        : {}),
    }),
    startLocalSsm({
      host,
      accountId,
      region,
      ...(ports.ssm === undefined ? {} : { port: ports.ssm }),
    }),
  ]);
  const [ec2Started, snsStarted, dynamoStarted, slackStarted, ssmStarted] = started;
  const closers: (() => Promise<void>)[] = [];
  if (ec2Started.status === "fulfilled") closers.push(() => sandbox.close());
  if (snsStarted.status === "fulfilled") closers.push(() => snsStarted.value.close());
  if (dynamoStarted.status === "fulfilled") closers.push(() => dynamoStarted.value.close());
  if (slackStarted.status === "fulfilled") closers.push(() => slackStarted.value.close());
  if (ssmStarted.status === "fulfilled") closers.push(() => ssmStarted.value.close());
  const closeAll = async () => {
    await Promise.allSettled(closers.map((close) => close()));
  };
  if (
    ec2Started.status === "rejected" ||
    snsStarted.status === "rejected" ||
    dynamoStarted.status === "rejected" ||
    slackStarted.status === "rejected" ||
    ssmStarted.status === "rejected"
  ) {
    await closeAll();
    const failed = started.find((s) => s.status === "rejected") as PromiseRejectedResult;
    throw failed.reason;
  }
  const ec2Endpoint = ec2Started.value;
  const sns = snsStarted.value;
  const dynamo = dynamoStarted.value;
  const slack = slackStarted.value;
  const ssm = ssmStarted.value;
  // As deployed: the webhook URL lives in Parameter Store, not in the notifier's environment.
  const webhookParameter = NOTIFIERS.slack.secret.defaultName(LOCAL_STAGE);
  ssm.put({ name: webhookParameter, value: slack.url, type: "SecureString" });

  const policy = policyFiles(
    options.policy ?? {
      text: `${sandboxPolicyYaml(accountId)}${slackApproversYaml(options.slackApp?.approvers ?? [])}`,
      source: SANDBOX_POLICY_SOURCE,
    },
  );
  const env: Env = {
    [FUNCTION_ENV.tableName]: LOCAL_TABLE_NAME,
    [FUNCTION_ENV.topicArn]: sns.topicArn,
    [FUNCTION_ENV.ownRoleArns]: ownRoleArns.join(","),
    [FUNCTION_ENV.stage]: LOCAL_STAGE,
    [FUNCTION_ENV.version]: "sandbox",
    AWS_REGION: region,
    [ORG_FUNCTION_ENV.regions]: regions.join(","),
    ...policy.env,
  };
  const clients: { destroy(): void }[] = [];
  const ec2As = (who: { accessKeyId: string; secretAccessKey: string }, userAgent?: string) => {
    const client = new EC2Client({
      endpoint: ec2Endpoint,
      region,
      credentials: { accessKeyId: who.accessKeyId, secretAccessKey: who.secretAccessKey },
      retryStrategy: retry(),
      ...(userAgent !== undefined ? { customUserAgent: userAgent } : {}),
    });
    clients.push(client);
    return client;
  };
  const collected: CollectedMetrics[] = [];
  let policySource = BUILT_IN_POLICY_SOURCE;
  let policyId = "";

  // The functions' own wiring, with the local endpoints and each function's access key.
  const awsFor = (fn: GuardrailFunction): AwsClientSettings => ({
    endpoints: {
      ec2: ec2Endpoint,
      dynamodb: dynamo.endpoint,
      sns: sns.endpoint,
      ssm: ssm.endpoint,
    },
    region,
    credentials: { accessKeyId: identities[fn].accessKeyId, secretAccessKey: "local" },
    retryStrategy: retry,
    track: (client) => clients.push(client),
  });
  const remediationDeps = (fn: Ec2Function): RemediationDeps => {
    const observability = localObservability(fn, LOCAL_STAGE, logLevel);
    collected.push(observability.metrics);
    const deps = defaultRemediationDeps(fn, env, {
      aws: awsFor(fn),
      observability,
      files: policy.files,
    });
    policySource = options.policy === undefined ? SANDBOX_POLICY_SOURCE : deps.config.policySource;
    policyId = deps.config.policyId;
    const regional = deps.regions;
    return {
      ...deps,
      ec2: timedGateway(deps.ec2),
      // Each Region's client signs for its Region: the sandbox keeps state per Region.
      ...(regional
        ? { regions: { gateway: (r: string) => timedGateway(regional.gateway(r)) } }
        : {}),
    };
  };

  let handlers: Record<GuardrailFunction, Handler>;
  let slackApp: LocalSlackAppStack | undefined;
  try {
    const slackObservability = localObservability("slack-notifier", LOCAL_STAGE, logLevel);
    collected.push(slackObservability.metrics);
    const slackEnv: Env = {
      ...notifierEnvironment("slack-notifier", { slack: webhookParameter }),
      [FUNCTION_ENV.stage]: LOCAL_STAGE,
      [FUNCTION_ENV.version]: "sandbox",
    };
    if (options.slackApp) {
      const asSlackWorker = (endpoint: string) => ({
        endpoint,
        region,
        credentials: { accessKeyId: slackWorker.accessKeyId, secretAccessKey: "local" },
        retryStrategy: retry(),
      });
      const ssmClient = new SSMClient(asSlackWorker(ssm.endpoint));
      clients.push(ssmClient);
      const ddb = new DynamoDBClient(asSlackWorker(dynamo.endpoint));
      clients.push(ddb);
      slackApp = await startLocalSlackAppStack({
        host,
        stage: LOCAL_STAGE,
        accountId,
        region,
        slack,
        ssm,
        ssmClient,
        documentClient: DynamoDBDocumentClient.from(ddb, {
          marshallOptions: { removeUndefinedValues: true },
        }),
        env,
        files: policy.files,
        webhookParameter,
        workerDeps: () => remediationDeps("sweep"),
        workerEc2: ec2As({ accessKeyId: slackWorker.accessKeyId, secretAccessKey: "local" }),
        functionNames: {
          "slack-interactions": `network-guardrail-${LOCAL_STAGE}-slack-interactions`,
          "slack-actions": slackWorker.functionName,
        },
        logLevel,
      });
      closers.push(() => (slackApp as LocalSlackAppStack).close());
    }
    handlers = {
      "security-group-change": createSecurityGroupChangeHandler(
        remediationDeps("security-group-change"),
      ),
      "network-acl-change": createNetworkAclChangeHandler(remediationDeps("network-acl-change")),
      "prefix-list-change": createPrefixListChangeHandler(remediationDeps("prefix-list-change")),
      sweep: createCoveredSweepHandler({
        ...remediationDeps("sweep"),
        identity: async () => ({ account: accountId, region }),
        enabledRegions: enabledRegionsReader(awsFor("sweep")),
      }),
      "slack-notifier": createSlackNotifierHandler({
        ...defaultSlackNotifierDeps(slackEnv, {
          aws: awsFor("slack-notifier"),
          observability: slackObservability,
        }),
        ...(slackApp ? slackApp.notifier : {}),
      }),
    };
  } catch (error) {
    for (const c of clients) c.destroy();
    await closeAll();
    throw error;
  }

  const invoke = (fn: GuardrailFunction, event: unknown) =>
    handlers[fn](event, lambdaContext(fn, identities[fn].functionName, { accountId, region }));
  const router = new EventBridgeRouter({ ownRoleArns, invoke });
  sandbox.onEvent(async (event: EventBridgeEvent) => {
    await router.dispatch(event);
  });
  const notifications: LocalNotification[] = [];
  const notificationListeners = new Set<(n: LocalNotification) => void>();
  // Deliveries are one at a time and only the notifier posts to the webhook, so whatever
  // arrives there during a delivery belongs to that message.
  sns.subscribe(async (event: SNSEvent) => {
    const before = slack.messages().length;
    const record = event.Records[0];
    let message: unknown = record?.Sns.Message;
    try {
      message = JSON.parse(record?.Sns.Message ?? "");
    } catch {
      // Plain text message: kept as text.
    }
    const field = (key: string) => {
      const v = (message as Record<string, unknown> | null)?.[key];
      return typeof v === "string" ? v : null;
    };
    const base = {
      messageId: record?.Sns.MessageId ?? "",
      subject: record?.Sns.Subject ?? null,
      message,
      schema: field("schema"),
      id: field("id") ?? field("runId"),
    };
    const publish = (n: LocalNotification) => {
      notifications.push(n);
      for (const listener of notificationListeners) listener(n);
    };
    try {
      // Every notifier function is subscribed to the topic, as deployed (stacks/notifiers.ts).
      for (const fn of GUARDRAIL_FUNCTIONS.filter(isNotifierFunction)) await invoke(fn, event);
      publish({ ...base, slack: slack.messages().slice(before), ok: true });
    } catch (error) {
      publish({ ...base, slack: slack.messages().slice(before), ok: false, error });
      throw error;
    }
  });

  const functions = Object.fromEntries(EC2_FUNCTIONS.map((fn) => [fn, identities[fn]])) as Record<
    Ec2Function,
    FunctionIdentity
  >;

  return {
    sandbox,
    router,
    sns,
    dynamo,
    slack,
    ssm,
    endpoints: {
      ec2: ec2Endpoint,
      sns: sns.endpoint,
      dynamo: dynamo.endpoint,
      slack: slack.url,
      ssm: ssm.endpoint,
    },
    accountId,
    region,
    regions,
    topicArn: sns.topicArn,
    tableName: LOCAL_TABLE_NAME,
    ownRoleArns,
    functions,
    ...(slackApp && slack.app
      ? { slackApp: { slack: slack.app, interactionsUrl: slackApp.interactionsUrl } }
      : {}),
    policySource,
    policyId,
    developerEc2(options = {}) {
      return ec2As(DEVELOPER, options.userAgent);
    },
    cloudFormationEc2() {
      return ec2As(CLOUDFORMATION_ROLE);
    },
    approverEc2() {
      return ec2As(APPROVER);
    },
    async runSweep() {
      const id = randomUUID();
      const event = {
        version: "0",
        id,
        "detail-type": "Scheduled Event",
        source: "aws.events",
        account: accountId,
        time: new Date().toISOString().replace(/\.\d{3}Z$/, "Z"),
        region,
        resources: [`arn:aws:events:${region}:${accountId}:rule/${identities.sweep.functionName}`],
        detail: {},
      };
      const invocation: Invocation = {
        fn: "sweep",
        eventId: id,
        requestId: id,
        eventName: "Scheduled Event",
        attempt: 1,
        startedAt: performance.now(),
        finishedAt: 0,
        outcomes: [],
      };
      try {
        invocation.result = await currentInvocation.run(invocation, () => invoke("sweep", event));
      } catch (error) {
        invocation.error = error;
        throw error;
      } finally {
        invocation.finishedAt = performance.now();
      }
      const run = invocation.result as RegionsSweepResult;
      const home = run.targets.find((t) => t.region === region);
      if (home === undefined) throw new Error("the sweep did not sweep the home Region");
      return { result: home, regions: run, invocation };
    },
    notifications: () => [...notifications],
    onNotification(listener) {
      notificationListeners.add(listener);
      return () => notificationListeners.delete(listener);
    },
    metrics: () => collected.flatMap((m) => m.emitted),
    async idle(timeoutMs = 5000) {
      await sandbox.drainEvents();
      await sns.idle(timeoutMs);
      if (slackApp) {
        // The worker's jobs revoke and tag: their events and messages are waited for too.
        await slackApp.idle();
        await sandbox.drainEvents();
        await sns.idle(timeoutMs);
      }
    },
    async close() {
      await sandbox.drainEvents();
      await sns.idle(2000).catch(() => undefined);
      for (const c of clients) c.destroy();
      await closeAll();
    },
  };
}
