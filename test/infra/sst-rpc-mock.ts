import { createCipheriv } from "node:crypto";
import { existsSync, mkdirSync, writeFileSync } from "node:fs";
import { createRequire } from "node:module";
import { dirname, join, relative, resolve } from "node:path";
import { fileURLToPath } from "node:url";

/**
 * Stands in for SST's RPC module (`.sst/platform/src/components/rpc/rpc.ts`), which calls back
 * into the Go CLI. Each infra test file replaces that module with this one through `vi.mock`.
 *
 * - `Provider.Aws.Bootstrap` answers with fake asset bucket names.
 * - `Runtime.Build` really bundles the handler with the esbuild that ships with SST's platform, so
 *   a handler that does not exist, does not compile, imports something unresolvable or does not
 *   export its handler fails the test exactly as it would fail `sst deploy`. Like SST's build,
 *   it writes the linked resources, encrypted with the function's SST_KEY, to `resource.enc`
 *   in the bundle: that file, not the environment, is how a linked secret reaches a function.
 */

export const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), "..", "..");
export const PLATFORM = join(ROOT, ".sst", "platform");

export interface BuildInput {
  readonly functionID: string;
  /** base64 AES-256 key; the function gets it as SST_KEY. */
  readonly encryptionKey: string;
  readonly handler: string;
  readonly runtime: string;
  readonly links: Record<string, unknown>;
  readonly copyFiles: { from: string; to: string; isDir: boolean }[];
  readonly properties: { format?: string; minify?: boolean; architecture?: string };
}

export interface BuildRecord {
  readonly input: BuildInput;
  readonly entry: string;
  readonly out: string;
  readonly handler: string;
}

interface EsbuildMessage {
  text: string;
  location?: { file: string; line: number } | null;
}
interface EsbuildApi {
  build(options: Record<string, unknown>): Promise<{
    errors: EsbuildMessage[];
    metafile?: { outputs: Record<string, { entryPoint?: string; exports: string[] }> };
  }>;
}

export const rpcState = {
  workDir: "",
  builds: [] as BuildRecord[],
  calls: [] as { method: string; args: unknown }[],
  /**
   * Bundling errors, by function. A failed build is reported here and `runStack` rejects with
   * them after the run, rather than letting SST throw inside a Pulumi apply, where the failure
   * fans out into dozens of unhandled rejections and leaked promises.
   */
  buildErrors: [] as { functionID: string; errors: string[] }[],
  /** functionID → entry file to bundle instead of the handler (for tests of failing builds). */
  entryOverrides: {} as Record<string, string>,
};

const HANDLER_EXTENSIONS = [".ts", ".mts", ".js", ".mjs"];

/**
 * The module `vi.mock` returns. `Provider` (SST's dynamic providers) is never used by the
 * guardrail's resources; it throws so that a change that starts using one is noticed.
 */
export function mockedRpcModule() {
  class MethodNotFoundError extends Error {
    constructor(public method: string) {
      super(`Method "${method}" not found`);
    }
  }
  class Provider {
    constructor(type: string) {
      throw new Error(`the infra tests do not mock SST dynamic provider ${type}`);
    }
  }
  return { rpc: { call, MethodNotFoundError, Provider } };
}

async function call(method: string, args: unknown): Promise<unknown> {
  rpcState.calls.push({ method, args });
  switch (method) {
    case "Provider.Aws.Bootstrap":
      return {
        asset: "sst-asset-test",
        assetEcrRegistryId: "123456789012",
        assetEcrUrl: "123456789012.dkr.ecr.us-east-1.amazonaws.com/sst-asset",
        state: "sst-state-test",
        appsyncHttp: "",
        appsyncRealtime: "",
      };
    case "Runtime.Build":
      return build(args as BuildInput & { isContainer: boolean });
    default:
      throw new Error(`the infra tests do not mock SST RPC method ${method}`);
  }
}

async function build(input: BuildInput & { isContainer: boolean }) {
  if (input.isContainer) throw new Error(`${input.functionID}: container builds are not expected`);
  const dot = input.handler.lastIndexOf(".");
  const file = input.handler.slice(0, dot);
  const exportName = input.handler.slice(dot + 1);
  const override = rpcState.entryOverrides[input.functionID];
  const candidates = override
    ? [override]
    : HANDLER_EXTENSIONS.map((ext) => join(ROOT, file + ext));
  const entry = candidates.find((p) => existsSync(p));
  if (!entry) {
    const missing = relative(ROOT, candidates[0] as string);
    rpcState.buildErrors.push({
      functionID: input.functionID,
      errors: [`handler file ${missing} does not exist`],
    });
    return { handler: input.handler, out: "", errors: [], sourcemaps: [] };
  }

  const out = join(rpcState.workDir, "artifacts", `${input.functionID}-src`);
  const require = createRequire(join(PLATFORM, "package.json"));
  const esbuild = require("esbuild") as EsbuildApi;
  const esm = (input.properties.format ?? "esm") === "esm";
  const extension = esm ? ".mjs" : ".js";
  const errors: string[] = [];
  try {
    const result = await esbuild.build({
      entryPoints: { [file]: entry },
      outdir: out,
      outExtension: { ".js": extension },
      bundle: true,
      platform: "node",
      target: "node22",
      format: esm ? "esm" : "cjs",
      minify: input.properties.minify ?? false,
      mainFields: esm ? ["module", "main"] : ["main"],
      // The same shim SST adds: CommonJS dependencies call `require` inside an ES module.
      banner: esm
        ? {
            js: "import { createRequire as topLevelCreateRequire } from 'module';\nconst require = topLevelCreateRequire(import.meta.url);",
          }
        : undefined,
      metafile: true,
      logLevel: "silent",
      absWorkingDir: ROOT,
    });
    const output = Object.values(result.metafile?.outputs ?? {}).find((o) => o.entryPoint);
    if (!output?.exports.includes(exportName)) {
      errors.push(`${relative(ROOT, entry)} does not export "${exportName}"`);
    }
  } catch (error) {
    const failure = error as { errors?: EsbuildMessage[]; message?: string };
    for (const e of failure.errors ?? []) {
      errors.push(`${e.location ? `${e.location.file}:${e.location.line}: ` : ""}${e.text}`);
    }
    if (errors.length === 0) errors.push(String(failure.message ?? error));
  }
  writeLinkedResources(out, input);
  rpcState.builds.push({ input, entry, out, handler: input.handler });
  if (errors.length > 0) {
    rpcState.buildErrors.push({ functionID: input.functionID, errors });
    // Let the rest of the program run; the harness fails the run with these errors.
    mkdirSync(join(out, dirname(file)), { recursive: true });
    writeFileSync(join(out, `${file}${extension}`), `export const ${exportName} = undefined;\n`);
  }
  return { handler: input.handler, out, errors: [], sourcemaps: [] };
}

/** SST's format: AES-256-GCM, key SST_KEY, all-zero 12-byte nonce, ciphertext then 16-byte tag. */
function writeLinkedResources(out: string, input: BuildInput): void {
  const key = Buffer.from(input.encryptionKey, "base64");
  const cipher = createCipheriv("aes-256-gcm", key, Buffer.alloc(12, 0));
  const body = Buffer.concat([cipher.update(JSON.stringify(input.links)), cipher.final()]);
  mkdirSync(out, { recursive: true });
  writeFileSync(join(out, "resource.enc"), Buffer.concat([body, cipher.getAuthTag()]));
}
