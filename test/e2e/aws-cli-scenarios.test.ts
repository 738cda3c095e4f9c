import {
  changePresent,
  cliArgs,
  createdIdOf,
  demoScenarios,
  describeArgs,
  type Refs,
  type Scenario,
  serveSandbox,
} from "@guardrail/sandbox/demo";
import {
  APPROVER,
  DEVELOPER,
  type LocalStack,
  type RoutedEvent,
  startLocalStack,
} from "@guardrail/sandbox/local";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { awsCli } from "./aws-cli";

/** Violating rules must be gone this soon after the aws CLI returns. */
const DEADLINE_MS = 2000;

describe("the seed scenarios driven with the aws CLI", () => {
  let stack: LocalStack;
  const refs: Refs = {};
  const cli = (
    args: readonly string[],
    endpoint = stack.endpoints.ec2,
    who: { accessKeyId: string; secretAccessKey: string } = DEVELOPER,
  ) =>
    awsCli(
      {
        endpoint,
        accessKeyId: who.accessKeyId,
        secretAccessKey: who.secretAccessKey,
        region: stack.region,
      },
      args,
    );

  beforeAll(async () => {
    stack = await startLocalStack();
    stack.router.onRouted((r) => routed.push(r));
    refs.vpc = stack.sandbox.defaultVpc().vpcId;
  });

  afterAll(async () => {
    await stack.close();
  });

  const routed: RoutedEvent[] = [];

  /** Polls describe-… through the CLI until the change is (or is no longer) there. */
  async function pollPresent(scenario: Scenario, want: boolean): Promise<boolean> {
    const t0 = performance.now();
    for (;;) {
      const described = await cli(["ec2", ...describeArgs(scenario.change, refs)]);
      const present = changePresent(scenario.change, described);
      if (present === want || performance.now() - t0 > 10_000) return present;
    }
  }

  for (const scenario of demoScenarios()) {
    const revoke = scenario.expected === "revoked";
    it(`${scenario.title}: ${revoke ? `gone within ${DEADLINE_MS} ms` : "stays"}`, async () => {
      for (const call of scenario.setup) {
        const asApprover = call.kind === "create-tags" && call.as === "approver";
        const out = await cli(
          ["ec2", ...cliArgs(call, refs)],
          stack.endpoints.ec2,
          asApprover ? APPROVER : DEVELOPER,
        );
        const id = createdIdOf(call, out);
        if (call.kind === "create-security-group" || call.kind === "create-network-acl") {
          expect(id, call.kind).toMatch(/^(sg|acl)-[0-9a-f]{17}$/);
          refs[call.ref] = id as string;
        }
      }
      // The approver's tagging is recorded before the change it waives is judged.
      await stack.idle();
      const seen = routed.length;
      await cli(["ec2", ...cliArgs(scenario.change, refs)]);
      await stack.idle();
      const change = routed.slice(seen).find((r) => r.targets.length > 0);
      if (change === undefined) throw new Error("the change never reached the guardrail");
      if (revoke) {
        expect(await pollPresent(scenario, false), "the violating change is still there").toBe(
          false,
        );
        // Measured where it happened: the sandbox answered the CLI → the revoke was confirmed.
        const requestId = (change.event.detail as unknown as { requestID: string }).requestID;
        const answered = stack.sandbox.repliedAt(requestId) ?? Number.NaN;
        const confirmed = change.invocations.at(-1)?.outcomes.find((o) => o.status === "revoked");
        expect((confirmed?.at ?? Number.POSITIVE_INFINITY) - answered).toBeLessThan(DEADLINE_MS);
      } else {
        expect(await pollPresent(scenario, true), "the compliant change was removed").toBe(true);
      }
    });
  }

  it("leaves one audit record per decision, read back with the aws CLI", async () => {
    await stack.idle();
    const out = (await cli(
      [
        "dynamodb",
        "query",
        "--table-name",
        stack.tableName,
        "--index-name",
        "byAccount",
        "--key-condition-expression",
        "gsi1pk = :pk",
        "--filter-expression",
        "#type = :decision",
        "--expression-attribute-names",
        JSON.stringify({ "#type": "type" }),
        "--expression-attribute-values",
        JSON.stringify({
          ":pk": { S: `ACCOUNT#${stack.accountId}` },
          ":decision": { S: "decision" },
        }),
      ],
      stack.endpoints.dynamo,
    )) as { Items: { result: { S: string }; eventName: { S: string } }[] };
    expect(out.Items.map((i) => [i.eventName.S, i.result.S]).sort()).toEqual(
      [
        ["AuthorizeSecurityGroupEgress", "revoked"],
        ["AuthorizeSecurityGroupIngress", "exempt"],
        ["AuthorizeSecurityGroupIngress", "revoked"],
        ["AuthorizeSecurityGroupIngress", "revoked"],
        ["CreateNetworkAclEntry", "revoked"],
      ].sort(),
    );
  });
});

describe("npm start -- --serve, driven with the aws CLI", () => {
  it("prints how to reach it, streams each decision, and stops on abort", async () => {
    let text = "";
    const out = { write: (t: string) => (text += t) };
    const stop = new AbortController();
    let stack: LocalStack | undefined;
    let ready: () => void = () => {};
    const up = new Promise<void>((resolve) => {
      ready = resolve;
    });
    const done = serveSandbox({
      out,
      port: 0,
      signal: stop.signal,
      onReady: (s) => {
        stack = s;
        ready();
      },
    });
    await Promise.race([up, done]);
    if (!stack) throw new Error("not ready");
    const endpoint = stack.endpoints.ec2;
    expect(text).toContain(
      `/usr/bin/aws --endpoint-url ${endpoint} ec2 authorize-security-group-ingress`,
    );
    expect(text).toContain(`AWS_ACCESS_KEY_ID=${DEVELOPER.accessKeyId}`);
    const groupId = /group (sg-[0-9a-f]{17}) \(sandbox-demo-sg\)/.exec(text)?.[1] ?? "";
    const cli = (args: string[]) =>
      awsCli(
        {
          endpoint,
          accessKeyId: DEVELOPER.accessKeyId,
          secretAccessKey: DEVELOPER.secretAccessKey,
          region: "us-east-1",
        },
        ["ec2", ...args],
      );
    await cli([
      "authorize-security-group-ingress",
      "--group-id",
      groupId,
      "--protocol",
      "tcp",
      "--port",
      "22",
      "--cidr",
      "0.0.0.0/0",
    ]);
    await cli([
      "authorize-security-group-ingress",
      "--group-id",
      groupId,
      "--protocol",
      "tcp",
      "--port",
      "443",
      "--cidr",
      "0.0.0.0/0",
    ]);
    await stack.idle();
    stop.abort();
    const summary = await done;
    expect(summary).toMatchObject({ decisions: 1, auditRecords: 1 });
    expect(text).toMatch(
      /AuthorizeSecurityGroupIngress by user\/developer → security-group-change: revoked · admin-ports, internet-exposure · ingress tcp 22 from 0\.0\.0\.0\/0/,
    );
    expect(text).toMatch(/↳ slack: ✅ Guardrail revoked a rule/);
    expect(text).toMatch(
      /RevokeSecurityGroupIngress by role\/network-guardrail-sandbox-security-group-change: the guardrail's own role: not delivered \(loop guard\)/,
    );
    expect(text).toMatch(
      /AuthorizeSecurityGroupIngress by user\/developer → security-group-change: compliant/,
    );
    expect(text).toContain("Stopped. 3 events, 1 decisions, 1 audit records, 1 Slack messages.");
  });
});
