import {
  AuthorizeSecurityGroupIngressCommand,
  CreateNetworkAclEntryCommand,
  EC2Client,
} from "@aws-sdk/client-ec2";
import { AssumeRoleCommand, STSClient } from "@aws-sdk/client-sts";
import {
  createAuditStore,
  createEc2Gateway,
  MemberRoleError,
  memberAccessFor,
} from "@guardrail/aws";
import { EVENT_DRIVEN_FUNCTIONS, eventPatternFor, type GuardrailFunction } from "@guardrail/core";
import {
  createNetworkAclChangeHandler,
  createObservability,
  createOrganizationSweepHandler,
  createPrefixListChangeHandler,
  createSecurityGroupChangeHandler,
  type Env,
  loadConfig,
  type SweepDeps,
} from "@guardrail/functions";
import {
  type AccessKeyEntry,
  Ec2Sandbox,
  type EventBridgeEvent,
  evaluatePolicies,
  parsePolicyDocument,
  StsSandbox,
} from "@guardrail/sandbox";
import { type LocalDynamo, lambdaContext, startLocalDynamo } from "@guardrail/sandbox/local";
import { matchesPattern } from "@guardrail/sandbox/pattern-matcher";
import {
  hubBusArn,
  MEMBER_ACTING_FUNCTIONS,
  renderSpokeTemplate,
  roleArn,
} from "@guardrail/templates";
import { afterAll, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { hubBusPolicy, hubEventPatternFor } from "../../stacks/hub-bus";
import {
  EXTERNAL_ID,
  HUB,
  HUB_REGION,
  hubEnvFor,
  hubRole,
  MEMBER_A,
  MEMBER_ROLE,
  ORG_ID,
  OWN_ROLE_ARNS,
  REGIONS,
  SOURCE_POLICY_FILES,
  STAGE,
} from "./support/org-hub";

/*
 * The multi-account flow end to end, locally: real SDK clients against the EC2 and STS
 * sandboxes, the member role defined by the rendered spoke template (its real trust and
 * permission policies), the forwarding rule's and the hub rules' real patterns, the hub bus's
 * real resource policy, the functions' production wiring (member access, credential cache) and
 * a real (dynalite) audit table.
 */

const MEMBER_B = "777788889999";
const OUTSIDER = "999900001111";

const template = renderSpokeTemplate({
  hubAccount: HUB,
  hubRegion: HUB_REGION,
  externalId: EXTERNAL_ID,
  orgId: ORG_ID,
});
// biome-ignore lint/suspicious/noExplicitAny: the rendered template is JSON to read from.
const resources = template.Resources as Record<string, any>;
const memberRole = resources.MemberRole.Properties;
const forwardPattern = resources.ForwardRule.Properties.EventPattern;
const busArn = hubBusArn("aws", HUB_REGION, HUB, STAGE);
const busPolicy = parsePolicyDocument(hubBusPolicy({ busArn, orgId: ORG_ID }), "hub bus policy");

const hubKey = (fn: GuardrailFunction) => `AKIAHUB${fn.replace(/-/g, "").toUpperCase()}`;

/** Developers who make changes, one per account; and hub roles, as their access keys. */
const KEYS: Record<string, AccessKeyEntry> = {
  AKIADEVHUB: HUB,
  AKIADEVA: MEMBER_A,
  AKIADEVB: MEMBER_B,
  AKIADEVOUTSIDER: OUTSIDER,
  // Someone outside the organisation with a role named like the hub's.
  AKIAOUTSIDERHUB: {
    type: "AssumedRole",
    accountId: OUTSIDER,
    roleName: hubRole("security-group-change"),
    sessionName: "security-group-change",
  },
  ...Object.fromEntries(
    MEMBER_ACTING_FUNCTIONS.map((fn) => [
      hubKey(fn),
      { type: "AssumedRole", accountId: HUB, roleName: hubRole(fn), sessionName: fn },
    ]),
  ),
};

const now = new Date("2026-06-15T12:00:00Z");
const clock = () => new Date(now);

const sts = new StsSandbox({
  organization: { id: ORG_ID, accounts: [HUB, MEMBER_A, MEMBER_B] },
  accessKeys: KEYS,
  clock,
  // StackSets create the member role in every spoke account, the outsider's included (its
  // admins chose to deploy it; the organisation condition still protects the hub's side).
  roles: [HUB, MEMBER_A, MEMBER_B, OUTSIDER].map((accountId) => ({
    accountId,
    roleName: memberRole.RoleName,
    trustPolicy: memberRole.AssumeRolePolicyDocument,
    policies: memberRole.Policies.map((p: { PolicyDocument: unknown }) => p.PolicyDocument),
    maxSessionDurationSeconds: memberRole.MaxSessionDuration,
  })),
});
const ec2 = new Ec2Sandbox({
  accessKeys: KEYS,
  clock,
  resolveCredentials: (key) => sts.resolveCredentials(key),
});
let dynamo: LocalDynamo;
let ec2Endpoint = "";
let stsEndpoint = "";

/** What the hub bus and the functions did. */
const log = {
  refusedPuts: [] as { account: string; eventName: string }[],
  invocations: [] as { fn: GuardrailFunction; account: string; region: string; via: string }[],
  failures: [] as { fn: GuardrailFunction; account: string; error: unknown }[],
  /** What each invocation returned, in order. */
  results: [] as unknown[],
  published: [] as unknown[],
};

/** Hub settings the functions read; `externalId` lets a test break the shared secret. */
let hubExternalId = EXTERNAL_ID;

function hubEnv(): Env {
  return hubEnvFor(dynamo.tableName, {
    GUARDRAIL_EXTERNAL_ID: hubExternalId,
    GUARDRAIL_ACCOUNTS: `${MEMBER_A},${MEMBER_B}`,
  });
}

/** The hub's deps for one function, wired as production wires them, at the sandboxes. */
function hubDeps(fn: GuardrailFunction): SweepDeps {
  const env = hubEnv();
  const config = loadConfig(fn, env, SOURCE_POLICY_FILES);
  const org = config.organization;
  if (org === null) throw new Error("organisation mode expected");
  const credentials = { accessKeyId: hubKey(fn), secretAccessKey: "hub-secret" };
  const hubGateway = createEc2Gateway(
    new EC2Client({ endpoint: ec2Endpoint, region: HUB_REGION, credentials, maxAttempts: 1 }),
    clock,
  );
  const stsClient = new STSClient({
    endpoint: stsEndpoint,
    region: HUB_REGION,
    credentials,
    maxAttempts: 1,
  });
  return {
    ...createObservability(fn, env),
    config,
    ec2: hubGateway,
    members: memberAccessFor(fn, org, hubGateway, {
      sts: async () => stsClient,
      now: clock,
      makeClient: (target, provider) =>
        new EC2Client({
          endpoint: ec2Endpoint,
          region: target.region,
          credentials: provider,
          maxAttempts: 1,
        }),
    }),
    audit: createAuditStore(dynamo.tableName, async () => dynamo.doc),
    notifier: {
      publish: async (p) => {
        log.published.push(p);
        return `msg-${log.published.length}`;
      },
    },
    clock,
    settleMs: 0,
    identity: async () => {
      throw new Error("organisation mode names its targets");
    },
  };
}

const HANDLERS = {
  "security-group-change": createSecurityGroupChangeHandler,
  "network-acl-change": createNetworkAclChangeHandler,
  "prefix-list-change": createPrefixListChangeHandler,
} as const;

async function invoke(fn: GuardrailFunction, event: EventBridgeEvent, via: string) {
  const make = HANDLERS[fn as keyof typeof HANDLERS];
  log.invocations.push({ fn, account: event.account, region: event.region, via });
  try {
    log.results.push(
      await make(hubDeps(fn))(
        event,
        lambdaContext(fn, hubRole(fn), { accountId: HUB, region: HUB_REGION }),
      ),
    );
  } catch (error) {
    log.failures.push({ fn, account: event.account, error });
  }
}

/** The forwarder role CloudFormation names in each spoke. */
const forwarderArn = (account: string) =>
  `arn:aws:iam::${account}:role/guardrail-spoke-ForwarderRole-1A2B3C4D`;

/** The hub bus: its resource policy decides, then its rules route. */
async function putOnHubBus(event: EventBridgeEvent) {
  const inOrg = [HUB, MEMBER_A, MEMBER_B].includes(event.account);
  const decision = evaluatePolicies([busPolicy], {
    action: "events:PutEvents",
    principalArns: [forwarderArn(event.account)],
    principalAccount: event.account,
    values: {
      "aws:PrincipalAccount": event.account,
      ...(inOrg ? { "aws:PrincipalOrgID": ORG_ID } : {}),
    },
  });
  if (decision !== "allow") {
    log.refusedPuts.push({ account: event.account, eventName: event.detail.eventName as string });
    return;
  }
  for (const fn of EVENT_DRIVEN_FUNCTIONS) {
    if (matchesPattern(hubEventPatternFor(fn), event)) await invoke(fn, event, "hub bus");
  }
}

/** Every account's default bus: the hub's own rules in its home Region, the spoke's elsewhere. */
async function defaultBus(event: EventBridgeEvent) {
  if (event.account === HUB && event.region === HUB_REGION) {
    for (const fn of EVENT_DRIVEN_FUNCTIONS) {
      if (matchesPattern(eventPatternFor(fn, OWN_ROLE_ARNS), event)) {
        await invoke(fn, event, "default bus");
      }
    }
    return;
  }
  // Every other account and Region has the spoke stack (the template's condition skips only
  // the hub's home Region).
  if (matchesPattern(forwardPattern, event)) await putOnHubBus(event);
}

function developer(account: string, region: string) {
  const key = {
    [HUB]: "AKIADEVHUB",
    [MEMBER_A]: "AKIADEVA",
    [MEMBER_B]: "AKIADEVB",
    [OUTSIDER]: "AKIADEVOUTSIDER",
  }[account];
  if (key === undefined) throw new Error(`no developer in ${account}`);
  return new EC2Client({
    endpoint: ec2Endpoint,
    region,
    credentials: { accessKeyId: key, secretAccessKey: "dev" },
    maxAttempts: 1,
  });
}

const SSH_FROM_WORLD = [
  { IpProtocol: "tcp", FromPort: 22, ToPort: 22, IpRanges: [{ CidrIp: "0.0.0.0/0" }] },
];

/** A web group in every account and Region, so that each test can tell where things happened. */
function seedWebGroups(name: string) {
  const ids: Record<string, string> = {};
  for (const account of [HUB, MEMBER_A, MEMBER_B, OUTSIDER]) {
    for (const region of REGIONS) {
      ids[`${account}/${region}`] = ec2.seedSecurityGroup({
        accountId: account,
        region,
        name,
      }).groupId;
    }
  }
  return ids;
}

function sshRules(account: string, region: string, groupId: string) {
  return (ec2.securityGroupRules(groupId, { accountId: account, region }) ?? []).filter(
    (r) => !r.isEgress && r.fromPort === 22 && r.cidrIpv4 === "0.0.0.0/0",
  );
}

async function authorizeSsh(account: string, region: string, groupId: string) {
  await developer(account, region).send(
    new AuthorizeSecurityGroupIngressCommand({ GroupId: groupId, IpPermissions: SSH_FROM_WORLD }),
  );
}

beforeAll(async () => {
  dynamo = await startLocalDynamo({
    tableName: "network-guardrail-prod-audit",
    region: HUB_REGION,
    credentials: { accessKeyId: "local", secretAccessKey: "local" },
  });
  ec2Endpoint = await ec2.listen();
  stsEndpoint = await sts.listen();
  ec2.onEvent((event) => defaultBus(event));
});

afterAll(async () => {
  await ec2.close();
  await sts.close();
  await dynamo?.close();
});

beforeEach(() => {
  hubExternalId = EXTERNAL_ID;
  log.refusedPuts.length = 0;
  log.invocations.length = 0;
  log.failures.length = 0;
  log.results.length = 0;
  log.published.length = 0;
});

describe("multi-account: hub and spokes end to end", () => {
  it("remediates changes in two member accounts in two Regions there, through the member role", async () => {
    const groups = seedWebGroups("web-1");
    const before = sts.issuedSessions().length;
    await authorizeSsh(MEMBER_A, "us-east-1", groups[`${MEMBER_A}/us-east-1`] as string);
    await authorizeSsh(MEMBER_B, "eu-west-1", groups[`${MEMBER_B}/eu-west-1`] as string);
    // The same opening, made by seeding (no CloudTrail event), elsewhere: must stay.
    for (const key of [`${MEMBER_A}/eu-west-1`, `${MEMBER_B}/us-east-1`]) {
      const [account, region] = key.split("/") as [string, string];
      ec2.seedRules(
        groups[key] as string,
        "ingress",
        [{ protocol: "tcp", fromPort: 22, toPort: 22, cidr: "0.0.0.0/0" }],
        { accountId: account, region },
      );
    }
    await ec2.drainEvents();

    expect(log.failures).toEqual([]);
    expect(log.invocations).toEqual([
      { fn: "security-group-change", account: MEMBER_A, region: "us-east-1", via: "hub bus" },
      { fn: "security-group-change", account: MEMBER_B, region: "eu-west-1", via: "hub bus" },
    ]);
    expect(sshRules(MEMBER_A, "us-east-1", groups[`${MEMBER_A}/us-east-1`] as string)).toEqual([]);
    expect(sshRules(MEMBER_B, "eu-west-1", groups[`${MEMBER_B}/eu-west-1`] as string)).toEqual([]);
    expect(sshRules(MEMBER_A, "eu-west-1", groups[`${MEMBER_A}/eu-west-1`] as string)).toHaveLength(
      1,
    );
    expect(sshRules(MEMBER_B, "us-east-1", groups[`${MEMBER_B}/us-east-1`] as string)).toHaveLength(
      1,
    );

    // Each revoke was made in its account and Region by that account's member-role session.
    const revokes = ec2
      .recordedEvents()
      .filter((e) => e.detail.eventName === "RevokeSecurityGroupIngress" && !e.detail.errorCode)
      .slice(-2);
    expect(revokes.map((e) => [e.account, e.region, e.detail.userIdentity])).toEqual([
      [
        MEMBER_A,
        "us-east-1",
        expect.objectContaining({
          arn: `arn:aws:sts::${MEMBER_A}:assumed-role/${MEMBER_ROLE}/guardrail-security-group-change`,
          sessionContext: expect.objectContaining({
            sessionIssuer: expect.objectContaining({
              arn: `arn:aws:iam::${MEMBER_A}:role/${MEMBER_ROLE}`,
            }),
          }),
        }),
      ],
      [
        MEMBER_B,
        "eu-west-1",
        expect.objectContaining({
          arn: `arn:aws:sts::${MEMBER_B}:assumed-role/${MEMBER_ROLE}/guardrail-security-group-change`,
        }),
      ],
    ]);
    expect(sts.issuedSessions().slice(before)).toEqual([
      expect.objectContaining({
        roleArn: `arn:aws:iam::${MEMBER_A}:role/${MEMBER_ROLE}`,
        callerArn: `arn:aws:sts::${HUB}:assumed-role/${hubRole("security-group-change")}/security-group-change`,
        externalId: EXTERNAL_ID,
      }),
      expect.objectContaining({ roleArn: `arn:aws:iam::${MEMBER_B}:role/${MEMBER_ROLE}` }),
    ]);

    // Recorded and told under the member's account and Region.
    const a = await dynamo.decisions(MEMBER_A);
    expect(a.at(-1)).toMatchObject({ account: MEMBER_A, region: "us-east-1", result: "revoked" });
    const b = await dynamo.decisions(MEMBER_B);
    expect(b.at(-1)).toMatchObject({ account: MEMBER_B, region: "eu-west-1", result: "revoked" });
    expect(log.published).toHaveLength(2);
  });

  it("remediates a network-ACL entry in the member account and Region it was made in", async () => {
    const aclId = ec2.seedNetworkAcl({ accountId: MEMBER_B, region: "us-east-1" });
    await developer(MEMBER_B, "us-east-1").send(
      new CreateNetworkAclEntryCommand({
        NetworkAclId: aclId,
        RuleNumber: 90,
        Protocol: "6",
        PortRange: { From: 3389, To: 3389 },
        CidrBlock: "0.0.0.0/0",
        Egress: false,
        RuleAction: "allow",
      }),
    );
    await ec2.drainEvents();
    expect(log.failures).toEqual([]);
    // The entry also allows the trusted and office ranges, which the ACL's later allow-all would
    // let through anyway: the planner inserts entries before it (allows for those ranges, then
    // the deny) rather than deleting it (issue 14, on purpose). The member role's own
    // CreateNetworkAclEntry calls come back through the hub bus too (its pattern holds no
    // EventBridge wildcard over principals): the function ignores each.
    const here = {
      fn: "network-acl-change",
      account: MEMBER_B,
      region: "us-east-1",
      via: "hub bus",
    };
    expect(log.invocations.length).toBeGreaterThan(1);
    for (const invocation of log.invocations) expect(invocation).toEqual(here);
    const revoked = log.results.filter((r) => (r as { result?: string }).result === "revoked");
    expect(revoked).toHaveLength(1);
    expect(log.results.filter((r) => r !== revoked[0])).toEqual(
      Array(log.results.length - 1).fill(
        expect.objectContaining({ status: "ignored", reason: "own-principal" }),
      ),
    );
    const entries =
      ec2.networkAclEntries(aclId, { accountId: MEMBER_B, region: "us-east-1" }) ?? [];
    // A deny of tcp 3389 from the world now comes before entry 90, in the member's ACL.
    expect(
      entries.some(
        (e) =>
          e.ruleNumber < 90 &&
          !e.egress &&
          e.ruleAction === "deny" &&
          e.cidrBlock === "0.0.0.0/0" &&
          e.portRange?.from === 3389,
      ),
    ).toBe(true);
  });

  it("acts with its own role, without STS, in the hub's own account and Region", async () => {
    const groups = seedWebGroups("web-hub");
    const before = sts.issuedSessions().length;
    await authorizeSsh(HUB, HUB_REGION, groups[`${HUB}/${HUB_REGION}`] as string);
    await ec2.drainEvents();
    expect(log.invocations).toEqual([
      { fn: "security-group-change", account: HUB, region: HUB_REGION, via: "default bus" },
    ]);
    expect(sshRules(HUB, HUB_REGION, groups[`${HUB}/${HUB_REGION}`] as string)).toEqual([]);
    expect(sts.issuedSessions()).toHaveLength(before);
    const revoke = ec2
      .recordedEvents()
      .filter((e) => e.detail.eventName === "RevokeSecurityGroupIngress")
      .at(-1);
    expect(revoke?.detail.userIdentity).toMatchObject({
      sessionContext: {
        sessionIssuer: { arn: roleArn("aws", HUB, hubRole("security-group-change")) },
      },
    });
  });

  it("refuses events forwarded from an account outside the organisation at the hub bus", async () => {
    const groups = seedWebGroups("web-outsider");
    const before = sts.issuedSessions().length;
    await authorizeSsh(OUTSIDER, "eu-west-1", groups[`${OUTSIDER}/eu-west-1`] as string);
    await ec2.drainEvents();
    expect(log.refusedPuts).toEqual([
      { account: OUTSIDER, eventName: "AuthorizeSecurityGroupIngress" },
    ]);
    expect(log.invocations).toEqual([]);
    expect(sts.issuedSessions()).toHaveLength(before);
    expect(sshRules(OUTSIDER, "eu-west-1", groups[`${OUTSIDER}/eu-west-1`] as string)).toHaveLength(
      1,
    );
  });

  it("refuses a caller outside the organisation at the member role, even with the external id", async () => {
    const outsider = new STSClient({
      endpoint: stsEndpoint,
      region: HUB_REGION,
      credentials: { accessKeyId: "AKIAOUTSIDERHUB", secretAccessKey: "x" },
      maxAttempts: 1,
    });
    const error = await outsider
      .send(
        new AssumeRoleCommand({
          RoleArn: `arn:aws:iam::${MEMBER_A}:role/${MEMBER_ROLE}`,
          RoleSessionName: "guardrail-security-group-change",
          ExternalId: EXTERNAL_ID,
        }),
      )
      .catch((e: unknown) => e as Error);
    expect(error).toMatchObject({ name: "AccessDenied", $metadata: { httpStatusCode: 403 } });
  });

  it("refuses the hub with a wrong external id: nothing is revoked and the invocation fails", async () => {
    hubExternalId = "guardrail-wrong-id";
    const groups = seedWebGroups("web-wrong-id");
    const before = sts.issuedSessions().length;
    await authorizeSsh(MEMBER_A, "eu-west-1", groups[`${MEMBER_A}/eu-west-1`] as string);
    await ec2.drainEvents();
    expect(log.invocations).toHaveLength(1);
    expect(log.failures).toHaveLength(1);
    const error = log.failures[0]?.error;
    expect(error).toBeInstanceOf(MemberRoleError);
    expect(error).toMatchObject({ account: MEMBER_A, awsCode: "AccessDenied" });
    expect(sts.issuedSessions()).toHaveLength(before);
    expect(sshRules(MEMBER_A, "eu-west-1", groups[`${MEMBER_A}/eu-west-1`] as string)).toHaveLength(
      1,
    );
    expect(log.published).toEqual([]);
  });

  it("sweeps every member account and Region through the member roles, and nothing else", async () => {
    const groups = seedWebGroups("web-sweep");
    const rdp = [{ protocol: "tcp", fromPort: 3389, toPort: 3389, cidr: "0.0.0.0/0" }];
    const rdpRules = (account: string, region: string) =>
      (
        ec2.securityGroupRules(groups[`${account}/${region}`] as string, {
          accountId: account,
          region,
        }) ?? []
      ).filter((r) => r.fromPort === 3389);
    for (const account of [HUB, MEMBER_A, MEMBER_B, OUTSIDER]) {
      for (const region of REGIONS) {
        ec2.seedRules(groups[`${account}/${region}`] as string, "ingress", rdp, {
          accountId: account,
          region,
        });
      }
    }
    const before = sts.issuedSessions().length;
    const result = await createOrganizationSweepHandler(hubDeps("sweep"))(
      { id: "sweep-run-1", "detail-type": "Scheduled Event" },
      lambdaContext("sweep", hubRole("sweep"), { accountId: HUB, region: HUB_REGION }),
    );
    await ec2.drainEvents();
    expect(result.failures).toEqual([]);
    expect(result.targets.map((t) => `${t.account}/${t.region}`)).toEqual([
      `${MEMBER_A}/eu-west-1`,
      `${MEMBER_A}/us-east-1`,
      `${MEMBER_B}/eu-west-1`,
      `${MEMBER_B}/us-east-1`,
    ]);
    for (const account of [MEMBER_A, MEMBER_B]) {
      for (const region of REGIONS)
        expect(rdpRules(account, region), `${account}/${region}`).toEqual([]);
    }
    // Accounts not configured for the sweep keep theirs.
    for (const account of [HUB, OUTSIDER]) {
      for (const region of REGIONS)
        expect(rdpRules(account, region), `${account}/${region}`).toHaveLength(1);
    }
    // One session per account, shared by its Regions.
    expect(
      sts
        .issuedSessions()
        .slice(before)
        .map((x) => x.roleArn),
    ).toEqual([
      `arn:aws:iam::${MEMBER_A}:role/${MEMBER_ROLE}`,
      `arn:aws:iam::${MEMBER_B}:role/${MEMBER_ROLE}`,
    ]);
    // The revokes' own CloudTrail events are restrictive: no spoke forwards them.
    expect(log.invocations).toEqual([]);
    expect(log.published).toHaveLength(4);
  });
});
