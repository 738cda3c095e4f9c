// How every Lambda handler is bundled: shared by the deploy (stacks/functions.ts passes this
// file to SST as `nodejs.plugins`), the benchmarks (bench/) and the tests that load a bundle.
// Plain JavaScript because SST loads the plugin file with Node, outside TypeScript.
import { readFileSync } from "node:fs";

/**
 * The AWS SDK's generated schema modules (`dist-es/schemas/schemas_0.js`), one per client.
 * EC2's holds every shape of all ~700 operations: 540 KB minified.
 */
const SCHEMA_MODULE =
  /[\\/]@aws-sdk[\\/][^\\/]+[\\/]dist-es[\\/](?:.*[\\/])?schemas[\\/]schemas_\d+\.js$/;

/** `const _xN = "xmlName";`: the string table at the top of a schema module. */
const STRING_CONSTANT = /^const (_\w+) = ("(?:[^"\\\n]|\\.)*");$/gm;

/** `[_xN]:` a computed object key naming one of those constants. */
const COMPUTED_KEY = /\[(_\w+)\]:/g;

/**
 * Rewrites `{ [_xN]: _SGRIe }` to `{ "xmlName": _SGRIe }` in the SDK's schema modules.
 *
 * Why: esbuild cannot prove that a computed key is free of side effects (it might call a
 * `toString`), so it keeps every schema literal that has one, and with it every schema those
 * reference: 540 of EC2's 550 KB survive tree shaking although the functions use 12 operations.
 * With literal keys the unused schemas are dropped. The constants are plain string literals, so
 * the rewritten objects are identical (a test compares every exported schema of EC2's module).
 * If a future SDK changes this layout, nothing matches and the bundle is merely larger again;
 * the bundle-size benchmark shows it.
 *
 * @returns an esbuild plugin.
 */
export function sdkSchemaKeys() {
  return {
    name: "sdk-schema-keys",
    /** @param {import("esbuild").PluginBuild} build */
    setup(build) {
      build.onLoad({ filter: SCHEMA_MODULE }, (args) => ({
        contents: rewriteSchemaKeys(readFileSync(args.path, "utf8")),
        loader: "js",
      }));
    },
  };
}

/**
 * The text transformation of `sdkSchemaKeys`, exported for tests.
 *
 * @param {string} source a schema module's text
 * @returns {string}
 */
export function rewriteSchemaKeys(source) {
  /** @type {Map<string, string>} */
  const constants = new Map();
  for (const m of source.matchAll(STRING_CONSTANT)) constants.set(m[1] ?? "", m[2] ?? "");
  return source.replace(COMPUTED_KEY, (whole, name) => {
    const literal = constants.get(name);
    return literal === undefined ? whole : `${literal}:`;
  });
}

/**
 * The `nodejs` settings of every function (stacks/functions.ts): an ES module for Node 22,
 * minified, with modules that load on first use (SNS, DynamoDB, the credential chain past
 * environment variables) split into chunks of their own, so that a cold start neither parses nor
 * runs them before the revoke; and this file's plugins. `plugins` is a path from sst.config.ts.
 *
 * `keepNames`: the guardrail's errors are named by their class (`PolicyValidationError`,
 * `RemediationFailedError`); minified without it they would reach the logs and Lambda's init
 * error as `yr` or `Rs`. It costs about 26 KB and no measurable init time.
 */
export const SST_NODEJS = Object.freeze({
  format: /** @type {const} */ ("esm"),
  minify: true,
  splitting: true,
  plugins: "functions/build/esbuild.mjs",
  esbuild: Object.freeze({ keepNames: true }),
});

/**
 * esbuild options that reproduce what SST builds for one handler with `SST_NODEJS` (for the
 * benchmarks and tests, which build without SST).
 *
 * @param {{ entry: string, outdir: string, splitting?: boolean, schemaKeys?: boolean }} o
 * @returns {import("esbuild").BuildOptions}
 */
export function lambdaBuildOptions({ entry, outdir, splitting = true, schemaKeys = true }) {
  return {
    entryPoints: [entry],
    outdir,
    entryNames: "[name]",
    outExtension: { ".js": ".mjs" },
    bundle: true,
    splitting: splitting && SST_NODEJS.splitting,
    minify: SST_NODEJS.minify,
    keepNames: SST_NODEJS.esbuild.keepNames,
    format: SST_NODEJS.format,
    platform: "node",
    target: "node22",
    mainFields: ["module", "main"],
    // Some dependencies still call require(); give the ESM bundle one (SST does the same).
    banner: {
      js: "import{createRequire as __cr}from'node:module';const require=__cr(import.meta.url);",
    },
    plugins: schemaKeys ? [sdkSchemaKeys()] : [],
    logLevel: "error",
    legalComments: "none",
  };
}

/** What SST's `nodejs.plugins` expects: the default export is the list of plugins. */
export default [sdkSchemaKeys()];
