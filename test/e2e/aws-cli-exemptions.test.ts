import { DescribeSecurityGroupRulesCommand } from "@aws-sdk/client-ec2";
import { serveSandbox } from "@guardrail/sandbox/demo";
import { APPROVER, DEVELOPER, type LocalStack } from "@guardrail/sandbox/local";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { awsCli } from "./aws-cli";

const KEY = "guardrail-exempt";
const day = (days: number) => new Date(Date.now() + days * 86_400_000).toISOString().slice(0, 10);

/**
 * Tag exemptions as approvals, driven with /usr/bin/aws against `npm start -- --serve`: a tag
 * counts only when the approver set it, names its rules, runs at most tagExemptions.maxDays and
 * waives only tagExemptable rules. Everything else is revoked, and on-call hears of the tag.
 */
describe("exemption tags driven with the aws CLI", { timeout: 180_000 }, () => {
  let stack: LocalStack;
  const stop = new AbortController();
  let served: Promise<unknown>;

  beforeAll(async () => {
    let ready: (s: LocalStack) => void = () => {};
    const up = new Promise<LocalStack>((resolve) => {
      ready = resolve;
    });
    served = serveSandbox({
      out: { write: () => true },
      port: 0,
      signal: stop.signal,
      onReady: ready,
    });
    stack = await up;
  });

  afterAll(async () => {
    stop.abort();
    await served;
  });

  type Who = { accessKeyId: string; secretAccessKey: string };
  const aws = (args: readonly string[], who: Who = DEVELOPER) =>
    awsCli(
      {
        endpoint: stack.endpoints.ec2,
        accessKeyId: who.accessKeyId,
        secretAccessKey: who.secretAccessKey,
        region: stack.region,
      },
      args,
    );
  let n = 0;
  const createGroup = async (extra: readonly string[] = []) => {
    n++;
    const out = (await aws([
      "ec2",
      "create-security-group",
      "--group-name",
      `exemption-case-${n}`,
      "--description",
      "exemption case",
      ...extra,
    ])) as { GroupId: string };
    return out.GroupId;
  };
  const tag = (groupId: string, value: string, who: Who) =>
    aws(
      [
        "ec2",
        "create-tags",
        "--resources",
        groupId,
        "--tags",
        JSON.stringify([{ Key: KEY, Value: value }]),
      ],
      who,
    );
  const open = (groupId: string, port: number) =>
    aws([
      "ec2",
      "authorize-security-group-ingress",
      "--group-id",
      groupId,
      "--protocol",
      "tcp",
      "--port",
      String(port),
      "--cidr",
      "0.0.0.0/0",
    ]);
  /** The group's ingress ports, once every event has been handled. */
  const portsOf = async (groupId: string) => {
    await stack.idle(10_000);
    const out = await stack.developerEc2().send(
      new DescribeSecurityGroupRulesCommand({
        Filters: [{ Name: "group-id", Values: [groupId] }],
      }),
    );
    return (out.SecurityGroupRules ?? []).filter((r) => !r.IsEgress).map((r) => r.FromPort);
  };
  /** Exemption announcements about the group, as they reached SNS and Slack. */
  const announced = (groupId: string) =>
    stack
      .notifications()
      .filter((m) => m.schema === "guardrail.exemption/v1")
      .map((m) => ({
        ...(m.message as { status: string; groupId: string; severity: string; summary: string }),
        slack: JSON.stringify(m.slack),
      }))
      .filter((m) => m.groupId === groupId);

  it("revokes tcp 22 after a developer's own tag, and alerts naming the tag", async () => {
    const g = await createGroup();
    await tag(g, `reason=mine;expires=${day(10)};rules=internet-exposure`, DEVELOPER);
    await stack.idle(10_000);
    await open(g, 22);
    expect(await portsOf(g)).toEqual([]);
    const [alert] = announced(g);
    expect(alert).toMatchObject({ status: "not-approved", severity: "high" });
    expect(alert?.summary).toContain(
      `tag ${KEY} on ${g} set by arn:aws:iam::${stack.accountId}:user/developer`,
    );
    expect(alert?.slack).toContain(`UNAPPROVED exemption tag: ${KEY} on ${g}`);
  });

  it("revokes tcp 3389 on a group tagged at creation to waive admin ports", async () => {
    const spec = `ResourceType=security-group,Tags=[{Key=${KEY},Value=reason=rdp;expires=${day(5)};rules=admin-ports}]`;
    const g = await createGroup(["--tag-specifications", spec]);
    await stack.idle(10_000);
    await open(g, 3389);
    expect(await portsOf(g)).toEqual([]);
    const [alert] = announced(g);
    expect(alert).toMatchObject({ status: "not-approved", severity: "critical" });
  });

  it("does not honour even the approver's tag without rules= or with a ten-year expiry", async () => {
    const noRules = await createGroup();
    await tag(noRules, `reason=all;expires=${day(5)}`, APPROVER);
    const tenYears = await createGroup();
    await tag(tenYears, `reason=long;expires=${day(3650)};rules=internet-exposure`, APPROVER);
    await stack.idle(10_000);
    await open(noRules, 22);
    await open(tenYears, 8080);
    expect(await portsOf(noRules)).toEqual([]);
    expect(await portsOf(tenYears)).toEqual([]);
    expect(announced(noRules)[0]).toMatchObject({ status: "invalid", severity: "critical" });
    expect(announced(noRules)[0]?.summary).toContain("rules is missing");
    expect(announced(tenYears)[0]).toMatchObject({ status: "invalid", severity: "high" });
    expect(announced(tenYears)[0]?.summary).toContain("(tagExemptions.maxDays)");
  });

  it("keeps 8080 under the approver's tag, announced; a developer's change of the value ends it", async () => {
    const g = await createGroup();
    const arn = `arn:aws:ec2:${stack.region}:${stack.accountId}:security-group/${g}`;
    await aws(
      [
        "resourcegroupstaggingapi",
        "tag-resources",
        "--resource-arn-list",
        arn,
        "--tags",
        `${KEY}=reason=python app;expires=${day(20)};rules=internet-exposure`,
      ],
      APPROVER,
    );
    await stack.idle(10_000);
    await open(g, 8080);
    expect(await portsOf(g)).toEqual([8080]);
    expect(announced(g)[0]).toMatchObject({ status: "granted", severity: "high" });
    expect(announced(g)[0]?.slack).toContain(`Exemption granted: ${KEY} on ${g}`);

    // The developer's value is not an approval: its tagging event revokes the 8080 rule the
    // tag no longer keeps, and 8081 is revoked on its own event.
    await tag(g, `reason=python app;expires=${day(29)};rules=internet-exposure`, DEVELOPER);
    await stack.idle(10_000);
    expect(await portsOf(g)).toEqual([]);
    await open(g, 8081);
    expect(await portsOf(g)).toEqual([]);
    expect(announced(g).map((a) => a.status)).toEqual(["granted", "not-approved"]);
  });
});
