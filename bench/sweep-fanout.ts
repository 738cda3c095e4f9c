/**
 * Sweep fan-out: the organisation sweep as planner + workers for 1,000 accounts × 17 Regions,
 * simulated on a virtual clock. The code that runs is the product's: the planner
 * (`planSweepRun`), the deployed state machine definition executed by the sandbox's local
 * Distributed Map runner (manifest, batches of `SWEEP_FANOUT.batchSize`, at most
 * `SWEEP_FANOUT.maxConcurrency` workers at once), each worker (`sweepBatch`, hence `sweepOne` for
 * every target through the member role) and the summary. The AWS SDK clients are replaced at
 * `send` (aws-sdk-client-mock) by answers that take simulated time: EC2 and STS calls take the
 * injected latency (100 ms, then 250 ms), DynamoDB 10 ms, SNS 20 ms, and each worker invocation
 * 30 ms of Lambda invoke overhead. No real sleeping: minutes of fan-out run in seconds of CPU.
 *
 *   npx tsx bench/sweep-fanout.ts [--accounts 1000]
 */
import type { Metrics } from "@aws-lambda-powertools/metrics";
import {
  DescribeNetworkAclsCommand,
  DescribeSecurityGroupRulesCommand,
  DescribeSecurityGroupsCommand,
  EC2Client,
  RevokeSecurityGroupIngressCommand,
} from "@aws-sdk/client-ec2";
import { PublishCommand, SNSClient } from "@aws-sdk/client-sns";
import { AssumeRoleCommand, STSClient } from "@aws-sdk/client-sts";
import {
  BatchWriteCommand,
  DynamoDBDocumentClient,
  GetCommand,
  PutCommand,
  QueryCommand,
  UpdateCommand,
} from "@aws-sdk/lib-dynamodb";
import {
  createAuditStore,
  createEc2Gateway,
  memberAccessFor,
  type SweepRuns,
} from "@guardrail/aws";
import {
  DEFAULT_POLICY_YAML,
  loadPolicy,
  SWEEP_FANOUT,
  SWEEP_FANOUT_SIZING,
} from "@guardrail/core";
import {
  createObservability,
  type FanOutDeps,
  loadConfig,
  planSweepRun,
  type SweepDeps,
  summariseRun,
  sweepBatch,
} from "@guardrail/functions";
import { DEFAULT_SANDBOX_REGIONS, LocalStateMachine } from "@guardrail/sandbox";
import { sweepStateMachineDefinition } from "@guardrail/templates";
import { mockClient } from "aws-sdk-client-mock";
import { isMain } from "./lib/paths";
import { printSection } from "./lib/report";
import { atMost, type BenchResult, type BenchSection, info, round } from "./lib/result";
import { PRICES, REGIONS_PER_ACCOUNT, WORKER_SECONDS_PER_BATCH } from "./lib/sweep-cost";
import { VirtualClock } from "./lib/virtual-clock";

/** The Regions every account has enabled by default (opt-in not required), as the sandbox lists them. */
const REGIONS = DEFAULT_SANDBOX_REGIONS.filter((r) => r.optInStatus === "opt-in-not-required").map(
  (r) => r.name,
);
const HUB = "111122223333";
const LATENCIES_MS = [100, 250] as const;
const DYNAMO_MS = 10;
const SNS_MS = 20;
const INVOKE_OVERHEAD_MS = 30;
/** Security-group rules per target; one SSH-to-the-world rule in one target of 50. */
const RULES_PER_TARGET = 20;
const OFFENDING_EVERY = 50;
/** The schedule's 15 minutes: a run must end before the next is due. */
const WALL_TARGET_S = 15 * 60;

const argv = (flag: string, fallback: number) => {
  const i = process.argv.indexOf(flag);
  return i >= 0 ? Number(process.argv[i + 1]) : fallback;
};

const silentMetrics = {
  addMetric() {},
  addDimension() {},
  addDimensions() {},
  publishStoredMetrics() {},
} as unknown as Metrics;

interface Simulation {
  readonly latencyMs: number;
  readonly targets: number;
  readonly batches: number;
  readonly wallSeconds: number;
  readonly workersSeconds: readonly number[];
  readonly calls: Record<string, number>;
  readonly swept: number;
  readonly revoked: number;
  readonly maxInFlight: number;
  readonly cpuSeconds: number;
}

async function simulate(accounts: number, latencyMs: number): Promise<Simulation> {
  const cpu0 = process.cpuUsage();
  const vc = new VirtualClock();
  const base = Date.parse("2026-12-07T10:15:00Z");
  const clock = () => new Date(base + vc.now);
  const accountIds = Array.from({ length: accounts }, (_, i) => String(200000000000 + i));
  const env = {
    GUARDRAIL_TABLE_NAME: "network-guardrail-prod-audit",
    GUARDRAIL_TOPIC_ARN: `arn:aws:sns:us-east-1:${HUB}:network-guardrail-prod`,
    GUARDRAIL_OWN_ROLE_ARNS: `arn:aws:iam::${HUB}:role/network-guardrail-prod-us-east-1-sweep`,
    GUARDRAIL_STAGE: "prod",
    AWS_REGION: "us-east-1",
    POWERTOOLS_LOG_LEVEL: "SILENT",
    GUARDRAIL_ORG_ID: "o-a1b2c3d4e5",
    GUARDRAIL_MEMBER_ROLE_NAME: "network-guardrail-prod-member",
    GUARDRAIL_EXTERNAL_ID: "guardrail-3f9c1e7a",
    GUARDRAIL_ACCOUNTS: accountIds.join(","),
    GUARDRAIL_REGIONS: REGIONS.join(","),
  };
  const config = loadConfig("sweep", env, {
    exists: () => false,
    read: () => DEFAULT_POLICY_YAML,
    handlerDirs: ["/var/task"],
    // In process: the source text, as the sandbox does (a deployed bundle loads the compiled artefact).
    parseSource: loadPolicy,
  });
  const org = config.organization;
  if (org === null) throw new Error("organisation mode expected");

  const calls: Record<string, number> = {};
  const wait = async (what: string, ms: number) => {
    calls[what] = (calls[what] ?? 0) + 1;
    await vc.sleep(ms);
  };
  const ec2 = mockClient(EC2Client);
  const sts = mockClient(STSClient);
  const sns = mockClient(SNSClient);
  const ddb = mockClient(DynamoDBDocumentClient);
  const whereOf = async (client: unknown) => {
    const c = client as EC2Client;
    const credentials = await c.config.credentials();
    return { account: credentials.accessKeyId.slice(4), region: await c.config.region() };
  };
  sts.on(AssumeRoleCommand).callsFake(async (input: { RoleArn: string }) => {
    await wait("sts:AssumeRole", latencyMs);
    return {
      Credentials: {
        AccessKeyId: `ASIA${input.RoleArn.split(":")[4]}`,
        SecretAccessKey: "s",
        SessionToken: "t",
        Expiration: new Date(base + 3600_000 + vc.now),
      },
    };
  });
  ec2.on(DescribeSecurityGroupRulesCommand).callsFake(async (_input, getClient) => {
    // The client of this call: read before any await (the mock keeps only the latest).
    const where = whereOf(getClient());
    await wait("ec2:DescribeSecurityGroupRules", latencyMs);
    const { account, region } = await where;
    const offending = Number(account) % OFFENDING_EVERY === 0 && region === "us-east-1";
    return {
      SecurityGroupRules: Array.from({ length: RULES_PER_TARGET }, (_, i) => ({
        SecurityGroupRuleId: `sgr-${i}`,
        GroupId: `sg-${i % 5}`,
        IsEgress: false,
        IpProtocol: "tcp",
        FromPort: offending && i === 0 ? 22 : 8000 + i,
        ToPort: offending && i === 0 ? 22 : 8000 + i,
        CidrIpv4: offending && i === 0 ? "0.0.0.0/0" : `10.${i}.0.0/16`,
      })),
    };
  });
  ec2.on(DescribeNetworkAclsCommand).callsFake(async () => {
    await wait("ec2:DescribeNetworkAcls", latencyMs);
    return {
      NetworkAcls: [
        {
          NetworkAclId: "acl-1",
          VpcId: "vpc-1",
          IsDefault: true,
          Entries: [
            {
              RuleNumber: 100,
              Egress: false,
              Protocol: "-1",
              RuleAction: "allow",
              CidrBlock: "10.0.0.0/8",
            },
            {
              RuleNumber: 32767,
              Egress: false,
              Protocol: "-1",
              RuleAction: "deny",
              CidrBlock: "0.0.0.0/0",
            },
          ],
        },
      ],
    };
  });
  ec2.on(DescribeSecurityGroupsCommand).callsFake(async (input: { GroupIds?: string[] }) => {
    await wait("ec2:DescribeSecurityGroups", latencyMs);
    return { SecurityGroups: (input.GroupIds ?? []).map((id) => ({ GroupId: id, Tags: [] })) };
  });
  ec2.on(RevokeSecurityGroupIngressCommand).callsFake(async () => {
    await wait("ec2:RevokeSecurityGroupIngress", latencyMs);
    return { Return: true };
  });
  sns.on(PublishCommand).callsFake(async () => {
    await wait("sns:Publish", SNS_MS);
    return { MessageId: "m" };
  });
  for (const [command, name] of [
    [PutCommand, "dynamodb:PutItem"],
    [UpdateCommand, "dynamodb:UpdateItem"],
    [GetCommand, "dynamodb:GetItem"],
    [BatchWriteCommand, "dynamodb:BatchWriteItem"],
  ] as const) {
    // biome-ignore lint/suspicious/noExplicitAny: one fake for several commands.
    ddb.on(command as any).callsFake(async () => {
      await wait(name, DYNAMO_MS);
      return {};
    });
  }
  ddb.on(QueryCommand).callsFake(async () => {
    await wait("dynamodb:Query", DYNAMO_MS);
    return { Items: [] };
  });

  const observability = createObservability("sweep", env);
  const hubClient = new EC2Client({
    region: "us-east-1",
    credentials: { accessKeyId: "AKIAHUB", secretAccessKey: "h" },
  });
  const stsClient = new STSClient({ region: "us-east-1" });
  const docClient = DynamoDBDocumentClient.from(
    new (await import("@aws-sdk/client-dynamodb")).DynamoDBClient({ region: "us-east-1" }),
  );
  const published: unknown[] = [];
  /** One worker invocation's dependencies (a fresh instance: no session cached from before). */
  const depsOf = (): SweepDeps => {
    const hubGateway = createEc2Gateway(hubClient, clock);
    return {
      logger: observability.logger,
      metrics: silentMetrics,
      config,
      ec2: hubGateway,
      members: memberAccessFor("sweep", org, hubGateway, {
        sts: async () => stsClient,
        now: clock,
        makeClient: (target, provider) =>
          new EC2Client({ region: target.region, credentials: provider, maxAttempts: 1 }),
      }),
      audit: createAuditStore(env.GUARDRAIL_TABLE_NAME, async () => docClient),
      notifier: {
        publish: async (p) => {
          await wait("sns:Publish", SNS_MS);
          published.push(p);
          return "m";
        },
      },
      clock,
      settleMs: 0,
      identity: async () => ({ account: HUB, region: "us-east-1" }),
    };
  };

  const workersSeconds: number[] = [];
  let machine: LocalStateMachine | undefined;
  const runs = (): SweepRuns => machine as unknown as SweepRuns;
  machine = new LocalStateMachine(
    sweepStateMachineDefinition({
      workerArn: "sweep-worker",
      summaryArn: "sweep-summary",
      bucket: "sweep-bucket",
    }),
    async (fn, payload) => {
      await vc.sleep(INVOKE_OVERHEAD_MS);
      const t0 = vc.now;
      if (fn === "sweep-worker") {
        const result = await sweepBatch(payload, depsOf());
        workersSeconds.push((vc.now - t0) / 1000);
        return result;
      }
      return summariseRun(payload, fanOut());
    },
  );
  const fanOut = (): FanOutDeps => ({ ...depsOf(), bucket: "sweep-bucket", runs: runs() });

  let finished = false;
  const started = vc.now;
  const flow = (async () => {
    await planSweepRun(fanOut());
    const results = await machine.settled();
    finished = true;
    return results;
  })();
  while (!finished) {
    await vc.run();
    // A continuation waiting on a real timer (none expected): let it fire, then go on.
    if (!finished) await new Promise((r) => setTimeout(r, 1));
  }
  const [result] = await flow;
  const wallSeconds = (vc.now - started) / 1000;
  for (const m of [ec2, sts, sns, ddb]) m.restore();
  if (result?.status !== "SUCCEEDED") {
    throw new Error(`the run failed: ${JSON.stringify(result?.error)}`);
  }
  const summary = result.output as { swept: number; revoked: number };
  const cpu = process.cpuUsage(cpu0);
  return {
    latencyMs,
    targets: accounts * REGIONS.length,
    batches: workersSeconds.length,
    wallSeconds,
    workersSeconds,
    calls,
    swept: summary.swept,
    revoked: summary.revoked,
    maxInFlight: result.mapRuns[0]?.maxInFlight ?? 0,
    cpuSeconds: (cpu.user + cpu.system) / 1e6,
  };
}

/**
 * What the one-Lambda organisation sweep (4 targets at a time) would take for the same estate:
 * a worker sweeps its batch 4 at a time too, so a target takes about the mean invocation over
 * ceil(batch / 4) rounds.
 */
function oneLambdaNote(s: Simulation | undefined): string {
  if (s === undefined) return "";
  const mean = s.workersSeconds.reduce((a, b) => a + b, 0) / s.workersSeconds.length;
  const perTarget = mean / Math.ceil(SWEEP_FANOUT.batchSize / SWEEP_FANOUT.targetConcurrency);
  const minutes = ((s.targets / SWEEP_FANOUT.targetConcurrency) * perTarget) / 60;
  return (
    `For comparison, the one-Lambda organisation sweep (${SWEEP_FANOUT.targetConcurrency} targets ` +
    `at a time) would need about ${minutes.toFixed(0)} minutes for the same ` +
    `${s.targets.toLocaleString("en-US")} targets at ${s.latencyMs} ms (${perTarget.toFixed(2)} s ` +
    `per target), past Lambda's 15-minute limit.`
  );
}

/** Dollars per 1,000 targets: worker Lambda time and requests, Express children. */
function costPerThousandTargets(s: Simulation): number {
  const gb = SWEEP_FANOUT_SIZING["sweep-worker"].memoryMb / 1024;
  const seconds = s.workersSeconds.reduce((a, b) => a + b, 0);
  const dollars =
    seconds * gb * PRICES.lambdaArmGbSecond +
    s.batches * PRICES.lambdaRequest +
    s.batches * PRICES.expressRequest +
    seconds * (64 / 1024) * PRICES.expressGbSecond;
  return (dollars / s.targets) * 1000;
}

export async function sweepFanOut(accounts = argv("--accounts", 1000)): Promise<BenchSection> {
  const t0 = performance.now();
  const sims: Simulation[] = [];
  for (const latency of LATENCIES_MS) sims.push(await simulate(accounts, latency));
  const quarter = SWEEP_FANOUT.workerTimeoutSeconds / 4;
  const results: BenchResult[] = [];
  const total = (s: Simulation, prefix: string) =>
    Object.entries(s.calls)
      .filter(([k]) => k.startsWith(prefix))
      .reduce((a, [, n]) => a + n, 0);
  for (const s of sims) {
    const label = `${accounts.toLocaleString("en-US")} accounts × ${REGIONS.length} Regions, ${s.latencyMs} ms`;
    const longest = Math.max(...s.workersSeconds);
    const mean = s.workersSeconds.reduce((a, b) => a + b, 0) / s.workersSeconds.length;
    results.push(
      atMost(`sweep fan-out: wall time, ${label}`, round(s.wallSeconds), "s", WALL_TARGET_S),
      atMost(`sweep fan-out: longest worker invocation, ${label}`, round(longest), "s", quarter),
      info(`sweep fan-out: mean worker invocation, ${label}`, round(mean), "s"),
      info(
        `sweep fan-out: cost per 1,000 targets, ${label}`,
        round(costPerThousandTargets(s)),
        "USD",
      ),
      info(`sweep fan-out: EC2 calls, ${label}`, total(s, "ec2:"), "calls"),
      info(`sweep fan-out: STS calls, ${label}`, total(s, "sts:"), "calls"),
      info(`sweep fan-out: DynamoDB calls, ${label}`, total(s, "dynamodb:"), "calls"),
      info(`sweep fan-out: targets swept, ${label}`, s.swept, "targets"),
    );
  }
  const slow = sims.find((s) => s.latencyMs === 250);
  if (slow !== undefined) {
    const mean = slow.workersSeconds.reduce((a, b) => a + b, 0) / slow.workersSeconds.length;
    results.push(
      atMost(
        "sweep fan-out: mean worker invocation at 250 ms (the cost estimate's input)",
        round(mean),
        "s",
        WORKER_SECONDS_PER_BATCH,
      ),
    );
  }
  const reasons: Record<string, string> = {};
  return {
    id: "sweep-fanout",
    title: "Sweep fan-out (organisation sweep as planner + workers)",
    method:
      `The planner, the deployed state machine definition run by the sandbox's local Distributed ` +
      `Map runner (batches of ${SWEEP_FANOUT.batchSize}, at most ${SWEEP_FANOUT.maxConcurrency} ` +
      `workers at once), every worker (\`sweepOne\` per target through the member role) and the ` +
      `summary, on a virtual clock. SDK clients answer at \`send\` after simulated latency: EC2 ` +
      `and STS ${LATENCIES_MS.join(" ms, then ")} ms, DynamoDB ${DYNAMO_MS} ms, SNS ${SNS_MS} ms, ` +
      `${INVOKE_OVERHEAD_MS} ms per Lambda invoke. Each target holds ${RULES_PER_TARGET} ` +
      `security-group rules and one network ACL; one target in ${OFFENDING_EVERY} accounts' ` +
      `us-east-1 opens SSH to the world (revoked). Each worker invocation starts without cached ` +
      `sessions (one AssumeRole per account it meets).`,
    command: "npx tsx bench/sweep-fanout.ts",
    results,
    table: {
      header: [
        "EC2/STS latency",
        "targets",
        "worker invocations",
        "most at once",
        "wall time",
        "longest invocation",
        "mean invocation",
        "EC2 calls",
        "STS calls",
        "DynamoDB calls",
        "revoked",
        "cost per 1,000 targets",
        "CPU of the simulation",
      ],
      rows: sims.map((s) => [
        `${s.latencyMs} ms`,
        s.targets.toLocaleString("en-US"),
        s.batches.toLocaleString("en-US"),
        String(s.maxInFlight),
        `${s.wallSeconds.toFixed(1)} s`,
        `${Math.max(...s.workersSeconds).toFixed(2)} s`,
        `${(s.workersSeconds.reduce((a, b) => a + b, 0) / s.workersSeconds.length).toFixed(2)} s`,
        total(s, "ec2:").toLocaleString("en-US"),
        total(s, "sts:").toLocaleString("en-US"),
        total(s, "dynamodb:").toLocaleString("en-US"),
        String(s.revoked),
        `$${costPerThousandTargets(s).toFixed(4)}`,
        `${s.cpuSeconds.toFixed(1)} s`,
      ]),
    },
    notes: [
      `Longest invocation target: a quarter of the worker's ${SWEEP_FANOUT.workerTimeoutSeconds} s ` +
        `timeout (${quarter} s). Wall-time target: the ${WALL_TARGET_S / 60}-minute schedule, so ` +
        `that a run ends before the next is due.`,
      `Calls per target at ${sims[0]?.latencyMs} ms: ${Object.entries(sims[0]?.calls ?? {})
        .map(([k, n]) => `${k} ${(n / (sims[0]?.targets ?? 1)).toFixed(2)}`)
        .join(", ")}.`,
      `Cost per 1,000 targets is the worker's Lambda time (${SWEEP_FANOUT_SIZING["sweep-worker"].memoryMb} MB, ` +
        `Arm) and requests plus the Express child executions, at the prices in ` +
        `bench/lib/sweep-cost.ts; docs/multi-account.md has the monthly totals. ` +
        `${REGIONS_PER_ACCOUNT} Regions per account in both.`,
      oneLambdaNote(slow),
    ],
    reasons,
    seconds: (performance.now() - t0) / 1000,
  };
}

if (isMain(import.meta.url)) printSection(await sweepFanOut());
