import {
  GetParameterCommand,
  GetParametersCommand,
  PutParameterCommand,
  SSMClient,
} from "@aws-sdk/client-ssm";
import { AwsCallError, createWebhookSource } from "@guardrail/aws";
import { ConfigurationError } from "@guardrail/core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type LocalSsm, startLocalSsm } from "../src/local/index";

const NAME = "/network-guardrail/test/slack-webhook-url";
const URL_VALUE = "https://hooks.slack.example/services/T1/B2/secret-token-1";

let ssm: LocalSsm;
let client: SSMClient;

beforeAll(async () => {
  ssm = await startLocalSsm({
    accountId: "111122223333",
    region: "eu-west-1",
    parameters: [{ name: NAME, value: URL_VALUE, type: "SecureString" }],
  });
  client = new SSMClient({
    endpoint: ssm.endpoint,
    region: "eu-west-1",
    credentials: { accessKeyId: "AKIATEST", secretAccessKey: "x" },
    maxAttempts: 1,
  });
});

afterAll(async () => {
  client.destroy();
  await ssm.close();
});

describe("local SSM Parameter Store, over the SDK's JSON protocol", () => {
  it("returns a SecureString decrypted only when asked, with SSM's metadata", async () => {
    const plain = await client.send(new GetParameterCommand({ Name: NAME, WithDecryption: true }));
    expect(plain.Parameter).toMatchObject({
      Name: NAME,
      Type: "SecureString",
      Value: URL_VALUE,
      Version: 1,
      DataType: "text",
      ARN: `arn:aws:ssm:eu-west-1:111122223333:parameter${NAME}`,
    });
    expect(plain.Parameter?.LastModifiedDate).toBeInstanceOf(Date);
    const sealed = await client.send(new GetParameterCommand({ Name: NAME }));
    expect(sealed.Parameter?.Value).toMatch(/^[A-Za-z0-9+/]+=*$/);
    expect(sealed.Parameter?.Value).not.toContain("secret-token");
  });

  it("finds a parameter by its ARN", async () => {
    const out = await client.send(
      new GetParameterCommand({
        Name: `arn:aws:ssm:eu-west-1:111122223333:parameter${NAME}`,
        WithDecryption: true,
      }),
    );
    expect(out.Parameter?.Value).toBe(URL_VALUE);
  });

  it("answers ParameterNotFound and ParameterAlreadyExists as modelled errors", async () => {
    const missing = await client
      .send(new GetParameterCommand({ Name: "/nope" }))
      .catch((e: unknown) => e as Error & { $metadata: { httpStatusCode: number } });
    expect(missing).toMatchObject({ name: "ParameterNotFound" });
    expect((missing as { $metadata: { httpStatusCode: number } }).$metadata.httpStatusCode).toBe(
      400,
    );
    const exists = await client
      .send(new PutParameterCommand({ Name: NAME, Value: "x", Type: "SecureString" }))
      .catch((e: unknown) => e as Error);
    expect(exists).toMatchObject({ name: "ParameterAlreadyExists" });
  });

  it.each([
    ["/aws/my-app/token", "ValidationException", /prefixed with "aws" or "ssm"/],
    ["SSM-token", "ValidationException", /prefixed with "aws" or "ssm"/],
    ["team/slack/token", "ValidationException", /fully qualified/],
    [
      `/${Array.from({ length: 16 }, (_, i) => `l${i}`).join("/")}`,
      "HierarchyLevelLimitExceededException",
      /15 levels/,
    ],
  ])("refuses to create %s (%s), as PutParameter does", async (name, code, message) => {
    const error = await client
      .send(new PutParameterCommand({ Name: name, Value: "x", Type: "String" }))
      .catch((e: unknown) => e as Error);
    expect(error).toMatchObject({ name: code });
    expect((error as Error).message).toMatch(message);
  });

  it("creates a name of 15 levels, and reads a name under /aws/ (AWS's public parameters)", async () => {
    const deep = `/${Array.from({ length: 15 }, (_, i) => `l${i}`).join("/")}`;
    expect(
      await client.send(new PutParameterCommand({ Name: deep, Value: "x", Type: "String" })),
    ).toMatchObject({ Version: 1 });
    const read = await client
      .send(new GetParameterCommand({ Name: "/aws/service/global-infrastructure/version" }))
      .catch((e: unknown) => e as Error);
    expect(read).toMatchObject({ name: "ParameterNotFound" });
  });

  it("creates and overwrites with PutParameter, counting versions", async () => {
    const name = "/network-guardrail/test/other";
    expect(
      await client.send(new PutParameterCommand({ Name: name, Value: "a", Type: "String" })),
    ).toMatchObject({ Version: 1 });
    expect(
      await client.send(
        new PutParameterCommand({ Name: name, Value: "b", Type: "String", Overwrite: true }),
      ),
    ).toMatchObject({ Version: 2 });
    const both = await client.send(new GetParametersCommand({ Names: [name, "/missing"] }));
    expect(both.Parameters?.map((p) => [p.Name, p.Value, p.Version])).toEqual([[name, "b", 2]]);
    expect(both.InvalidParameters).toEqual(["/missing"]);
  });
});

describe("the notifier's webhook source over the local store", () => {
  it("reads the URL decrypted once and serves it from Powertools' cache afterwards", async () => {
    const before = ssm.requests().length;
    const webhook = createWebhookSource(NAME, { client, maxAgeSeconds: 300 });
    const [a, b] = await Promise.all([webhook(), webhook()]);
    expect([a, b, await webhook()]).toEqual([URL_VALUE, URL_VALUE, URL_VALUE]);
    expect(ssm.requests().slice(before)).toEqual([
      { operation: "GetParameter", names: [NAME], withDecryption: true },
    ]);
  });

  it("reads again once the value is older than maxAge, picking up a rotated URL", async () => {
    const name = "/network-guardrail/test/rotating";
    ssm.put({ name, value: "https://hooks.slack.example/one", type: "SecureString" });
    const webhook = createWebhookSource(name, { client, maxAgeSeconds: 0 });
    expect(await webhook()).toBe("https://hooks.slack.example/one");
    ssm.put({ name, value: "https://hooks.slack.example/two", type: "SecureString" });
    expect(await webhook()).toBe("https://hooks.slack.example/two");
  });

  it("fails with a typed error naming the parameter, never the value", async () => {
    const missing = await createWebhookSource("/network-guardrail/test/absent", { client })().catch(
      (e: unknown) => e,
    );
    expect(missing).toBeInstanceOf(AwsCallError);
    expect((missing as AwsCallError).awsCode).toBe("ParameterNotFound");
    expect((missing as Error).message).toContain("/network-guardrail/test/absent");

    const name = "/network-guardrail/test/plain-http";
    ssm.put({ name, value: "http://hooks.slack.example/secret-token-2", type: "SecureString" });
    const insecure = await createWebhookSource(name, { client })().catch((e: unknown) => e);
    expect(insecure).toBeInstanceOf(ConfigurationError);
    expect((insecure as Error).message).toBe(`the parameter ${name} must be an https URL`);
  });
});
