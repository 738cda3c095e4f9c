import { mkdirSync, mkdtempSync, rmSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import type { Metafile } from "esbuild";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { buildHandler, initOutputs } from "./support/init-graph";

const ROOT = join(dirname(fileURLToPath(import.meta.url)), "..", "..");
const CACHE = join(ROOT, "node_modules", ".cache");
mkdirSync(CACHE, { recursive: true });
const dir = mkdtempSync(join(CACHE, "guardrail-init-path-"));

const EVENT_FUNCTIONS = ["security-group-change", "network-acl-change", "prefix-list-change"];

/** Modules that run only after the revoke (or for rarer events): never on an event function's init. */
const AFTER_REVOKE = [
  "functions/src/later.ts",
  "functions/src/pipelines/after-revoke.ts",
  "functions/src/pipelines/record.ts",
  "functions/src/pipelines/flap-guard.ts",
  "functions/src/pipelines/security-hub.ts",
  "functions/src/pipelines/chain-writer.ts",
  "functions/src/pipelines/metrics.ts",
  "functions/src/pipelines/report-invalid.ts",
  "functions/src/pipelines/tag-exemption.ts",
  "functions/src/pipelines/trail.ts",
  "packages/aws/src/audit.ts",
  "packages/aws/src/flap-counter.ts",
  "packages/aws/src/ledger.ts",
  "packages/aws/src/posture.ts",
  "packages/aws/src/security-hub.ts",
];

/**
 * Core's report code (the decision, its audit item, the message, the Security Hub finding):
 * built after the revoke. A named re-export in an index file (`export { x } from "./view"` in
 * report/index.ts) once put all of it on network-acl-change's init: esbuild then counts the whole
 * index as used by the entry, and every module it names that a later chunk uses joins the
 * entry's chunk. Index files re-export with `export *`.
 */
const REPORT = [
  "packages/core/src/report/decision.ts",
  "packages/core/src/report/audit.ts",
  "packages/core/src/report/message.ts",
  "packages/core/src/report/security-hub.ts",
];

/**
 * Bytes of the guardrail's own code (packages/*, functions/src) each event function parses at
 * init, at most (minified; about 7% above what they parse now, 128-138 KB). At 1,769 MB each KB
 * costs about 0.1 ms of init (docs/benchmarks.md, "Cold start at Lambda's CPU share");
 * security-group-change parsed 190 KB before what follows the revoke left its init, and
 * network-acl-change 160 KB before core's report code did.
 */
const OWN_INIT_BYTES_MAX: Record<string, number> = {
  "security-group-change": 145_000,
  "network-acl-change": 147_000,
  "prefix-list-change": 137_000,
};
/**
 * Bytes of everything each event function parses at init (the SDK's EC2 client, which the
 * bare-EC2 floor also loads, is about 193 KB of it), at most: about 7% above 405 KB.
 */
const INIT_BYTES_MAX = 432_000;
/**
 * Packages that build tables when their module loads and are kept off the init: ipaddr.js made
 * ~50 address objects (~3% of the init at Lambda's CPU share); core reads CIDRs itself.
 */
const NOT_AT_INIT = ["node_modules/ipaddr.js/"];
/** Files (entry and chunks) an event function's init loads, at most: each is a module load. */
const INIT_FILES_MAX = 12;

interface InitPath {
  readonly outputs: string[];
  readonly inputs: Map<string, number>;
  readonly everywhere: Set<string>;
}

/** The output files an entry loads through static imports (its init), and their inputs' bytes. */
function initPath(metafile: Metafile, entry: string): InitPath {
  const seen = initOutputs(metafile, entry);
  const inputs = new Map<string, number>();
  for (const o of seen) {
    for (const [input, { bytesInOutput }] of Object.entries(metafile.outputs[o]?.inputs ?? {})) {
      inputs.set(input, (inputs.get(input) ?? 0) + bytesInOutput);
    }
  }
  const everywhere = new Set(Object.values(metafile.outputs).flatMap((o) => Object.keys(o.inputs)));
  return { outputs: [...seen], inputs, everywhere };
}

const paths = new Map<string, InitPath>();

beforeAll(async () => {
  for (const fn of EVENT_FUNCTIONS) {
    const { entry, metafile } = await buildHandler(ROOT, fn, join(dir, fn));
    paths.set(fn, initPath(metafile, entry));
  }
}, 180_000);

afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe("an event function's init path", () => {
  it.each(EVENT_FUNCTIONS)("%s loads nothing that only runs after the revoke", (fn) => {
    const path = paths.get(fn) as InitPath;
    // The walk sees the init: the handler, the pipeline and core's evaluation are on it.
    expect([...path.inputs.keys()]).toEqual(
      expect.arrayContaining([
        `functions/src/handlers/${fn}.ts`,
        `functions/src/pipelines/${fn}.ts`,
        "functions/src/pipelines/decide.ts",
        "packages/core/src/policy/evaluate.ts",
      ]),
    );
    expect(AFTER_REVOKE.filter((m) => path.inputs.has(m))).toEqual([]);
    expect(REPORT.filter((m) => path.inputs.has(m))).toEqual([]);
    // They are in the bundle, loaded on first use.
    expect([...path.everywhere]).toEqual(
      expect.arrayContaining([
        "functions/src/later.ts",
        "functions/src/pipelines/after-revoke.ts",
        "functions/src/pipelines/record.ts",
        "packages/aws/src/audit.ts",
        ...REPORT,
      ]),
    );
  });

  it.each(EVENT_FUNCTIONS)("%s parses a bounded amount of the guardrail's own code", (fn) => {
    const path = paths.get(fn) as InitPath;
    const own = [...path.inputs]
      .filter(([input]) => /^(packages|functions)\//.test(input))
      .reduce((sum, [, bytes]) => sum + bytes, 0);
    expect(own).toBeGreaterThan(50_000);
    expect(own).toBeLessThanOrEqual(OWN_INIT_BYTES_MAX[fn] as number);
    expect([...path.inputs.values()].reduce((sum, bytes) => sum + bytes, 0)).toBeLessThanOrEqual(
      INIT_BYTES_MAX,
    );
    expect([...path.inputs.keys()].filter((i) => NOT_AT_INIT.some((p) => i.startsWith(p)))).toEqual(
      [],
    );
    expect(path.outputs.length).toBeLessThanOrEqual(INIT_FILES_MAX);
  });
});
