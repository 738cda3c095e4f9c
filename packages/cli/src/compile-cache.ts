import module from "node:module";

/**
 * Node's on-disk V8 code cache (`module.enableCompileCache`, Node 22.1+; TypeScript's `tsc` and
 * npm's CLI do the same): the CLI's modules, and the functions they compiled on the way, load
 * from bytecode cached by the previous run instead of being parsed and compiled again. Node keys
 * each entry by the file's path and a hash of its text, so an upgraded CLI is compiled afresh.
 * The cache is Node's default directory (`node-compile-cache` under the OS temporary directory,
 * or `NODE_COMPILE_CACHE`); `NODE_DISABLE_COMPILE_CACHE=1` turns it off.
 *
 * Worker threads (replay's) read `NODE_COMPILE_CACHE` when they start, so the directory is put
 * there for them.
 */
export function enableCompileCache(env: NodeJS.ProcessEnv = process.env): string | undefined {
  const result = module.enableCompileCache?.();
  if (result?.directory === undefined) return undefined;
  if (
    result.status === module.constants.compileCacheStatus.ENABLED ||
    result.status === module.constants.compileCacheStatus.ALREADY_ENABLED
  ) {
    env.NODE_COMPILE_CACHE ??= result.directory;
    return result.directory;
  }
  return undefined;
}
