import {
  EVENT_DRIVEN_FUNCTIONS,
  eventPatternFor,
  FUNCTION_EC2_ACTIONS,
  GUARDRAIL_FUNCTIONS,
  type GuardrailFunction,
  ORG_FUNCTION_ENV,
} from "@guardrail/core";
import { matchesPattern } from "@guardrail/sandbox/pattern-matcher";
import { componentName, forwardedEventPattern, regionId } from "@guardrail/templates";
import { afterAll, beforeAll, describe, expect, it, vi } from "vitest";
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
 * Single-account mode covering every Region enabled at deploy time (GUARDRAIL_REGIONS unset),
 * deployed into Pulumi mocks: a forwarding rule with its own dead-letter queue in each other
 * Region, and the functions' EC2 grants widened from the home Region to exactly those Regions.
 */

const ENABLED = ["us-east-1", "eu-west-1", "ap-southeast-2", "me-central-1"];
/** Home first, then the others sorted: the order the deploy writes GUARDRAIL_REGIONS in. */
const COVERED = [REGION, ...ENABLED.filter((r) => r !== REGION).sort()];
const OTHERS = ENABLED.filter((r) => r !== REGION);
let stack: StackRun;

beforeAll(async () => {
  mockedAccount.enabledRegions = ENABLED;
  stack = await runStack("ci");
}, 240_000);

afterAll(() => {
  mockedAccount.enabledRegions = [REGION];
});

// biome-ignore lint/suspicious/noExplicitAny: resource inputs are arbitrary provider JSON.
type Inputs = Record<string, any>;
const inputs = (r: RecordedResource) => r.inputs as Inputs;

interface Statement {
  Action: string | string[];
  Resource: string | string[];
  Condition?: Record<string, Record<string, unknown>>;
}
const list = (v: string | string[]) => (Array.isArray(v) ? v : [v]);
const roleOf = (fn: GuardrailFunction) =>
  stack.one("aws:iam/role:Role", `${componentName(fn)}Role`);
const rolePolicy = (fn: GuardrailFunction): Statement[] =>
  (inputs(roleOf(fn)).inlinePolicies as { policy: string }[]).flatMap(
    (p) => JSON.parse(p.policy).Statement as Statement[],
  );
const lambdaOf = (fn: GuardrailFunction) =>
  stack.one("aws:lambda/function:Function", `${componentName(fn)}Function`);

/** The Region a resource was made in: its explicit provider's, else the home Region. */
function regionOf(r: RecordedResource): string {
  const reference = r.provider;
  if (reference === undefined) return REGION;
  // `<urn ending in ::<name>>::<id>`
  const provider = stack
    .of("pulumi:providers:aws")
    .find((p) => reference.includes(`::${p.name}::`));
  return String(provider?.inputs.region ?? "unknown");
}

describe("covered Regions (every Region enabled at deploy time)", () => {
  it("has one forwarding rule per covered Region besides home, in that Region, matching every handled event", () => {
    const rules = stack
      .of("aws:cloudwatch/eventRule:EventRule")
      .filter((r) => r.name.startsWith("ForwardRule"));
    expect(rules.map(regionOf).sort()).toEqual([...OTHERS].sort());
    for (const rule of rules) {
      expect(inputs(rule).eventBusName).toBe("default");
      const pattern = JSON.parse(String(inputs(rule).eventPattern));
      expect(pattern).toEqual(forwardedEventPattern());
      // Whatever a function's rule in the home Region would take, the forwarder carries there.
      for (const { id, event } of fixtureEvents().events) {
        const handled = EVENT_DRIVEN_FUNCTIONS.some((fn) =>
          matchesPattern(eventPatternFor(fn, ["arn:aws:iam::123456789012:role/other"]), event),
        );
        if (handled) expect(matchesPattern(pattern, event), id).toBe(true);
      }
    }
  });

  it("targets the home Region's default bus through the forwarder role, with a dead-letter queue of the rule's own Region and no retry policy", () => {
    const role = stack.one("aws:iam/role:Role", "ForwarderRole");
    const homeBus = `arn:aws:events:${REGION}:${ACCOUNT_ID}:event-bus/default`;
    for (const region of OTHERS) {
      const id = regionId(region);
      const target = stack.one("aws:cloudwatch/eventTarget:EventTarget", `ForwardTarget${id}`);
      const queue = stack.one("aws:sqs/queue:Queue", `ForwardDeadLetterQueue${id}`);
      expect(regionOf(target)).toBe(region);
      expect(regionOf(queue)).toBe(region);
      expect(inputs(target)).toMatchObject({
        arn: homeBus,
        roleArn: role.state.arn,
        deadLetterConfig: { arn: queue.state.arn },
      });
      // Event-bus targets take no retry policy.
      expect(inputs(target).retryPolicy).toBeUndefined();
      const policy = JSON.parse(
        String(
          inputs(stack.one("aws:sqs/queuePolicy:QueuePolicy", `ForwardDeadLetterQueuePolicy${id}`))
            .policy,
        ),
      );
      expect(policy.Statement[0]).toMatchObject({
        Action: "sqs:SendMessage",
        Resource: queue.state.arn,
        Condition: {
          ArnEquals: {
            "aws:SourceArn": stack.one("aws:cloudwatch/eventRule:EventRule", `ForwardRule${id}`)
              .state.arn,
          },
        },
      });
    }
    const document = JSON.parse(String(inputs(role).inlinePolicies[0].policy));
    expect(document.Statement).toEqual([
      { Effect: "Allow", Action: ["events:PutEvents"], Resource: [homeBus] },
    ]);
  });

  it("scopes every EC2 grant to the covered Regions, and tells the functions which they are", () => {
    for (const fn of GUARDRAIL_FUNCTIONS) {
      expect(inputs(lambdaOf(fn)).environment.variables[ORG_FUNCTION_ENV.regions], fn).toBe(
        COVERED.join(","),
      );
      if (FUNCTION_EC2_ACTIONS[fn].length === 0) continue;
      const ec2 = rolePolicy(fn).filter((s) => list(s.Action).some((a) => a.startsWith("ec2:")));
      expect(ec2.flatMap((s) => list(s.Action)).sort(), fn).toEqual(
        [...FUNCTION_EC2_ACTIONS[fn]].sort().filter((a, i, all) => all.indexOf(a) === i),
      );
      for (const s of ec2) {
        expect(s.Condition, fn).toEqual({
          StringEquals: { "aws:RequestedRegion": COVERED },
        });
        for (const arn of list(s.Resource)) {
          if (arn === "*") continue;
          const region = arn.split(":")[3];
          expect(region === "*" ? "*" : ENABLED.includes(region ?? ""), `${fn} ${arn}`).toBe(
            region === "*" ? "*" : true,
          );
        }
      }
      const revoke = ec2.find((s) => list(s.Action).includes("ec2:RevokeSecurityGroupIngress"));
      if (revoke) {
        for (const region of ENABLED) {
          expect(list(revoke.Resource), fn).toContain(
            `arn:aws:ec2:${region}:${ACCOUNT_ID}:security-group/*`,
          );
        }
      }
    }
  });

  it("lets the sweep read the enabled Regions and gives it Lambda's maximum time for the Regions", () => {
    const actions = rolePolicy("sweep").flatMap((s) => list(s.Action));
    expect(actions).toContain("ec2:DescribeRegions");
    expect(inputs(lambdaOf("sweep")).timeout).toBe(ORGANIZATION_SWEEP_TIMEOUT_SECONDS);
  });
});
