import { METRICS } from "@guardrail/core";
import { serveSandbox } from "@guardrail/sandbox/demo";
import { DEVELOPER, type LocalStack } from "@guardrail/sandbox/local";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { AwsCliError, awsCli } from "./aws-cli";

/*
 * Acceptance of Region coverage, driven with the aws CLI against `npm start -- --serve` (home
 * us-east-1, eu-west-1 covered too): a change made with `--region eu-west-1` is remediated in
 * eu-west-1; one made in a Region the deploy does not cover is reported as not covered, and
 * never as a failed remediation.
 */

type Rules = { SecurityGroupRules: { FromPort: number; CidrIpv4?: string; IsEgress: boolean }[] };

/** Each aws CLI call starts a Python process: seconds apiece on a busy machine. */
const CLI_TEST_TIMEOUT_MS = 120_000;

describe("Region coverage, with the aws CLI against npm start -- --serve", {
  timeout: CLI_TEST_TIMEOUT_MS,
}, () => {
  let text = "";
  let stack: LocalStack;
  const stop = new AbortController();
  let done: Promise<unknown>;

  const cli = (region: string, args: readonly string[]) =>
    awsCli(
      {
        endpoint: stack.endpoints.ec2,
        accessKeyId: DEVELOPER.accessKeyId,
        secretAccessKey: DEVELOPER.secretAccessKey,
        region,
      },
      ["ec2", ...args],
    );

  /** A new group in `region` with RDP from 0.0.0.0/1 and HTTPS from anywhere. */
  async function openRdpAndHttps(region: string): Promise<string> {
    const created = (await cli(region, [
      "create-security-group",
      "--group-name",
      `rdp-${region}`,
      "--description",
      "Region coverage",
    ])) as { GroupId: string };
    for (const [port, cidr] of [
      ["3389", "0.0.0.0/1"],
      ["443", "0.0.0.0/0"],
    ] as const) {
      await cli(region, [
        "authorize-security-group-ingress",
        "--group-id",
        created.GroupId,
        "--protocol",
        "tcp",
        "--port",
        port,
        "--cidr",
        cidr,
      ]);
    }
    await stack.idle();
    return created.GroupId;
  }

  const ingressPorts = async (region: string, groupId: string) =>
    (
      (await cli(region, [
        "describe-security-group-rules",
        "--filters",
        `Name=group-id,Values=${groupId}`,
      ])) as Rules
    ).SecurityGroupRules.filter((r) => !r.IsEgress)
      .map((r) => `${r.FromPort} ${r.CidrIpv4}`)
      .sort();

  beforeAll(async () => {
    let ready: () => void = () => {};
    const up = new Promise<void>((resolve) => {
      ready = resolve;
    });
    done = serveSandbox({
      out: { write: (t: string) => (text += t) },
      port: 0,
      signal: stop.signal,
      onReady: (s) => {
        stack = s;
        ready();
      },
    });
    await Promise.race([up, done]);
  });

  afterAll(async () => {
    stop.abort();
    await done;
  });

  it("says which Regions it covers", () => {
    expect(stack.region).toBe("us-east-1");
    expect(text).toContain("us-east-1, eu-west-1  covered (home us-east-1)");
  });

  it("revokes RDP opened to 0.0.0.0/1 in eu-west-1, in eu-west-1; 443 stays", async () => {
    const groupId = await openRdpAndHttps("eu-west-1");
    expect(await ingressPorts("eu-west-1", groupId)).toEqual(["443 0.0.0.0/0"]);
    // The group and its rules live in eu-west-1 only.
    const elsewhere = await cli("us-east-1", ["describe-security-groups", "--group-ids", groupId])
      .then(() => "found")
      .catch((e: unknown) => (e instanceof AwsCliError ? e.stderr : String(e)));
    expect(elsewhere).toContain("InvalidGroup.NotFound");
    await stack.idle();
    expect(text).toMatch(
      /AuthorizeSecurityGroupIngress by user\/developer in eu-west-1 → security-group-change: revoked · [a-z-, ]*admin-ports[a-z-, ]* · ingress tcp 3389 from 0\.0\.0\.0\/1/,
    );
    const revoke = stack.sandbox
      .recordedEvents()
      .find((e) => e.detail.eventName === "RevokeSecurityGroupIngress");
    expect(revoke?.detail.awsRegion).toBe("eu-west-1");
  });

  it("reports an uncovered Region's event as not covered, and leaves the rule: no failed remediation", async () => {
    const failuresBefore = stack
      .metrics()
      .filter((m) => m.name === METRICS.remediationFailures).length;
    const slackBefore = stack.slack.messages().length;
    const groupId = await openRdpAndHttps("ap-southeast-2");
    expect(await ingressPorts("ap-southeast-2", groupId)).toEqual([
      "3389 0.0.0.0/1",
      "443 0.0.0.0/0",
    ]);
    expect(text).toMatch(
      /AuthorizeSecurityGroupIngress by user\/developer in ap-southeast-2 → security-group-change: not covered · ap-southeast-2 is not among the covered Regions \(us-east-1, eu-west-1\)/,
    );
    expect(text).not.toMatch(/in ap-southeast-2 → [^\n]*failed/);
    expect(stack.metrics().filter((m) => m.name === METRICS.remediationFailures)).toHaveLength(
      failuresBefore,
    );
    expect(stack.metrics().some((m) => m.name === METRICS.eventsNotCovered)).toBe(true);
    expect(stack.slack.messages()).toHaveLength(slackBefore);
  });

  it("sweeps each covered Region and reports the enabled Regions it does not cover", async () => {
    const { regions } = await stack.runSweep();
    expect(regions.targets.map((t) => t.region)).toEqual(["us-east-1", "eu-west-1"]);
    expect(regions.notCovered).toContain("ap-southeast-2");
    expect(regions.notCovered).not.toContain("eu-west-1");
    // Opt-in Regions the account has not opted in to are not enabled: not reported.
    expect(regions.notCovered).not.toContain("me-south-1");
  });
});
