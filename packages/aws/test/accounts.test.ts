import "./setup";
import { DescribeSecurityGroupsCommand, EC2Client } from "@aws-sdk/client-ec2";
import { AssumeRoleCommand, STSClient } from "@aws-sdk/client-sts";
import type { AccountTarget } from "@guardrail/core";
import { InvalidInputError } from "@guardrail/core";
import { mockClient } from "aws-sdk-client-mock";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { createCredentialCache, createMemberAccess } from "../src/accounts";
import { createEc2Gateway } from "../src/ec2";
import { MemberRoleError } from "../src/errors";
import { awsError } from "./helpers";
import { EXTERNAL_ID, MEMBER_A, MEMBER_B, MEMBER_ROLE, organizationOf } from "./organisation";

const sts = mockClient(STSClient);
const ec2 = mockClient(EC2Client);

const HUB = "111122223333";
const T0 = new Date("2026-06-15T12:00:00Z");

let now = T0;
let issued = 0;

/** STS answers each AssumeRole with fresh keys valid for an hour from `now`. */
function answerAssumeRole() {
  sts.on(AssumeRoleCommand).callsFake((input: { RoleArn: string }) => {
    issued++;
    const account = input.RoleArn.split(":")[4];
    return {
      Credentials: {
        AccessKeyId: `ASIA${account}${issued}`,
        SecretAccessKey: "secret",
        SessionToken: `token-${issued}`,
        Expiration: new Date(now.getTime() + 3600_000),
      },
      AssumedRoleUser: {
        Arn: `arn:aws:sts::${account}:assumed-role/${MEMBER_ROLE}/s`,
        AssumedRoleId: "x",
      },
    };
  });
}

function cache() {
  const client = new STSClient({ region: "eu-west-1" });
  return createCredentialCache({
    sts: async () => client,
    roleArnFor: (account) => `arn:aws:iam::${account}:role/${MEMBER_ROLE}`,
    externalId: EXTERNAL_ID,
    sessionName: "guardrail-security-group-change",
    now: () => now,
  });
}

beforeEach(() => {
  sts.reset();
  ec2.reset();
  now = T0;
  issued = 0;
  answerAssumeRole();
});
afterEach(() => {
  sts.reset();
  ec2.reset();
});

describe("member-role credential cache", () => {
  it("assumes the member role with the external id, a session name and an hour's duration", async () => {
    const credentials = await cache().get(MEMBER_A);
    expect(sts).toHaveReceivedCommandExactlyOnceWith(AssumeRoleCommand, {
      RoleArn: `arn:aws:iam::${MEMBER_A}:role/${MEMBER_ROLE}`,
      ExternalId: EXTERNAL_ID,
      RoleSessionName: "guardrail-security-group-change",
      DurationSeconds: 3600,
    });
    expect(credentials).toEqual({
      accessKeyId: `ASIA${MEMBER_A}1`,
      secretAccessKey: "secret",
      sessionToken: "token-1",
      expiration: new Date("2026-06-15T13:00:00Z"),
    });
  });

  it("keeps one session per account and reuses it", async () => {
    const c = cache();
    await c.get(MEMBER_A);
    await c.get(MEMBER_A);
    await c.get(MEMBER_B);
    await c.get(MEMBER_B);
    expect(sts).toHaveReceivedCommandTimes(AssumeRoleCommand, 2);
  });

  it("renews a session 5 minutes before it expires, not earlier", async () => {
    const c = cache();
    const first = await c.get(MEMBER_A);
    now = new Date(first.expiration.getTime() - 5 * 60_000 - 1);
    expect((await c.get(MEMBER_A)).sessionToken).toBe("token-1");
    now = new Date(first.expiration.getTime() - 5 * 60_000);
    const renewed = await c.get(MEMBER_A);
    expect(renewed.sessionToken).toBe("token-2");
    expect(renewed.expiration.getTime()).toBe(now.getTime() + 3600_000);
    expect(sts).toHaveReceivedCommandTimes(AssumeRoleCommand, 2);
  });

  it("shares one AssumeRole between concurrent asks for the same account", async () => {
    const c = cache();
    const all = await Promise.all(Array.from({ length: 10 }, () => c.get(MEMBER_A)));
    expect(new Set(all.map((x) => x.sessionToken))).toEqual(new Set(["token-1"]));
    expect(sts).toHaveReceivedCommandTimes(AssumeRoleCommand, 1);
  });

  it("shares one renewal between concurrent asks after the refresh point", async () => {
    const c = cache();
    await c.get(MEMBER_A);
    now = new Date(T0.getTime() + 3600_000);
    const all = await Promise.all(Array.from({ length: 5 }, () => c.get(MEMBER_A)));
    expect(new Set(all.map((x) => x.sessionToken))).toEqual(new Set(["token-2"]));
    expect(sts).toHaveReceivedCommandTimes(AssumeRoleCommand, 2);
  });

  it("turns a refusal into a MemberRoleError and asks again next time", async () => {
    sts
      .on(AssumeRoleCommand)
      .rejectsOnce(
        awsError("AccessDenied", "User: x is not authorized to perform: sts:AssumeRole"),
      );
    const c = cache();
    const error = await c.get(MEMBER_A).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(MemberRoleError);
    expect(error).toMatchObject({
      code: "MEMBER_ROLE_UNAVAILABLE",
      account: MEMBER_A,
      roleArn: `arn:aws:iam::${MEMBER_A}:role/${MEMBER_ROLE}`,
      awsCode: "AccessDenied",
    });
    expect((error as Error).message).toContain("AccessDenied");
    answerAssumeRole();
    expect((await c.get(MEMBER_A)).sessionToken).toBe("token-1");
    expect(sts).toHaveReceivedCommandTimes(AssumeRoleCommand, 2);
  });

  it("refuses an answer without credentials", async () => {
    sts.on(AssumeRoleCommand).resolves({});
    await expect(cache().get(MEMBER_A)).rejects.toMatchObject({
      awsCode: "IncompleteCredentials",
    });
  });
});

const ORG = organizationOf(HUB);

describe("member access: one EC2 gateway per account and Region", () => {
  const hubClient = new EC2Client({
    region: "eu-west-1",
    credentials: { accessKeyId: "AKIAHUB", secretAccessKey: "hub" },
  });

  function access(maxClients?: number) {
    const made: EC2Client[] = [];
    const members = createMemberAccess({
      organization: ORG,
      credentials: cache(),
      hubGateway: createEc2Gateway(hubClient),
      makeClient: (target, credentials) => {
        const client = new EC2Client({ region: target.region, credentials, maxAttempts: 1 });
        made.push(client);
        return client;
      },
      ...(maxClients === undefined ? {} : { maxClients }),
    });
    return { members, made };
  }

  /** The EC2 client a gateway of `target` reads a group's tags with, and the clients made. */
  async function clientActingIn(target: AccountTarget) {
    const { members, made } = access();
    ec2
      .on(DescribeSecurityGroupsCommand)
      .resolves({ SecurityGroups: [{ GroupId: "sg-0123456789abcdef0", Tags: [] }] });
    const gateway = await members.gateway(target);
    await gateway.tagsOf("sg-0123456789abcdef0");
    const client = ec2.commandCalls(DescribeSecurityGroupsCommand)[0]?.thisValue as EC2Client;
    return { client, made };
  }

  it("acts with the function's own role in the hub's account and Region, without STS", async () => {
    const { client, made } = await clientActingIn({ account: HUB, region: "eu-west-1" });
    expect(sts).not.toHaveReceivedCommand(AssumeRoleCommand);
    expect(made).toEqual([]);
    expect(client).toBe(hubClient);
  });

  it("acts in a member account and Region with that account's member-role session", async () => {
    const { client, made } = await clientActingIn({ account: MEMBER_B, region: "us-east-1" });
    expect(client).toBe(made[0]);
    expect(await client.config.region()).toBe("us-east-1");
    expect(await client.config.credentials()).toMatchObject({
      accessKeyId: `ASIA${MEMBER_B}1`,
      sessionToken: "token-1",
    });
  });

  it("keeps one client per account and Region, and one session per account", async () => {
    const { members, made } = access();
    const a1 = await members.gateway({ account: MEMBER_A, region: "eu-west-1" });
    const a1again = await members.gateway({ account: MEMBER_A, region: "eu-west-1" });
    const a2 = await members.gateway({ account: MEMBER_A, region: "us-east-1" });
    // The hub's account in another Region is a member target too: the hub role is regional.
    await members.gateway({ account: HUB, region: "us-east-1" });
    expect(a1again).toBe(a1);
    expect(a2).not.toBe(a1);
    expect(made).toHaveLength(3);
    expect(sts).toHaveReceivedCommandTimes(AssumeRoleCommand, 2);
  });

  it("hands the renewed session to a client once the old one nears expiry", async () => {
    const { members, made } = access();
    await members.gateway({ account: MEMBER_A, region: "eu-west-1" });
    now = new Date(T0.getTime() + 56 * 60_000);
    expect(await made[0]?.config.credentials()).toMatchObject({ sessionToken: "token-2" });
  });

  it("fails with the member-role error before any client is made", async () => {
    sts.on(AssumeRoleCommand).rejects(awsError("AccessDenied"));
    const { members, made } = access();
    await expect(
      members.gateway({ account: MEMBER_A, region: "eu-west-1" }),
    ).rejects.toBeInstanceOf(MemberRoleError);
    expect(made).toEqual([]);
  });

  it("refuses a malformed account or Region", async () => {
    const { members } = access();
    await expect(members.gateway({ account: "4444", region: "eu-west-1" })).rejects.toBeInstanceOf(
      InvalidInputError,
    );
    await expect(members.gateway({ account: MEMBER_A, region: "Ireland" })).rejects.toThrow(
      'region: "Ireland" is not a Region name',
    );
  });

  it("drops and destroys the oldest client beyond the bound", async () => {
    const { members, made } = access(2);
    await members.gateway({ account: MEMBER_A, region: "eu-west-1" });
    await members.gateway({ account: MEMBER_A, region: "us-east-1" });
    await members.gateway({ account: MEMBER_B, region: "eu-west-1" });
    expect(made).toHaveLength(3);
    // The dropped one is made again on the next ask.
    await members.gateway({ account: MEMBER_A, region: "eu-west-1" });
    expect(made).toHaveLength(4);
  });
});
