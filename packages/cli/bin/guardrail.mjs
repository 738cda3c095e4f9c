#!/usr/bin/env node
// In a clone of the repository, runs the TypeScript CLI through tsx's loader, so that
// `npx guardrail` works without a build step and never runs stale code. Installed from the
// packed tarball (no src/ there), runs the bundled JavaScript in dist/.
import { existsSync } from "node:fs";

const source = new URL("../src/main.ts", import.meta.url);
if (existsSync(source)) {
  // `guardrail replay --format json | head` closes the pipe early: that is the reader's choice,
  // not an error.
  process.stdout.on("error", (err) => {
    if (err.code === "EPIPE") process.exit(process.exitCode ?? 0);
    throw err;
  });
  const { register } = await import("tsx/esm/api");
  register();
  const { main } = await import(source.href);
  process.exitCode = await main(process.argv.slice(2));
} else {
  await import("../dist/guardrail.mjs");
}
