import type { BuildOptions, Plugin } from "esbuild";

/** The `nodejs` settings of every function, as stacks/functions.ts passes them to SST. */
export const SST_NODEJS: Readonly<{
  format: "esm";
  minify: boolean;
  splitting: boolean;
  plugins: string;
  esbuild: Readonly<{ keepNames: boolean }>;
}>;

/** Rewrites computed keys of the AWS SDK's schema modules so that esbuild can tree-shake them. */
export function sdkSchemaKeys(): Plugin;

/** The text transformation of `sdkSchemaKeys`. */
export function rewriteSchemaKeys(source: string): string;

/** esbuild options reproducing the deploy's bundle of one handler. */
export function lambdaBuildOptions(options: {
  entry: string;
  outdir: string;
  splitting?: boolean;
  schemaKeys?: boolean;
}): BuildOptions;

declare const plugins: Plugin[];
export default plugins;
