#!/usr/bin/env node
// Builds the packable CLI: dist/guardrail.mjs (the whole CLI, in chunks loaded as a command needs
// them) and dist/replay-worker.mjs (the replay worker thread, one file), every dependency bundled
// in, the unpublished workspace packages (@guardrail/core, functions, sandbox) included. The tarball that
// `npm pack` makes from packages/cli then has no runtime dependency at all: it installs offline
// and starts without transpiling TypeScript. dist/default-policy.compiled.json is the built-in
// default policy, validated here and compiled (core's compilePolicy): the CLI loads it without
// the YAML parser or the schema (see src/built-in-policy.ts).
//
// Usage: node packages/cli/scripts/build.mjs
import { readFile, rm, writeFile } from "node:fs/promises";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { build } from "esbuild";
import { tsImport } from "tsx/esm/api";

const pkgDir = join(dirname(fileURLToPath(import.meta.url)), "..");
const outdir = join(pkgDir, "dist");

/**
 * dynalite (the sandbox's local DynamoDB) loads `level` for on-disk tables, whose classic-level
 * binding is a native addon that cannot be bundled. The sandbox only ever uses dynalite's
 * in-memory store, so the bundle gets a `level` that says so if anything asks for a disk.
 */
const noDiskLevel = {
  name: "no-disk-level",
  setup(b) {
    b.onResolve({ filter: /^level$/ }, () => ({ path: "level", namespace: "no-disk-level" }));
    b.onLoad({ filter: /.*/, namespace: "no-disk-level" }, () => ({
      contents:
        "export class Level { constructor() { throw new Error('the packaged CLI keeps the sandbox in memory only'); } }",
      loader: "js",
    }));
  },
};

/**
 * dynalite loads its actions with `require('./actions/' + action)`. esbuild bundles every file
 * such a require could name, but by file name with its `.js`: the names get their extension.
 */
const dynaliteActions = {
  name: "dynalite-actions",
  setup(b) {
    b.onLoad({ filter: /[\\/]dynalite[\\/]index\.js$/ }, async (args) => {
      const text = await readFile(args.path, "utf8");
      const contents = text.replace(
        /require\('\.\/(actions|validations)\/' \+ action\)/g,
        "require('./$1/' + action + '.js')",
      );
      if (contents === text) throw new Error("dynalite's action loading changed: update build.mjs");
      return { contents, loader: "js" };
    });
  },
};

/** What both builds share: one ES module per output, for Node 22, every dependency bundled. */
const common = {
  outdir,
  outExtension: { ".js": ".mjs" },
  bundle: true,
  format: "esm",
  platform: "node",
  target: "node22",
  // ES module builds first: a CommonJS package loaded with `await import()` (the functions load
  // the SNS and DynamoDB clients on first use) would offer only a default export in a chunk.
  mainFields: ["module", "main"],
  // The repository's worker entry registers tsx; the bundle's is dist/replay-worker.mjs.
  define: { __GUARDRAIL_BUNDLE__: "true" },
  // CommonJS dependencies call require() for Node's built-in modules.
  banner: {
    js: "import { createRequire as __guardrailRequire } from 'node:module'; const require = __guardrailRequire(import.meta.url);",
  },
  legalComments: "linked",
  logLevel: "warning",
  metafile: false,
};

await rm(outdir, { recursive: true, force: true });
await Promise.all([
  build({
    ...common,
    entryPoints: {
      guardrail: join(pkgDir, "src", "entry.ts"),
      // The library (`main(argv, io)`), for tools that run the CLI in-process.
      index: join(pkgDir, "src", "index.ts"),
    },
    // Chunks: the sandbox (fauxqs, dynalite) loads only for `guardrail sandbox`.
    splitting: true,
    // One folder: a chunk finds dist/replay-worker.mjs next to itself (see replay/pool.ts).
    chunkNames: "[name]-[hash]",
    plugins: [noDiskLevel, dynaliteActions],
  }),
  // The replay worker on its own, without the CLI's shared chunks: a chunk shared with the CLI
  // holds whatever the CLI uses beside the worker's code (the YAML parser, the policy schema),
  // and every worker thread would load it. Alone, the worker's file holds only what replaying
  // runs: the policy arrives compiled (see replay/process.ts).
  build({
    ...common,
    entryPoints: { "replay-worker": join(pkgDir, "src", "replay", "worker.ts") },
  }),
]);
const { DEFAULT_POLICY_YAML, compilePolicy, loadPolicy } = await tsImport(
  "@guardrail/core",
  import.meta.url,
);
const { BUILT_IN_POLICY_FILE } = await tsImport("../src/built-in-policy.ts", import.meta.url);
await writeFile(
  join(outdir, BUILT_IN_POLICY_FILE),
  compilePolicy(DEFAULT_POLICY_YAML, loadPolicy(DEFAULT_POLICY_YAML)),
);
// stderr: `npm pack --json` prints its report on stdout.
console.error(`[build] ${outdir}`);
