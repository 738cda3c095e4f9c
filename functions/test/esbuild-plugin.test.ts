import { mkdirSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath, pathToFileURL } from "node:url";
import { build } from "esbuild";
import { afterAll, describe, expect, it } from "vitest";
import { lambdaBuildOptions, rewriteSchemaKeys, sdkSchemaKeys } from "../build/esbuild.mjs";

const ROOT = join(dirname(fileURLToPath(import.meta.url)), "..", "..");
const EC2_SCHEMAS = join(ROOT, "node_modules/@aws-sdk/client-ec2/dist-es/schemas/schemas_0.js");
// Inside the repository, so that the bundles resolve its node_modules.
const CACHE = join(ROOT, "node_modules", ".cache");
mkdirSync(CACHE, { recursive: true });
const out = mkdtempSync(join(CACHE, "guardrail-esbuild-"));

afterAll(() => rmSync(out, { recursive: true, force: true }));

async function bundleSchemas(name: string, plugin: boolean): Promise<Record<string, unknown>> {
  const outfile = join(out, `${name}.mjs`);
  await build({
    stdin: { contents: `export * from ${JSON.stringify(EC2_SCHEMAS)};`, resolveDir: ROOT },
    outfile,
    bundle: true,
    format: "esm",
    platform: "node",
    mainFields: ["module", "main"],
    plugins: plugin ? [sdkSchemaKeys()] : [],
    logLevel: "error",
  });
  return import(pathToFileURL(outfile).href);
}

/** Schemas are nested arrays with thunks (`() => Other$`); thunks compare by their text. */
const canonical = (value: unknown) =>
  JSON.stringify(value, (_k, v) => (typeof v === "function" ? `fn:${v.toString()}` : v));

describe("the sdk-schema-keys esbuild plugin", () => {
  it("turns computed keys naming string constants into literal keys, and nothing else", () => {
    const source = [
      'const _xN = "xmlName";',
      'const _eQN = "ec2QueryName";',
      "let _other = 1;",
      "export var A$ = [3, n0, _A, 0, [_A], [[0, { [_xN]: _a, [_eQN]: `A` }], { [_other]: 1 }]];",
    ].join("\n");
    expect(rewriteSchemaKeys(source)).toContain(
      '[[0, { "xmlName": _a, "ec2QueryName": `A` }], { [_other]: 1 }]',
    );
  });

  it("leaves every exported EC2 schema identical", async () => {
    const [plain, rewritten] = await Promise.all([
      bundleSchemas("plain", false),
      bundleSchemas("rewritten", true),
    ]);
    const names = Object.keys(plain);
    expect(names.length).toBeGreaterThan(3000);
    expect(Object.keys(rewritten)).toEqual(names);
    for (const name of names) expect(canonical(rewritten[name])).toBe(canonical(plain[name]));
    // The rewrite did happen: the module had computed keys to rewrite.
    const source = readFileSync(EC2_SCHEMAS, "utf8");
    expect(rewriteSchemaKeys(source)).not.toBe(source);
  });

  it("lets esbuild drop the EC2 schemas a handler does not use", async () => {
    const entry = join(out, "revoke.ts");
    writeFileSync(
      entry,
      'export { EC2Client, RevokeSecurityGroupIngressCommand } from "@aws-sdk/client-ec2";\n',
    );
    const size = async (schemaKeys: boolean) => {
      const outdir = join(out, schemaKeys ? "with" : "without");
      await build({ ...lambdaBuildOptions({ entry, outdir, schemaKeys }), absWorkingDir: ROOT });
      return statSync(join(outdir, "revoke.mjs")).size;
    };
    const [without, withPlugin] = await Promise.all([size(false), size(true)]);
    // About 830 KB without, under 350 KB with (the client, signing, retries, XML).
    expect(withPlugin).toBeLessThan(without / 2);
  });
});
