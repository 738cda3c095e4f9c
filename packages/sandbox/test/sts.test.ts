import {
  AuthorizeSecurityGroupIngressCommand,
  DescribeSecurityGroupsCommand,
  EC2Client,
  RevokeSecurityGroupIngressCommand,
} from "@aws-sdk/client-ec2";
import {
  AssumeRoleCommand,
  GetCallerIdentityCommand,
  STSClient,
  type STSServiceException,
} from "@aws-sdk/client-sts";
import { ConfigurationError } from "@guardrail/core";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import {
  type AccessKeyEntry,
  Ec2Sandbox,
  evaluatePolicies,
  parsePolicyDocument,
  StsSandbox,
} from "../src/index";
import { ec2Error } from "./helpers";
import { ORG } from "./organisation";

const HUB_ROLE = "network-guardrail-prod-eu-west-1-security-group-change";
const HUB_ROLE_ARN = `arn:aws:iam::${ORG.hub}:role/${HUB_ROLE}`;
const MEMBER_ROLE = "network-guardrail-prod-member";
const EXTERNAL_ID = "guardrail-3f9c1e";

const KEYS: Record<string, AccessKeyEntry> = {
  AKIAHUBFUNCTION00001: {
    type: "AssumedRole",
    accountId: ORG.hub,
    roleName: HUB_ROLE,
    sessionName: "security-group-change",
  },
  AKIAHUBSLACK00000001: {
    type: "AssumedRole",
    accountId: ORG.hub,
    roleName: "network-guardrail-prod-eu-west-1-slack-notifier",
    sessionName: "slack-notifier",
  },
  // The same role name, in an account outside the organisation.
  AKIAOUTSIDER00000001: {
    type: "AssumedRole",
    accountId: ORG.outsider,
    roleName: HUB_ROLE,
    sessionName: "security-group-change",
  },
};

/** The member role's trust policy, as the spoke template writes it. */
const TRUST = {
  Version: "2012-10-17",
  Statement: [
    {
      Effect: "Allow",
      Principal: { AWS: [HUB_ROLE_ARN, `arn:aws:iam::${ORG.outsider}:role/${HUB_ROLE}`] },
      Action: "sts:AssumeRole",
      Condition: { StringEquals: { "sts:ExternalId": EXTERNAL_ID, "aws:PrincipalOrgID": ORG.id } },
    },
  ],
};

const REMEDIATION = {
  Version: "2012-10-17",
  Statement: [
    {
      Effect: "Allow",
      Action: ["ec2:RevokeSecurityGroupIngress", "ec2:DescribeSecurityGroups"],
      Resource: [{ "Fn::Sub": "arn:aws:ec2:*:123456789012:security-group/*" }],
      Condition: { StringEquals: { "aws:RequestedRegion": ["eu-west-1", "us-east-1"] } },
    },
  ],
};

let now = new Date("2026-06-15T12:00:00Z");
const clock = () => now;

const sts = new StsSandbox({
  organization: { id: ORG.id, accounts: [ORG.hub, ORG.memberA, ORG.memberB] },
  accessKeys: KEYS,
  clock,
  roles: [
    { accountId: ORG.memberA, roleName: MEMBER_ROLE, trustPolicy: TRUST, policies: [REMEDIATION] },
    { accountId: ORG.memberB, roleName: MEMBER_ROLE, trustPolicy: JSON.stringify(TRUST) },
  ],
});
const ec2 = new Ec2Sandbox({
  accessKeys: KEYS,
  clock,
  resolveCredentials: (key) => sts.resolveCredentials(key),
});
let stsEndpoint = "";
let ec2Endpoint = "";

beforeAll(async () => {
  stsEndpoint = await sts.listen();
  ec2Endpoint = await ec2.listen();
});
afterAll(async () => {
  await sts.close();
  await ec2.close();
});
afterEach(() => {
  now = new Date("2026-06-15T12:00:00Z");
});

function stsClient(accessKeyId = "AKIAHUBFUNCTION00001") {
  return new STSClient({
    endpoint: stsEndpoint,
    region: "eu-west-1",
    credentials: { accessKeyId, secretAccessKey: "sandbox-secret" },
    maxAttempts: 1,
  });
}

const roleIn = (account: string) => `arn:aws:iam::${account}:role/${MEMBER_ROLE}`;

/** `externalId: null` sends none. */
async function assume(account: string, externalId: string | null = EXTERNAL_ID, key?: string) {
  const out = await stsClient(key).send(
    new AssumeRoleCommand({
      RoleArn: roleIn(account),
      RoleSessionName: "guardrail-remediation",
      ...(externalId === null ? {} : { ExternalId: externalId }),
    }),
  );
  const c = out.Credentials;
  if (!c?.AccessKeyId || !c.SecretAccessKey || !c.SessionToken) throw new Error("no credentials");
  return {
    out,
    credentials: {
      accessKeyId: c.AccessKeyId,
      secretAccessKey: c.SecretAccessKey,
      sessionToken: c.SessionToken,
    },
  };
}

async function stsError(call: Promise<unknown>): Promise<STSServiceException> {
  try {
    await call;
  } catch (e) {
    return e as STSServiceException;
  }
  throw new Error("expected the STS call to fail, but it succeeded");
}

describe("STS AssumeRole over the wire", () => {
  it("issues session credentials for the member role, valid for an hour by default", async () => {
    const { out } = await assume(ORG.memberA);
    expect(out.Credentials?.AccessKeyId).toMatch(/^ASIA[A-Z2-7]{16}$/);
    expect(out.Credentials?.SecretAccessKey).toHaveLength(40);
    expect(out.Credentials?.Expiration?.toISOString()).toBe("2026-06-15T13:00:00.000Z");
    expect(out.AssumedRoleUser?.Arn).toBe(
      `arn:aws:sts::${ORG.memberA}:assumed-role/${MEMBER_ROLE}/guardrail-remediation`,
    );
    expect(out.AssumedRoleUser?.AssumedRoleId).toMatch(/^AROA[A-Z2-7]{17}:guardrail-remediation$/);
    expect(sts.issuedSessions().at(-1)).toMatchObject({
      roleArn: roleIn(ORG.memberA),
      callerArn: `arn:aws:sts::${ORG.hub}:assumed-role/${HUB_ROLE}/security-group-change`,
      externalId: EXTERNAL_ID,
    });
  });

  it("honours DurationSeconds up to the role's maximum", async () => {
    const out = await stsClient().send(
      new AssumeRoleCommand({
        RoleArn: roleIn(ORG.memberB),
        RoleSessionName: "short",
        ExternalId: EXTERNAL_ID,
        DurationSeconds: 900,
      }),
    );
    expect(out.Credentials?.Expiration?.toISOString()).toBe("2026-06-15T12:15:00.000Z");
    const tooLong = await stsError(
      stsClient().send(
        new AssumeRoleCommand({
          RoleArn: roleIn(ORG.memberB),
          RoleSessionName: "long",
          ExternalId: EXTERNAL_ID,
          DurationSeconds: 7200,
        }),
      ),
    );
    expect(tooLong.name).toBe("ValidationError");
    expect(tooLong.message).toBe(
      "The requested DurationSeconds exceeds the MaxSessionDuration set for this role.",
    );
  });

  it("tells who the issued keys are (GetCallerIdentity)", async () => {
    const { credentials } = await assume(ORG.memberB);
    const me = await new STSClient({
      endpoint: stsEndpoint,
      region: "us-east-1",
      credentials,
    }).send(new GetCallerIdentityCommand({}));
    expect(me).toMatchObject({
      Account: ORG.memberB,
      Arn: `arn:aws:sts::${ORG.memberB}:assumed-role/${MEMBER_ROLE}/guardrail-remediation`,
    });
  });
});

describe("STS AssumeRole refusals", () => {
  it.each([
    ["a wrong external id", ORG.memberA, "guardrail-wrong", "AKIAHUBFUNCTION00001"],
    ["no external id", ORG.memberA, null, "AKIAHUBFUNCTION00001"],
    ["a caller outside the organisation", ORG.memberA, EXTERNAL_ID, "AKIAOUTSIDER00000001"],
    ["a hub role the trust policy does not name", ORG.memberA, EXTERNAL_ID, "AKIAHUBSLACK00000001"],
    ["a role that does not exist", ORG.hub, EXTERNAL_ID, "AKIAHUBFUNCTION00001"],
  ])("refuses %s with AccessDenied (403)", async (_, account, externalId, key) => {
    const before = sts.issuedSessions().length;
    const error = await stsError(assume(account, externalId, key));
    expect(error.name).toBe("AccessDenied");
    expect(error.$metadata.httpStatusCode).toBe(403);
    expect(error.message).toMatch(
      new RegExp(`is not authorized to perform: sts:AssumeRole on resource: ${roleIn(account)}$`),
    );
    expect(sts.issuedSessions()).toHaveLength(before);
  });

  it("rejects malformed requests with ValidationError (400)", async () => {
    const bad = await stsError(
      stsClient().send(
        new AssumeRoleCommand({ RoleArn: roleIn(ORG.memberA), RoleSessionName: "has space" }),
      ),
    );
    expect(bad.name).toBe("ValidationError");
    expect(bad.$metadata.httpStatusCode).toBe(400);
    const arn = await stsError(
      stsClient().send(new AssumeRoleCommand({ RoleArn: "guardrail", RoleSessionName: "x1" })),
    );
    expect(arn.message).toBe("guardrail is invalid");
    const short = await stsError(
      stsClient().send(
        new AssumeRoleCommand({
          RoleArn: roleIn(ORG.memberA),
          RoleSessionName: "x1",
          ExternalId: EXTERNAL_ID,
          DurationSeconds: 60,
        }),
      ),
    );
    expect(short.name).toBe("ValidationError");
  });

  it("answers an unknown action or version with InvalidAction", async () => {
    const reply = await sts.handle({
      params: [
        ["Action", "GetSessionToken"],
        ["Version", "2011-06-15"],
      ],
    });
    expect(reply.status).toBe(400);
    expect(reply.body).toContain("<Code>InvalidAction</Code>");
    const old = await sts.handle({
      params: [
        ["Action", "AssumeRole"],
        ["Version", "2010-01-01"],
      ],
    });
    expect(old.body).toContain("<Type>Sender</Type><Code>InvalidAction</Code>");
  });
});

describe("issued keys at the EC2 endpoint", () => {
  function ec2With(credentials: { accessKeyId: string; secretAccessKey: string }, region: string) {
    return new EC2Client({ endpoint: ec2Endpoint, region, credentials, maxAttempts: 1 });
  }

  it("act in the role's account and the client's Region, as the assumed role", async () => {
    const { groupId } = ec2.seedSecurityGroup({
      accountId: ORG.memberA,
      region: "eu-west-1",
      name: "web",
      ingress: [{ protocol: "tcp", fromPort: 22, toPort: 22, cidr: "0.0.0.0/0" }],
    });
    // The same group id may exist elsewhere; it must stay untouched.
    const { credentials } = await assume(ORG.memberA);
    await ec2With(credentials, "eu-west-1").send(
      new RevokeSecurityGroupIngressCommand({
        GroupId: groupId,
        IpPermissions: [
          { IpProtocol: "tcp", FromPort: 22, ToPort: 22, IpRanges: [{ CidrIp: "0.0.0.0/0" }] },
        ],
      }),
    );
    expect(
      ec2
        .securityGroupRules(groupId, { accountId: ORG.memberA, region: "eu-west-1" })
        ?.filter((r) => !r.isEgress),
    ).toEqual([]);
    const event = await ec2.waitForEvent(
      (e) => e.detail.eventName === "RevokeSecurityGroupIngress" && e.account === ORG.memberA,
    );
    expect(event.region).toBe("eu-west-1");
    expect(event.detail.recipientAccountId).toBe(ORG.memberA);
    expect(event.detail.userIdentity).toMatchObject({
      type: "AssumedRole",
      arn: `arn:aws:sts::${ORG.memberA}:assumed-role/${MEMBER_ROLE}/guardrail-remediation`,
      accessKeyId: credentials.accessKeyId,
      sessionContext: { sessionIssuer: { arn: roleIn(ORG.memberA), accountId: ORG.memberA } },
    });
    // Groups of the member in another Region are another state.
    const other = await ec2With(credentials, "us-east-1").send(
      new DescribeSecurityGroupsCommand({}),
    );
    expect(other.SecurityGroups?.map((g) => g.GroupId)).not.toContain(groupId);
  });

  it("may do only what the role's policies allow, only in the allowed Regions", async () => {
    const { credentials } = await assume(ORG.memberA);
    const { groupId } = ec2.seedSecurityGroup({
      accountId: ORG.memberA,
      region: "eu-west-1",
      name: "db",
    });
    const authorize = await ec2Error(
      ec2With(credentials, "eu-west-1").send(
        new AuthorizeSecurityGroupIngressCommand({
          GroupId: groupId,
          IpPermissions: [
            {
              IpProtocol: "tcp",
              FromPort: 5432,
              ToPort: 5432,
              IpRanges: [{ CidrIp: "0.0.0.0/0" }],
            },
          ],
        }),
      ),
    );
    expect(authorize.name).toBe("UnauthorizedOperation");
    expect(authorize.$metadata.httpStatusCode).toBe(403);
    const elsewhere = await ec2Error(
      ec2With(credentials, "ap-southeast-2").send(new DescribeSecurityGroupsCommand({})),
    );
    expect(elsewhere.name).toBe("UnauthorizedOperation");
    const failed = await ec2.waitForEvent(
      (e) => e.detail.eventName === "AuthorizeSecurityGroupIngress" && e.account === ORG.memberA,
    );
    expect(failed.detail.errorCode).toBe("Client.UnauthorizedOperation");
  });

  it("expire: EC2 and STS refuse them with ExpiredToken once the session is over", async () => {
    const { credentials } = await assume(ORG.memberB);
    const client = ec2With(credentials, "eu-west-1");
    await client.send(new DescribeSecurityGroupsCommand({}));
    now = new Date("2026-06-15T13:00:00Z");
    const expired = await ec2Error(client.send(new DescribeSecurityGroupsCommand({})));
    expect(expired.name).toBe("ExpiredToken");
    const again = await stsError(
      new STSClient({
        endpoint: stsEndpoint,
        region: "eu-west-1",
        credentials,
        maxAttempts: 1,
      }).send(new GetCallerIdentityCommand({})),
    );
    expect(again.name).toBe("ExpiredToken");
    expect(again.$metadata.httpStatusCode).toBe(403);
  });
});

describe("IAM policy subset", () => {
  const ctx = {
    action: "sts:AssumeRole",
    principalArns: [
      "arn:aws:sts::111122223333:assumed-role/r/s",
      "arn:aws:iam::111122223333:role/r",
    ],
    principalAccount: "111122223333",
    values: { "sts:ExternalId": "abc", "aws:PrincipalOrgID": ORG.id },
  };
  const doc = (statement: Record<string, unknown>) =>
    parsePolicyDocument({
      Statement: [{ Effect: "Allow", Action: "sts:AssumeRole", ...statement }],
    });

  it("lets an account principal stand for every principal of that account", () => {
    expect(evaluatePolicies([doc({ Principal: { AWS: "111122223333" } })], ctx)).toBe("allow");
    expect(
      evaluatePolicies([doc({ Principal: { AWS: "arn:aws:iam::111122223333:root" } })], ctx),
    ).toBe("allow");
    expect(
      evaluatePolicies([doc({ Principal: { AWS: "arn:aws:iam::222233334444:root" } })], ctx),
    ).toBe("implicit-deny");
  });

  it("never lets a service principal match an AWS caller", () => {
    expect(evaluatePolicies([doc({ Principal: { Service: "events.amazonaws.com" } })], ctx)).toBe(
      "implicit-deny",
    );
  });

  it("lets an explicit Deny win over an Allow", () => {
    const allow = doc({ Principal: "*" });
    const deny = parsePolicyDocument({
      Statement: {
        Effect: "Deny",
        Action: "sts:*",
        Principal: "*",
        Condition: { StringNotEquals: { "aws:PrincipalOrgID": ORG.id } },
      },
    });
    expect(evaluatePolicies([allow, deny], ctx)).toBe("allow");
    expect(evaluatePolicies([allow, deny], { ...ctx, values: {} })).toBe("explicit-deny");
  });

  it("matches StringLike and IfExists conditions", () => {
    const like = doc({ Principal: "*", Condition: { StringLike: { "sts:ExternalId": "a?c" } } });
    expect(evaluatePolicies([like], ctx)).toBe("allow");
    const ifExists = doc({
      Principal: "*",
      Condition: { StringEqualsIfExists: { "aws:SourceAccount": "111122223333" } },
    });
    expect(evaluatePolicies([ifExists], ctx)).toBe("allow");
  });

  it("refuses at load time what it cannot evaluate", () => {
    expect(() =>
      doc({ Principal: "*", Condition: { IpAddress: { "aws:SourceIp": "10.0.0.0/8" } } }),
    ).toThrow("condition operator IpAddress is not supported");
    expect(() =>
      doc({ Principal: "*", Condition: { StringEquals: { "aws:userid": "x" } } }),
    ).toThrow("condition key aws:userid is not supported");
    expect(() =>
      parsePolicyDocument({ Statement: [{ Effect: "Allow", NotPrincipal: "*", Action: "*" }] }),
    ).toThrow(ConfigurationError);
    expect(() => parsePolicyDocument({ Statement: [] })).toThrow("no Statement");
    expect(
      () => new StsSandbox({ roles: [{ accountId: "1", roleName: "r", trustPolicy: TRUST }] }),
    ).toThrow("role account must be 12 digits");
    expect(() => new StsSandbox({ organization: { id: "org", accounts: [] } })).toThrow(
      ConfigurationError,
    );
  });
});
