import { readdirSync, readFileSync, rmSync, statSync, writeFileSync } from "node:fs";
import { dirname, join, resolve } from "node:path";
import { gzipSync } from "node:zlib";
import {
  BUNDLED_POLICY_FILE,
  compilePolicy,
  DEFAULT_POLICY_YAML,
  loadPolicy,
} from "@guardrail/core";
import { build } from "esbuild";
import { lambdaBuildOptions } from "../../functions/build/esbuild.mjs";
import { BENCH_OUT, ROOT } from "./paths";

export interface BundleVariant {
  /** Rewrite the SDK's schema keys so that esbuild can drop unused schemas. */
  readonly schemaKeys: boolean;
  /** Split modules loaded on first use into chunks of their own. */
  readonly splitting: boolean;
}

/** What the deploy builds (functions/build/esbuild.mjs, stacks/functions.ts). */
export const DEPLOYED: BundleVariant = { schemaKeys: true, splitting: true };
/** esbuild's defaults with the SDK as published: one file, every EC2 schema kept. */
export const PLAIN: BundleVariant = { schemaKeys: false, splitting: false };

export const variantName = (v: BundleVariant) =>
  v.schemaKeys && v.splitting
    ? "schema keys + splitting"
    : v.schemaKeys
      ? "schema keys, one file"
      : v.splitting
        ? "splitting only"
        : "SDK as published, one file";

export interface Bundle {
  readonly dir: string;
  /** The entry module (what Lambda imports). */
  readonly main: string;
  /** Bytes parsed at cold start: the entry and the chunks it imports statically. */
  readonly initBytes: number;
  readonly initGzipBytes: number;
  /** Bytes of every file in the bundle (what is uploaded, before zipping). */
  readonly totalBytes: number;
  readonly files: number;
  /** Bytes loaded at cold start by package (`@aws-sdk/client-ec2`, `packages/core`, …). */
  readonly initByPackage: ReadonlyMap<string, number>;
}

/** `node_modules/@scope/name/...` → `@scope/name`; a repository file → its top two folders. */
function packageOf(input: string): string {
  const m = /node_modules\/((?:@[^/]+\/)?[^/]+)/.exec(input);
  return m?.[1] ?? input.split("/").slice(0, 2).join("/");
}

const STATIC_IMPORT = /(?:^|[;}\n])\s*import\s*(?:[\w$*{}\s,]+from\s*)?["'](\.\/[^"']+)["']/g;

/** The entry plus every chunk reachable from it through static imports. */
export function staticGraph(main: string): string[] {
  const seen = new Set<string>();
  const stack = [main];
  while (stack.length > 0) {
    const file = stack.pop() as string;
    if (seen.has(file)) continue;
    seen.add(file);
    const text = readFileSync(file, "utf8");
    for (const m of text.matchAll(STATIC_IMPORT)) stack.push(resolve(dirname(file), m[1] ?? ""));
  }
  return [...seen];
}

/**
 * Writes `text` (policy source) compiled as the deploy compiles it (stacks/policy-file.ts) to
 * `path`: what a function reads at cold start.
 */
export function writeCompiledPolicy(path: string, text: string = DEFAULT_POLICY_YAML): void {
  writeFileSync(path, compilePolicy(text, loadPolicy(text)));
}

/**
 * Bundles `entry` (a path from the repository root) into bench/out/bundles/<tag>, with the
 * shipped policy compiled beside it, where the deploy's `copyFiles` puts it (the task root).
 */
export async function bundle(entry: string, tag: string, variant: BundleVariant): Promise<Bundle> {
  const dir = join(BENCH_OUT, "bundles", tag);
  rmSync(dir, { recursive: true, force: true });
  const { metafile } = await build({
    ...lambdaBuildOptions({ entry: join(ROOT, entry), outdir: dir, ...variant }),
    absWorkingDir: ROOT,
    metafile: true,
  });
  // Not counted in the sizes below: SST copies it into the zip beside the bundle.
  const files = readdirSync(dir);
  writeCompiledPolicy(join(dir, BUNDLED_POLICY_FILE));
  const name = entry.replace(/^.*\//, "").replace(/\.[cm]?[jt]s$/, "");
  const main = join(dir, `${name}.mjs`);
  const graph = staticGraph(main);
  const initByPackage = new Map<string, number>();
  for (const [output, meta] of Object.entries(metafile.outputs)) {
    if (!graph.includes(resolve(ROOT, output))) continue;
    for (const [input, { bytesInOutput }] of Object.entries(meta.inputs)) {
      const key = packageOf(input);
      initByPackage.set(key, (initByPackage.get(key) ?? 0) + bytesInOutput);
    }
  }
  return {
    initByPackage,
    dir,
    main,
    initBytes: graph.reduce((s, f) => s + statSync(f).size, 0),
    initGzipBytes: graph.reduce((s, f) => s + gzipSync(readFileSync(f)).length, 0),
    totalBytes: files.reduce((s, f) => s + statSync(join(dir, f)).size, 0),
    files: files.length,
  };
}
