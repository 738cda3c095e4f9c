import { mkdirSync, mkdtempSync, rmSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import type { Metafile } from "esbuild";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { buildHandler, initOutputs } from "./support/init-graph";

const ROOT = join(dirname(fileURLToPath(import.meta.url)), "..", "..");
const CACHE = join(ROOT, "node_modules", ".cache");
mkdirSync(CACHE, { recursive: true });
const dir = mkdtempSync(join(CACHE, "guardrail-bundles-"));

/** What every event function can call, in any configuration the deploy allows. */
const EVENT_CLIENTS = [
  "client-dynamodb", // the audit table, the flap counter, the exemption ledger
  "client-ec2", // the look-ups and the revoke
  "client-organizations", // organisation mode: account tags and OUs a policy scopes by
  "client-securityhub", // GUARDRAIL_SECURITY_HUB=on
  "client-sns", // the notification
  "client-sqs", // the evidence chain's queue, when the chain is deployed
  "client-sts", // organisation mode: the member role and the Organizations role
  "lib-dynamodb",
];

/**
 * The SDK clients each function's bundle holds (every file, chunks loaded on first use
 * included): exactly those it can call. esbuild makes a chunk of each `import()` in every file it
 * parses, used or not, so a handler that reaches a module it does not need (the `@guardrail/aws`
 * index above all) carries that module's clients.
 */
const CLIENTS: Record<string, readonly string[]> = {
  "security-group-change": EVENT_CLIENTS,
  "network-acl-change": EVENT_CLIENTS,
  "prefix-list-change": EVENT_CLIENTS,
  sweep: [
    ...EVENT_CLIENTS,
    "client-cloudtrail", // the event-path probe: GetTrailStatus
    "client-eventbridge", // the event-path probe: DescribeRule
    "client-s3", // the fan-out's plan and results
    "client-sfn", // the fan-out's state machine
  ].sort(),
  // The folding counter (DynamoDB) and the webhook's SecureString (SSM).
  "slack-notifier": ["client-dynamodb", "client-ssm", "lib-dynamodb"],
  // The chain's items (DynamoDB) and its locked copy (S3).
  "chain-writer": ["client-dynamodb", "client-s3", "lib-dynamodb"],
};

/** The document client's operations the tables use, and the DynamoDB operations under them. */
const DYNAMODB_COMMANDS = {
  "client-dynamodb": [
    "BatchWriteItem",
    "DescribeEndpoints", // the client's endpoint discovery, always present
    "GetItem",
    "PutItem",
    "Query",
    "Scan",
    "UpdateItem",
  ],
  "lib-dynamodb": ["BatchWrite", "Get", "Put", "Query", "Scan", "Update"],
};

/** The evidence chain's and the fan-out's objects; CreateSession is the client's own (S3 Express). */
const S3_COMMANDS = ["CreateSession", "GetObject", "ListObjectsV2", "PutObject"];

/** The operations of the event functions' clients besides DynamoDB. */
const EVENT_COMMANDS = {
  ...DYNAMODB_COMMANDS,
  "client-ec2": [
    "AuthorizeSecurityGroupEgress",
    "AuthorizeSecurityGroupIngress",
    "CreateNetworkAclEntry",
    "DeleteNetworkAclEntry",
    "DescribeNetworkAcls",
    "DescribeSecurityGroupRules",
    "DescribeSecurityGroups",
    "GetManagedPrefixListAssociations",
    "GetManagedPrefixListEntries",
    "RevokeSecurityGroupEgress",
    "RevokeSecurityGroupIngress",
  ],
  "client-organizations": [
    "ListAccounts",
    "ListAccountsForParent",
    "ListOrganizationalUnitsForParent",
    "ListParents",
    "ListTagsForResource",
  ],
  "client-securityhub": ["BatchImportFindings", "BatchUpdateFindings"],
  "client-sns": ["Publish"],
  "client-sqs": ["SendMessage"],
  "client-sts": ["AssumeRole", "GetCallerIdentity"],
};

/**
 * The commands of each client that a function's bundle holds: the operations it sends, no
 * other. A package given to `import()` keeps every command and schema of the service (Security
 * Hub alone was 262 KB); the adapters load them through packages/aws/src/sdk/ instead.
 */
const COMMANDS: Record<string, Record<string, readonly string[]>> = {
  "security-group-change": EVENT_COMMANDS,
  "network-acl-change": EVENT_COMMANDS,
  "prefix-list-change": EVENT_COMMANDS,
  sweep: {
    ...EVENT_COMMANDS,
    "client-cloudtrail": ["GetTrailStatus"],
    "client-ec2": [...EVENT_COMMANDS["client-ec2"], "DescribeRegions"].sort(),
    "client-eventbridge": ["DescribeRule"],
    "client-s3": S3_COMMANDS,
    "client-sfn": ["ListExecutions", "StartExecution"],
  },
  "slack-notifier": {
    ...DYNAMODB_COMMANDS,
    "client-ssm": ["GetParameter", "GetParameters", "GetParametersByPath", "PutParameter"],
  },
  "chain-writer": {
    ...DYNAMODB_COMMANDS,
    "client-s3": S3_COMMANDS,
  },
};

const SDK_COMMAND =
  /@aws-sdk\/(client-[a-z0-9-]+|lib-dynamodb)\/dist-es\/commands\/(\w+)Command\.js$/;

/** The commands with code in the bundle, by client. */
function commandsIn(bundle: Bundle): Record<string, string[]> {
  const found: Record<string, string[]> = {};
  for (const { inputs } of Object.values(bundle.metafile.outputs)) {
    for (const [input, { bytesInOutput }] of Object.entries(inputs)) {
      const m = SDK_COMMAND.exec(input);
      if (!m?.[1] || !m[2] || bytesInOutput === 0) continue;
      found[m[1]] = [...(found[m[1]] ?? []), m[2]];
    }
  }
  for (const list of Object.values(found)) list.sort();
  return found;
}

/**
 * Bytes slack-notifier loads at init, at most: its own code, middy and Powertools, no SDK
 * client (the SSM read starts in the background). 225 KB before the adapters moved to
 * packages/aws, 725 KB while it imported the package's index; 74 KB now.
 */
const SLACK_NOTIFIER_INIT_BYTES_MAX = 90_000;

interface Bundle {
  readonly metafile: Metafile;
  /** Output files loaded through static imports from the entry. */
  readonly init: ReadonlySet<string>;
}

const SDK_CLIENT = /node_modules\/@aws-sdk\/(client-[a-z0-9-]+|lib-dynamodb)\//;

/** The SDK client packages with code in `outputs` (all of the bundle's when absent). */
function clientsIn(bundle: Bundle, outputs?: ReadonlySet<string>): string[] {
  const found = new Set<string>();
  for (const [out, { inputs }] of Object.entries(bundle.metafile.outputs)) {
    if (outputs !== undefined && !outputs.has(out)) continue;
    for (const [input, { bytesInOutput }] of Object.entries(inputs)) {
      const m = SDK_CLIENT.exec(input);
      if (m?.[1] && bytesInOutput > 0) found.add(m[1]);
    }
  }
  return [...found].sort();
}

const bundles = new Map<string, Bundle>();

beforeAll(async () => {
  for (const fn of Object.keys(CLIENTS)) {
    const { entry, metafile } = await buildHandler(ROOT, fn, join(dir, fn));
    bundles.set(fn, { metafile, init: initOutputs(metafile, entry) });
  }
}, 240_000);

afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe("what each function's bundle holds", () => {
  it.each(Object.keys(CLIENTS))("%s bundles exactly the SDK clients it can call", (fn) => {
    const bundle = bundles.get(fn) as Bundle;
    expect(clientsIn(bundle)).toEqual([...(CLIENTS[fn] as readonly string[])].sort());
  });

  it.each(Object.keys(COMMANDS))("%s bundles only the commands it sends", (fn) => {
    const bundle = bundles.get(fn) as Bundle;
    expect(commandsIn(bundle)).toEqual(COMMANDS[fn]);
  });

  it.each(["security-group-change", "network-acl-change", "prefix-list-change"])(
    "%s: no module loaded by import() reaches the EC2 client's package by static imports",
    (fn) => {
      // Built as one file, every module reachable from an import() is wrapped to run on first
      // use and keeps all its exports: reaching EC2's index from there kept all 970 KB of it.
      const { inputs } = (bundles.get(fn) as Bundle).metafile;
      const loaded = Object.values(inputs).flatMap((i) =>
        i.imports.filter((d) => d.kind === "dynamic-import").map((d) => d.path),
      );
      const seen = new Set<string>();
      const stack = [...loaded];
      while (stack.length > 0) {
        const file = stack.pop() as string;
        if (seen.has(file)) continue;
        seen.add(file);
        for (const d of inputs[file]?.imports ?? []) {
          if (d.kind !== "dynamic-import" && !d.external) stack.push(d.path);
        }
      }
      expect(loaded).toContain("functions/src/later.ts");
      expect([...seen].filter((f) => f.includes("@aws-sdk/client-ec2/"))).toEqual([]);
    },
  );

  it.each(Object.keys(CLIENTS))("%s does not reach the @guardrail/aws index", (fn) => {
    const bundle = bundles.get(fn) as Bundle;
    expect(Object.keys(bundle.metafile.inputs)).not.toContain("packages/aws/src/index.ts");
  });

  it.each(["security-group-change", "network-acl-change", "prefix-list-change"])(
    "%s loads only the EC2 client at init",
    (fn) => {
      const bundle = bundles.get(fn) as Bundle;
      expect(clientsIn(bundle, bundle.init)).toEqual(["client-ec2"]);
    },
  );

  it("slack-notifier loads no SDK client at init, within its byte budget", () => {
    const bundle = bundles.get("slack-notifier") as Bundle;
    expect(clientsIn(bundle, bundle.init)).toEqual([]);
    const bytes = [...bundle.init].reduce(
      (sum, out) => sum + (bundle.metafile.outputs[out]?.bytes ?? 0),
      0,
    );
    // The walk sees the init: the notifier's pipeline and core's Slack renderer are on it.
    const inputs = [...bundle.init].flatMap((o) =>
      Object.keys(bundle.metafile.outputs[o]?.inputs ?? {}),
    );
    expect(inputs).toEqual(
      expect.arrayContaining([
        "functions/src/handlers/slack-notifier.ts",
        "functions/src/pipelines/slack-notifier.ts",
      ]),
    );
    expect(bytes).toBeGreaterThan(20_000);
    expect(bytes).toBeLessThanOrEqual(SLACK_NOTIFIER_INIT_BYTES_MAX);
  });
});
