import { join } from "node:path";
import { build, type Metafile } from "esbuild";
import { lambdaBuildOptions } from "../../../functions/build/esbuild.mjs";

/**
 * Builds one function's handler as the deploy bundles it (one entry per build, so its chunks
 * are its own) into `outdir`, in memory, and returns its entry and esbuild's metafile.
 */
export async function buildHandler(
  root: string,
  fn: string,
  outdir: string,
): Promise<{ entry: string; metafile: Metafile }> {
  const entry = `functions/src/handlers/${fn}.ts`;
  const { metafile } = await build({
    ...lambdaBuildOptions({ entry: join(root, entry), outdir }),
    absWorkingDir: root,
    metafile: true,
    write: false,
  });
  return { entry, metafile };
}

/**
 * The output files `entry` loads through static imports (its init: what runs at cold start),
 * followed from esbuild's metafile; chunks reached only by `import()` are left out.
 */
export function initOutputs(metafile: Metafile, entry: string): Set<string> {
  const start = Object.keys(metafile.outputs).find(
    (o) => metafile.outputs[o]?.entryPoint === entry,
  );
  const seen = new Set<string>();
  const stack = start === undefined ? [] : [start];
  while (stack.length > 0) {
    const out = stack.pop() as string;
    if (seen.has(out)) continue;
    seen.add(out);
    for (const i of metafile.outputs[out]?.imports ?? []) {
      if (i.kind === "import-statement" && !i.external) stack.push(i.path);
    }
  }
  return seen;
}
