#!/usr/bin/env node
// Runs the TypeScript CLI through tsx's loader so that `npx guardrail` works from a fresh clone
// without a build step.
import { register } from "tsx/esm/api";

// `guardrail replay --format json | head` closes the pipe early: that is the reader's choice,
// not an error.
process.stdout.on("error", (err) => {
  if (err.code === "EPIPE") process.exit(process.exitCode ?? 0);
  throw err;
});

register();
const { main } = await import("../src/main.ts");
process.exitCode = await main(process.argv.slice(2));
