import "./setup";
import { DynamoDBClient } from "@aws-sdk/client-dynamodb";
import { SecurityHubClient } from "@aws-sdk/client-securityhub";
import { STSClient } from "@aws-sdk/client-sts";
import { DynamoDBDocumentClient } from "@aws-sdk/lib-dynamodb";
import { lazy, securityHubExportFor } from "@guardrail/aws";
import {
  buildDecision,
  evaluate,
  loadPolicy,
  missingAsffFields,
  securityHubFindingId,
} from "@guardrail/core";
import {
  createSecurityGroupChangeHandler,
  createSweepHandler,
  loadConfig,
  type RemediationDeps,
  reportToSecurityHub,
  type SweepDeps,
} from "@guardrail/functions";
import { type AccessKeyEntry, SecurityHubSandbox, StsSandbox } from "@guardrail/sandbox";
import { ConfiguredRetryStrategy } from "@smithy/util-retry";
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { sgRule } from "../../packages/core/test/policy-builders";
import {
  credentials,
  endpointsOf,
  REGION,
  SSH_FROM_WORLD_RULE,
  wireDeps,
  wireStubs,
} from "./harness";
import { BASE_ENV, GROUP, lambdaContext, memoryFiles, RULE, sshFromWorld } from "./helpers";

const ACCOUNT = "123456789012";
const ADMIN = securityHubFindingId(ACCOUNT, REGION, GROUP, "admin-ports");
const EXPOSURE = securityHubFindingId(ACCOUNT, REGION, GROUP, "internet-exposure");

/** SSH from the world: admin-ports only, in `mode`, with an optional group exemption. */
function policy(mode: "enforce" | "notify", exemptUntil?: string): string {
  return `version: 1
exemptions:
  groups:${exemptUntil ? `\n    - id: ${GROUP}\n      reason: vendor migration CHG-42\n      expires: ${exemptUntil}` : " []"}
rules:
  - id: admin-ports
    kind: security-group-ports
    description: SSH must not be reachable from public addresses.
    mode: ${mode}
    severity: critical
    options:
      direction: ingress
      peers: [public]
      ports: [tcp/22]
`;
}

const wire = wireStubs();
let hub: SecurityHubSandbox;
let hubEndpoint: string;
let clock: Date;

beforeEach(async () => {
  wire.ec2.addRules(SSH_FROM_WORLD_RULE);
  // dynalite lives across tests: each starts with no record of what was sent.
  await wire.dynamo.deleteItems("SECURITYHUB#");
  hub = new SecurityHubSandbox();
  hubEndpoint = await hub.listen(0);
  clock = new Date("2024-11-05T10:15:02Z");
});
afterEach(async () => {
  await hub.close();
});

const ddb = lazy(async () =>
  DynamoDBDocumentClient.from(
    new DynamoDBClient({ endpoint: wire.dynamo.endpoint, region: REGION, credentials }),
    { marshallOptions: { removeUndefinedValues: true } },
  ),
);

function hubClient(target: { region: string }, creds?: () => Promise<unknown>) {
  return Promise.resolve(
    new SecurityHubClient({
      endpoint: hubEndpoint,
      region: target.region,
      credentials: (creds as never) ?? credentials,
      retryStrategy: new ConfiguredRetryStrategy(3, 0),
    }),
  );
}

function deps(policyYaml: string, fn: "sweep" | "security-group-change" = "sweep"): SweepDeps {
  const base = wireDeps({
    fn,
    ...endpointsOf(wire),
    now: () => new Date(clock),
    settleMs: 0,
    policyYaml,
  });
  const config = { ...base.config, securityHub: true };
  return {
    ...base,
    config,
    securityHub: securityHubExportFor(fn, config, {
      sts: async () => new STSClient({ region: REGION, credentials }),
      ddb,
      makeClient: (target) => hubClient(target),
    }),
    identity: async () => ({ account: ACCOUNT, region: REGION }),
  };
}

let run = 0;
const sweep = (policyYaml: string) =>
  createSweepHandler(deps(policyYaml))(
    { id: `shub-${++run}`, account: ACCOUNT, region: REGION },
    lambdaContext,
  );

/** Each request the sandbox answered carried ASFF's required fields (checked there) and none failed. */
function expectAllImported() {
  for (const c of hub.calls) expect(c.status).toBe(200);
  for (const f of hub.findings()) expect(missingAsffFields(f.finding)).toEqual([]);
}

describe("wire: Security Hub lifecycle against a local Security Hub", () => {
  it("FAILED (notify-only) → PASSED and RESOLVED on remediation → ARCHIVED once compliant", async () => {
    await sweep(policy("notify"));
    expect(hub.finding(ADMIN)).toMatchObject({
      finding: { Compliance: { Status: "FAILED" }, RecordState: "ACTIVE" },
      workflow: "NEW",
      note: { Text: expect.stringContaining("Not remediated (notify only)") },
    });
    expect(hub.finding(ADMIN)?.finding.Severity).toEqual({ Label: "CRITICAL" });

    // Nothing changed: nothing is sent again.
    const calls = hub.calls.length;
    await sweep(policy("notify"));
    expect(hub.calls.length).toBe(calls);

    clock = new Date("2024-11-05T10:30:02Z");
    await sweep(policy("enforce"));
    expect(wire.ec2.rules.has(RULE)).toBe(false);
    const passed = hub.finding(ADMIN);
    expect(passed?.finding.Compliance).toEqual({ Status: "PASSED" });
    expect(passed?.workflow).toBe("RESOLVED");
    expect(passed?.note?.Text).toMatch(/^Remediated at 2024-11-05T10:30:02/);
    expect(passed?.note?.Text).toContain(RULE);

    clock = new Date("2024-11-05T10:45:02Z");
    await sweep(policy("enforce"));
    expect(hub.finding(ADMIN)?.history).toEqual([
      "FAILED/ACTIVE/NEW",
      "PASSED/ACTIVE/NEW",
      "PASSED/ACTIVE/RESOLVED",
      "PASSED/ARCHIVED/RESOLVED",
    ]);
    expectAllImported();
  });

  it("SUPPRESSED on exemption (reason, approver, expiry) → re-opened NOTIFIED when it expires", async () => {
    await sweep(policy("notify", "2024-11-10"));
    const suppressed = hub.finding(ADMIN);
    expect(suppressed?.workflow).toBe("SUPPRESSED");
    expect(suppressed?.note?.Text).toContain("vendor migration CHG-42");
    expect(suppressed?.note?.Text).toContain("approved by the policy");
    expect(suppressed?.note?.Text).toContain("expires 2024-11-10");

    clock = new Date("2024-11-11T00:00:00Z");
    await sweep(policy("notify", "2024-11-10"));
    const reopened = hub.finding(ADMIN);
    expect(reopened?.finding.Compliance).toEqual({ Status: "FAILED" });
    expect(reopened?.workflow).toBe("NOTIFIED");
    expect(reopened?.note?.Text).toMatch(/^Exemption ended \(expired 2024-11-10\); re-opened/);
    const updates = hub.calls.filter((c) => c.operation === "BatchUpdateFindings");
    expect(updates.map((u) => u.ids)).toEqual([[ADMIN]]);
    expectAllImported();
  });

  it("imports the event path's remediation as PASSED and RESOLVED at creation", async () => {
    const event = sshFromWorld({ eventID: "shub-event-1" });
    const result = await createSecurityGroupChangeHandler(
      deps(policy("enforce"), "security-group-change"),
    )(event, lambdaContext);
    expect(result).toMatchObject({ status: "decided", result: "revoked" });
    const f = hub.finding(ADMIN);
    expect(f).toMatchObject({
      finding: { Compliance: { Status: "PASSED" }, AwsAccountId: ACCOUNT },
      workflow: "RESOLVED",
    });
    expect(hub.calls.map((c) => c.operation)).toEqual(["BatchImportFindings"]);
  });

  it("retries a partial failure for the failed finding only, and rides out a throttle", async () => {
    // The default policy flags SSH from the world twice: admin-ports and internet-exposure.
    const yaml = policy("notify").replace(
      "rules:\n",
      `rules:
  - id: internet-exposure
    kind: security-group-exposure
    description: Wide public ranges may reach only HTTPS.
    mode: notify
    severity: high
    options:
      direction: ingress
      peers: [public-wide]
      allow: [tcp/443]
`,
    );
    hub.throttleNext(1);
    hub.failFinding(EXPOSURE);
    await sweep(yaml);
    const imports = hub.calls.filter((c) => c.operation === "BatchImportFindings");
    expect(imports.map((c) => [c.status, [...c.ids].sort()])).toEqual([
      [429, [ADMIN, EXPOSURE].sort()],
      [200, [ADMIN, EXPOSURE].sort()],
      [200, [EXPOSURE]],
    ]);
    expect(hub.finding(EXPOSURE)?.finding.Compliance).toEqual({ Status: "FAILED" });
    expect(hub.finding(ADMIN)?.finding.Severity).toEqual({ Label: "CRITICAL" });
  });

  it("does not fail the sweep when Security Hub is not enabled; the next sweep sends again", async () => {
    const on = hubEndpoint;
    const off = new SecurityHubSandbox({ enabled: () => false });
    hubEndpoint = await off.listen(0);
    try {
      const result = await sweep(policy("notify"));
      expect(result).toMatchObject({ scanned: { securityGroupRules: 1 } });
      // The whole call is refused each attempt; nothing is recorded as sent.
      expect(off.calls.map((c) => c.status)).toEqual([401, 401, 401]);
    } finally {
      await off.close();
    }
    hubEndpoint = on;
    await sweep(policy("notify"));
    expect(hub.finding(ADMIN)?.finding.Compliance).toEqual({ Status: "FAILED" });
  });
});

describe("wire: organisation mode imports through the member role", () => {
  const HUB = "111122223333";
  const MEMBER = "444455556666";
  const ROLE = "network-guardrail-prod-member";
  const EXTERNAL_ID = "guardrail-3f9c1e7a";
  const HUB_ROLE = "network-guardrail-prod-eu-west-1-sweep";
  let sts: StsSandbox;
  let stsEndpoint: string;
  let orgHub: SecurityHubSandbox;
  let orgHubEndpoint: string;

  const keys: Record<string, AccessKeyEntry> = {
    AKIAHUBSWEEP: { type: "AssumedRole", accountId: HUB, roleName: HUB_ROLE, sessionName: "sweep" },
  };

  beforeAll(async () => {
    const { renderSpokeTemplate } = await import("@guardrail/templates");
    const template = renderSpokeTemplate({
      hubAccount: HUB,
      hubRegion: REGION,
      externalId: EXTERNAL_ID,
      orgId: "o-a1b2c3d4e5",
      securityHub: true,
    });
    // biome-ignore lint/suspicious/noExplicitAny: the rendered template is JSON to read from.
    const role = (template.Resources as Record<string, any>).MemberRole.Properties;
    sts = new StsSandbox({
      organization: { id: "o-a1b2c3d4e5", accounts: [HUB, MEMBER] },
      accessKeys: keys,
      roles: [
        {
          accountId: MEMBER,
          roleName: role.RoleName,
          trustPolicy: role.AssumeRolePolicyDocument,
          policies: role.Policies.map((p: { PolicyDocument: unknown }) => p.PolicyDocument),
        },
      ],
    });
    stsEndpoint = await sts.listen(0);
    orgHub = new SecurityHubSandbox({
      accessKeys: keys,
      resolveCredentials: (k) => sts.resolveCredentials(k),
    });
    orgHubEndpoint = await orgHub.listen(0);
    expect(role.RoleName).toBe(ROLE);
  });
  afterAll(async () => {
    await Promise.all([sts.close(), orgHub.close()]);
  });

  it("sends a member account's findings with the member role's session, the hub's with its own", async () => {
    const env = {
      ...BASE_ENV,
      GUARDRAIL_ORG_ID: "o-a1b2c3d4e5",
      GUARDRAIL_MEMBER_ROLE_NAME: ROLE,
      GUARDRAIL_EXTERNAL_ID: EXTERNAL_ID,
      GUARDRAIL_ACCOUNTS: `${HUB},${MEMBER}`,
      GUARDRAIL_REGIONS: REGION,
      GUARDRAIL_SECURITY_HUB: "on",
      AWS_REGION: REGION,
      // The hub's account is the one of the functions' own roles.
      GUARDRAIL_OWN_ROLE_ARNS: `arn:aws:iam::${HUB}:role/${HUB_ROLE}`,
    };
    const config = loadConfig("sweep", env, memoryFiles({}));
    expect(config.securityHub).toBe(true);
    const hubCreds = { accessKeyId: "AKIAHUBSWEEP", secretAccessKey: "x" };
    const exporter = securityHubExportFor("sweep", config, {
      sts: async () =>
        new STSClient({ endpoint: stsEndpoint, region: REGION, credentials: hubCreds }),
      ddb,
      makeClient: async (target, creds) =>
        new SecurityHubClient({
          endpoint: orgHubEndpoint,
          region: target.region,
          credentials: (creds as never) ?? hubCreds,
        }),
    });
    const base = wireDeps({
      fn: "sweep",
      ...endpointsOf(wire),
    });
    const d: RemediationDeps = { ...base, config, securityHub: exporter };
    const decisionIn = (account: string) =>
      buildDecision({
        source: "sweep",
        id: `sweep:org:${account}`,
        account,
        region: REGION,
        // What the sweep finds in the account: ssh open to the world, which the policy flags.
        evaluation: evaluate(
          [sgRule({ groupId: GROUP, ruleId: RULE })],
          loadPolicy(policy("notify")),
          {
            now: new Date(),
            account,
            region: REGION,
          },
        ),
        outcomes: [],
        decidedAt: new Date(),
        guardrailVersion: "1.2.3",
        policyId: "p",
      });
    const member = decisionIn(MEMBER);
    const own = decisionIn(HUB);
    if (!member || !own) throw new Error("decisions");
    const sent = await reportToSecurityHub(
      [member],
      { account: MEMBER, region: REGION },
      "sweep",
      d,
    );
    expect(sent).toMatchObject({ imported: 1, failed: 0 });
    await reportToSecurityHub([own], { account: HUB, region: REGION }, "sweep", d);
    expect(orgHub.calls.map((c) => [c.callerAccount, c.status])).toEqual([
      [MEMBER, 200],
      [HUB, 200],
    ]);
    expect(sts.issuedSessions().map((s) => s.sessionName)).toEqual(["guardrail-sweep-securityhub"]);
    expect(
      orgHub.finding(securityHubFindingId(MEMBER, REGION, GROUP, "admin-ports")),
    ).toBeDefined();
  });
});
