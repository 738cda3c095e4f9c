import type { Metafile } from "esbuild";

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
