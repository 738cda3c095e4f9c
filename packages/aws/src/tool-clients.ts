import { DynamoDBClient } from "@aws-sdk/client-dynamodb";
import { DescribeSecurityGroupsCommand, EC2Client } from "@aws-sdk/client-ec2";
import { InvokeCommand, LambdaClient } from "@aws-sdk/client-lambda";
import { SQSClient } from "@aws-sdk/client-sqs";
import { DynamoDBDocumentClient } from "@aws-sdk/lib-dynamodb";
import { createEc2Gateway, type Ec2Gateway } from "./ec2";
import type { Invoke } from "./redrive";

/**
 * Where and as whom a person's tool (the CLI) calls AWS: what its flags and environment say;
 * the SDK's standard chain resolves the rest (shared config files, SSO, container roles).
 */
export interface ToolClientConfig {
  readonly region?: string;
  readonly endpoint?: string;
  readonly profile?: string;
  readonly credentials?: {
    readonly accessKeyId: string;
    readonly secretAccessKey: string;
    readonly sessionToken?: string;
  };
}

/** A tool's calls retry a little more than the SDK's default three attempts. */
const ATTEMPTS = 5;

/** EC2 for the CLI: the gateway the functions use, the Region it resolved, and the tag look-up. */
export interface ToolEc2 {
  readonly gateway: Ec2Gateway;
  /** The Region the client resolved (flag, environment or profile). */
  region(): Promise<string>;
  /**
   * The tags of every security group carrying one of `keys` (of `groups` only, when given),
   * by group id.
   */
  taggedGroups(
    keys: readonly string[],
    groups: readonly string[],
  ): Promise<Record<string, Record<string, string>>>;
  destroy(): void;
}

/** @throws what the SDK throws for a configuration it cannot use. */
export function toolEc2(config: ToolClientConfig): ToolEc2 {
  const client = new EC2Client({ ...config, maxAttempts: ATTEMPTS });
  return {
    gateway: createEc2Gateway(client),
    region: () => client.config.region(),
    async taggedGroups(keys, groups) {
      const tags: Record<string, Record<string, string>> = {};
      let token: string | undefined;
      do {
        const out = await client.send(
          new DescribeSecurityGroupsCommand({
            ...(groups.length > 0 ? { GroupIds: [...groups] } : {}),
            Filters: [{ Name: "tag-key", Values: [...keys] }],
            ...(groups.length > 0 ? {} : { MaxResults: 1000 }),
            NextToken: token,
          }),
        );
        for (const g of out.SecurityGroups ?? []) {
          if (!g.GroupId) continue;
          tags[g.GroupId] = Object.fromEntries(
            (g.Tags ?? []).map((t) => [t.Key ?? "", t.Value ?? ""]),
          );
        }
        token = out.NextToken;
      } while (token);
      return tags;
    },
    destroy: () => client.destroy(),
  };
}

/** The audit table's document client for the CLI (reads and the adoption's writes). */
export function toolDocuments(config: ToolClientConfig): {
  readonly documents: DynamoDBDocumentClient;
  destroy(): void;
} {
  const client = new DynamoDBClient({ ...config, maxAttempts: ATTEMPTS });
  return { documents: DynamoDBDocumentClient.from(client), destroy: () => client.destroy() };
}

/** The dead-letter queue's client and a synchronous Lambda Invoke, for `guardrail redrive`. */
export function toolRedrive(config: ToolClientConfig): {
  readonly sqs: SQSClient;
  readonly invoke: Invoke;
  destroy(): void;
} {
  const sqs = new SQSClient({ ...config, maxAttempts: ATTEMPTS });
  const lambda = new LambdaClient({ ...config, maxAttempts: ATTEMPTS });
  return {
    sqs,
    async invoke(functionArn, event) {
      const out = await lambda.send(
        new InvokeCommand({
          FunctionName: functionArn,
          InvocationType: "RequestResponse",
          Payload: new TextEncoder().encode(JSON.stringify(event)),
        }),
      );
      return {
        ...(out.FunctionError ? { functionError: out.FunctionError } : {}),
        payload: new TextDecoder().decode(out.Payload ?? new Uint8Array()),
      };
    },
    destroy() {
      sqs.destroy();
      lambda.destroy();
    },
  };
}

export { isKnownRegion } from "./known-region";
