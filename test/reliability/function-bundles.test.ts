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
