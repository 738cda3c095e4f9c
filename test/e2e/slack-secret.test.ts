import { DynamoDBClient, ScanCommand } from "@aws-sdk/client-dynamodb";
import {
  AuthorizeSecurityGroupIngressCommand,
  CreateSecurityGroupCommand,
} from "@aws-sdk/client-ec2";
import { slackWebhookParameterName } from "@guardrail/core";
import { runDemo } from "@guardrail/sandbox/demo";
import { LOCAL_STAGE, type LocalStack, startLocalStack } from "@guardrail/sandbox/local";
import { afterAll, beforeAll, describe, expect, it, vi } from "vitest";
import { awsCli } from "./aws-cli";

/*
 * The Slack webhook URL is the guardrail's one secret. As deployed, the notifier reads it from
 * Parameter Store at cold start; the sandbox does the same against its local SSM endpoint. These
 * tests run the whole path with every log line captured, and look for the URL everywhere it
 * must not be.
 */

const captured: string[] = [];
let stack: LocalStack;
let secretPath: string;

beforeAll(async () => {
  for (const stream of [process.stdout, process.stderr]) {
    const write = stream.write.bind(stream);
    vi.spyOn(stream, "write").mockImplementation(((chunk: unknown, ...rest: unknown[]) => {
      captured.push(String(chunk));
      return (write as (...a: unknown[]) => boolean)(chunk, ...rest);
    }) as typeof stream.write);
  }
  stack = await startLocalStack({ logLevel: "DEBUG" });
  secretPath = new URL(stack.slack.url).pathname;
});

afterAll(async () => {
  await stack.close();
  vi.restoreAllMocks();
});

describe("the Slack webhook secret, end to end in the sandbox", () => {
  it("reaches Slack through the local Parameter Store, read once and then cached", async () => {
    const ec2 = stack.developerEc2();
    for (const name of ["secret-a", "secret-b"]) {
      const group = await ec2.send(
        new CreateSecurityGroupCommand({ GroupName: name, Description: name }),
      );
      await ec2.send(
        new AuthorizeSecurityGroupIngressCommand({
          GroupId: group.GroupId,
          IpPermissions: [
            { IpProtocol: "tcp", FromPort: 22, ToPort: 22, IpRanges: [{ CidrIp: "0.0.0.0/0" }] },
          ],
        }),
      );
    }
    await stack.idle();
    expect(stack.slack.messages().length).toBeGreaterThanOrEqual(2);
    expect(stack.notifications().every((n) => n.ok)).toBe(true);
    expect(stack.ssm.requests()).toEqual([
      {
        operation: "GetParameter",
        names: [slackWebhookParameterName(LOCAL_STAGE)],
        withDecryption: true,
      },
    ]);
  });

  it("appears in no environment variable, log line, notification or audit record", async () => {
    const logs = captured.join("");
    // The functions did log (DEBUG): the absence below is not the absence of logs.
    expect(logs).toContain('"message":"posted to Slack"');
    expect(logs).not.toContain(secretPath);
    for (const [name, value] of Object.entries(process.env)) {
      expect(value ?? "", name).not.toContain(secretPath);
    }
    expect(JSON.stringify(stack.notifications().map((n) => n.message))).not.toContain(secretPath);
    const ddb = new DynamoDBClient({
      endpoint: stack.endpoints.dynamo,
      region: stack.region,
      credentials: { accessKeyId: "AKIATEST", secretAccessKey: "x" },
    });
    const items = await ddb.send(new ScanCommand({ TableName: stack.tableName }));
    ddb.destroy();
    expect(items.Items?.length).toBeGreaterThan(0);
    expect(JSON.stringify(items.Items)).not.toContain(secretPath);
  });

  it("is a SecureString the aws CLI reads only with decryption", async () => {
    const cli = {
      endpoint: stack.endpoints.ssm,
      accessKeyId: "AKIATEST",
      secretAccessKey: "x",
      region: stack.region,
    };
    const name = slackWebhookParameterName(LOCAL_STAGE);
    const sealed = (await awsCli(cli, ["ssm", "get-parameter", "--name", name])) as {
      Parameter: { Type: string; Value: string };
    };
    expect(sealed.Parameter.Type).toBe("SecureString");
    expect(sealed.Parameter.Value).not.toContain(secretPath);
    const opened = (await awsCli(cli, [
      "ssm",
      "get-parameter",
      "--name",
      name,
      "--with-decryption",
    ])) as { Parameter: { Value: string } };
    expect(opened.Parameter.Value).toBe(stack.slack.url);
    await expect(awsCli(cli, ["ssm", "get-parameter", "--name", "/absent"])).rejects.toMatchObject({
      exitCode: 254,
      stderr: expect.stringContaining("ParameterNotFound"),
    });
  });
});

describe("the demo", () => {
  it("posts to Slack through the local Parameter Store and never prints the webhook", async () => {
    let output = "";
    const report = await runDemo({
      out: {
        write: (chunk: string) => {
          output += chunk;
          return true;
        },
      },
      color: false,
    });
    expect(report.ok).toBe(true);
    expect(report.slackMessages).toBeGreaterThan(0);
    expect(output).toMatch(/SSM http:\/\/127\.0\.0\.1:\d+/);
    expect(output).not.toContain("/services/");
  });
});
