import { dirname } from "node:path";
import {
  EVENT_DRIVEN_FUNCTIONS,
  EXTERNAL_ID_SECRET,
  eventPatternFor,
  FUNCTION_EC2_ACTIONS,
  GUARDRAIL_FUNCTIONS,
  type GuardrailFunction,
  ORG_FUNCTION_ENV,
  STACK_OUTPUTS,
  TARGET_RETRY,
} from "@guardrail/core";
import { defaultPolicyFiles, loadConfig } from "@guardrail/functions/config";
import { matchesPattern } from "@guardrail/sandbox/pattern-matcher";
import {
  componentName,
  hubBusName,
  MEMBER_ACTING_FUNCTIONS,
  memberRoleName,
  renderScp,
  renderSpokeTemplate,
} from "@guardrail/templates";
import { afterAll, beforeAll, describe, expect, it, vi } from "vitest";
import { hubBusPolicy, hubEventPatternFor } from "../../stacks/hub-bus";
import { ORGANIZATION_SWEEP_TIMEOUT_SECONDS } from "../../stacks/organization";
import { fixtureEvents } from "./fixture-events";
import {
  ACCOUNT_ID,
  mockedAccount,
  REGION,
  type RecordedResource,
  runStack,
  type StackRun,
} from "./sst-harness";

vi.mock("../../.sst/platform/src/components/rpc/rpc", async () =>
  (await import("./sst-rpc-mock")).mockedRpcModule(),
);

/*
 * The hub in organisation mode, deployed into Pulumi mocks exactly as `sst deploy` would run it,
 * with the external id in the SST secret (the recommended set-up).
 */

const STAGE = "ci";
const ORG_ID = "o-a1b2c3d4e5";
const EXTERNAL_ID = "guardrail-secret-3f9c1e7a";
const MEMBERS = ["444455556666", "777788889999"];
const MEMBER_ROLE = memberRoleName(STAGE);
let stack: StackRun;

beforeAll(async () => {
  mockedAccount.enabledRegions = ["us-east-1", "eu-west-1"];
  stack = await runStack(STAGE, {
    GUARDRAIL_ORG_ID: ORG_ID,
    GUARDRAIL_ACCOUNTS: MEMBERS.join(","),
    GUARDRAIL_REGIONS: "us-east-1,eu-west-1",
    [`SST_SECRET_${EXTERNAL_ID_SECRET}`]: EXTERNAL_ID,
  });
}, 240_000);

afterAll(() => {
  mockedAccount.enabledRegions = [REGION];
});

// biome-ignore lint/suspicious/noExplicitAny: resource inputs are arbitrary provider JSON.
type Inputs = Record<string, any>;
/** Pulumi wraps secret-tainted values as `{ <sig>: <secret sig>, value }` in mock inputs. */
const SECRET_SIG = "4dabf18193072939515e22adb298388d";
function plain(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(plain);
  if (typeof value === "object" && value !== null) {
    const record = value as Record<string, unknown>;
    if (SECRET_SIG in record) return plain(record.value);
    return Object.fromEntries(Object.entries(record).map(([k, v]) => [k, plain(v)]));
  }
  return value;
}
const inputs = (r: RecordedResource) => plain(r.inputs) as Inputs;
const arnOf = (r: RecordedResource) => String(r.state.arn);
const list = (v: string | string[]) => (Array.isArray(v) ? v : [v]);

interface Statement {
  Effect: string;
  Action: string | string[];
  Resource: string | string[];
  Principal?: unknown;
  Condition?: Record<string, Record<string, unknown>>;
}

const bus = () => stack.one("aws:cloudwatch/eventBus:EventBus", "HubBus");
const lambdaOf = (fn: GuardrailFunction) =>
  stack.one("aws:lambda/function:Function", `${componentName(fn)}Function`);
const roleOf = (fn: GuardrailFunction) =>
  stack.one("aws:iam/role:Role", `${componentName(fn)}Role`);
const hubRuleOf = (fn: GuardrailFunction) =>
  stack.one("aws:cloudwatch/eventRule:EventRule", `${componentName(fn)}HubRule`);
const deadLetterQueue = () => stack.one("aws:sqs/queue:Queue", "DeadLetterQueue");
const rolePolicy = (fn: GuardrailFunction): Statement[] =>
  (inputs(roleOf(fn)).inlinePolicies as { policy: string }[]).flatMap(
    (p) => JSON.parse(p.policy).Statement as Statement[],
  );
const envOf = (fn: GuardrailFunction) =>
  (inputs(lambdaOf(fn)).environment as { variables: Record<string, string> }).variables;

describe("hub bus", () => {
  it("is a bus of its own, named after the stage", () => {
    expect(inputs(bus()).name).toBe(hubBusName(STAGE));
    expect(stack.outputs[STACK_OUTPUTS.hubBusArn]).toBe(arnOf(bus()));
  });

  it("accepts events:PutEvents on itself only, and only from the organisation", () => {
    const policy = inputs(
      stack.one("aws:cloudwatch/eventBusPolicy:EventBusPolicy", "HubBusPolicy"),
    );
    expect(policy.eventBusName).toBe(inputs(bus()).name);
    const document = JSON.parse(String(policy.policy));
    expect(document).toEqual(hubBusPolicy({ busArn: arnOf(bus()), orgId: ORG_ID }));
    expect(document.Statement).toEqual([
      {
        Sid: "OrganisationSpokesPutEvents",
        Effect: "Allow",
        Principal: "*",
        Action: "events:PutEvents",
        Resource: arnOf(bus()),
        Condition: { StringEquals: { "aws:PrincipalOrgID": ORG_ID } },
      },
    ]);
  });

  it("has one rule per event-driven function, with no EventBridge wildcard in its pattern", () => {
    for (const fn of EVENT_DRIVEN_FUNCTIONS) {
      const rule = inputs(hubRuleOf(fn));
      expect(rule.eventBusName, fn).toBe(inputs(bus()).name);
      expect(JSON.parse(String(rule.eventPattern)), fn).toEqual(hubEventPatternFor(fn));
      // EventBridge's `*` crosses `:` and `/`: own roles are left to the functions' check.
      expect(String(rule.eventPattern), fn).not.toContain("wildcard");
    }
  });

  it("targets the same functions as the default bus, with the retry policy and dead-letter queue", () => {
    for (const fn of EVENT_DRIVEN_FUNCTIONS) {
      const target = inputs(
        stack.one("aws:cloudwatch/eventTarget:EventTarget", `${componentName(fn)}HubTarget`),
      );
      expect(target, fn).toMatchObject({
        rule: hubRuleOf(fn).state.name,
        eventBusName: inputs(bus()).name,
        arn: arnOf(lambdaOf(fn)),
        retryPolicy: {
          maximumRetryAttempts: TARGET_RETRY.maximumRetryAttempts,
          maximumEventAgeInSeconds: TARGET_RETRY.maximumEventAgeSeconds,
        },
        deadLetterConfig: { arn: arnOf(deadLetterQueue()) },
      });
      const permission = inputs(
        stack.one("aws:lambda/permission:Permission", `${componentName(fn)}HubEventsPermission`),
      );
      expect(permission, fn).toMatchObject({
        action: "lambda:InvokeFunction",
        principal: "events.amazonaws.com",
        sourceArn: arnOf(hubRuleOf(fn)),
      });
    }
  });

  it("keeps the default-bus rules for the hub's own account and Region", () => {
    for (const fn of EVENT_DRIVEN_FUNCTIONS) {
      const rule = inputs(
        stack.one("aws:cloudwatch/eventRule:EventRule", `${componentName(fn)}Rule`),
      );
      expect(rule.eventBusName).toBe("default");
      const own = GUARDRAIL_FUNCTIONS.map((f) => arnOf(roleOf(f)));
      expect(JSON.parse(String(rule.eventPattern))).toEqual(eventPatternFor(fn, own));
    }
  });

  it("lets the hub rules dead-letter too", () => {
    const policy = JSON.parse(
      String(inputs(stack.one("aws:sqs/queuePolicy:QueuePolicy", "DeadLetterQueuePolicy")).policy),
    );
    const allowed = policy.Statement[0].Condition.ArnEquals["aws:SourceArn"] as string[];
    for (const fn of EVENT_DRIVEN_FUNCTIONS) expect(allowed).toContain(arnOf(hubRuleOf(fn)));
    expect(allowed).toHaveLength(2 * EVENT_DRIVEN_FUNCTIONS.length + 1);
  });

  it("routes forwarded fixtures to the same function as the default bus would", () => {
    const { events } = fixtureEvents();
    const someoneElse = ["arn:aws:iam::444455556666:role/deployer"];
    for (const e of events) {
      const member = structuredClone(e.event);
      member.account = MEMBERS[0];
      for (const fn of EVENT_DRIVEN_FUNCTIONS) {
        const hub = JSON.parse(String(inputs(hubRuleOf(fn)).eventPattern));
        expect(matchesPattern(hub, member), `${e.id} ${fn}`).toBe(
          matchesPattern(eventPatternFor(fn, someoneElse), member),
        );
      }
    }
  });

  it("delivers an IAM user whose path imitates the member role to security-group-change", () => {
    const sample = fixtureEvents().events.find(
      (e) => e.eventName === "AuthorizeSecurityGroupIngress" && !("errorCode" in e.event.detail),
    );
    if (sample === undefined) throw new Error("no AuthorizeSecurityGroupIngress fixture");
    const crafted = structuredClone(sample.event);
    crafted.account = MEMBERS[0];
    (crafted.detail as Record<string, unknown>).userIdentity = {
      type: "FederatedUser",
      sessionContext: {
        sessionIssuer: { arn: `arn:aws:iam::111122223333:user/x:role/${MEMBER_ROLE}` },
      },
    };
    const hub = JSON.parse(String(inputs(hubRuleOf("security-group-change")).eventPattern));
    expect(matchesPattern(hub, crafted)).toBe(true);
  });
});

describe("hub IAM in organisation mode", () => {
  const memberRoleArn = `arn:aws:iam::*:role/${MEMBER_ROLE}`;

  it("lets exactly the functions that act on EC2 assume the member role, in any account of the organisation", () => {
    for (const fn of GUARDRAIL_FUNCTIONS) {
      const assume = rolePolicy(fn).filter((s) => list(s.Action).includes("sts:AssumeRole"));
      if (FUNCTION_EC2_ACTIONS[fn].length === 0) {
        expect(assume, fn).toEqual([]);
        continue;
      }
      expect(assume, fn).toEqual([
        {
          Effect: "Allow",
          Action: ["sts:AssumeRole"],
          Resource: [memberRoleArn],
          Condition: { StringEquals: { "aws:ResourceOrgID": [ORG_ID] } },
        },
      ]);
    }
  });

  it("names every action: no wildcard action, no Authorize, no Create but CreateNetworkAclEntry", () => {
    for (const fn of GUARDRAIL_FUNCTIONS) {
      for (const statement of rolePolicy(fn)) {
        for (const action of list(statement.Action)) {
          expect(action, fn).not.toContain("*");
          expect(action, fn).not.toMatch(/^ec2:(Authorize|Create(?!NetworkAclEntry$))/);
        }
      }
    }
  });

  it("lets the sweep alone list the organisation's accounts, read-only; nothing else reads Organizations for a policy that does not scope by tag or OU", () => {
    for (const fn of GUARDRAIL_FUNCTIONS) {
      const reads = rolePolicy(fn).filter((s) =>
        list(s.Action).some((a) => a.startsWith("organizations:")),
      );
      if (fn !== "sweep") {
        expect(reads, fn).toEqual([]);
        continue;
      }
      expect(reads).toEqual([
        {
          Effect: "Allow",
          Action: [
            "organizations:ListAccounts",
            "organizations:ListAccountsForParent",
            "organizations:ListOrganizationalUnitsForParent",
          ],
          Resource: ["*"],
        },
      ]);
    }
  });

  it("keeps the hub's own EC2 grants to its home Region: the member roles act everywhere else", () => {
    for (const fn of MEMBER_ACTING_FUNCTIONS) {
      for (const s of rolePolicy(fn).filter((x) => list(x.Action)[0]?.startsWith("ec2:"))) {
        expect(s.Condition, fn).toEqual({ StringEquals: { "aws:RequestedRegion": [REGION] } });
      }
    }
  });

  it("deploys no forwarding rules of its own: the spokes forward from every account and Region", () => {
    expect(
      stack.of("aws:cloudwatch/eventRule:EventRule").filter((r) => r.name.startsWith("Forward")),
    ).toEqual([]);
  });
});

describe("functions in organisation mode", () => {
  it("tell the acting functions the organisation, member role and sweep targets, not the notifier", () => {
    for (const fn of GUARDRAIL_FUNCTIONS) {
      const env = envOf(fn);
      if (FUNCTION_EC2_ACTIONS[fn].length === 0) {
        expect(env[ORG_FUNCTION_ENV.orgId], fn).toBeUndefined();
        continue;
      }
      expect(env, fn).toMatchObject({
        [ORG_FUNCTION_ENV.orgId]: ORG_ID,
        [ORG_FUNCTION_ENV.memberRoleName]: MEMBER_ROLE,
        [ORG_FUNCTION_ENV.accounts]: MEMBERS.join(","),
        [ORG_FUNCTION_ENV.regions]: "us-east-1,eu-west-1",
      });
    }
  });

  it("never puts the external id in an environment: it is a linked secret of the acting functions", () => {
    for (const fn of GUARDRAIL_FUNCTIONS) {
      for (const value of Object.values(envOf(fn))) expect(value, fn).not.toContain(EXTERNAL_ID);
      const build = stack.builds.find((b) => b.input.functionID === componentName(fn));
      const links = Object.keys(build?.input.links ?? {});
      expect(links.includes(EXTERNAL_ID_SECRET), fn).toBe(FUNCTION_EC2_ACTIONS[fn].length > 0);
    }
  });

  it("gives the sweep Lambda's longest timeout, to visit every account and Region", () => {
    expect(inputs(lambdaOf("sweep")).timeout).toBe(ORGANIZATION_SWEEP_TIMEOUT_SECONDS);
  });

  it("start in organisation mode with exactly what the deploy gives them", () => {
    for (const fn of MEMBER_ACTING_FUNCTIONS) {
      const build = stack.builds.find((b) => b.input.functionID === componentName(fn));
      // The bundle holds resource.enc; the policy copy is found where copyFiles takes it from.
      const env = { ...envOf(fn), LAMBDA_TASK_ROOT: build?.out as string, AWS_REGION: REGION };
      const policyDir = dirname(build?.input.copyFiles[0]?.from as string);
      const config = loadConfig(fn, env, { ...defaultPolicyFiles(env), handlerDirs: [policyDir] });
      expect(config.organization, fn).toEqual({
        orgId: ORG_ID,
        memberRoleName: MEMBER_ROLE,
        externalId: EXTERNAL_ID,
        externalIdSource: `${EXTERNAL_ID_SECRET} (SST_KEY_FILE)`,
        partition: "aws",
        hub: { account: ACCOUNT_ID, region: REGION },
        accounts: MEMBERS,
        denyAccounts: [],
        regions: ["us-east-1", "eu-west-1"],
        organizationsRoleArn: null,
      });
    }
  });
});

describe("spokes rendered for this hub", () => {
  const template = renderSpokeTemplate({
    hubAccount: ACCOUNT_ID,
    hubRegion: REGION,
    stage: STAGE,
    externalId: EXTERNAL_ID,
    orgId: ORG_ID,
  });
  // biome-ignore lint/suspicious/noExplicitAny: the rendered template is JSON to read from.
  const resources = template.Resources as Record<string, any>;

  it("forward to the bus this stack deploys", () => {
    expect(resources.ForwardRule.Properties.Targets[0].Arn).toBe(arnOf(bus()));
  });

  it("trust exactly the role ARNs this stack deploys for the acting functions, with the external id and org", () => {
    const trust = resources.MemberRole.Properties.AssumeRolePolicyDocument.Statement;
    expect(trust).toEqual([
      {
        Effect: "Allow",
        Principal: { AWS: MEMBER_ACTING_FUNCTIONS.map((fn) => arnOf(roleOf(fn))) },
        Action: "sts:AssumeRole",
        Condition: {
          StringEquals: { "sts:ExternalId": EXTERNAL_ID, "aws:PrincipalOrgID": ORG_ID },
        },
      },
    ]);
    expect(resources.MemberRole.Properties.RoleName).toBe(MEMBER_ROLE);
  });

  it("give the member role exactly the EC2 actions of the functions that assume it, none wild", () => {
    const deployed = new Set(
      MEMBER_ACTING_FUNCTIONS.flatMap((fn) =>
        rolePolicy(fn)
          .flatMap((s) => list(s.Action))
          .filter((a) => a.startsWith("ec2:")),
      ),
    );
    const statements = resources.MemberRole.Properties.Policies[0].PolicyDocument
      .Statement as Statement[];
    const granted = statements.flatMap((s) => list(s.Action));
    expect([...granted].sort()).toEqual([...deployed].sort());
    for (const action of granted) expect(action).not.toContain("*");
  });
});

describe("the SCP for this organisation", () => {
  it("protects the hub roles this stack deploys and the member role its spokes create", () => {
    const scp = renderScp({
      stage: STAGE,
      regions: [REGION],
      tagKeys: ["guardrail-exempt"],
      approvers: ["arn:aws:iam::*:role/approver"],
      deployers: ["arn:aws:iam::*:role/deploy"],
    }) as { Statement: { Resource: string[] }[] };
    const template = renderSpokeTemplate({
      hubAccount: ACCOUNT_ID,
      hubRegion: REGION,
      stage: STAGE,
      externalId: EXTERNAL_ID,
      orgId: ORG_ID,
    });
    // biome-ignore lint/suspicious/noExplicitAny: the rendered template is JSON to read from.
    const member = (template.Resources as Record<string, any>).MemberRole.Properties.RoleName;
    const protectedRoles = scp.Statement[0]?.Resource ?? [];
    expect(protectedRoles).toContain(`arn:aws:iam::*:role/${member}`);
    for (const fn of GUARDRAIL_FUNCTIONS) {
      const name = String(roleOf(fn).inputs.name);
      expect(protectedRoles, fn).toContain(`arn:aws:iam::*:role/${name}`);
    }
  });
});
