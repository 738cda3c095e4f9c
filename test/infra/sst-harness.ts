import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { PLATFORM, ROOT, rpcState } from "./sst-rpc-mock";

/**
 * Runs the real `sst.config.ts` `run()` offline, as the SST CLI would before handing the program
 * to Pulumi, but with Pulumi's runtime mocks in place of AWS (the recipe is in the team's
 * sst-offline notes). Every resource the stack registers is recorded with its inputs.
 *
 * The test file must replace SST's RPC module first:
 * `vi.mock("../../.sst/platform/src/components/rpc/rpc", async () => (await import("./sst-rpc-mock")).mockedRpcModule());`
 */

export const ACCOUNT_ID = "123456789012";
export const REGION = "us-east-1";

/**
 * The Regions `aws.getRegions()` answers as enabled in the account. The home Region alone unless
 * a test says otherwise (set it before `runStack`).
 */
export const mockedAccount: { enabledRegions: readonly string[] } = { enabledRegions: [REGION] };

export interface RecordedResource {
  readonly type: string;
  readonly name: string;
  // biome-ignore lint/suspicious/noExplicitAny: resource inputs are arbitrary provider JSON.
  readonly inputs: Record<string, any>;
  // biome-ignore lint/suspicious/noExplicitAny: outputs mirror the inputs plus fake ids.
  readonly state: Record<string, any>;
  /** The explicit provider's reference (`<urn>::<id>`), for resources made in another Region. */
  readonly provider?: string;
}

export interface StackRun {
  readonly resources: RecordedResource[];
  readonly outputs: Record<string, unknown>;
  readonly app: Record<string, unknown>;
  readonly builds: typeof rpcState.builds;
  readonly workDir: string;
  of(type: string): RecordedResource[];
  one(type: string, name: string): RecordedResource;
}

interface MockResourceArgs {
  type: string;
  name: string;
  inputs: Record<string, unknown>;
  provider?: string;
}
interface MockCallArgs {
  token: string;
  inputs: Record<string, unknown>;
}
interface PulumiRuntime {
  setMocks(
    mocks: {
      newResource(args: MockResourceArgs): { id: string; state: Record<string, unknown> };
      call(args: MockCallArgs): Record<string, unknown>;
    },
    project: string,
    stack: string,
    preview: boolean,
  ): Promise<void>;
  runInPulumiStack(init: () => Promise<unknown>): Promise<Record<string, unknown> | undefined>;
}
interface SstConfig {
  app(input: { stage: string }): Promise<Record<string, unknown>> | Record<string, unknown>;
  run(): Promise<unknown>;
}

/** Imports a module from SST's installed platform by absolute path (not resolvable by tsc). */
function platformImport<T>(relativePath: string): Promise<T> {
  return import(/* @vite-ignore */ join(PLATFORM, relativePath)) as Promise<T>;
}

/**
 * Deploys the stack for `stage` into mocks. `env` is applied to `process.env` for the duration
 * of the run (the stack reads its settings from there, as on a real deploy).
 */
export async function runStack(stage: string, env: Record<string, string> = {}): Promise<StackRun> {
  const workDir = mkdtempSync(join(tmpdir(), "guardrail-infra-"));
  rpcState.workDir = workDir;
  const saved = new Map(Object.keys(env).map((k) => [k, process.env[k]]));
  Object.assign(process.env, env);
  try {
    return await deploy(stage, workDir);
  } finally {
    for (const [k, v] of saved) {
      if (v === undefined) delete process.env[k];
      else process.env[k] = v;
    }
  }
}

async function deploy(stage: string, workDir: string): Promise<StackRun> {
  // 1. The same @pulumi/pulumi instance SST's components import.
  const pulumi = await platformImport<{ runtime: PulumiRuntime }>(
    "node_modules/@pulumi/pulumi/index.js",
  );
  // 2. The `$` globals.
  const shim = await platformImport<Record<string, unknown>>("src/shim/run.js");
  Object.assign(globalThis, shim);
  // 3. The app config, and the globals the CLI sets from it.
  // By computed path: a literal import would pull sst.config.ts (and SST's sources) into the
  // root type-check, which does not have SST's globals.
  const configModule = await import(/* @vite-ignore */ join(ROOT, "sst.config.ts"));
  const config = configModule.default as SstConfig;
  const app = await config.app({ stage });
  const g = globalThis as Record<string, unknown>;
  g.$app = {
    name: app.name,
    stage,
    removal: app.removal ?? "retain",
    providers: app.providers ?? {},
    protect: app.protect ?? false,
  };
  g.$dev = false;
  g.$cli = {
    command: "deploy",
    rpc: "",
    paths: { home: join(workDir, "home"), root: ROOT, work: workDir, platform: PLATFORM },
    state: { version: {} },
  };

  // 4. Mocks instead of AWS.
  const resources: RecordedResource[] = [];
  await pulumi.runtime.setMocks(
    {
      newResource(args) {
        const state = fakeState(args);
        resources.push({
          type: args.type,
          name: args.name,
          inputs: args.inputs,
          state,
          ...(args.provider ? { provider: args.provider } : {}),
        });
        return { id: String(state.id), state };
      },
      call: fakeCall,
    },
    String(app.name),
    stage,
    false,
  );

  // 5. `sst` and `aws` globals, then SST's own run() wrapper around ours.
  g.sst = await platformImport("src/components/index.ts");
  g.aws = await platformImport("node_modules/@pulumi/aws/index.js");
  const auto = await platformImport<{ run(program: () => Promise<unknown>): Promise<unknown> }>(
    "src/auto/run.ts",
  );
  const cwd = process.cwd();
  // An error thrown inside a Pulumi apply (a stack bug, a ConfigurationError) does not reject
  // runInPulumiStack: it surfaces as an unhandled rejection and the run never finishes. Fail
  // the run with that error at once instead of waiting for the test's timeout.
  let fail: (reason: unknown) => void = () => {};
  const failed = new Promise<never>((_, reject) => {
    fail = reject;
  });
  const onUnhandled = (reason: unknown) => fail(reason);
  process.on("unhandledRejection", onUnhandled);
  let outputs: Record<string, unknown>;
  try {
    outputs =
      (await Promise.race([
        pulumi.runtime.runInPulumiStack(async () => auto.run(() => config.run())),
        failed,
      ])) ?? {};
    // 7. Some resources register from inside applies after the program returns.
    await Promise.race([settle(resources), failed]);
  } finally {
    process.off("unhandledRejection", onUnhandled);
    process.chdir(cwd);
  }
  if (rpcState.buildErrors.length > 0) {
    throw new Error(
      `bundling failed:\n${rpcState.buildErrors
        .map((b) => `${b.functionID}: ${b.errors.join("\n  ")}`)
        .join("\n")}`,
    );
  }

  const of = (type: string) => resources.filter((r) => r.type === type);
  return {
    resources,
    outputs,
    app,
    builds: [...rpcState.builds],
    workDir,
    of,
    one(type, name) {
      const found = of(type).filter((r) => r.name === name);
      if (found.length !== 1) {
        throw new Error(`expected one ${type} named ${name}, found ${found.length}`);
      }
      return found[0] as RecordedResource;
    },
  };
}

async function settle(resources: RecordedResource[]): Promise<void> {
  let last = -1;
  let stable = 0;
  for (let i = 0; i < 200 && stable < 5; i++) {
    await new Promise((r) => setTimeout(r, 50));
    stable = resources.length === last ? stable + 1 : 0;
    last = resources.length;
  }
}

const arnPrefix = (service: string) => `arn:aws:${service}:${REGION}:${ACCOUNT_ID}`;

/** Plausible provider outputs: the inputs plus the ids and ARNs AWS would assign. */
function fakeState(args: MockResourceArgs): Record<string, unknown> {
  const inputs = args.inputs;
  const physical = typeof inputs.name === "string" ? inputs.name : `${args.name}-abc1234`;
  const base: Record<string, unknown> = { ...inputs, id: `${args.name}-id`, name: physical };
  switch (args.type) {
    case "aws:iam/role:Role":
      return { ...base, arn: `arn:aws:iam::${ACCOUNT_ID}:role/${physical}` };
    case "aws:lambda/function:Function": {
      const arn = `${arnPrefix("lambda")}:function:${physical}`;
      const version = inputs.publish ? "1" : "$LATEST";
      return { ...base, arn, version, qualifiedArn: `${arn}:${version}` };
    }
    case "aws:sqs/queue:Queue":
      return {
        ...base,
        arn: `${arnPrefix("sqs")}:${physical}`,
        url: `https://sqs.${REGION}.amazonaws.com/${ACCOUNT_ID}/${physical}`,
      };
    case "aws:s3/bucket:Bucket": {
      const bucket =
        typeof inputs.bucket === "string" ? inputs.bucket : `${args.name.toLowerCase()}-abc1234`;
      return { ...base, bucket, arn: `arn:aws:s3:::${bucket}` };
    }
    case "aws:sns/topic:Topic":
      return { ...base, arn: `${arnPrefix("sns")}:${physical}` };
    case "aws:kms/key:Key":
      return { ...base, keyId: "key-0001", arn: `${arnPrefix("kms")}:key/key-0001` };
    case "aws:dynamodb/table:Table":
      return { ...base, arn: `${arnPrefix("dynamodb")}:table/${physical}` };
    case "aws:cloudwatch/eventRule:EventRule":
      return { ...base, arn: `${arnPrefix("events")}:rule/${physical}` };
    case "aws:cloudwatch/eventBus:EventBus":
      return { ...base, arn: `${arnPrefix("events")}:event-bus/${physical}` };
    case "aws:cloudwatch/metricAlarm:MetricAlarm":
      return { ...base, arn: `${arnPrefix("cloudwatch")}:alarm:${physical}` };
    case "aws:cloudwatch/logGroup:LogGroup":
      return { ...base, arn: `${arnPrefix("logs")}:log-group:${physical}` };
    case "aws:lambda/functionUrl:FunctionUrl":
      return {
        ...base,
        functionUrl: `https://${args.name.toLowerCase()}.lambda-url.${REGION}.on.aws/`,
      };
    case "aws:apigatewayv2/api:Api":
      return {
        ...base,
        arn: `arn:aws:apigateway:${REGION}::/apis/${args.name}`,
        apiEndpoint: `https://${args.name.toLowerCase()}.execute-api.${REGION}.amazonaws.com`,
        executionArn: `${arnPrefix("execute-api")}:${args.name}`,
      };
    case "random:index/randomBytes:RandomBytes":
      return { ...base, base64: "dGVzdC1rZXktMzItYnl0ZXMtbG9uZy4uLi4uLi4uLi4=", hex: "00" };
    default:
      return { ...base, arn: `${arnPrefix("mock")}:${args.type}/${physical}` };
  }
}

interface PolicyStatementInput {
  sid?: string;
  effect?: string;
  actions?: string[];
  resources?: string[];
  conditions?: { test: string; variable: string; values: string[] }[];
  principals?: { type: string; identifiers: string[] }[];
}

/** Data sources the components call. Anything else fails the test loudly. */
function fakeCall(args: MockCallArgs): Record<string, unknown> {
  switch (args.token) {
    case "aws:index/getPartition:getPartition":
      return {
        id: "aws",
        partition: "aws",
        dnsSuffix: "amazonaws.com",
        reverseDnsPrefix: "com.amazonaws",
      };
    case "aws:index/getRegion:getRegion":
      return { id: REGION, name: REGION, region: REGION, endpoint: `ec2.${REGION}.amazonaws.com` };
    case "aws:index/getRegions:getRegions":
      return { id: "regions", names: [...mockedAccount.enabledRegions] };
    case "aws:index/getCallerIdentity:getCallerIdentity":
      return {
        id: ACCOUNT_ID,
        accountId: ACCOUNT_ID,
        arn: `arn:aws:iam::${ACCOUNT_ID}:user/deployer`,
        userId: "AIDATEST",
      };
    case "aws:iam/getPolicyDocument:getPolicyDocument": {
      const statements = (args.inputs.statements ?? []) as PolicyStatementInput[];
      const document = {
        Version: "2012-10-17",
        Statement: statements.map((s) => ({
          ...(s.sid ? { Sid: s.sid } : {}),
          Effect: s.effect ?? "Allow",
          Action: s.actions,
          Resource: s.resources,
          ...(s.principals
            ? {
                Principal: Object.fromEntries(s.principals.map((p) => [p.type, p.identifiers])),
              }
            : {}),
          ...(s.conditions
            ? {
                Condition: Object.fromEntries(
                  s.conditions.map((c) => [c.test, { [c.variable]: c.values }]),
                ),
              }
            : {}),
        })),
      };
      return { id: "policy", json: JSON.stringify(document), statements };
    }
    default:
      throw new Error(`the infra tests do not mock the data source ${args.token}`);
  }
}
