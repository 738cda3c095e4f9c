import { EC2Client } from "@aws-sdk/client-ec2";
import { OrganizationsClient } from "@aws-sdk/client-organizations";
import { STSClient } from "@aws-sdk/client-sts";
import {
  createAuditStore,
  createEc2Gateway,
  memberAccessFor,
  organizationAccountsFor,
  type SweepRuns,
} from "@guardrail/aws";
import {
  DEFAULT_POLICY_YAML,
  type GuardrailFunction,
  loadPolicy,
  rotatedTargets,
  runName,
  type SnsPublication,
  SWEEP_RUN_MESSAGE_SCHEMA,
  type SweepRunSummary,
  scheduleSlot,
} from "@guardrail/core";
import {
  createObservability,
  createSweepPlannerHandler,
  createSweepSummaryHandler,
  createSweepWorkerHandler,
  type Env,
  type FanOutDeps,
  loadConfig,
  type SweepDeps,
} from "@guardrail/functions";
import {
  type AccessKeyEntry,
  Ec2Sandbox,
  LocalStateMachine,
  OrganizationsSandbox,
  StsSandbox,
} from "@guardrail/sandbox";
import { type LocalDynamo, lambdaContext, startLocalDynamo } from "@guardrail/sandbox/local";
import {
  APP_NAME,
  MEMBER_ACTING_FUNCTIONS,
  memberRoleName,
  renderSpokeTemplate,
  roleArn,
  roleName,
  sweepStateMachineDefinition,
} from "@guardrail/templates";
import { afterAll, beforeAll, beforeEach, describe, expect, it } from "vitest";

/*
 * The organisation sweep as planner + workers, end to end on the sandboxes: the planner reads
 * the accounts from (sandbox) AWS Organizations, writes the manifest and starts the run; the
 * local Step Functions runner executes the deployed state machine definition (Distributed Map:
 * manifest, batches, concurrency cap, tolerated failures) invoking the production-wired worker,
 * which enters each account through the rendered spoke template's member role, and the summary.
 */

const ORG_ID = "o-a1b2c3d4e5";
const MANAGEMENT = "100000000000";
const HUB = "111122223333";
const HUB_REGION = "eu-west-1";
const MEMBER_A = "444455556666";
const SUSPENDED = "777788889999";
const STAGE = "prod";
const EXTERNAL_ID = "guardrail-3f9c1e7a";
const MEMBER_ROLE = memberRoleName(STAGE);
const REGIONS = ["eu-west-1", "us-east-1"] as const;

const template = renderSpokeTemplate({
  hubAccount: HUB,
  hubRegion: HUB_REGION,
  externalId: EXTERNAL_ID,
  orgId: ORG_ID,
});
// biome-ignore lint/suspicious/noExplicitAny: the rendered template is JSON to read from.
const memberRole = (template.Resources as Record<string, any>).MemberRole.Properties;

const hubRole = (fn: GuardrailFunction) => roleName(APP_NAME, STAGE, HUB_REGION, fn);
const HUB_KEY = "AKIAHUBSWEEP";
const KEYS: Record<string, AccessKeyEntry> = {
  [HUB_KEY]: {
    type: "AssumedRole",
    accountId: HUB,
    roleName: hubRole("sweep"),
    sessionName: "sweep",
  },
};
const OWN_ROLE_ARNS = MEMBER_ACTING_FUNCTIONS.map((fn) => roleArn("aws", HUB, hubRole(fn)));

let now = new Date("2026-06-15T12:00:00Z");
const clock = () => new Date(now);

// The hub account is the organisation's delegated administrator: it may list the accounts.
const orgs = new OrganizationsSandbox({
  id: ORG_ID,
  managementAccountId: MANAGEMENT,
  accounts: [{ id: HUB }, { id: MEMBER_A }, { id: SUSPENDED }],
  delegatedAdministrators: [HUB],
  accessKeys: KEYS,
  pageSize: 2,
  clock,
});
const sts = new StsSandbox({ organization: orgs.organization, accessKeys: KEYS, clock });
/** StackSets' auto-deployment: the member role appears in an account of the organisation. */
function deploySpoke(accountId: string) {
  sts.defineRole({
    accountId,
    roleName: memberRole.RoleName,
    trustPolicy: memberRole.AssumeRolePolicyDocument,
    policies: memberRole.Policies.map((p: { PolicyDocument: unknown }) => p.PolicyDocument),
    maxSessionDurationSeconds: memberRole.MaxSessionDuration,
  });
}
// Service-managed StackSets never deploy to the management account: no member role there.
for (const account of [HUB, MEMBER_A, SUSPENDED]) deploySpoke(account);
orgs.setAccountState(SUSPENDED, "SUSPENDED");

const ec2 = new Ec2Sandbox({
  accessKeys: KEYS,
  clock,
  resolveCredentials: (key) => sts.resolveCredentials(key),
});
let dynamo: LocalDynamo;
const endpoints = { ec2: "", sts: "", orgs: "" };

function hubEnv(): Env {
  return {
    GUARDRAIL_TABLE_NAME: dynamo.tableName,
    GUARDRAIL_TOPIC_ARN: `arn:aws:sns:${HUB_REGION}:${HUB}:network-guardrail-prod`,
    GUARDRAIL_OWN_ROLE_ARNS: OWN_ROLE_ARNS.join(","),
    GUARDRAIL_STAGE: STAGE,
    AWS_REGION: HUB_REGION,
    POWERTOOLS_LOG_LEVEL: "SILENT",
    GUARDRAIL_ORG_ID: ORG_ID,
    GUARDRAIL_MEMBER_ROLE_NAME: MEMBER_ROLE,
    GUARDRAIL_EXTERNAL_ID: EXTERNAL_ID,
    GUARDRAIL_REGIONS: REGIONS.join(","),
  };
}

const published: unknown[] = [];

/** The sweep's deps as production wires them (member access, Organizations), at the sandboxes. */
function sweepDeps(): SweepDeps {
  const env = hubEnv();
  const config = loadConfig("sweep", env, {
    exists: () => false,
    read: () => DEFAULT_POLICY_YAML,
    handlerDirs: ["/var/task"],
    // In process, as the sandbox does: the source text, not a deployed bundle's compiled artefact.
    parseSource: loadPolicy,
  });
  const org = config.organization;
  if (org === null) throw new Error("organisation mode expected");
  const credentials = { accessKeyId: HUB_KEY, secretAccessKey: "hub" };
  const hubGateway = createEc2Gateway(
    new EC2Client({ endpoint: endpoints.ec2, region: HUB_REGION, credentials, maxAttempts: 1 }),
    clock,
  );
  const stsClient = new STSClient({
    endpoint: endpoints.sts,
    region: HUB_REGION,
    credentials,
    maxAttempts: 1,
  });
  const organizationAccounts = organizationAccountsFor("sweep", config, {
    sts: async () => stsClient,
    now: clock,
    makeClient: async (region) =>
      new OrganizationsClient({ endpoint: endpoints.orgs, region, credentials, maxAttempts: 1 }),
  });
  if (organizationAccounts === undefined) throw new Error("the sweep reads Organizations");
  return {
    ...createObservability("sweep", env),
    config,
    ec2: hubGateway,
    members: memberAccessFor("sweep", org, hubGateway, {
      sts: async () => stsClient,
      now: clock,
      makeClient: (target, provider) =>
        new EC2Client({
          endpoint: endpoints.ec2,
          region: target.region,
          credentials: provider,
          maxAttempts: 1,
        }),
    }),
    organizationAccounts,
    audit: createAuditStore(dynamo.tableName, async () => dynamo.doc),
    notifier: {
      publish: async (p) => {
        published.push(p);
        return `msg-${published.length}`;
      },
    },
    clock,
    settleMs: 0,
    identity: async () => {
      throw new Error("organisation mode names its targets");
    },
  };
}

const RDP = [{ protocol: "tcp", fromPort: 3389, toPort: 3389, cidr: "0.0.0.0/1" }];

/** An RDP-to-the-world group in every Region of `account`; answers the group ids by Region. */
function seedRdp(account: string, name: string): Record<string, string> {
  const ids: Record<string, string> = {};
  for (const region of REGIONS) {
    const { groupId } = ec2.seedSecurityGroup({ accountId: account, region, name });
    ec2.seedRules(groupId, "ingress", RDP, { accountId: account, region });
    ids[region] = groupId;
  }
  return ids;
}

const rdpLeft = (account: string, groups: Record<string, string>) =>
  REGIONS.map(
    (region) =>
      (
        ec2.securityGroupRules(groups[region] as string, { accountId: account, region }) ?? []
      ).filter((r) => r.fromPort === 3389).length,
  );

const BUCKET = "network-guardrail-prod-sweep";
const ctx = lambdaContext("sweep", hubRole("sweep"), { accountId: HUB, region: HUB_REGION });

/** Accounts whose member-role session fails with a throttle: their targets fail, not the run. */
const failing = new Set<string>();

function workerDeps(): SweepDeps {
  const deps = sweepDeps();
  const members = deps.members;
  if (members === undefined) throw new Error("member access expected");
  return {
    ...deps,
    members: {
      ...members,
      gateway: async (target) => {
        if (failing.has(target.account)) {
          throw Object.assign(new Error("Rate exceeded"), { name: "Throttling" });
        }
        return members.gateway(target);
      },
    },
  };
}

let machine: LocalStateMachine;
const invoked = { worker: 0, summary: 0 };

function fanOutDeps(): FanOutDeps {
  return { ...sweepDeps(), bucket: BUCKET, runs: machine as unknown as SweepRuns };
}

beforeEach(() => {
  published.length = 0;
  failing.clear();
  invoked.worker = 0;
  invoked.summary = 0;
  const worker = createSweepWorkerHandler(workerDeps());
  const summary = createSweepSummaryHandler({
    ...sweepDeps(),
    bucket: BUCKET,
    runs: {
      putManifest: async () => {},
      running: async () => null,
      start: async () => "started",
      readJson: (bucket, key) => machine.readJson(bucket, key),
    },
  });
  machine = new LocalStateMachine(
    sweepStateMachineDefinition({
      workerArn: "sweep-worker",
      summaryArn: "sweep-summary",
      bucket: BUCKET,
      batchSize: 2,
      maxConcurrency: 2,
    }),
    async (fn, payload) => {
      if (fn === "sweep-worker") {
        invoked.worker++;
        return worker(payload, ctx);
      }
      invoked.summary++;
      return summary(payload, ctx);
    },
  );
});

const plan = () => createSweepPlannerHandler(fanOutDeps())({}, ctx);
const runSummaries = () =>
  published
    .map((p) => JSON.parse((p as SnsPublication).message) as { schema: string })
    .filter((m) => m.schema === SWEEP_RUN_MESSAGE_SCHEMA) as unknown as (SweepRunSummary & {
    summary: string;
  })[];

beforeAll(async () => {
  dynamo = await startLocalDynamo({
    tableName: "network-guardrail-prod-audit",
    region: HUB_REGION,
    credentials: { accessKeyId: "local", secretAccessKey: "local" },
  });
  endpoints.ec2 = await ec2.listen();
  endpoints.sts = await sts.listen();
  endpoints.orgs = await orgs.listen();
});

afterAll(async () => {
  await Promise.all([ec2.close(), sts.close(), orgs.close(), dynamo.close()]);
});

describe("organisation sweep as planner + workers (local Distributed Map)", () => {
  it("plans every active account × Region in the slot's rotated order, sweeps them in batches and publishes one run summary", async () => {
    const a = seedRdp(MEMBER_A, "rdp-a");
    const hub = seedRdp(HUB, "rdp-hub");
    const planned = await plan();
    expect(planned).toMatchObject({ status: "started", targets: 6, skippedAccounts: 1 });
    const slot = scheduleSlot(now, 15);
    const name = runName(slot, 15);
    expect(planned.runId).toBe(name);
    const manifest = JSON.parse(machine.objects.get("*", `manifests/${name}.json`) ?? "[]");
    // The management account, the hub and the member; the suspended account is never listed.
    expect(manifest).toEqual(rotatedTargets([MANAGEMENT, HUB, MEMBER_A], [...REGIONS], slot));

    const [result] = await machine.settled();
    await ec2.drainEvents();
    expect(result?.status).toBe("SUCCEEDED");
    // 6 targets in batches of 2: 3 worker invocations, at most 2 at once; one summary.
    expect(result?.mapRuns).toEqual([
      { items: 6, batches: 3, succeeded: 3, failed: 0, maxInFlight: 2, aborted: false },
    ]);
    expect(invoked).toEqual({ worker: 3, summary: 1 });
    expect(rdpLeft(MEMBER_A, a)).toEqual([0, 0]);
    expect(rdpLeft(HUB, hub)).toEqual([0, 0]);
    // The management account has no member role: reported, once, in the run's one summary.
    const [summary, ...more] = runSummaries();
    expect(more).toEqual([]);
    expect(summary).toMatchObject({
      runId: name,
      planned: 6,
      swept: 4,
      notDeployed: [MANAGEMENT],
      failures: [],
      crashed: [],
      missing: 0,
      mapError: null,
    });
    expect(summary?.revoked).toBeGreaterThanOrEqual(4);
  });

  it("does not double a run still going when the next slot is due, nor start a slot twice", async () => {
    machine.hold();
    const first = await plan();
    expect(first.status).toBe("started");
    // Same slot again (the schedule's retry, a manual run) while it runs: nothing new.
    expect(await plan()).toMatchObject({
      status: "previous-run-still-going",
      running: first.runId,
    });
    now = new Date(now.getTime() + 15 * 60_000);
    // The next slot while the first run is still RUNNING: not started.
    const second = await plan();
    expect(second).toEqual({
      status: "previous-run-still-going",
      runId: runName(scheduleSlot(now, 15), 15),
      running: first.runId,
    });
    expect([...machine.executions.keys()]).toEqual([first.runId]);
    machine.resume();
    await machine.settled();
    // Once it ended, the same slot's name is refused by Step Functions, the next slot starts.
    now = new Date(now.getTime() - 15 * 60_000);
    expect(await plan()).toMatchObject({ status: "already-started", runId: first.runId });
    now = new Date(now.getTime() + 15 * 60_000);
    expect(await plan()).toMatchObject({ status: "started" });
    await machine.settled();
    expect(machine.executions.size).toBe(2);
  });

  it("reports a failing target for that target, sweeps the others, and fails the run at the end", async () => {
    now = new Date(now.getTime() + 30 * 60_000);
    const a = seedRdp(MEMBER_A, "rdp-a2");
    failing.add(HUB);
    await plan();
    const [result] = await machine.settled();
    expect(result?.status).toBe("FAILED");
    expect(result?.error?.Error).toBe("SweepTargetsFailedError");
    expect(rdpLeft(MEMBER_A, a)).toEqual([0, 0]);
    const [summary] = runSummaries();
    expect(summary?.failures.map((f) => `${f.account}/${f.region} ${f.code}`).sort()).toEqual([
      `${HUB}/eu-west-1 Throttling`,
      `${HUB}/us-east-1 Throttling`,
    ]);
    expect(summary?.swept).toBe(2);
  });
});
